package sql

import (
	"strings"
	"sync"
)

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

// Classify tells a statement's kind from its tokens alone: LexClass's
// Kind.
func Classify(text string, d Dialect) Kind { return LexClass(d, text).Kind }

// objectWords are the object keywords Verb looks for after CREATE, ALTER
// and DROP.
var objectWords = map[string]bool{
	"TABLE": true, "INDEX": true, "VIEW": true, "DATABASE": true, "SCHEMA": true, "PROCEDURE": true,
	"FUNCTION": true, "TRIGGER": true, "EVENT": true, "SEQUENCE": true, "USER": true, "ROLE": true,
	"TYPE": true, "EXTENSION": true, "SERVER": true, "TABLESPACE": true, "PACKAGE": true, "DOMAIN": true,
	"POLICY": true, "PUBLICATION": true, "SUBSCRIPTION": true, "RULE": true, "AGGREGATE": true,
	"COLLATION": true, "OPERATOR": true, "STATISTICS": true, "CAST": true, "LANGUAGE": true,
	"OWNED": true, "GROUP": true, "SYSTEM": true,
}

// ddlVerbs interns "CREATE TABLE", "DROP VIEW"... (verbAt's result) so
// that classifying a statement does not build the string.
var ddlVerbs = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, first := range []string{"CREATE", "ALTER", "DROP"} {
		for w := range objectWords {
			m[first+" "+w] = first + " " + w
		}
	}
	return m
})

// Verb returns a statement's leading keywords in upper case, such as
// "CREATE TABLE", "ALTER TABLE", "DROP INDEX", "INSERT", "SELECT": for
// CREATE, ALTER and DROP the object keyword after modifiers (OR REPLACE,
// TEMPORARY, UNIQUE, DEFINER = ...); "MATERIALIZED VIEW" and "FOREIGN
// TABLE" stay two words.
func Verb(text string, d Dialect) string {
	x := getLexer(d, text)
	defer putLexer(x)
	i := 0
	for t, ok := x.tok(i); ok && t.Kind != Word; t, ok = x.tok(i) {
		i++
	}
	first := x.upper(i)
	if first != "CREATE" && first != "ALTER" && first != "DROP" {
		return first
	}
	v, _ := x.verbAt(i)
	return v
}

// Class is what a statement is, in the one vocabulary every consumer
// shares: the review, the executor, work orders, the console, exports,
// reports and the proxy all read a statement through it.
type Class struct {
	Kind Kind `json:"kind"`
	// Verb is the statement's leading keywords: "SELECT", "UPDATE",
	// "CREATE TABLE", "DROP VIEW", "SET", "BEGIN", "ALTER VIEW"...
	Verb string `json:"verb"`
	// Txn names transaction control, as SQL spells it: "BEGIN", "START
	// TRANSACTION", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE
	// SAVEPOINT", "ROLLBACK TO SAVEPOINT" (which keeps the transaction),
	// "SET autocommit", "SET TRANSACTION", "LOCK TABLES" / "LOCK TABLE",
	// "UNLOCK TABLES", "XA", and PostgreSQL's "PREPARE TRANSACTION",
	// "COMMIT PREPARED", "ROLLBACK PREPARED" (END is COMMIT, ABORT is
	// ROLLBACK). Kind is then KindTxn.
	Txn string `json:"txn,omitempty"`
	// Destroys names what the statement destroys for good: "DROP TABLE
	// a.b", "TRUNCATE t", "DROP DATABASE d", "DROP SCHEMA s CASCADE",
	// "ALTER TABLE t DROP PARTITION", MariaDB's "CREATE OR REPLACE TABLE
	// t", PostgreSQL's "DROP MATERIALIZED VIEW v", "DROP OWNED BY r".
	Destroys string `json:"destroys,omitempty"`
	// NonTx: a PostgreSQL statement that cannot run in a transaction
	// block (CREATE INDEX CONCURRENTLY, VACUUM, CREATE DATABASE, DISCARD
	// ALL, COMMIT PREPARED...); CALL counts, as its procedure may COMMIT.
	NonTx bool `json:"non_tx,omitempty"`
	// SelectInto names where a SELECT ... INTO writes: "OUTFILE",
	// "DUMPFILE", "variables" (MySQL family, Kind other) or "table"
	// (PostgreSQL SELECT INTO, Kind ddl).
	SelectInto string `json:"select_into,omitempty"`
	// Locking names a locking read, without its wait policy (NOWAIT,
	// SKIP LOCKED): "FOR UPDATE", "FOR SHARE" (also MySQL's LOCK IN SHARE
	// MODE), and PostgreSQL's "FOR NO KEY UPDATE", "FOR KEY SHARE".
	Locking string `json:"locking,omitempty"`
	// Global: SET GLOBAL / PERSIST (Kind other), changes the server.
	Global bool `json:"global,omitempty"`
}

