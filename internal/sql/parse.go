package sql

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"
	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"

	// The TiDB grammar needs a value-expression driver.
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Parsed is one statement parsed by its dialect's grammar: the TiDB
// grammar (over the MariaDB-normalised text) for the MySQL family,
// PostgreSQL's own parser (pg_query) for PostgreSQL. Consumers keep only
// their own analysis over it (review rules, lineage, chunk plans); they
// never call a parser themselves.
type Parsed struct {
	Dialect Dialect
	// Text is the statement as written.
	Text string
	// MySQL is the tree of a MySQL-family statement, nil for PostgreSQL,
	// for a statement of comments only, and when Manual is set.
	MySQL ast.StmtNode
	// PG is the tree of a PostgreSQL statement (nil for comments only).
	PG *pg.Node
	// Manual says why the statement, valid for its server, has no tree:
	// a routine body, a MariaDB-only construct the grammar lacks. Such a
	// statement needs a person, not a syntax error.
	Manual string
	// Notes say how MariaDB syntax was read before parsing (a CREATE OR
	// REPLACE drops the old table, system versioning was not read...).
	Notes []string
	// Rewritten reports that the grammar read a normalised text that
	// differs from Text (MariaDB syntax blanked or rewritten, a comment
	// the server ignores removed). A caller that must run exactly what it
	// checked refuses such statements or runs Render's output.
	Rewritten bool
	// OrReplace and Online are MariaDB's CREATE OR REPLACE and ALTER
	// ONLINE; Algorithm an ALGORITHM the grammar lacks (NOCOPY).
	OrReplace, Online bool
	Algorithm         string
	// Types maps the offset in Text of a column type the grammar lacks
	// (UUID, INET6, GEOMETRY...) to the type as written; the tree holds a
	// stand-in (CHAR, BLOB).
	Types map[int]string
	// Special lists the statement's special comments (MySQL family).
	Special []SpecialComment

	pgTree *pg.ParseResult
	noTree string // the verb of a statement parsed without a tree (routines)
	verb   string // the verb as written when normalisation changed it
	class  *Class

	// selectInto: a SELECT ... INTO the grammar lacks (normalize.go).
	selectInto string
}

// SyntaxError is a statement its grammar rejects.
type SyntaxError struct {
	// Off is the byte offset in the statement text, -1 when unknown.
	Off int
	Msg string
	// Multi: the text holds several statements (valid in a DELIMITER
	// block, which sends them together).
	Multi bool
}

func (e *SyntaxError) Error() string { return e.Msg }

// MultiMessage is the message of a SyntaxError with Multi set.
const MultiMessage = "more than one statement where the script's delimiters make one"

// AsSyntax returns the SyntaxError in err's chain, if any.
func AsSyntax(err error) (*SyntaxError, bool) {
	var se *SyntaxError
	ok := errors.As(err, &se)
	return se, ok
}

var tidbPool = sync.Pool{New: func() any { return parser.New() }}

// tokenPool holds token buffers for the normaliser (it keeps no token).
var tokenPool = sync.Pool{New: func() any { b := make([]Token, 0, 256); return &b }}

// routineVerbs are statements whose bodies no grammar here reads.
var routineVerbs = map[string]string{
	"CREATE PROCEDURE": "procedure",
	"CREATE FUNCTION":  "function",
	"CREATE PACKAGE":   "package",
	"CREATE TRIGGER":   "trigger",
	"CREATE EVENT":     "event",
	"ALTER PROCEDURE":  "",
	"ALTER FUNCTION":   "",
	"ALTER EVENT":      "",
	"DROP PROCEDURE":   "",
	"DROP FUNCTION":    "",
	"DROP TRIGGER":     "",
	"DROP EVENT":       "",
	"DROP PACKAGE":     "",
}

// Parse parses one statement (as Split returns them) in dialect d. The
// statement is measured first (Guard): too long or too deeply nested is
// an errkind.Invalid *LimitError, and no parser runs. A statement its
// grammar rejects is an errkind.Invalid *SyntaxError with the offset in
// text. Routine bodies and MariaDB-only syntax the grammar lacks are not
// errors: they come back with Manual set and no tree.
func Parse(d Dialect, text string) (*Parsed, error) {
	if err := Guard(d, text); err != nil {
		return nil, err
	}
	if d == Postgres {
		return parsePostgres(text)
	}
	return parseMySQL(d, text)
}

