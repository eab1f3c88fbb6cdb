package sql

import (
	"strconv"
	"strings"
)

// Traits are what a MySQL-family statement's tokens tell beyond its Class:
// the functions, variables and words that tie it to one server or to one
// connection. A router that sends reads to replicas (internal/proxy/route)
// needs them; LexTraits reads them in the same pass as LexClass.
type Traits struct {
	// Multi: the text holds more than one statement (a ";" followed by
	// more tokens), as a COM_QUERY with multi-statements on may.
	Multi bool
	// LastInsertID: the statement reads the connection's last write:
	// LAST_INSERT_ID(), @@last_insert_id, @@identity, MariaDB's
	// @@last_gtid.
	LastInsertID bool
	// AdvisoryLock: a function of the GET_LOCK family (GET_LOCK,
	// RELEASE_LOCK, RELEASE_ALL_LOCKS, IS_FREE_LOCK, IS_USED_LOCK);
	// GetLock: GET_LOCK itself, which takes a lock.
	AdvisoryLock, GetLock bool
	// CalcFoundRows: SELECT SQL_CALC_FOUND_ROWS.
	CalcFoundRows bool
	// Previous: the statement reads what the connection's previous
	// statement left: FOUND_ROWS(), ROW_COUNT(), @@warning_count,
	// @@error_count, SHOW WARNINGS, SHOW ERRORS, SHOW COUNT(*) WARNINGS,
	// SHOW PROFILE(S).
	Previous bool
	// Sequence: a sequence function: NEXTVAL, SETVAL, LASTVAL, NEXT VALUE
	// FOR, PREVIOUS VALUE FOR (the last two and LASTVAL read the
	// connection's state).
	Sequence bool
	// UserVar: a user variable (@name) appears. UserVarAssign: one is
	// assigned in an expression (@name := ...) or by SELECT ... INTO
	// (SET @name is read by SetItems).
	UserVar, UserVarAssign bool
	// Temporary: CREATE or DROP TEMPORARY TABLE.
	Temporary bool
	// ServerVar: the statement reads a variable that tells servers apart
	// (@@read_only, @@innodb_read_only, @@server_id, @@hostname,
	// @@gtid_binlog_pos...): drivers read them to find the primary.
	ServerVar bool
	// Calls: the statement calls a function that is neither built in
	// nor a word of the grammar (db.f(), f() for a stored function or a
	// UDF), which may write.
	Calls bool
	// Version is the highest version written on an executable comment
	// the dialect runs (/*!50100 ... */ is 50100, /*M!100502 ... */
	// 100502), 0 when there is none: the server runs the comment's
	// content only if its own version is at least that.
	Version int
}

// serverVariables are the system variables ServerVar looks for.
var serverVariables = map[string]bool{
	"read_only": true, "innodb_read_only": true, "super_read_only": true, "server_id": true, "server_uuid": true,
	"hostname": true, "port": true, "gtid_binlog_pos": true, "gtid_current_pos": true, "gtid_slave_pos": true,
	"gtid_binlog_state": true, "gtid_executed": true, "gtid_purged": true,
}

// LexTraits classifies a statement of the MySQL family from its tokens
// alone, as LexClass does, and reads its Traits in the same pass; like
// LexClass it allocates nothing for ordinary statements.
func LexTraits(d Dialect, text string) (Class, Traits) {
	x := getLexer(d, text)
	c := x.class(0)
	t := x.traits(c)
	putLexer(x)
	return c, t
}

