package sql

import "strings"

// Kind classifies a statement.
type Kind string

// Statement kinds.
const (
	// KindDDL changes schema: CREATE, ALTER, DROP, TRUNCATE, RENAME,
	// COMMENT ON.
	KindDDL Kind = "ddl"
	// KindDML changes data: INSERT, UPDATE, DELETE, REPLACE, MERGE, LOAD
	// DATA, COPY ... FROM (also behind a WITH clause).
	KindDML Kind = "dml"
	// KindQuery reads: SELECT, SHOW, EXPLAIN, DESCRIBE, VALUES, TABLE.
	KindQuery Kind = "query"
	// KindSession changes the session only: SET (not GLOBAL), USE,
	// SET NAMES.
	KindSession Kind = "session"
	// KindTxn is transaction control: BEGIN, START TRANSACTION, COMMIT,
	// ROLLBACK, SAVEPOINT, RELEASE, SET autocommit, LOCK/UNLOCK TABLES.
	KindTxn Kind = "txn"
	// KindOther is everything else: SET GLOBAL, GRANT, CALL, DO, KILL,
	// FLUSH, VACUUM, SELECT ... INTO OUTFILE, client commands.
	KindOther Kind = "other"
)

// Classify tells a statement's kind from its leading keywords.
func Classify(text string, d Dialect) Kind {
	sc := Scanner{src: text, d: d}
	t, ok := sc.Next()
	for ok && t.Kind == Punct && text[t.Off] == '(' {
		t, ok = sc.Next()
	}
	if !ok || t.Kind != Word {
		return KindOther
	}
	switch strings.ToUpper(t.Text(text)) {
	case "CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME":
		return KindDDL
	case "COMMENT":
		if d != Postgres {
			return KindOther
		}
		return KindDDL
	case "INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE", "UPSERT", "LOAD":
		return KindDML
	case "COPY":
		for t, ok := sc.Next(); ok; t, ok = sc.Next() {
			if t.Is(text, "FROM") {
				return KindDML
			}
			if t.Is(text, "TO") {
				return KindQuery
			}
		}
		return KindOther
	case "SELECT", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "VALUES", "TABLE":
		return KindQuery
	case "WITH":
		return afterWith(text, &sc)
	case "USE":
		return KindSession
	case "SET":
		n1, _ := sc.Next()
		switch {
		case n1.Is(text, "GLOBAL") || n1.Is(text, "PERSIST") || n1.Is(text, "PERSIST_ONLY") || (n1.Kind == Punct && text[n1.Off] == '@' && strings.HasPrefix(strings.ToUpper(text[n1.Off:]), "@@GLOBAL.")):
			return KindOther
		case n1.Is(text, "AUTOCOMMIT"), n1.Is(text, "TRANSACTION") && d == Postgres:
			return KindTxn
		}
		return KindSession
	case "BEGIN":
		if n1, ok := sc.Next(); ok && n1.Is(text, "NOT") {
			return KindOther // MariaDB's BEGIN NOT ATOMIC block
		}
		return KindTxn
	case "START":
		if n1, ok := sc.Next(); ok && n1.Is(text, "TRANSACTION") {
			return KindTxn
		}
	case "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "UNLOCK", "END", "ABORT":
		return KindTxn
	case "LOCK":
		return KindTxn
	case "XA":
		return KindTxn
	}
	return KindOther
}