// LexClass classifies a statement from its tokens alone, without a parser:
// what Split attaches to each statement (its Kind), what Parsed.Class
// falls back to for statements without a tree, and cheap enough for a
// proxy to run on every statement (see BenchmarkLexClass). It agrees with
// Parsed.Class on the statements of testdata/classify.golden; where it
// cannot know what the tree knows (it reads keywords, not grammar) it
// errs towards caution: it never says "query" for a statement the tree
// says writes, and never misses a destroy, a non-transactional
// statement, a SELECT ... INTO, a locking read, a global change or
// transaction control that the tree sees.
func LexClass(d Dialect, text string) Class {
	x := getLexer(d, text)
	c := x.class(0)
	putLexer(x)
	return c
}

var lexerPool = sync.Pool{New: func() any { return &lexer{toks: make([]Token, 0, 64)} }}

func getLexer(d Dialect, text string) *lexer {
	x := lexerPool.Get().(*lexer)
	x.d, x.src, x.sc, x.toks, x.done = d, text, Scanner{src: text, d: d}, x.toks[:0], false
	return x
}

func putLexer(x *lexer) {
	if cap(x.toks) > 4096 {
		x.toks = make([]Token, 0, 64) // do not keep a huge statement's buffer
	}
	x.src, x.sc = "", Scanner{}
	lexerPool.Put(x)
}

// lexer reads a statement's tokens on demand for LexClass.
type lexer struct {
	d    Dialect
	src  string
	sc   Scanner
	toks []Token
	done bool
}

// tok returns token i, scanning as far as needed.
func (x *lexer) tok(i int) (Token, bool) {
	for len(x.toks) <= i && !x.done {
		t, ok := x.sc.Next()
		if !ok {
			x.done = true
			break
		}
		x.toks = append(x.toks, t)
	}
	if i >= 0 && i < len(x.toks) {
		return x.toks[i], true
	}
	return Token{}, false
}

// upper returns token i upper-cased if it is a bare word, else "".
func (x *lexer) upper(i int) string {
	t, ok := x.tok(i)
	if !ok || t.Kind != Word {
		return ""
	}
	return upperWord(t.Text(x.src))
}

// text returns token i's text ("" past the end).
func (x *lexer) text(i int) string {
	t, ok := x.tok(i)
	if !ok {
		return ""
	}
	return t.Text(x.src)
}

// is reports whether token i is the bare word w (upper case).
func (x *lexer) is(i int, w string) bool {
	t, ok := x.tok(i)
	return ok && t.Kind == Word && strings.EqualFold(t.Text(x.src), w)
}

func (x *lexer) punct(i int, c byte) bool {
	t, ok := x.tok(i)
	return ok && t.Kind == Punct && x.src[t.Off] == c
}