// traits reads the statement's Traits (c is its class).
func (x *lexer) traits(c Class) Traits {
	var t Traits
	if c.SelectInto == "variables" {
		t.UserVarAssign = true
	}
	switch c.Verb {
	case "SHOW":
		switch x.upper(1) {
		case "WARNINGS", "ERRORS", "PROFILE", "PROFILES":
			t.Previous = true
		case "COUNT":
			t.Previous = x.is(5, "WARNINGS") || x.is(5, "ERRORS") // SHOW COUNT(*) WARNINGS
		}
	case "CREATE TABLE", "DROP TABLE":
		if _, obj := x.verbAt(0); x.upper(obj) == "TABLE" {
			for k := 1; k < obj; k++ {
				if x.is(k, "TEMPORARY") {
					t.Temporary = true
				}
			}
		}
	}
	for j := 0; ; j++ {
		tk, ok := x.tok(j)
		if !ok {
			break
		}
		switch tk.Kind {
		case Punct:
			switch x.src[tk.Off] {
			case ';':
				if _, more := x.tok(j + 1); more {
					t.Multi = true
				}
			case '@':
				j = x.variable(j, tk, &t)
			}
		case Word:
			x.traitWord(j, tk, &t)
		case QuotedIdent:
			// `f`(...) always names a stored function or a UDF: a
			// built-in cannot be quoted.
			if !t.Calls && x.punct(j+1, '(') && x.call(j, "") {
				t.Calls = true
			}
		}
	}
	if strings.Contains(x.src, "/*") {
		for _, sc := range SpecialComments(x.src, x.d) {
			if v, err := strconv.Atoi(sc.Version); sc.Runs && err == nil && v > t.Version {
				t.Version = v
			}
		}
	}
	return t
}

// variable reads the variable whose "@" is token j (tk) into t, and
// returns the last token it read.
func (x *lexer) variable(j int, tk Token, t *Traits) int {
	if x.punct(j+1, '@') { // @@[scope.]name
		k := j + 2
		if x.punct(k+1, '.') {
			k += 2
		}
		switch name := x.text(k); {
		case strings.EqualFold(name, "last_insert_id"), strings.EqualFold(name, "identity"), strings.EqualFold(name, "last_gtid"):
			t.LastInsertID = true
		case strings.EqualFold(name, "warning_count"), strings.EqualFold(name, "error_count"):
			t.Previous = true
		case serverVariables[strings.ToLower(name)]:
			t.ServerVar = true
		}
		return k
	}
	if j > 0 {
		if p := x.toks[j-1]; p.End == tk.Off && p.Kind != Punct {
			return j // 'user'@'host'
		}
	}
	if n, ok := x.tok(j + 1); ok && n.Off == tk.End && n.Kind != Punct {
		t.UserVar = true
		if x.punct(j+2, ':') && x.punct(j+3, '=') {
			t.UserVarAssign = true
		}
		return j + 1
	}
	return j
}

// traitWord reads the word at token j (tk) into t: a function of
// interest when a "(" follows, else SQL_CALC_FOUND_ROWS or a sequence's
// NEXT|PREVIOUS VALUE FOR.
func (x *lexer) traitWord(j int, tk Token, t *Traits) {
	w := x.src[tk.Off:tk.End]
	if x.punct(j+1, '(') {
		switch len(w) {
		case 6:
			t.Sequence = t.Sequence || upperEqual(w, "SETVAL")
		case 7:
			if upperEqual(w, "NEXTVAL") {
				t.Sequence = true
			} else if upperEqual(w, "LASTVAL") {
				t.Sequence, t.LastInsertID = true, true
			}
		case 8:
			if upperEqual(w, "GET_LOCK") {
				t.GetLock, t.AdvisoryLock = true, true
			}
		case 9:
			t.Previous = t.Previous || upperEqual(w, "ROW_COUNT")
		case 10:
			t.Previous = t.Previous || upperEqual(w, "FOUND_ROWS")
		case 12:
			if upperEqual(w, "RELEASE_LOCK") || upperEqual(w, "IS_FREE_LOCK") || upperEqual(w, "IS_USED_LOCK") {
				t.AdvisoryLock = true
			}
		case 14:
			t.LastInsertID = t.LastInsertID || upperEqual(w, "LAST_INSERT_ID")
		case 17:
			t.AdvisoryLock = t.AdvisoryLock || upperEqual(w, "RELEASE_ALL_LOCKS")
		}
		if !t.Calls && x.call(j, w) {
			t.Calls = true
		}
		return
	}
	switch len(w) {
	case 19:
		t.CalcFoundRows = t.CalcFoundRows || upperEqual(w, "SQL_CALC_FOUND_ROWS")
	case 4, 8:
		if (upperEqual(w, "NEXT") || upperEqual(w, "PREVIOUS")) && x.is(j+1, "VALUE") && x.is(j+2, "FOR") {
			t.Sequence = true
			if len(w) == 8 {
				t.LastInsertID = true
			}
		}
	}
}

