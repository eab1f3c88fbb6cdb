// Package route is the read/write-splitting proxy's router: a pure
// function (no I/O) that tells, for one COM_QUERY text and the session's
// routing state, which backend runs it (a replica, the primary, the
// backend of the previous statement, or every backend of the session for
// a session command), and updates that state (transactions, pins,
// tracked variables, prepared statements, the current database).
//
// It classifies with internal/sql's lexer-level classification
// (sql.LexTraits: LexClass and the traits that tie a statement to one
// server or one connection), cheap enough to run on every statement; see
// BenchmarkRoute. The rules, with their reasons, are in
// docs/proxy-routing.md. A statement the router cannot classify goes to
// the primary, never to a replica.
package route

import (
	"strings"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// Target is where a statement goes.
type Target uint8

// Targets.
const (
	// Replica is any eligible replica (the proxy falls back to the
	// primary if none).
	Replica Target = iota
	// Primary is the primary.
	Primary
	// Previous is the backend connection that served the previous
	// statement that was not a session command (FOUND_ROWS, SHOW
	// WARNINGS, the statements of a read-only transaction).
	Previous
	// Session is a session command: apply on the current backend conn(s)
	// and, when Decision.Replay says so, record for replay on new ones.
	Session
)

// String returns the target's name ("replica", "primary", "previous",
// "session").
func (t Target) String() string {
	switch t {
	case Replica:
		return "replica"
	case Primary:
		return "primary"
	case Previous:
		return "previous"
	case Session:
		return "session"
	}
	return "unknown"
}

// State is one client session's routing state; the proxy keeps one per
// session and passes it to every Route call. Route updates it
// (transaction begin/end, pins, tracked variables, current db). Start a
// session with NewState (the zero State has autocommit off).
type State struct {
	// InTx: a transaction is open (BEGIN, START TRANSACTION, or the first
	// statement under autocommit=0), until COMMIT, ROLLBACK or an
	// implicit commit (DDL, LOCK TABLES, SET autocommit=1...).
	InTx bool
	// ReadOnlyTx: the open transaction is START TRANSACTION READ ONLY
	// begun on a replica (not while pinned): it runs there, its
	// statements going to Previous, to its end.
	ReadOnlyTx bool
	// TxWrites: the open transaction may have changed data: its COMMIT
	// is a write (Decision.Write).
	TxWrites bool
	// Autocommit is the session's autocommit (starts true).
	Autocommit bool
	// Pinned, when non-empty, is the reason every statement goes to the
	// primary for the rest of the session: "get_lock",
	// "temporary-table", "user-variable", "call", "xa", "handler",
	// "prepare-from-variable", "multi-statement", "set:<variable>"
	// (SQL_SAFE_UPDATES, SQL_SELECT_LIMIT, FOREIGN_KEY_CHECKS,
	// UNIQUE_CHECKS, AUTO_INCREMENT_*, GROUP_CONCAT_MAX_LEN), "set-role",
	// "set-global".
	Pinned string
	// LockedTables: LOCK TABLES or FLUSH TABLES ... WITH READ LOCK | FOR
	// EXPORT is in force, until UNLOCK TABLES (BEGIN also releases LOCK
	// TABLES): everything goes to the primary.
	LockedTables bool
	// lockTables and readLock say which of the two holds LockedTables:
	// only the end of LOCK TABLES commits an open transaction.
	lockTables, readLock bool
	// NoBinlog: SET sql_log_bin = 0 is in force, until it is set to 1:
	// everything goes to the primary.
	NoBinlog bool
	// Serializable: the session's isolation level is SERIALIZABLE:
	// everything goes to the primary while it is.
	Serializable bool
	// NextTx: SET TRANSACTION (without SESSION) ran on the primary for
	// the next transaction: the next statement that is not a session
	// command goes to the primary.
	NextTx bool
	// Database is the current database, after USE (the proxy sets it on
	// COM_INIT_DB and at login).
	Database string
	// Vars are the tracked session variables (sql_mode, time_zone,
	// names, transaction_isolation, @user variables, ...) by name (lower
	// case; "@name" for user variables; "names" and "character set" for
	// SET NAMES and SET CHARACTER SET) with their value as written. The
	// proxy replays the statements Route marked Replay, in order: a
	// value that refers to another variable needs that order.
	Vars map[string]string
	// VarOrder lists Vars' names in order of first SET.
	VarOrder []string
	// Prepared maps a text PREPARE name (lower case) to its statement
	// text; binary COM_STMT_* are the proxy's.
	Prepared map[string]string
	// ForceTarget is a per-user rule: a reporting user always on a
	// replica (Replica: its transactions and pins stay on the replica
	// that began them, its writes get the replica's read-only error), or
	// always on the primary (Primary). Hints do not override it.
	ForceTarget *Target

	// Dialect is the backends' SQL dialect (sql.MySQL or sql.MariaDB):
	// it decides which executable comments run (/*M! on MariaDB only).
	Dialect sql.Dialect
	// ServerVersion is the backends' version as executable comments
	// write it (MariaDB 10.11.6 is 101106, MySQL 8.0.35 is 80035); 0
	// when unknown. A statement with an executable comment of a higher
	// version (or any, when unknown) never goes to a replica: the
	// router cannot tell whether the server runs it.
	ServerVersion int
}

// NewState returns the state of a new session: autocommit on, nothing
// pinned, for backends of dialect d (version unknown).
func NewState(d sql.Dialect) *State {
	return &State{Autocommit: true, Dialect: d}
}

// Bound reports whether the session is tied to the connection it has:
// an open transaction, a pin, locked tables, sql_log_bin off. A statement
// routed while bound must run on the same backend connection as the one
// before it.
func (st *State) Bound() bool {
	return st.InTx || st.Pinned != "" || st.LockedTables || st.NoBinlog
}

// Decision is where one statement goes and what it is.
type Decision struct {
	Target Target
	// Reason is short and stable, for metrics and tests: "read",
	// "write", "ddl", "tx", "tx-begin", "tx-end", "ro-tx",
	// "locking-read", "last-insert-id", "advisory-lock", "sequence",
	// "previous", "session", "hint:primary", "hint:replica",
	// "forced:primary", "forced:replica", "pinned:<why>",
	// "locked-tables", "sql_log_bin", "serializable", "next-tx",
	// "multi-statement", "versioned-comment", "unknown"... (the table in
	// docs/proxy-routing.md).
	Reason string
	// Write: the statement may change data; after it, causal reads wait
	// for this session's GTID. COMMIT is a write when its transaction
	// may have written.
	Write bool
	// Replay: record in the session history to replay on a new backend
	// conn.
	Replay bool
}

// MaxClassified is the longest statement text Route reads (4 MiB): a
// longer one (a bulk INSERT, a huge IN list) goes to the primary and pins
// the session, without being lexed.
const MaxClassified = 4 << 20

// hint is a routing hint written in a comment.
type hint uint8

const (
	noHint hint = iota
	hintPrimary
	hintReplica
)

// Route decides where one COM_QUERY text goes, and updates st. A
// statement it cannot classify goes to the Primary. Hints: /*
// dbfleet:primary */ and /* dbfleet:replica */ (also as -- or #
// comments); a replica hint never overrides a transaction, a pin, a
// write or a read that must see the primary (locking reads,
// LAST_INSERT_ID...), sends to a replica a read the router keeps on the
// primary only out of caution (a stored function, an executable comment
// of a newer version, SERIALIZABLE), and says of a read that it may be
// stale (no causal wait: Reason "hint:replica").
func Route(st *State, query string) Decision {
	wasBound := st.Bound()
	if len(query) > MaxClassified {
		// Not read: whatever it does (a SET, a BEGIN...) happens on the
		// primary only, so the session stays there.
		st.pin("large-statement")
		return st.override(Decision{Target: Primary, Reason: "pinned:" + st.Pinned, Write: true}, noHint, wasBound)
	}
	h := hintOf(st.Dialect, query)
	c, tr := sql.LexTraits(st.Dialect, query)
	var d Decision
	if tr.Multi {
		d = st.multi(query)
	} else {
		d = st.versioned(st.route(query, c, tr), tr)
	}
	return st.override(d, h, wasBound)
}

// versioned keeps on the primary a statement bound for a replica whose
// executable comment the backends may not run (its version is above
// theirs, or theirs is unknown): the router read the comment as code.
func (st *State) versioned(d Decision, tr sql.Traits) Decision {
	if d.Target == Replica && tr.Version > 0 && (st.ServerVersion == 0 || tr.Version > st.ServerVersion) {
		d.Target, d.Reason = Primary, "versioned-comment"
	}
	return d
}

// override applies the per-user rule, then the hint, to d.
func (st *State) override(d Decision, h hint, wasBound bool) Decision {
	if d.Target == Session {
		return d
	}
	if f := st.ForceTarget; f != nil {
		switch {
		case *f == Primary && d.Target == Replica:
			d.Target, d.Reason = Primary, "forced:primary"
		case *f == Replica && d.Target != Replica && (wasBound || d.Target == Previous):
			d.Target, d.Reason = Previous, "forced:replica"
		case *f == Replica && d.Target != Replica:
			d.Target, d.Reason = Replica, "forced:replica"
		}
		return d
	}
	switch {
	case h == hintPrimary && d.Target == Replica:
		d.Target, d.Reason = Primary, "hint:primary"
	case h == hintReplica && (d.Target == Replica || d.Reason == "versioned-comment" || d.Reason == "serializable" || d.Reason == "function"):
		d.Target, d.Reason = Replica, "hint:replica"
	}
	return d
}

// hintOf returns the hint of a /* dbfleet:primary */ or /*
// dbfleet:replica */ comment in query (the first one wins).
func hintOf(d sql.Dialect, query string) hint {
	if !strings.Contains(query, "dbfleet:") {
		return noHint
	}
	h := noHint
	sql.EachComment(query, d, func(c string) bool {
		for f := range strings.FieldsSeq(c) {
			switch {
			case strings.EqualFold(f, "dbfleet:primary"):
				h = hintPrimary
			case strings.EqualFold(f, "dbfleet:replica"):
				h = hintReplica
			default:
				continue
			}
			return false
		}
		return true
	})
	return h
}

// route decides for one statement (not a multi-statement text).
func (st *State) route(query string, c sql.Class, tr sql.Traits) Decision {
	switch {
	case c.Verb == "SET":
		return st.set(query, c, tr)
	case c.Verb == "USE":
		if name, ok := secondName(st.Dialect, query); ok {
			st.Database = name
		}
		return Decision{Target: Session, Reason: "session", Replay: true}
	case c.Verb == "PREPARE" || c.Verb == "DEALLOCATE" || (c.Kind == sql.KindSession && c.Verb == "DROP"):
		return st.prepare(query, c)
	case c.Verb == "EXECUTE":
		return st.execute(query)
	case c.Kind == sql.KindTxn:
		return st.txn(query, c)
	case c.Kind == sql.KindSession:
		return Decision{Target: Session, Reason: "session", Replay: true}
	}

	// Statements that tie the session to the primary for good.
	switch {
	case tr.GetLock:
		st.pin("get_lock")
	case tr.Temporary && c.Verb == "CREATE TABLE":
		st.pin("temporary-table")
	case tr.UserVarAssign:
		st.pin("user-variable")
	case c.Verb == "CALL":
		st.pin("call") // a procedure may set variables, lock, begin a transaction
	case c.Verb == "HANDLER":
		st.pin("handler")
	}
	commits := implicitCommit(c, tr)
	if commits {
		st.endTx()
	}
	if c.Verb == "FLUSH" && adjacent(st.Dialect, query, [2]string{"READ", "LOCK"}, [2]string{"FOR", "EXPORT"}) {
		st.locks(st.lockTables, true)
		return Decision{Target: Primary, Reason: "locked-tables"}
	}
	if d, ok := st.boundTarget(c, tr, commits); ok {
		return d
	}
	switch c.Kind {
	case sql.KindDML:
		return Decision{Target: Primary, Reason: "write", Write: true}
	case sql.KindDDL:
		return Decision{Target: Primary, Reason: "ddl", Write: true}
	case sql.KindQuery:
		switch {
		case c.Locking != "":
			return Decision{Target: Primary, Reason: "locking-read"}
		case tr.Sequence:
			return Decision{Target: Primary, Reason: "sequence"}
		case tr.LastInsertID:
			return Decision{Target: Primary, Reason: "last-insert-id"}
		case tr.AdvisoryLock:
			return Decision{Target: Primary, Reason: "advisory-lock"}
		case tr.Previous:
			return Decision{Target: Previous, Reason: "previous"}
		case tr.ServerVar:
			// The session sees one database: the primary's identity.
			return Decision{Target: Primary, Reason: "server-variable"}
		case tr.Calls:
			// A stored function or a UDF may write.
			return Decision{Target: Primary, Reason: "function", Write: true}
		case st.Serializable:
			return Decision{Target: Primary, Reason: "serializable"}
		}
		if c.Verb == "SHOW" {
			return Decision{Target: Replica, Reason: "show"}
		}
		return Decision{Target: Replica, Reason: "read"}
	}
	switch {
	case c.Global:
		return Decision{Target: Primary, Reason: "global"}
	case c.SelectInto != "":
		return Decision{Target: Primary, Reason: "select-into", Write: true}
	}
	return Decision{Target: Primary, Reason: "unknown", Write: true}
}

// boundTarget is the target of a statement (not a session command, not
// transaction control) while the session is tied to a connection; it
// starts the implicit transaction of
// autocommit=0 and consumes NextTx.
func (st *State) boundTarget(c sql.Class, tr sql.Traits, commits bool) (Decision, bool) {
	write := writes(c, tr)
	next := st.NextTx
	st.NextTx = false
	if st.InTx && !st.ReadOnlyTx {
		st.TxWrites = st.TxWrites || write
	}
	switch {
	case st.InTx && st.ReadOnlyTx:
		// The transaction stays on its replica to its end, even after a
		// statement in it pinned the session.
		return Decision{Target: Previous, Reason: "ro-tx", Write: write}, true
	case st.Pinned != "":
		return Decision{Target: Primary, Reason: "pinned:" + st.Pinned, Write: write}, true
	case st.LockedTables:
		return Decision{Target: Primary, Reason: "locked-tables", Write: write}, true
	case st.NoBinlog:
		return Decision{Target: Primary, Reason: "sql_log_bin", Write: write}, true
	case st.InTx:
		return Decision{Target: Primary, Reason: "tx", Write: write}, true
	case !st.Autocommit && !commits:
		st.InTx, st.ReadOnlyTx, st.TxWrites = true, false, write
		return Decision{Target: Primary, Reason: "tx", Write: write}, true
	case next:
		return Decision{Target: Primary, Reason: "next-tx", Write: write}, true
	}
	return Decision{}, false
}

// writes reports whether a statement that is not a session command or
// transaction control may change data: a write, DDL (a sequence moving
// is DML), a read calling a stored function, SELECT ... INTO OUTFILE, and
// anything the lexer does not know (CALL, DO...) but SET GLOBAL and
// SELECT ... INTO @variables.
func writes(c sql.Class, tr sql.Traits) bool {
	switch c.Kind {
	case sql.KindQuery:
		return tr.Calls
	case sql.KindOther:
		return !c.Global && c.SelectInto != "variables"
	}
	return true
}

// pin ties the session to the primary for good (the first reason stays).
func (st *State) pin(why string) {
	if st.Pinned == "" {
		st.Pinned = why
	}
}

// locks records which table locks the session holds.
func (st *State) locks(lockTables, readLock bool) {
	st.lockTables, st.readLock = lockTables, readLock
	st.LockedTables = lockTables || readLock
}

// endTx ends the open transaction.
func (st *State) endTx() {
	st.InTx, st.ReadOnlyTx, st.TxWrites = false, false, false
}

// implicitCommit reports whether a statement commits the open
// transaction before it runs (MySQL's "Statements That Cause an Implicit
// Commit"): DDL except on temporary tables, account management, FLUSH,
// ANALYZE/CHECK/OPTIMIZE/REPAIR TABLE, CACHE INDEX, LOAD INDEX,
// replication control.
func implicitCommit(c sql.Class, tr sql.Traits) bool {
	if c.Kind == sql.KindDDL {
		return !tr.Temporary
	}
	if c.Kind != sql.KindOther {
		return false
	}
	switch c.Verb {
	case "GRANT", "REVOKE", "CREATE USER", "ALTER USER", "DROP USER", "RENAME USER", "SET PASSWORD",
		"CREATE ROLE", "DROP ROLE", "FLUSH", "ANALYZE", "CHECK", "REPAIR", "CACHE", "LOAD", "RESET",
		"START", "STOP", "CHANGE":
		return true
	}
	return false
}

// txn routes transaction control (c.Kind is sql.KindTxn).
func (st *State) txn(query string, c sql.Class) Decision {
	switch c.Txn {
	case "BEGIN", "START TRANSACTION":
		st.endTx()                   // a BEGIN commits the open transaction
		st.locks(false, st.readLock) // and releases LOCK TABLES
		readOnly := c.Txn == "START TRANSACTION" && containsFold(query, "only") && adjacent(st.Dialect, query, [2]string{"READ", "ONLY"})
		next := st.NextTx
		st.NextTx = false
		switch {
		case st.Pinned != "":
			st.InTx = true
			return Decision{Target: Primary, Reason: "pinned:" + st.Pinned}
		case st.LockedTables || st.NoBinlog || st.Serializable || next || !readOnly:
			st.InTx = true
			return Decision{Target: Primary, Reason: "tx-begin"}
		}
		st.InTx, st.ReadOnlyTx = true, true
		return Decision{Target: Replica, Reason: "ro-tx-begin"}
	case "COMMIT", "ROLLBACK":
		d := Decision{Target: Primary, Reason: "tx-end", Write: c.Txn == "COMMIT" && st.TxWrites}
		if st.InTx && st.ReadOnlyTx {
			d.Target = Previous
		}
		chain := containsFold(query, "chain") && adjacent(st.Dialect, query, [2]string{"AND", "CHAIN"})
		wasRO := st.ReadOnlyTx
		st.endTx()
		if chain {
			st.InTx, st.ReadOnlyTx = true, wasRO
		}
		return d
	case "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT":
		if st.InTx && st.ReadOnlyTx {
			return Decision{Target: Previous, Reason: "ro-tx"}
		}
		return Decision{Target: Primary, Reason: "tx"}
	case "LOCK TABLES", "LOCK TABLE":
		st.endTx()
		st.locks(true, st.readLock)
		st.InTx = !st.Autocommit // under autocommit=0 the server opens one
		return Decision{Target: Primary, Reason: "locked-tables"}
	case "UNLOCK TABLES":
		if st.lockTables {
			st.endTx() // only the end of LOCK TABLES commits
		}
		st.locks(false, false)
		return Decision{Target: Primary, Reason: "unlock-tables"}
	case "XA":
		st.pin("xa")
		return Decision{Target: Primary, Reason: "pinned:" + st.Pinned, Write: true}
	}
	return Decision{Target: Primary, Reason: "unknown", Write: true}
}

// pinningVars are the session variables whose SET pins the session to
// the primary (ProxySQL's list).
var pinningVars = map[string]bool{
	"sql_safe_updates": true, "sql_select_limit": true, "foreign_key_checks": true, "unique_checks": true,
	"auto_increment_increment": true, "auto_increment_offset": true, "group_concat_max_len": true,
}

// set routes a SET statement (c.Verb is "SET").
func (st *State) set(query string, c sql.Class, tr sql.Traits) Decision {
	items, ok := sql.SetItems(st.Dialect, query)
	if !ok {
		if c.Kind == sql.KindSession { // SET ROLE
			st.pin("set-role")
			return Decision{Target: Primary, Reason: "pinned:" + st.Pinned}
		}
		return Decision{Target: Primary, Reason: "unknown", Write: true}
	}
	global, session, next := 0, 0, 0
	for _, it := range items {
		switch it.Scope {
		case "global":
			global++
		case "next":
			next++
		default:
			session++
		}
	}
	switch {
	case global > 0 && session == 0:
		return Decision{Target: Primary, Reason: "global"}
	case global > 0:
		st.pin("set-global") // the session part ran on the primary only
		return Decision{Target: Primary, Reason: "pinned:" + st.Pinned}
	case next > 0:
		st.NextTx = true
		return Decision{Target: Primary, Reason: "next-tx"}
	}
	if tr.Calls {
		// A stored function or a UDF in a value may write: it runs once,
		// on the primary, and the session stays there (its value is
		// known only there).
		st.pin("set-function")
		return Decision{Target: Primary, Reason: "pinned:" + st.Pinned, Write: true}
	}
	d := Decision{Target: Session, Reason: "session", Replay: true}
	for _, it := range items {
		name := it.Name
		if it.Scope == "user" {
			if it.Calls {
				// Its value may differ on another connection: keep the
				// session where it was computed.
				st.pin("user-variable")
				return Decision{Target: Primary, Reason: "pinned:" + st.Pinned}
			}
			name = "@" + name
		}
		st.setVar(name, it.Value)
		switch name {
		case "autocommit":
			on, known := boolValue(it.Value)
			if !known {
				st.pin("autocommit")
				return Decision{Target: Primary, Reason: "pinned:" + st.Pinned}
			}
			if on && !st.Autocommit && st.InTx {
				d.Write = st.TxWrites // SET autocommit = 1 commits
				st.endTx()
			}
			st.Autocommit = on
		case "sql_log_bin":
			on, known := boolValue(it.Value)
			st.NoBinlog = !on || !known
		case "transaction_isolation", "tx_isolation":
			st.Serializable = strings.EqualFold(unquote(st.Dialect, it.Value), "SERIALIZABLE")
		default:
			if pinningVars[name] {
				st.pin("set:" + name)
			}
		}
	}
	return d
}

// setVar records a tracked variable.
func (st *State) setVar(name, value string) {
	if st.Vars == nil {
		st.Vars = map[string]string{}
	}
	if _, ok := st.Vars[name]; !ok {
		st.VarOrder = append(st.VarOrder, name)
	}
	st.Vars[name] = value
}

// prepare routes PREPARE name FROM ..., DEALLOCATE PREPARE name and DROP
// PREPARE name.
func (st *State) prepare(query string, c sql.Class) Decision {
	toks := sql.Tokens(query, st.Dialect)
	i := 1
	if c.Verb != "PREPARE" {
		i = 2 // DEALLOCATE PREPARE, DROP PREPARE
	}
	if i >= len(toks) || toks[i].Kind == sql.String || toks[i].Kind == sql.Punct {
		return Decision{Target: Primary, Reason: "unknown", Write: true}
	}
	name := strings.ToLower(toks[i].Name(query))
	if c.Verb != "PREPARE" {
		delete(st.Prepared, name)
		return Decision{Target: Session, Reason: "session", Replay: true}
	}
	if i+2 >= len(toks) || !toks[i+1].Is(query, "FROM") {
		return Decision{Target: Primary, Reason: "unknown", Write: true}
	}
	src := toks[i+2]
	var text string
	var ok bool
	switch {
	case src.Kind == sql.String && i+3 == len(toks):
		text, ok = sql.UnquoteString(st.Dialect, src.Text(query))
	case src.Kind == sql.Punct && query[src.Off] == '@' && i+4 == len(toks):
		if v, found := st.Vars["@"+strings.ToLower(toks[i+3].Name(query))]; found {
			text, ok = sql.UnquoteString(st.Dialect, v)
		}
	}
	if !ok {
		// PREPARE s FROM @v with a value the router does not know: the
		// statement is known on the primary only.
		st.pin("prepare-from-variable")
		return Decision{Target: Primary, Reason: "pinned:" + st.Pinned}
	}
	if st.Prepared == nil {
		st.Prepared = map[string]string{}
	}
	st.Prepared[name] = text
	return Decision{Target: Session, Reason: "session", Replay: true}
}

// execute routes EXECUTE name [USING ...] as its prepared statement.
func (st *State) execute(query string) Decision {
	toks := sql.Tokens(query, st.Dialect)
	if len(toks) < 2 {
		return Decision{Target: Primary, Reason: "unknown", Write: true}
	}
	if toks[1].Is(query, "IMMEDIATE") { // MariaDB's EXECUTE IMMEDIATE 'text'
		if len(toks) >= 3 && toks[2].Kind == sql.String {
			if text, ok := sql.UnquoteString(st.Dialect, toks[2].Text(query)); ok && !strings.Contains(text, "?") {
				return st.inner(text)
			}
		}
		return Decision{Target: Primary, Reason: "unknown", Write: true}
	}
	text, ok := st.Prepared[strings.ToLower(toks[1].Name(query))]
	if !ok {
		return Decision{Target: Primary, Reason: "unknown", Write: true}
	}
	return st.inner(text)
}

// inner routes the text a statement runs (a prepared statement): as a
// statement of its own, but a session command or a text the router does
// not know runs on the primary only, and pins.
func (st *State) inner(text string) Decision {
	c, tr := sql.LexTraits(st.Dialect, text)
	if tr.Multi || c.Verb == "PREPARE" || c.Verb == "EXECUTE" || c.Verb == "DEALLOCATE" {
		return Decision{Target: Primary, Reason: "unknown", Write: true}
	}
	d := st.versioned(st.route(text, c, tr), tr)
	if d.Target == Session {
		st.pin("prepared-session-command")
		return Decision{Target: Primary, Reason: "pinned:" + st.Pinned}
	}
	return d
}

// multi routes a text of several statements: it goes to the primary as
// one; each statement updates the state as it would alone, and a session
// command among them pins the session (it ran on the primary only).
func (st *State) multi(query string) Decision {
	d := Decision{Target: Primary, Reason: "multi-statement"}
	for _, s := range sql.Split(query, st.Dialect) {
		if s.Client {
			continue
		}
		c, tr := sql.LexTraits(st.Dialect, s.Text)
		var one Decision
		if tr.Multi { // a compound statement Split keeps whole
			one = Decision{Target: Primary, Reason: "unknown", Write: true}
		} else {
			one = st.route(s.Text, c, tr)
		}
		d.Write = d.Write || one.Write
		if one.Target == Session {
			st.pin("multi-statement")
		}
	}
	return d
}

// secondName returns the name in token 1 of query (USE db).
func secondName(d sql.Dialect, query string) (string, bool) {
	toks := sql.Tokens(query, d)
	if len(toks) < 2 || (toks[1].Kind != sql.Word && toks[1].Kind != sql.QuotedIdent) {
		return "", false
	}
	return toks[1].Name(query), true
}

// adjacent reports whether any of the word pairs ({"READ", "ONLY"})
// appears, as two consecutive words, after query's first word: the
// statement's options that LexClass does not report (START TRANSACTION
// READ ONLY, COMMIT AND CHAIN, FLUSH TABLES WITH READ LOCK).
func adjacent(d sql.Dialect, query string, pairs ...[2]string) bool {
	toks := sql.Tokens(query, d)
	for i := 1; i+1 < len(toks); i++ {
		for _, p := range pairs {
			if toks[i].Is(query, p[0]) && toks[i+1].Is(query, p[1]) {
				return true
			}
		}
	}
	return false
}

// containsFold reports whether s contains the lower-case ASCII word w in
// any case, without allocating: a cheap test before reading tokens.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(w)], w) {
			return true
		}
	}
	return false
}

// boolValue reads a boolean variable's value: 1, ON, TRUE (and quoted)
// or 0, OFF, FALSE; known is false for anything else.
func boolValue(v string) (on, known bool) {
	switch strings.ToUpper(strings.Trim(v, `'"`)) {
	case "1", "ON", "TRUE":
		return true, true
	case "0", "OFF", "FALSE":
		return false, true
	}
	return false, false
}

// unquote returns a string literal's value, or v as written.
func unquote(d sql.Dialect, v string) string {
	if s, ok := sql.UnquoteString(d, v); ok {
		return s
	}
	return v
}