// class classifies the statement whose first token is i.
func (x *lexer) class(i int) Class {
	for x.punct(i, '(') {
		i++
	}
	mysql := x.d != Postgres
	first := x.upper(i)
	c := Class{Kind: KindOther, Verb: first}
	switch first {
	case "SELECT", "TABLE", "VALUES":
		c.Kind = KindQuery
		x.reads(i, &c)
	case "WITH":
		return x.with(i)
	case "SHOW":
		c.Kind = KindQuery
	case "DESCRIBE", "DESC":
		c.Kind, c.Verb = KindQuery, "DESCRIBE"
	case "EXPLAIN":
		return x.explain(i)
	case "ANALYZE":
		if mysql && x.explainable(i+1) && !x.is(i+1, "TABLE") && !x.is(i+1, "VALUES") {
			// MariaDB's ANALYZE <statement> runs it.
			j := x.skipExplainFormat(i + 1)
			c = x.class(j)
			c.Verb = "ANALYZE"
		}
	case "INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE":
		c.Kind = KindDML
	case "LOAD":
		if mysql && (x.is(i+1, "DATA") || x.is(i+1, "XML")) {
			c.Kind, c.Verb = KindDML, "LOAD "+x.upper(i+1)
		}
	case "COPY":
		if !mysql {
			return x.copy(i)
		}
	case "CREATE", "ALTER", "DROP":
		if mysql && first == "DROP" && x.is(i+1, "PREPARE") {
			c.Kind = KindSession // DEALLOCATE PREPARE's other spelling
			break
		}
		return x.ddl(i)
	case "TRUNCATE":
		j := i + 1
		if x.is(j, "TABLE") {
			j++
		}
		names, _ := x.names(j)
		c.Kind, c.Destroys = KindDDL, "TRUNCATE "+names
	case "RENAME":
		switch {
		case x.is(i+1, "USER"):
			c.Verb = "RENAME USER"
		case x.is(i+1, "TABLE") || x.is(i+1, "TABLES"):
			c.Kind, c.Verb = KindDDL, "RENAME TABLE"
		}
	case "COMMENT", "REFRESH", "REINDEX", "CLUSTER", "REASSIGN", "SECURITY", "IMPORT":
		if !mysql {
			c.Kind = KindDDL
			x.pgMaintenance(i, &c)
		}
	case "OPTIMIZE":
		if mysql {
			c.Kind = KindDDL
		}
	case "USE":
		c.Kind = KindSession
	case "SET":
		return x.set(i)
	case "RESET":
		if !mysql {
			c.Kind = KindSession
		}
	case "DISCARD":
		if !mysql {
			c.Kind, c.NonTx = KindSession, x.is(i+1, "ALL")
		}
	case "PREPARE":
		c.Kind = KindSession
		if !mysql && x.is(i+1, "TRANSACTION") {
			c.Kind, c.Verb, c.Txn = KindTxn, "PREPARE TRANSACTION", "PREPARE TRANSACTION"
		}
	case "DEALLOCATE":
		c.Kind = KindSession
	case "BEGIN":
		if !(mysql && x.is(i+1, "NOT")) { // MariaDB's BEGIN NOT ATOMIC is a block
			c.Kind, c.Txn = KindTxn, "BEGIN"
		}
	case "START":
		if x.is(i+1, "TRANSACTION") {
			c.Kind, c.Verb, c.Txn = KindTxn, "START TRANSACTION", "START TRANSACTION"
		}
	case "COMMIT", "ROLLBACK", "END", "ABORT":
		if mysql && (first == "END" || first == "ABORT") {
			break
		}
		c.Kind, c.Txn = KindTxn, first
		switch first {
		case "END":
			c.Txn = "COMMIT"
		case "ABORT":
			c.Txn = "ROLLBACK"
		}
		j := i + 1
		if x.is(j, "WORK") || x.is(j, "TRANSACTION") {
			j++
		}
		switch {
		case !mysql && x.is(j, "PREPARED"):
			c.Txn += " PREPARED"
			c.NonTx = true
		case first == "ROLLBACK" && x.is(j, "TO"):
			c.Txn = "ROLLBACK TO SAVEPOINT"
		}
		if first == "COMMIT" || first == "ROLLBACK" {
			c.Verb = c.Txn
		}
	case "SAVEPOINT":
		c.Kind, c.Txn = KindTxn, "SAVEPOINT"
	case "RELEASE":
		c.Kind, c.Verb, c.Txn = KindTxn, "RELEASE SAVEPOINT", "RELEASE SAVEPOINT"
	case "LOCK":
		switch {
		case !mysql:
			c.Kind, c.Verb, c.Txn = KindTxn, "LOCK TABLE", "LOCK TABLE"
		case x.is(i+1, "TABLE") || x.is(i+1, "TABLES"):
			c.Kind, c.Verb, c.Txn = KindTxn, "LOCK TABLES", "LOCK TABLES"
		}
	case "UNLOCK":
		if x.is(i+1, "TABLE") || x.is(i+1, "TABLES") {
			c.Kind, c.Verb, c.Txn = KindTxn, "UNLOCK TABLES", "UNLOCK TABLES"
		}
	case "XA":
		if mysql {
			c.Kind, c.Txn = KindTxn, "XA"
		}
	case "CALL":
		c.NonTx = !mysql // a procedure may COMMIT
	case "VACUUM", "CHECKPOINT":
		c.NonTx = !mysql
	}
	return c
}