// call reports whether the word w at token j, followed by "(", calls a
// stored function or a UDF: a qualified name (db.f), or a name that is
// neither built in nor a word of the grammar (w "": a quoted name, never
// one), unless it is a name with a column list (INTO t (a), AS d (a),
// WITH c (a) AS (...)).
func (x *lexer) call(j int, w string) bool {
	if x.punct(j-1, '.') {
		return !x.punct(j-3, '.') // db.f(, not db.t.c(
	}
	if w != "" && (keyword(w) != "" || builtin(w)) {
		return false
	}
	if p := x.upper(j - 1); p == "INTO" || p == "AS" || p == "TABLE" || p == "JOIN" || p == "FROM" || p == "UPDATE" {
		return false
	}
	depth := 0
	for k := j + 1; ; k++ {
		t, ok := x.tok(k)
		if !ok {
			return true
		}
		if t.Kind != Punct {
			continue
		}
		switch x.src[t.Off] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return !x.is(k+1, "AS") // WITH c (a) AS (...)
			}
		}
	}
}

// SetItem is one assignment of a MySQL-family SET statement.
type SetItem struct {
	// Scope is "session" (no scope, SESSION, LOCAL, @@name,
	// @@session.name, @@local.name), "global" (GLOBAL, PERSIST,
	// PERSIST_ONLY, @@global.name, @@persist.name...), "user" (@name),
	// or "next" for SET TRANSACTION without a scope, which sets the next
	// transaction only.
	Scope string
	// Name is the variable's name in lower case, without "@" and quotes.
	// SET NAMES is "names", SET CHARACTER SET (CHARSET) "character set";
	// SET [scope] TRANSACTION gives "transaction_isolation" (ISOLATION
	// LEVEL, Value the level in upper case such as "REPEATABLE READ")
	// and "transaction_read_only" (READ ONLY or READ WRITE: Value "ON"
	// or "OFF").
	Name string
	// Value is the value's text as written: "'UTC'", "utf8mb4 COLLATE
	// utf8mb4_bin", "CONCAT(@@sql_mode, ',NO_ZERO_DATE')".
	Value string
	// Const: Value is one literal (a number, a string, a bare word such
	// as ON, DEFAULT or NULL), maybe signed or after a character set
	// introducer, so that it means the same on any connection.
	Const bool
	// Calls: Value holds a parenthesis, a function call or a subquery,
	// whose result may differ on another connection or later.
	Calls bool
}