// afterWith finds the statement a WITH clause leads to: the first of
// SELECT, INSERT, UPDATE, DELETE, MERGE at parenthesis depth zero. In
// PostgreSQL a common table expression may itself write (WITH d AS
// (DELETE ... RETURNING *) SELECT ...): such a statement is DML.
func afterWith(text string, sc *Scanner) Kind {
	depth := 0
	prev := ""
	inner := false // PostgreSQL: a CTE body writes
	for t, ok := sc.Next(); ok; t, ok = sc.Next() {
		if t.Kind == Punct {
			switch text[t.Off] {
			case '(':
				depth++
			case ')':
				depth--
			}
			prev = ""
			continue
		}
		if t.Kind != Word {
			prev = ""
			continue
		}
		w := strings.ToUpper(t.Text(text))
		if depth != 0 {
			if sc.d == Postgres && (w == "INSERT" || w == "DELETE" || w == "MERGE" || (w == "UPDATE" && prev != "FOR" && prev != "NO" && prev != "KEY")) {
				inner = true
			}
			prev = w
			continue
		}
		switch w {
		case "SELECT", "VALUES", "TABLE":
			if inner {
				return KindDML
			}
			return KindQuery
		case "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE":
			return KindDML
		}
		prev = w
	}
	if inner {
		return KindDML
	}
	return KindQuery
}

// objectWords are the object keywords Verb looks for after CREATE, ALTER
// and DROP.
var objectWords = map[string]bool{
	"TABLE": true, "INDEX": true, "VIEW": true, "DATABASE": true, "SCHEMA": true, "PROCEDURE": true,
	"FUNCTION": true, "TRIGGER": true, "EVENT": true, "SEQUENCE": true, "USER": true, "ROLE": true,
	"TYPE": true, "EXTENSION": true, "SERVER": true, "TABLESPACE": true, "PACKAGE": true, "DOMAIN": true,
	"POLICY": true, "PUBLICATION": true, "SUBSCRIPTION": true, "RULE": true, "AGGREGATE": true,
	"COLLATION": true, "OPERATOR": true, "STATISTICS": true, "CAST": true, "LANGUAGE": true,
}

// Verb returns a statement's leading keywords in upper case, such as
// "CREATE TABLE", "ALTER TABLE", "DROP INDEX", "INSERT", "SELECT": for
// CREATE, ALTER and DROP the object keyword after modifiers (OR REPLACE,
// TEMPORARY, UNIQUE, DEFINER = ...); "MATERIALIZED VIEW" stays two words.
func Verb(text string, d Dialect) string {
	sc := Scanner{src: text, d: d}
	var first string
	for t, ok := sc.Next(); ok; t, ok = sc.Next() {
		if t.Kind == Word {
			first = strings.ToUpper(t.Text(text))
			break
		}
	}
	if first != "CREATE" && first != "ALTER" && first != "DROP" {
		return first
	}
	for n := 0; n < 11; {
		t, ok := sc.Next()
		if !ok {
			break
		}
		if t.Kind != Word {
			continue
		}
		n++
		w := strings.ToUpper(t.Text(text))
		if w == "MATERIALIZED" {
			if nt, ok := sc.Next(); ok && nt.Is(text, "VIEW") {
				return first + " MATERIALIZED VIEW"
			}
		}
		if objectWords[w] {
			return first + " " + w
		}
	}
	return first
}

// Class is what a statement is, in the one vocabulary every consumer
// shares: the review, the executor, work orders, the console, exports,
// reports and the proxy all read a statement through it.
type Class struct {
	Kind Kind `json:"kind"`
	// Verb is the statement's leading keywords: "SELECT", "UPDATE",
	// "CREATE TABLE", "DROP VIEW", "SET", "BEGIN", "ALTER VIEW"...
	Verb string `json:"verb"`
	// Txn names transaction control ("BEGIN", "COMMIT", "SET autocommit",
	// "LOCK TABLES"); Kind is then KindTxn.
	Txn string `json:"txn,omitempty"`
	// Destroys names what the statement destroys for good: "DROP TABLE
	// a.b", "TRUNCATE t", "DROP DATABASE d", "DROP SCHEMA s CASCADE".
	Destroys string `json:"destroys,omitempty"`
	// NonTx: a PostgreSQL statement that cannot run in a transaction
	// block (CREATE INDEX CONCURRENTLY, VACUUM, CREATE DATABASE...).
	NonTx bool `json:"non_tx,omitempty"`
	// SelectInto names where a SELECT ... INTO writes: "OUTFILE",
	// "DUMPFILE", "variables" (MySQL family, Kind other) or "table"
	// (PostgreSQL SELECT INTO, Kind ddl).
	SelectInto string `json:"select_into,omitempty"`
	// Locking names a locking read: "FOR UPDATE", "FOR SHARE", "LOCK IN
	// SHARE MODE", "FOR NO KEY UPDATE", "FOR KEY SHARE".
	Locking string `json:"locking,omitempty"`
	// Global: SET GLOBAL / PERSIST (Kind other), changes the server.
	Global bool `json:"global,omitempty"`
}

