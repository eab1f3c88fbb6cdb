// Package route is the read/write-splitting proxy's router: a pure
// function (no I/O) that tells, for one COM_QUERY text and the session's
// routing state, which backend runs it (a replica, the primary, the
// backend of the previous statement, or every backend of the session for
// a session command), and updates that state (transactions, pins,
// tracked variables, the current database).
//
// It classifies with internal/sql's lexer-level classification
// (sql.LexClass), cheap enough to run on every statement; see
// BenchmarkRoute. The rules, with their reasons, are documented in
// docs/proxy-routing.md. A statement the router cannot classify goes to
// the primary, never to a replica.
package route

import (
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
	// Previous is the backend that served the previous statement
	// (FOUND_ROWS, SHOW WARNINGS, statements of a read-only transaction).
	Previous
	// Session is a session command: apply on the current backend conn(s)
	// and record for replay.
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
// session with NewState (or set Autocommit to true).
type State struct {
	// InTx: a transaction is open (BEGIN, START TRANSACTION, or the first
	// statement under autocommit=0), until COMMIT, ROLLBACK or an
	// implicit commit.
	InTx bool
	// ReadOnlyTx: the open transaction is START TRANSACTION READ ONLY,
	// which runs on one replica (Previous) to its end.
	ReadOnlyTx bool
	// Autocommit is the session's autocommit (starts true).
	Autocommit bool
	// Pinned, when non-empty, is the reason every statement goes to the
	// primary for the rest of the session ("get_lock", "temporary-table",
	// "user-variable", "set:foreign_key_checks", ...).
	Pinned string
	// Database is the current database, after USE (the proxy sets it on
	// COM_INIT_DB and at login).
	Database string
	// Vars are the tracked session variables (sql_mode, time_zone,
	// names, transaction_isolation, @user variables with constant values,
	// ...) to replay on a new conn, by name (lower case; "@name" for user
	// variables; "names" and "character set" for SET NAMES and SET
	// CHARACTER SET) with their value as written. VarOrder lists the
	// names in order of first SET.
	Vars map[string]string
	// VarOrder lists Vars' names in order of first SET.
	VarOrder []string
	// Prepared maps a text PREPARE name (lower case) to its statement
	// text; binary COM_STMT_* are the proxy's.
	Prepared map[string]string
	// ForceTarget is a per-user rule: a reporting user always on a
	// replica (Replica), or always on the primary (Primary).
	ForceTarget *Target

	// Dialect is the backends' SQL dialect (sql.MySQL or sql.MariaDB):
	// it decides which executable comments run (/*M! on MariaDB only).
	Dialect sql.Dialect
}

// NewState returns the state of a new session: autocommit on, nothing
// pinned, for backends of dialect d.
func NewState(d sql.Dialect) *State {
	return &State{Autocommit: true, Dialect: d}
}

// Decision is where one statement goes and what it is.
type Decision struct {
	Target Target
	// Reason is short and stable, for metrics and tests ("read",
	// "write", "tx", "locking-read", "hint", "pinned:get_lock", ...).
	Reason string
	// Write: the statement may change data; after it, causal reads wait
	// for this session's GTID.
	Write bool
	// Replay: record in the session history to replay on a new backend
	// conn.
	Replay bool
}

// Route decides where one COM_QUERY text goes, and updates st. A
// statement it cannot classify goes to the Primary. Hints: /*
// dbfleet:primary */ and /* dbfleet:replica */ (a replica hint never
// overrides a transaction or a pin).
func Route(st *State, query string) Decision {
	c := sql.LexClass(st.Dialect, query)
	switch c.Kind {
	case sql.KindQuery:
		if c.Locking != "" {
			return st.primary("locking-read", false)
		}
		if st.InTx || st.Pinned != "" || !st.Autocommit {
			return st.primary("tx", false)
		}
		return Decision{Target: Replica, Reason: "read"}
	case sql.KindDML:
		return st.primary("write", true)
	case sql.KindDDL:
		st.InTx = false
		return st.primary("ddl", true)
	case sql.KindTxn:
		switch c.Txn {
		case "BEGIN", "START TRANSACTION":
			st.InTx = true
			return st.primary("tx-begin", false)
		case "COMMIT", "ROLLBACK":
			st.InTx = false
			return st.primary("tx-end", false)
		}
	case sql.KindSession:
		return Decision{Target: Session, Reason: "session", Replay: true}
	}
	return st.primary("unknown", true)
}

// primary returns a decision for the primary.
func (st *State) primary(reason string, write bool) Decision {
	return Decision{Target: Primary, Reason: reason, Write: write}
}