// isTxnVariable reports whether w names a variable SET TRANSACTION sets
// (txnVariables), in any case.
func isTxnVariable(w string) bool {
	if len(w) < len("tx_read_only") || len(w) > len("transaction_isolation") {
		return false
	}
	for v := range txnVariables {
		if strings.EqualFold(v, w) {
			return true
		}
	}
	return false
}

// explainable reports whether token i starts a statement EXPLAIN (or
// MariaDB's ANALYZE) can run.
func (x *lexer) explainable(i int) bool {
	if x.punct(i, '(') {
		return true
	}
	switch x.upper(i) {
	case "SELECT", "UPDATE", "DELETE", "INSERT", "REPLACE", "WITH", "TABLE", "VALUES", "FORMAT", "MERGE", "CREATE", "EXECUTE", "DECLARE":
		return true
	}
	return false
}

// skipExplainFormat skips FORMAT = x at token i.
func (x *lexer) skipExplainFormat(i int) int {
	if x.is(i, "FORMAT") {
		i++
		if x.punct(i, '=') {
			i++
		}
		i++
	}
	return i
}

// explain classifies EXPLAIN at token i: a query, unless it is EXPLAIN
// ANALYZE, which runs its statement and is classified as that statement.
func (x *lexer) explain(i int) Class {
	j, analyze := i+1, false
	for {
		switch {
		case x.is(j, "ANALYZE"):
			analyze = true
			j++
			continue
		case x.is(j, "EXTENDED") || x.is(j, "PARTITIONS") || x.is(j, "VERBOSE"):
			j++
			continue
		case x.is(j, "FORMAT"):
			j = x.skipExplainFormat(j)
			continue
		case x.d == Postgres && x.punct(j, '('):
			// EXPLAIN (ANALYZE, ...): the lexer does not read option
			// values, so ANALYZE false counts as ANALYZE.
			for j++; ; j++ {
				t, ok := x.tok(j)
				if !ok || (t.Kind == Punct && x.src[t.Off] == ')') {
					break
				}
				if t.Is(x.src, "ANALYZE") {
					analyze = true
				}
			}
			j++
			continue
		}
		break
	}
	if x.d != Postgres && !x.explainable(j) && !x.is(j, "FOR") {
		return Class{Kind: KindQuery, Verb: "DESCRIBE"} // EXPLAIN table
	}
	if !analyze {
		return Class{Kind: KindQuery, Verb: "EXPLAIN"}
	}
	c := x.class(j)
	c.Verb = "EXPLAIN ANALYZE"
	return c
}

