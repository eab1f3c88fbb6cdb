// Package sqltest exposes the classification golden file of the one SQL
// front end, internal/sql/testdata/classify.golden, to tests: every
// consumer of internal/sql (the review, the executor, the query console,
// work orders, the proxy) loads the same cases and asserts that its
// decisions (refuse, run in a transaction, ask for a backup, route to the
// primary) follow from the class the front end gives each statement.
//
// It is a test helper: no production package imports it (its own test
// checks that). The golden file is found beside this source file, so it
// works from `go test` in a source checkout, not from a built binary.
//
// # The golden file
//
// A txtar archive. Each case is a script file named "<dialect> <name>"
// (dialect as sql.ParseDialect reads it) followed by a file named "want"
// that the golden test writes with -update:
//
//	split 2
//	[1] UPDATE t SET a = a--1
//	    parse {"kind":"dml","verb":"UPDATE"}
//	    lex   same
//
// "split N" is the number of statements sql.Split finds. For each
// statement, its first line (clipped), then one of
//
//	parse {class}           Parsed.Class() as JSON
//	manual <why>            Parse returned a statement without a tree
//	                        (its class line follows)
//	error <message>         Parse refused it (syntax error or limit)
//	client                  a psql meta-command: never sent to a server
//
// and the lexer-level class: "lex same" when sql.LexClass agrees with
// the tree, else "lex {class}" with the reason it cannot know, taken from
// a "-- lex: <reason>" comment written just before the statement in the
// script. The golden test fails when the two disagree without such a
// comment, when a comment marks a statement they agree on, and when the
// lexer is less cautious than the tree (it must never say "query" for a
// statement that does more than read, nor miss a destroy, a non-
// transactional statement, a SELECT ... INTO, a locking read, a global
// change or transaction control).
package sqltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// Case is one script of the golden file.
type Case struct {
	// Name is the case's name in the golden file; Dialect its dialect.
	Name    string
	Dialect sql.Dialect
	// Script is the script as written (it may hold several statements,
	// DELIMITER commands, psql meta-commands).
	Script string
	// Stmts are the statements sql.Split finds, with their classes as
	// the golden file records them.
	Stmts []Stmt
}

// Stmt is one statement of a case.
type Stmt struct {
	// Statement is what sql.Split returned for it.
	sql.Statement
	// Client: a psql meta-command (Statement.Client); no class, no parse.
	Client bool
	// Err is the message of the error Parse returned ("" when it parsed).
	Err string
	// Manual is Parsed.Manual: valid, but no tree; Class is then the
	// lexer's.
	Manual string
	// Class is Parsed.Class() (zero when Err or Client is set).
	Class sql.Class
	// Lex is sql.LexClass for the statement.
	Lex sql.Class
	// LexUnsure is why the lexer cannot know what the tree knows (from
	// the "-- lex:" comment), "" when they agree.
	LexUnsure string
}

// Parsed reports whether the statement has a class from Parse (it parsed,
// with or without a tree).
func (s Stmt) Parsed() bool { return s.Err == "" && !s.Client }

// GoldenPath is the path of internal/sql/testdata/classify.golden in the
// source tree.
func GoldenPath() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.FromSlash("internal/sql/testdata/classify.golden")
	}
	return filepath.Join(filepath.Dir(file), "..", "testdata", "classify.golden")
}

// Cases loads the golden file's cases with their recorded classes.
func Cases(t testing.TB) []Case {
	t.Helper()
	ar, err := txtar.ParseFile(GoldenPath())
	if err != nil {
		t.Fatalf("read the golden file: %v", err)
	}
	cases, err := Load(ar)
	if err != nil {
		t.Fatalf("%s: %v", GoldenPath(), err)
	}
	return cases
}

// Each runs fn as a subtest ("<dialect>/<case>/<n>") for every statement
// of the golden file that dialects lists (all when none is given): a
// consumer asserts there that its decision follows from s.Class (or s.Lex
// for a decision taken without a parser), e.g.
//
//	sqltest.Each(t, func(t *testing.T, c sqltest.Case, s sqltest.Stmt) {
//		if s.Parsed() && s.Class.Kind != sql.KindQuery && console.Allows(s.Text) {
//			t.Errorf("the console runs a %s statement", s.Class.Kind)
//		}
//	}, sql.MariaDB)
func Each(t *testing.T, fn func(t *testing.T, c Case, s Stmt), dialects ...sql.Dialect) {
	t.Helper()
	for _, c := range Cases(t) {
		if len(dialects) > 0 && !slices.Contains(dialects, c.Dialect) {
			continue
		}
		for i, s := range c.Stmts {
			t.Run(fmt.Sprintf("%s/%s/%d", c.Dialect, c.Name, i+1), func(t *testing.T) { fn(t, c, s) })
		}
	}
}