// SetItems returns the assignments of a MySQL-family SET statement, in
// order. ok is false for any other statement and for the SET forms that
// assign no variable (SET PASSWORD, SET ROLE, SET DEFAULT ROLE, MariaDB's
// SET STATEMENT ... FOR, which sets variables for its statement only).
func SetItems(d Dialect, text string) (items []SetItem, ok bool) {
	x := getLexer(d, text)
	defer putLexer(x)
	if d == Postgres || !x.is(0, "SET") {
		return nil, false
	}
	switch x.upper(1) {
	case "PASSWORD", "ROLE", "DEFAULT", "STATEMENT":
		return nil, false
	}
	j := 1
	carried := "session" // the last scope keyword holds for the assignments without one after it
	for {
		it := SetItem{Scope: carried}
		scoped := false
		switch keyword(x.text(j)) {
		case "GLOBAL", "PERSIST", "PERSIST_ONLY":
			it.Scope, scoped, carried = "global", true, "global"
			j++
		case "SESSION", "LOCAL":
			it.Scope, scoped, carried = "session", true, "session"
			j++
		}
		switch {
		case x.punct(j, '@') && x.punct(j+1, '@'):
			j += 2
			if x.punct(j+1, '.') {
				switch keyword(x.text(j)) {
				case "GLOBAL", "PERSIST", "PERSIST_ONLY":
					it.Scope = "global"
				}
				j += 2
			}
		case x.punct(j, '@'):
			it.Scope = "user"
			j++
		}
		if !scoped && it.Scope == "global" && x.is(j, "TRANSACTION") {
			scoped = true
		}
		name, _ := x.tok(j)
		switch {
		case it.Scope != "user" && x.is(j, "TRANSACTION"):
			if !scoped {
				it.Scope = "next"
			}
			return append(items, x.transaction(j+1, it.Scope)...), true
		case it.Scope != "user" && x.is(j, "NAMES"):
			it.Name = "names"
			j++
		case it.Scope != "user" && (x.is(j, "CHARSET") || (x.is(j, "CHARACTER") && x.is(j+1, "SET"))):
			it.Name = "character set"
			if x.is(j, "CHARACTER") {
				j++
			}
			j++
		default:
			if name.Kind == 0 || name.Kind == Punct {
				return items, len(items) > 0
			}
			it.Name = strings.ToLower(name.Name(x.src))
			j++
			if name.Kind == String && len(it.Name) >= 2 { // @'name'
				it.Name = it.Name[1 : len(it.Name)-1]
			}
			switch {
			case x.punct(j, '='):
				j++
			case x.punct(j, ':') && x.punct(j+1, '='):
				j += 2
			default:
				return items, len(items) > 0
			}
		}
		start, end, depth, n := j, j, 0, 0
		for ; ; j++ {
			t, ok := x.tok(j)
			if !ok || (t.Kind == Punct && depth == 0 && (x.src[t.Off] == ',' || x.src[t.Off] == ';')) {
				break
			}
			if t.Kind == Punct {
				switch x.src[t.Off] {
				case '(':
					it.Calls = true
					depth++
				case ')':
					depth--
				}
			}
			end = j
			n++
		}
		if n == 0 {
			return items, len(items) > 0
		}
		first, _ := x.tok(start)
		last, _ := x.tok(end)
		it.Value = x.src[first.Off:last.End]
		it.Const = x.constant(start, n)
		items = append(items, it)
		if !x.punct(j, ',') {
			return items, true
		}
		j++
	}
}

// constant reports whether the n tokens from i are one literal: a
// number, a string or a bare word, maybe signed or after a character set
// introducer (_utf8mb4'x', N'x'); a word followed by COLLATE x is one too
// (SET NAMES).
func (x *lexer) constant(i, n int) bool {
	if n >= 2 && (x.punct(i, '-') || x.punct(i, '+')) {
		i, n = i+1, n-1
	}
	if n == 3 && x.is(i+1, "COLLATE") {
		n = 1
	}
	t, _ := x.tok(i)
	switch n {
	case 1:
		return t.Kind == Word || t.Kind == String
	case 2:
		s, _ := x.tok(i + 1)
		return t.Kind == Word && s.Kind == String && s.Off == t.End
	}
	return false
}

// transaction reads SET [scope] TRANSACTION's characteristics from
// token j: ISOLATION LEVEL ..., READ ONLY, READ WRITE.
func (x *lexer) transaction(j int, scope string) []SetItem {
	var out []SetItem
	for {
		switch {
		case x.is(j, "ISOLATION") && x.is(j+1, "LEVEL"):
			j += 2
			var level string
			switch {
			case x.is(j, "SERIALIZABLE"):
				level, j = "SERIALIZABLE", j+1
			case x.is(j, "REPEATABLE") && x.is(j+1, "READ"):
				level, j = "REPEATABLE READ", j+2
			case x.is(j, "READ") && x.is(j+1, "COMMITTED"):
				level, j = "READ COMMITTED", j+2
			case x.is(j, "READ") && x.is(j+1, "UNCOMMITTED"):
				level, j = "READ UNCOMMITTED", j+2
			default:
				return out
			}
			out = append(out, SetItem{Scope: scope, Name: "transaction_isolation", Value: level, Const: true})
		case x.is(j, "READ") && (x.is(j+1, "ONLY") || x.is(j+1, "WRITE")):
			v := "OFF"
			if x.is(j+1, "ONLY") {
				v = "ON"
			}
			out = append(out, SetItem{Scope: scope, Name: "transaction_read_only", Value: v, Const: true})
			j += 2
		default:
			return out
		}
		if !x.punct(j, ',') {
			return out
		}
		j++
	}
}