// with classifies WITH ... at token i by the statement the common table
// expressions lead to (the first SELECT, VALUES, TABLE, INSERT, UPDATE,
// DELETE, MERGE or REPLACE at parenthesis depth zero). In PostgreSQL a
// common table expression may itself write (WITH d AS (DELETE ...
// RETURNING *) SELECT ...): the statement is then DML.
func (x *lexer) with(i int) Class {
	depth := 0
	inner := false
	prev := ""
	main := -1
	for j := i + 1; main < 0; j++ {
		t, ok := x.tok(j)
		if !ok {
			break
		}
		if t.Kind == Punct {
			switch x.src[t.Off] {
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
		w := keyword(t.Text(x.src))
		if depth != 0 {
			if x.d == Postgres && (w == "INSERT" || w == "DELETE" || w == "MERGE" || (w == "UPDATE" && prev != "FOR" && prev != "NO" && prev != "KEY")) {
				inner = true
			}
			prev = w
			continue
		}
		switch w {
		case "SELECT", "VALUES", "TABLE", "INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE":
			main = j
		}
		prev = w
	}
	var c Class
	switch x.upper(main) {
	case "SELECT", "VALUES", "TABLE":
		c = Class{Kind: KindQuery, Verb: x.upper(main)}
		x.reads(i, &c)
	case "":
		c = Class{Kind: KindQuery, Verb: "WITH"}
	default:
		c = x.class(main)
	}
	if inner && c.Kind == KindQuery {
		c.Kind = KindDML
	}
	return c
}

// reads finds, from token i on, what makes a query more than a read: an
// INTO clause, a locking clause, a function that moves a sequence.
func (x *lexer) reads(i int, c *Class) {
	var prev, prev2 string
	for j := i; ; j++ {
		t, ok := x.tok(j)
		if !ok {
			return
		}
		if t.Kind != Word {
			if t.Kind == Punct && x.src[t.Off] == '(' && (prev == "NEXTVAL" || prev == "SETVAL") && c.Kind == KindQuery {
				c.Kind = KindDML // a sequence moves
			}
			prev2, prev = prev, ""
			continue
		}
		w := readsWord(t.Text(x.src))
		switch {
		case w == "INTO" && c.SelectInto == "" && prev != "INSERT" && prev != "MERGE":
			if x.d == Postgres {
				c.Kind, c.Verb, c.SelectInto = KindDDL, "SELECT INTO", "table"
			} else {
				c.Kind, c.SelectInto = KindOther, "variables"
				if n := x.upper(j + 1); n == "OUTFILE" || n == "DUMPFILE" {
					c.SelectInto = n
				}
			}
		case c.Locking != "":
		case prev == "FOR" && w == "UPDATE":
			c.Locking = "FOR UPDATE"
		case prev == "FOR" && w == "SHARE":
			c.Locking = "FOR SHARE"
		case prev2 == "FOR" && prev == "NO" && w == "KEY":
			c.Locking = "FOR NO KEY UPDATE"
		case prev == "FOR" && w == "KEY":
			c.Locking = "FOR KEY SHARE"
		case prev2 == "IN" && prev == "SHARE" && w == "MODE":
			c.Locking = "FOR SHARE"
		}
		if x.d != Postgres && prev2 == "NEXT" && prev == "VALUE" && w == "FOR" && c.Kind == KindQuery {
			c.Kind = KindDML
		}
		prev2, prev = prev, w
	}
}

// readsWords are the words reads looks at, by length.
var readsWords = [8][]string{
	2: {"IN", "NO"},
	3: {"FOR", "KEY"},
	4: {"INTO", "MODE", "NEXT"},
	5: {"SHARE", "MERGE", "VALUE"},
	6: {"UPDATE", "INSERT", "SETVAL"},
	7: {"NEXTVAL"},
}

// readsWord returns s upper-cased if it is one of the words reads looks
// at, else "": cheaper than keyword on every word of a long query.
func readsWord(s string) string {
	if len(s) >= len(readsWords) {
		return ""
	}
	for _, w := range readsWords[len(s)] {
		if upperEqual(s, w) {
			return w
		}
	}
	return ""
}

// upperEqual reports whether s is the upper-case ASCII word w in any
// case: strings.EqualFold without its Unicode cases, for hot loops.
func upperEqual(s, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// set classifies SET at token i: session, transaction control (SET
// autocommit, SET TRANSACTION), or a global change (GLOBAL, PERSIST,
// @@global. in any item of a MySQL SET list); MariaDB's SET STATEMENT
// ... FOR <statement> is that statement.
func (x *lexer) set(i int) Class {
	c := Class{Kind: KindSession, Verb: "SET"}
	if x.d == Postgres {
		switch {
		case x.is(i+1, "TRANSACTION") || (x.is(i+1, "SESSION") && x.is(i+2, "CHARACTERISTICS")):
			c.Kind, c.Txn = KindTxn, "SET TRANSACTION"
		case isTxnVariable(x.text(i + 1)):
			c.Kind, c.Txn = KindTxn, "SET TRANSACTION"
		}
		return c
	}
	switch {
	case x.is(i+1, "STATEMENT"):
		depth := 0
		for j := i + 2; ; j++ {
			t, ok := x.tok(j)
			if !ok {
				return c
			}
			switch {
			case t.Kind == Punct && x.src[t.Off] == '(':
				depth++
			case t.Kind == Punct && x.src[t.Off] == ')':
				depth--
			case depth == 0 && t.Is(x.src, "FOR"):
				return x.class(j + 1)
			}
		}
	case x.is(i+1, "PASSWORD"):
		return Class{Kind: KindOther, Verb: "SET PASSWORD"}
	case x.is(i+1, "DEFAULT") && x.is(i+2, "ROLE"):
		return Class{Kind: KindOther, Verb: "SET DEFAULT ROLE"}
	}
	global, auto, txn := false, false, false
	for j := i + 1; ; {
		switch keyword(x.text(j)) {
		case "GLOBAL", "PERSIST", "PERSIST_ONLY":
			global = true
			j++
		case "SESSION", "LOCAL":
			j++
		}
		if x.punct(j, '@') && x.punct(j+1, '@') {
			j += 2
			if x.punct(j+1, '.') {
				switch keyword(x.text(j)) {
				case "GLOBAL", "PERSIST", "PERSIST_ONLY":
					global = true
				}
				j += 2
			}
		}
		switch w := x.text(j); {
		case strings.EqualFold(w, "AUTOCOMMIT"):
			auto = true
		case strings.EqualFold(w, "TRANSACTION") || isTxnVariable(w):
			txn = true
		}
		depth := 0
		for ; ; j++ {
			t, ok := x.tok(j)
			if !ok {
				switch {
				case global:
					c.Kind, c.Global = KindOther, true
				case auto:
					c.Kind, c.Txn = KindTxn, "SET autocommit"
				case txn:
					c.Kind, c.Txn = KindTxn, "SET TRANSACTION"
				}
				return c
			}
			if t.Kind != Punct {
				continue
			}
			switch x.src[t.Off] {
			case '(':
				depth++
			case ')':
				depth--
			case ',':
				if depth == 0 {
					j++
					goto next
				}
			}
		}
	next:
	}
}

// ddl classifies CREATE, ALTER or DROP at token i.
func (x *lexer) ddl(i int) Class {
	mysql := x.d != Postgres
	first := x.upper(i)
	verb, j := x.verbAt(i)
	obj := strings.TrimPrefix(strings.TrimPrefix(verb, first), " ")
	if mysql && obj == "SCHEMA" {
		obj, verb = "DATABASE", first+" DATABASE"
	}
	c := Class{Kind: KindDDL, Verb: verb}
	names := func(k int) string {
		if x.is(k, "IF") {
			k += 2 // IF [NOT] EXISTS
			if x.is(k-1, "NOT") {
				k++
			}
		}
		n, _ := x.names(k)
		return n
	}
	switch obj {
	case "USER", "ROLE", "GROUP":
		if !x.is(j+1, "MAPPING") {
			c.Kind = KindOther
		}
	case "SYSTEM":
		if !mysql && first == "ALTER" {
			c.Kind, c.NonTx, c.Global = KindOther, true, true
		}
	case "TABLESPACE":
		if !mysql && first != "ALTER" {
			c.Kind, c.NonTx = KindOther, true
		}
	case "TABLE":
		temporary := false
		for k := i + 1; k < j; k++ {
			if x.is(k, "TEMPORARY") {
				temporary = true
			}
		}
		switch {
		case first == "DROP" && !(mysql && temporary):
			c.Destroys = "DROP TABLE " + names(j+1)
		case first == "CREATE" && mysql && x.is(i+1, "OR") && x.is(i+2, "REPLACE"):
			c.Destroys = "CREATE OR REPLACE TABLE " + names(j+1)
		case first == "CREATE" && !mysql && x.depthZero(j+1, "AS"):
			c.Verb = "CREATE TABLE AS"
		case first == "ALTER" && mysql:
			name := names(j + 1)
			x.scan(j+1, func(k int, w string) {
				if (w == "DROP" || w == "TRUNCATE") && x.is(k+1, "PARTITION") {
					c.Destroys = "ALTER TABLE " + name + " " + w + " PARTITION"
				}
			})
		case first == "ALTER" && !mysql:
			x.scan(j+1, func(k int, w string) {
				if w == "DETACH" {
					x.scan(k, func(_ int, w string) {
						if w == "CONCURRENTLY" {
							c.NonTx = true
						}
					})
				}
			})
		}
	case "MATERIALIZED VIEW", "FOREIGN TABLE":
		if first == "DROP" && !mysql {
			c.Destroys = verb + " " + names(j+1)
		}
	case "DATABASE":
		switch {
		case first == "DROP":
			c.Destroys = "DROP DATABASE " + names(j+1)
		case first == "CREATE" && mysql && x.is(i+1, "OR") && x.is(i+2, "REPLACE"):
			c.Destroys = "CREATE OR REPLACE DATABASE " + names(j+1)
		}
		if !mysql {
			c.NonTx = first != "ALTER" || x.depthZero(j+1, "TABLESPACE")
		}
	case "SCHEMA":
		if first == "DROP" && !mysql {
			k := j + 1
			if x.is(k, "IF") {
				k += 2
			}
			if n, end := x.names(k); x.is(end, "CASCADE") {
				c.Destroys = "DROP SCHEMA " + n + " CASCADE"
			}
		}
	case "OWNED":
		if first == "DROP" && !mysql && x.is(j+1, "BY") {
			c.Destroys = "DROP OWNED BY " + names(j+2)
		}
	case "INDEX":
		if !mysql && x.is(j+1, "CONCURRENTLY") {
			c.NonTx = true
		}
	case "SUBSCRIPTION":
		if !mysql && first != "ALTER" {
			c.NonTx = true
		}
	}
	return c
}

// pgMaintenance adds what PostgreSQL's REINDEX and CLUSTER at token i
// cannot run in: a transaction block, for REINDEX CONCURRENTLY and
// REINDEX SCHEMA|SYSTEM|DATABASE, and for CLUSTER without a table.
func (x *lexer) pgMaintenance(i int, c *Class) {
	switch c.Verb {
	case "REINDEX":
		x.scan(i+1, func(_ int, w string) {
			switch w {
			case "CONCURRENTLY", "SCHEMA", "SYSTEM", "DATABASE":
				c.NonTx = true
			}
		})
	case "CLUSTER":
		j := i + 1
		if x.is(j, "VERBOSE") {
			j++
		}
		if x.punct(j, '(') {
			for ; !x.punct(j, ')'); j++ {
				if _, ok := x.tok(j); !ok {
					break
				}
			}
			j++
		}
		if _, ok := x.tok(j); !ok {
			c.NonTx = true
		}
	}
}

// copy classifies PostgreSQL's COPY at token i: from STDIN it writes
// (DML), to STDOUT it reads (unless its query writes), and from or to a
// file or a program it is "other".
func (x *lexer) copy(i int) Class {
	c := Class{Kind: KindQuery, Verb: "COPY"}
	var inner Class
	j := i + 1
	if x.punct(j, '(') {
		inner = x.class(j + 1)
	}
	depth := 0
	for ; ; j++ {
		t, ok := x.tok(j)
		if !ok {
			return Class{Kind: KindOther, Verb: "COPY"}
		}
		if t.Kind == Punct {
			switch x.src[t.Off] {
			case '(':
				depth++
			case ')':
				depth--
			}
			continue
		}
		if depth == 0 && (t.Is(x.src, "FROM") || t.Is(x.src, "TO")) {
			break
		}
	}
	from := x.is(j, "FROM")
	switch {
	case !x.is(j+1, "STDIN") && !x.is(j+1, "STDOUT"):
		c.Kind = KindOther // a file or a program on the server
	case from:
		c.Kind = KindDML
	case inner.Kind == KindDML:
		c.Kind = KindDML
	}
	return c
}

// verbAt returns the CREATE, ALTER or DROP verb at token i ("CREATE
// TABLE", "DROP MATERIALIZED VIEW") and the token of its object word (i
// when there is none).
func (x *lexer) verbAt(i int) (string, int) {
	first := x.upper(i)
	j := i
	for n := 0; n < 11; {
		j++
		t, ok := x.tok(j)
		if !ok {
			break
		}
		if t.Kind != Word {
			continue
		}
		n++
		w := keyword(t.Text(x.src))
		switch {
		case w == "MATERIALIZED" && x.is(j+1, "VIEW"):
			return first + " MATERIALIZED VIEW", j + 1
		case w == "FOREIGN" && x.is(j+1, "TABLE"):
			return first + " FOREIGN TABLE", j + 1
		case w == "SYSTEM" && !(first == "ALTER" && j == i+1):
			continue // ALTER SYSTEM only
		case objectWords[w]:
			return ddlVerbs()[first+" "+w], j
		}
	}
	return first, i
}

// names reads a list of object names from token i (a, s.b, `c`.`d`),
// skipping PostgreSQL's ONLY, and returns them as the trees name them
// (quotes removed; PostgreSQL folds unquoted names to lower case) with
// the token after the list.
func (x *lexer) names(i int) (string, int) {
	var b strings.Builder
	for {
		if x.d == Postgres && x.is(i, "ONLY") {
			i++
		}
		start := b.Len()
		for {
			t, ok := x.tok(i)
			if !ok || (t.Kind != Word && t.Kind != QuotedIdent) {
				break
			}
			if b.Len() > start {
				b.WriteByte('.')
			}
			switch {
			case t.Kind == QuotedIdent:
				b.WriteString(t.Name(x.src))
			case x.d == Postgres:
				b.WriteString(strings.ToLower(t.Text(x.src)))
			default:
				b.WriteString(t.Text(x.src))
			}
			i++
			if !x.punct(i, '.') {
				break
			}
			i++
		}
		if b.Len() == start || !x.punct(i, ',') {
			return b.String(), i
		}
		b.WriteString(", ")
		i++
	}
}

// scan calls fn with each upper-cased bare word from token i on, at
// parenthesis depth zero.
func (x *lexer) scan(i int, fn func(int, string)) {
	depth := 0
	for ; ; i++ {
		t, ok := x.tok(i)
		if !ok {
			return
		}
		switch {
		case t.Kind == Punct && x.src[t.Off] == '(':
			depth++
		case t.Kind == Punct && x.src[t.Off] == ')':
			depth--
		case t.Kind == Word && depth == 0:
			fn(i, keyword(t.Text(x.src)))
		}
	}
}

// depthZero reports whether the bare word w appears from token i on at
// parenthesis depth zero.
func (x *lexer) depthZero(i int, w string) bool {
	found := false
	x.scan(i, func(_ int, u string) {
		if u == w {
			found = true
		}
	})
	return found
}