func parseMySQL(d Dialect, text string) (*Parsed, error) {
	p := &Parsed{Dialect: d, Text: text, Special: SpecialComments(text, d)}
	verb := Verb(text, d)
	if kind, ok := routineVerbs[verb]; ok {
		if kind != "" {
			p.Manual = kind + " body: rules cannot review stored code"
		}
		if !strings.HasPrefix(verb, "CREATE") {
			p.Manual = ""
		}
		p.noTree = verb
		return p, nil
	}
	x := getLexer(d, text)
	beginNot := x.is(0, "BEGIN") && x.is(1, "NOT")
	putLexer(x)
	if beginNot {
		p.Manual = "anonymous BEGIN NOT ATOMIC block: rules cannot review stored code"
		p.noTree = "BEGIN NOT ATOMIC"
		return p, nil
	}
	buf := tokenPool.Get().(*[]Token)
	toks := appendTokens((*buf)[:0], text, d)
	nz := normalizeMySQL(text, toks, p.Special, d)
	if cap(toks) <= 1<<16 {
		*buf = toks[:0]
		tokenPool.Put(buf)
	}
	p.Notes, p.OrReplace, p.Online, p.Algorithm, p.Types = nz.notes, nz.orReplace, nz.online, nz.algorithm, nz.types
	p.Rewritten = nz.rewritten
	p.verb, p.selectInto = nz.verb, nz.selectInto
	stmts, err := tidbParse(nz.text, d == MariaDB)
	if err != nil {
		if d == MariaDB {
			if why := mariadbOnly(text); why != "" {
				p.Manual = "MariaDB syntax the MySQL grammar does not cover (" + why + "): review by hand"
				return p, nil
			}
		}
		if d != TiDB {
			if why := grammarGap(text, d); why != "" {
				p.Manual = "a statement the MySQL grammar does not cover (" + why + "): review by hand"
				return p, nil
			}
		}
		se := tidbError(err, nz.text)
		if se.Off >= 0 {
			se.Off = nz.origOffset(se.Off)
		}
		return nil, errkind.Wrap(errkind.Invalid, se)
	}
	switch len(stmts) {
	case 0: // only comments
	case 1:
		p.MySQL = stmts[0]
	default:
		off := -1
		toks := Tokens(text, d)
		for i, t := range toks {
			if t.Kind == Punct && text[t.Off] == ';' && i+1 < len(toks) {
				off = toks[i+1].Off
				break
			}
		}
		return nil, errkind.Wrap(errkind.Invalid, &SyntaxError{Off: off, Msg: MultiMessage, Multi: true})
	}
	return p, nil
}

// tidbParse runs the TiDB grammar. It turns a panic inside the grammar or
// its value driver (which the fuzzer found on numbers the driver cannot
// hold) into a syntax error, so that no statement can take the process
// down; the parser that panicked is not reused.
func tidbParse(text string, mariadb bool) (stmts []ast.StmtNode, err error) {
	tp := tidbPool.Get().(*parser.Parser)
	defer func() {
		if r := recover(); r != nil {
			stmts, err = nil, &grammarPanic{what: fmt.Sprint(r)}
			return
		}
		tidbPool.Put(tp)
	}()
	tp.SetMariaDB(mariadb)
	stmts, _, err = tp.Parse(text, "", "")
	return stmts, err
}

// grammarPanic is a panic of the TiDB grammar on a statement.
type grammarPanic struct{ what string }

func (e *grammarPanic) Error() string {
	return "the SQL grammar failed on this statement (" + Clip(e.what, 80) + ")"
}

var tidbNear = regexp.MustCompile(`(?s)^line \d+ column \d+ near "(.*)"(.*?)(?: \(total length (\d+)\))?\s*$`)

// tidbError turns the TiDB parser's error into a message and an offset in
// text.
func tidbError(err error, text string) *SyntaxError {
	msg := err.Error()
	if i := strings.Index(msg, "]"); strings.HasPrefix(msg, "[") && i > 0 {
		msg = msg[i+1:]
	}
	m := tidbNear.FindStringSubmatch(msg)
	if m == nil {
		return &SyntaxError{Off: -1, Msg: strings.TrimSpace(msg)}
	}
	near, extra := m[1], strings.TrimSpace(m[2])
	off := len(text) - len(near)
	if m[3] != "" {
		if total, err := strconv.Atoi(m[3]); err == nil {
			off = len(text) - total
		}
	}
	if off < 0 || off > len(text) {
		off = -1
	}
	out := "syntax error"
	if strings.TrimSpace(near) == "" {
		out += " at the end of the statement"
	} else {
		out += fmt.Sprintf(" near %q", Clip(near, 40))
	}
	if extra != "" {
		out += ": " + extra
	}
	return &SyntaxError{Off: off, Msg: out}
}

func parsePostgres(text string) (*Parsed, error) {
	p := &Parsed{Dialect: Postgres, Text: text}
	tree, err := pg.Parse(text)
	if err != nil {
		return nil, errkind.Wrap(errkind.Invalid, pgError(err, text))
	}
	p.pgTree = tree
	switch {
	case len(tree.Stmts) == 0 || tree.Stmts[0].Stmt == nil:
	case len(tree.Stmts) > 1:
		return nil, errkind.Wrap(errkind.Invalid, &SyntaxError{Off: int(tree.Stmts[1].StmtLocation), Msg: MultiMessage, Multi: true})
	default:
		p.PG = tree.Stmts[0].Stmt
	}
	return p, nil
}

func pgError(err error, text string) *SyntaxError {
	var pe *pgparser.Error
	if !errors.As(err, &pe) {
		return &SyntaxError{Off: -1, Msg: err.Error()}
	}
	off := -1
	if pe.Cursorpos > 0 { // 1-based, in characters
		off = 0
		for n := 1; n < pe.Cursorpos && off < len(text); n++ {
			_, size := utf8.DecodeRuneInString(text[off:])
			off += size
		}
	}
	return &SyntaxError{Off: off, Msg: pe.Message}
}

// leadWords returns up to n upper-cased leading bare words of text.
func leadWords(text string, d Dialect, n int) []string {
	var out []string
	sc := Scanner{src: text, d: d}
	for t, ok := sc.Next(); ok; t, ok = sc.Next() {
		if t.Kind != Word {
			if len(out) == 0 {
				continue
			}
			break
		}
		out = append(out, upperWord(t.Text(text)))
		if len(out) == n {
			break
		}
	}
	return out
}

// Clip shortens s (SQL text, usually) for a message: its first line, at
// most n characters.
func Clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i] + " ..."
	}
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}