// LexClass classifies a statement from its tokens alone, without a parser:
// what Split attaches to each statement, what Parsed.Class falls back to
// for statements without a tree, and cheap enough for a proxy to run on
// every statement (see the benchmark). It cannot see inside expressions:
// SelectInto and Locking are found by keyword, anywhere in the text.
func LexClass(d Dialect, text string) Class {
	c := Class{Kind: Classify(text, d), Verb: Verb(text, d)}
	words := leadWords(text, d, 3)
	at := func(i int) string {
		if i < len(words) {
			return words[i]
		}
		return ""
	}
	switch c.Kind {
	case KindTxn:
		c.Txn = txnName(words)
	case KindOther:
		if at(0) == "SET" {
			c.Global = true
		}
	case KindDDL:
		switch {
		case at(0) == "TRUNCATE":
			c.Destroys = "TRUNCATE"
		case at(0) == "DROP" && (at(1) == "TABLE" || at(1) == "DATABASE" || (at(1) == "SCHEMA" && d != Postgres)):
			c.Destroys = "DROP " + at(1)
		}
		if d == Postgres && (at(0) == "CREATE" && at(1) == "DATABASE" || at(0) == "DROP" && at(1) == "DATABASE") {
			c.NonTx = true
		}
	}
	if d == Postgres && (at(0) == "VACUUM" || at(0) == "CHECKPOINT" || (at(0) == "ALTER" && at(1) == "SYSTEM")) {
		c.NonTx = true
	}
	if c.Kind == KindQuery && at(0) != "SHOW" && at(0) != "EXPLAIN" && at(0) != "DESCRIBE" && at(0) != "DESC" {
		lexReads(d, text, &c)
	}
	return c
}

// txnName names transaction control from its first words.
func txnName(w []string) string {
	at := func(i int) string {
		if i < len(w) {
			return w[i]
		}
		return ""
	}
	switch at(0) {
	case "START":
		return "START TRANSACTION"
	case "SET":
		if at(1) == "AUTOCOMMIT" {
			return "SET autocommit"
		}
		return "SET TRANSACTION"
	case "LOCK", "UNLOCK":
		return at(0) + " TABLES"
	case "BEGIN", "END":
		return at(0)
	}
	return at(0)
}

// lexReads finds INTO and locking clauses of a query by keyword.
func lexReads(d Dialect, text string, c *Class) {
	sc := Scanner{src: text, d: d}
	var prev, prev2 string
	for t, ok := sc.Next(); ok; t, ok = sc.Next() {
		if t.Kind != Word {
			prev2, prev = prev, ""
			continue
		}
		w := strings.ToUpper(t.Text(text))
		switch {
		case w == "INTO" && c.SelectInto == "":
			if d == Postgres {
				c.SelectInto, c.Kind = "table", KindDDL
			} else {
				c.SelectInto, c.Kind = "variables", KindOther
			}
		case (w == "OUTFILE" || w == "DUMPFILE") && prev == "INTO" && d != Postgres:
			c.SelectInto = w
		case prev == "FOR" && (w == "UPDATE" || w == "SHARE"):
			c.Locking = "FOR " + w
		case prev2 == "FOR" && prev == "NO" && w == "KEY":
			c.Locking = "FOR NO KEY UPDATE"
		case prev == "FOR" && w == "KEY":
			c.Locking = "FOR KEY SHARE"
		case prev2 == "IN" && prev == "SHARE" && w == "MODE":
			c.Locking = "LOCK IN SHARE MODE"
		}
		prev2, prev = prev, w
	}
}