// Input is one script of the archive with the want file that follows it
// (nil when there is none yet).
type Input struct {
	Name    string
	Dialect sql.Dialect
	Script  string
	// Index is the script's index in the archive's files.
	Index int
	Want  *txtar.File
}

// Inputs lists the archive's scripts.
func Inputs(ar *txtar.Archive) ([]Input, error) {
	var out []Input
	for i := 0; i < len(ar.Files); i++ {
		f := ar.Files[i]
		if f.Name == "want" {
			return nil, fmt.Errorf("file %d: a want file without a script before it", i+1)
		}
		dn, name, ok := strings.Cut(f.Name, " ")
		if !ok {
			return nil, fmt.Errorf("file %q: want \"<dialect> <name>\"", f.Name)
		}
		d, err := sql.ParseDialect(dn)
		if err != nil {
			return nil, fmt.Errorf("file %q: %w", f.Name, err)
		}
		in := Input{Name: name, Dialect: d, Script: string(f.Data), Index: i}
		if i+1 < len(ar.Files) && ar.Files[i+1].Name == "want" {
			in.Want = &ar.Files[i+1]
			i++
		}
		out = append(out, in)
	}
	return out, nil
}

// Load reads the cases of an archive, with the classes its want files
// record.
func Load(ar *txtar.Archive) ([]Case, error) {
	ins, err := Inputs(ar)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []Case
	for _, in := range ins {
		key := in.Dialect.String() + " " + in.Name
		if seen[key] {
			return nil, fmt.Errorf("case %q twice", key)
		}
		seen[key] = true
		if in.Want == nil {
			return nil, fmt.Errorf("case %q has no want file: run the golden test with -update", key)
		}
		c, err := parseWant(in, string(in.Want.Data))
		if err != nil {
			return nil, fmt.Errorf("case %q: %w", key, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func parseWant(in Input, want string) (Case, error) {
	c := Case{Name: in.Name, Dialect: in.Dialect, Script: in.Script}
	split := sql.Split(in.Script, in.Dialect)
	lines := strings.Split(strings.TrimRight(want, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "split ") {
		return c, fmt.Errorf("want file does not start with \"split N\"")
	}
	n, err := strconv.Atoi(strings.TrimPrefix(lines[0], "split "))
	if err != nil || n != len(split) {
		return c, fmt.Errorf("want records %q, Split finds %d statements: run the golden test", lines[0], len(split))
	}
	var cur *Stmt
	for _, line := range lines[1:] {
		if strings.HasPrefix(line, "[") {
			k := len(c.Stmts)
			if k >= len(split) {
				return c, fmt.Errorf("more statements than Split finds")
			}
			c.Stmts = append(c.Stmts, Stmt{Statement: split[k], Client: split[k].Client})
			cur = &c.Stmts[k]
			continue
		}
		if cur == nil {
			return c, fmt.Errorf("line %q before the first statement", line)
		}
		key, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest = strings.TrimSpace(rest)
		switch key {
		case "parse":
			if err := json.Unmarshal([]byte(rest), &cur.Class); err != nil {
				return c, fmt.Errorf("statement %d: %v", len(c.Stmts), err)
			}
		case "lex":
			if rest == "same" {
				cur.Lex = cur.Class
				continue
			}
			js, why, _ := strings.Cut(rest, "} ")
			if why != "" {
				js += "}"
			}
			if err := json.Unmarshal([]byte(js), &cur.Lex); err != nil {
				return c, fmt.Errorf("statement %d: %v", len(c.Stmts), err)
			}
			cur.LexUnsure = strings.TrimPrefix(strings.TrimSpace(why), "unsure: ")
		case "manual":
			cur.Manual = rest
		case "error":
			cur.Err = rest
		case "client":
		default:
			return c, fmt.Errorf("unknown line %q", line)
		}
	}
	if len(c.Stmts) != len(split) {
		return c, fmt.Errorf("want records %d statements, Split finds %d", len(c.Stmts), len(split))
	}
	return c, nil
}

// Problem is a rule of the golden file that the front end breaks.
type Problem struct {
	Stmt int // 1-based statement of the case
	Msg  string
}

// Render computes a case's want file from the front end as it is now,
// with the rules it breaks (disagreements without a reason, stale
// reasons, a lexer less cautious than the tree).
func Render(d sql.Dialect, script string) (string, []Problem) {
	var b bytes.Buffer
	var problems []Problem
	stmts := sql.Split(script, d)
	fmt.Fprintf(&b, "split %d\n", len(stmts))
	for i, st := range stmts {
		fmt.Fprintf(&b, "[%d] %s\n", i+1, headline(st.Text))
		lex := sql.LexClass(d, st.Text)
		why := lexReason(script[st.SpanStart:st.Start])
		if st.Kind != lex.Kind {
			problems = append(problems, Problem{i + 1, fmt.Sprintf("Split's kind %q differs from LexClass's %q", st.Kind, lex.Kind)})
		}
		if st.Client {
			b.WriteString("    client\n")
			fmt.Fprintf(&b, "    lex   %s\n", classJSON(lex))
			if why != "" {
				problems = append(problems, Problem{i + 1, "a \"-- lex:\" reason on a client command"})
			}
			continue
		}
		p, err := sql.Parse(d, st.Text)
		if err != nil {
			fmt.Fprintf(&b, "    error %s\n", oneLine(errText(err)))
			fmt.Fprintf(&b, "    lex   %s\n", classJSON(lex))
			if why != "" {
				problems = append(problems, Problem{i + 1, "a \"-- lex:\" reason on a statement that does not parse"})
			}
			continue
		}
		if p.Manual != "" {
			fmt.Fprintf(&b, "    manual %s\n", oneLine(p.Manual))
		}
		tree := p.Class()
		fmt.Fprintf(&b, "    parse %s\n", classJSON(tree))
		switch {
		case lex == tree && why == "":
			b.WriteString("    lex   same\n")
		case lex == tree:
			b.WriteString("    lex   same\n")
			problems = append(problems, Problem{i + 1, "a \"-- lex:\" reason, but LexClass agrees with the tree: remove it"})
		default:
			fmt.Fprintf(&b, "    lex   %s", classJSON(lex))
			if why != "" {
				fmt.Fprintf(&b, " unsure: %s", why)
			} else {
				problems = append(problems, Problem{i + 1, fmt.Sprintf("LexClass %s disagrees with the tree %s: fix it, or say why it cannot know in a \"-- lex:\" comment before the statement", classJSON(lex), classJSON(tree))})
			}
			b.WriteString("\n")
		}
		if msg := LessCautious(lex, tree); msg != "" {
			problems = append(problems, Problem{i + 1, "LexClass is less cautious than the tree: " + msg})
		}
	}
	return b.String(), problems
}

// LessCautious says how lex, a lexer-level class, claims less than tree,
// the tree's class of the same statement ("" when it does not): a query
// that the tree says does more than read, a missed destroy, non-
// transactional statement, SELECT ... INTO, locking read, global change
// or transaction control.
func LessCautious(lex, tree sql.Class) string {
	switch {
	case lex.Kind == sql.KindQuery && tree.Kind != sql.KindQuery:
		return fmt.Sprintf("query for a %s statement", tree.Kind)
	case tree.Kind == sql.KindTxn && lex.Kind != sql.KindTxn:
		return "misses transaction control"
	case tree.Destroys != "" && lex.Destroys == "":
		return "misses " + tree.Destroys
	case tree.NonTx && !lex.NonTx:
		return "misses that it cannot run in a transaction"
	case tree.SelectInto != "" && lex.SelectInto == "":
		return "misses SELECT ... INTO " + tree.SelectInto
	case tree.Locking != "" && lex.Locking == "":
		return "misses the locking read " + tree.Locking
	case tree.Global && !lex.Global:
		return "misses a global change"
	}
	return ""
}

var lexComment = regexp.MustCompile(`(?m)^[ \t]*-- lex: (.+)$`)

// lexReason finds a "-- lex: <reason>" comment in the text before a
// statement.
func lexReason(before string) string {
	m := lexComment.FindAllStringSubmatch(before, -1)
	if len(m) == 0 {
		return ""
	}
	return strings.TrimSpace(m[len(m)-1][1])
}

func classJSON(c sql.Class) string {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Sprintf("%+v", c)
	}
	return string(b)
}

func errText(err error) string {
	if se, ok := sql.AsSyntax(err); ok {
		return fmt.Sprintf("%s (offset %d)", se.Msg, se.Off)
	}
	return err.Error()
}

// headline is a statement's first line, clipped.
func headline(s string) string {
	s = strings.TrimSpace(s)
	more := false
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s, more = strings.TrimSpace(s[:i]), true
	}
	if r := []rune(s); len(r) > 72 {
		s, more = string(r[:72]), true
	}
	if more {
		s += " ..."
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
