// Command parsecoverage measures how much of other projects' public test
// SQL dbfleet's one SQL front end (internal/sql) parses: the statements
// of Bytebase's SQL review advisor tests (YAML "statement:" fields, per
// engine) and goInception's session tests (SQL string literals in
// session/*_test.go). It splits each with sql.Split and parses each
// statement with sql.Parse in the engine's dialect, and prints how many
// parsed, how many are valid but without a tree (Manual), how many are
// syntax errors, and the errors grouped by cause with examples.
//
// It reads the other projects' files from paths given on the command
// line and writes nothing: their files and statements are never part of
// dbfleet (see README.md for how to fetch them).
//
//	go run ./bench/parsecoverage -bytebase DIR -goinception DIR [-mariadb DSN]
//
// With -mariadb, every statement the front end rejects is also prepared
// (PREPARE, which parses but never runs it) on that MariaDB server, to
// tell statements MariaDB rejects too from real misses of the front end.
package main

import (
	"context"
	dbsql "database/sql"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"gopkg.in/yaml.v3"

	"github.com/dbfleet/dbfleet/internal/sql"
)

func main() {
	bytebase := flag.String("bytebase", "", "Bytebase's backend/plugin/advisor directory")
	goinception := flag.String("goinception", "", "goInception's session directory")
	mariadbDSN := flag.String("mariadb", "", "DSN of a MariaDB server to check rejected MySQL-family statements against (go-sql-driver form, e.g. root@tcp(127.0.0.1:3306)/)")
	examples := flag.Int("examples", 3, "examples per cause")
	flag.Parse()
	if *bytebase == "" && *goinception == "" {
		fmt.Fprintln(os.Stderr, "give -bytebase and/or -goinception (see bench/parsecoverage/README.md)")
		os.Exit(2)
	}
	var check *serverCheck
	if *mariadbDSN != "" {
		c, err := newServerCheck(*mariadbDSN)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mariadb:", err)
			os.Exit(1)
		}
		defer c.close()
		check = c
	}
	var corpora []corpus
	if *bytebase != "" {
		cs, err := readBytebase(*bytebase)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		corpora = append(corpora, cs...)
	}
	if *goinception != "" {
		c, err := readGoInception(*goinception)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		corpora = append(corpora, c...)
	}
	for _, c := range corpora {
		report(c, check, *examples)
	}
}

// script is one piece of test SQL: what a test sends as one text.
type script struct {
	source string // file:line
	text   string
	// wantError: the test expects a syntax error for this script.
	wantError bool
}

type corpus struct {
	name    string
	dialect sql.Dialect
	scripts []script
}

// --- Bytebase -------------------------------------------------------------

type bytebaseCase struct {
	Statement string `yaml:"statement"`
	Want      []struct {
		Code  int    `yaml:"code"`
		Title string `yaml:"title"`
	} `yaml:"want"`
}

// readBytebase reads <dir>/{mysql,pg,tidb}/test/*.yaml: the mysql tests
// are parsed as MySQL and as MariaDB (Bytebase reviews both with them).
func readBytebase(dir string) ([]corpus, error) {
	engines := []struct {
		sub      string
		name     string
		dialects []sql.Dialect
	}{
		{"mysql", "bytebase mysql", []sql.Dialect{sql.MySQL, sql.MariaDB}},
		{"tidb", "bytebase tidb", []sql.Dialect{sql.TiDB}},
		{"pg", "bytebase pg", []sql.Dialect{sql.Postgres}},
	}
	var out []corpus
	for _, e := range engines {
		files, err := filepath.Glob(filepath.Join(dir, e.sub, "test", "*.yaml"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no %s/test/*.yaml under %s: give Bytebase's backend/plugin/advisor directory", e.sub, dir)
		}
		var scripts []script
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(data, &doc); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			var cases []bytebaseCase
			if err := doc.Decode(&cases); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			lines := caseLines(&doc)
			for i, c := range cases {
				if strings.TrimSpace(c.Statement) == "" {
					continue
				}
				s := script{source: filepath.Base(f), text: c.Statement}
				if i < len(lines) {
					s.source += ":" + strconv.Itoa(lines[i])
				}
				for _, w := range c.Want {
					if w.Code == 201 || strings.EqualFold(w.Title, "Syntax error") {
						s.wantError = true
					}
				}
				scripts = append(scripts, s)
			}
		}
		for _, d := range e.dialects {
			out = append(out, corpus{name: fmt.Sprintf("%s (%d YAML files) as %s", e.name, len(files), d), dialect: d, scripts: scripts})
		}
	}
	return out, nil
}

// caseLines returns the line of each item of a YAML sequence document.
func caseLines(doc *yaml.Node) []int {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.SequenceNode {
		return nil
	}
	var out []int
	for _, n := range doc.Content[0].Content {
		out = append(out, n.Line)
	}
	return out
}

// --- goInception ----------------------------------------------------------

// sqlStart matches the first word of a string literal that is SQL.
var sqlStart = regexp.MustCompile(`(?i)^\s*(select|insert|update|delete|replace|create|alter|drop|truncate|rename|set|use|show|grant|revoke|begin|start|commit|rollback|savepoint|release|lock|unlock|explain|desc|describe|call|load|with|analyze|optimize|flush|kill|do|handler|prepare|execute|deallocate|xa|purge|change|reset|\(select)\b`)

// formatVerb marks a format string (fmt.Sprintf), not SQL as sent.
var formatVerb = regexp.MustCompile(`%[sdvqx]`)

// nearPattern is how goInception's tests expect a syntax error.
var nearPattern = regexp.MustCompile(`near \\"|syntax error|ER_SYNTAX_ERROR|ER_PARSE_ERROR`)

// readGoInception extracts the SQL string literals of <dir>/*_test.go.
// A literal assigned to a variable counts as expecting a syntax error
// when a later statement of the same block, before the variable is
// assigned again, checks for one ("line 1 column N near ...").
func readGoInception(dir string) ([]corpus, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *_test.go in %s: give goInception's session directory", dir)
	}
	var scripts []script
	fset := token.NewFileSet()
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		text := func(n ast.Node) string {
			return string(src[fset.Position(n.Pos()).Offset:fset.Position(n.End()).Offset])
		}
		seen := map[token.Pos]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			block, ok := n.(*ast.BlockStmt)
			if !ok {
				return true
			}
			for i, st := range block.List {
				lits := sqlLiterals(st)
				if len(lits) == 0 {
					continue
				}
				// The statement and those after it, up to the next
				// one with SQL, are where the test checks the result.
				want := nearPattern.MatchString(text(st))
				for _, next := range block.List[i+1:] {
					if len(sqlLiterals(next)) > 0 {
						break
					}
					if nearPattern.MatchString(text(next)) {
						want = true
					}
				}
				for _, lit := range lits {
					s, _ := constString(lit)
					if seen[lit.Pos()] {
						continue
					}
					seen[lit.Pos()] = true
					p := fset.Position(lit.Pos())
					scripts = append(scripts, script{source: fmt.Sprintf("%s:%d", filepath.Base(p.Filename), p.Line), text: s, wantError: want})
				}
			}
			return true
		})
	}
	return []corpus{
		{name: fmt.Sprintf("goInception session tests (%d files) as mysql", len(files)), dialect: sql.MySQL, scripts: scripts},
		{name: fmt.Sprintf("goInception session tests (%d files) as mariadb", len(files)), dialect: sql.MariaDB, scripts: scripts},
	}, nil
}

// sqlLiterals lists the string constants in n that are SQL, outermost
// first (a concatenation counts once), skipping blocks inside n (their
// statements are visited on their own) and goInception's wrapped
// scripts and format strings.
func sqlLiterals(n ast.Node) []ast.Expr {
	var out []ast.Expr
	ast.Inspect(n, func(m ast.Node) bool {
		if _, ok := m.(*ast.BlockStmt); ok && m != n {
			return false
		}
		e, ok := m.(ast.Expr)
		if !ok {
			return true
		}
		s, ok := constString(e)
		if !ok {
			return true
		}
		if sqlStart.MatchString(s) && !strings.Contains(s, "inception_magic_start") && !formatVerb.MatchString(s) {
			out = append(out, e)
		}
		return false
	})
	return out
}

// constString evaluates a string literal, a parenthesised one, or a
// concatenation of them.
func constString(e ast.Expr) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(x.Value)
		return s, err == nil
	case *ast.ParenExpr:
		return constString(x.X)
	case *ast.BinaryExpr:
		if x.Op != token.ADD {
			return "", false
		}
		a, ok1 := constString(x.X)
		b, ok2 := constString(x.Y)
		return a + b, ok1 && ok2
	}
	return "", false
}

// --- checking against MariaDB ----------------------------------------------

// serverCheck prepares statements on a MariaDB server, in a scratch
// database it creates (empty) and drops: PREPARE parses a statement
// without running it, and fails with error 1064 when the server's
// grammar rejects it. Other errors (unknown table, a statement that
// cannot be prepared) come after parsing, except that without a current
// database MariaDB's parser itself fails with "No database selected",
// hence the scratch database.
type serverCheck struct {
	db      *dbsql.DB
	conn    *dbsql.Conn
	scratch string
}

func newServerCheck(dsn string) (*serverCheck, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg.InterpolateParams = true
	cfg.MultiStatements = false
	db, err := dbsql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	c := &serverCheck{db: db, conn: conn, scratch: fmt.Sprintf("dbfleet_parsecoverage_%d", os.Getpid())}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+sql.QuoteIdent(sql.MariaDB, c.scratch)); err != nil {
		c.close()
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "USE "+sql.QuoteIdent(sql.MariaDB, c.scratch)); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *serverCheck) close() {
	if c.scratch != "" {
		_, _ = c.conn.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+sql.QuoteIdent(sql.MariaDB, c.scratch))
	}
	c.conn.Close()
	c.db.Close()
}

// prepare reports whether the server's grammar accepts text, with the
// server's answer: its parse error, or the error it gave after parsing.
func (c *serverCheck) prepare(text string) (parses bool, answer string) {
	ctx := context.Background()
	if _, err := c.conn.ExecContext(ctx, "SET @dbfleet_coverage = ?", text); err != nil {
		return false, "set: " + err.Error()
	}
	_, err := c.conn.ExecContext(ctx, "PREPARE dbfleet_coverage FROM @dbfleet_coverage")
	if err == nil {
		_, _ = c.conn.ExecContext(ctx, "DEALLOCATE PREPARE dbfleet_coverage")
		return true, "MariaDB prepares it"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1064, 1149, 1221: // parse error, syntax error, incorrect usage
			return false, fmt.Sprintf("MariaDB %d: %s", me.Number, clip(me.Message, 100))
		case 1115, 1253, 1273: // unknown character set or collation: invalid whatever the schema
			return false, fmt.Sprintf("MariaDB parses it, then refuses it whatever the schema, %d: %s", me.Number, clip(me.Message, 80))
		}
		return true, fmt.Sprintf("MariaDB parses it, then %d: %s", me.Number, clip(me.Message, 80))
	}
	return true, "MariaDB: " + err.Error()
}

// --- the report -----------------------------------------------------------

type failure struct {
	source, text, msg string
}

func report(c corpus, check *serverCheck, examples int) {
	var stmts, parsed, manual, limits int
	var expected, serverRejects, misses []failure
	manualWhy := map[string]int{}
	for _, s := range c.scripts {
		for _, st := range sql.Split(s.text, c.dialect) {
			if st.Client {
				continue
			}
			stmts++
			p, err := sql.Parse(c.dialect, st.Text)
			switch {
			case err == nil && p.Manual != "":
				manual++
				manualWhy[manualKey(p.Manual)]++
			case err == nil:
				parsed++
			case sql.IsLimit(err):
				limits++
			default:
				f := failure{source: s.source, text: st.Text, msg: err.Error()}
				switch {
				case s.wantError:
					expected = append(expected, f)
				case check != nil && c.dialect != sql.Postgres:
					ok, answer := check.prepare(st.Text)
					f.msg += " | " + answer
					if ok {
						misses = append(misses, f)
					} else {
						serverRejects = append(serverRejects, f)
					}
				default:
					misses = append(misses, f)
				}
			}
		}
	}
	fmt.Printf("\n== %s\n", c.name)
	fmt.Printf("scripts %d, statements %d: parsed %d (%.1f%%), manual %d, refused for size/depth %d, syntax errors %d\n",
		len(c.scripts), stmts, parsed, pct(parsed, stmts), manual, limits, len(expected)+len(serverRejects)+len(misses))
	fmt.Printf("  accepted (parsed + manual): %d of %d (%.1f%%); of the statements the test suite does not expect to fail: %d of %d (%.1f%%)\n",
		parsed+manual, stmts, pct(parsed+manual, stmts), parsed+manual, stmts-len(expected), pct(parsed+manual, stmts-len(expected)))
	if len(manualWhy) > 0 {
		fmt.Printf("  manual, by reason:\n")
		for _, k := range sortedKeys(manualWhy) {
			fmt.Printf("    %4d  %s\n", manualWhy[k], k)
		}
	}
	group("syntax errors the test suite expects (invalid on purpose)", expected, examples)
	if check != nil && c.dialect != sql.Postgres {
		group("errors MariaDB gives too (PREPARE fails: a parse error, or an unknown character set or collation)", serverRejects, examples)
		group("real misses: MariaDB accepts, the front end does not", misses, examples)
	} else {
		group("syntax errors (not checked against a server)", misses, examples)
	}
}

func group(title string, fs []failure, examples int) {
	if len(fs) == 0 {
		return
	}
	by := map[string][]failure{}
	for _, f := range fs {
		k := cause(f)
		by[k] = append(by[k], f)
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(by[keys[i]]) != len(by[keys[j]]) {
			return len(by[keys[i]]) > len(by[keys[j]])
		}
		return keys[i] < keys[j]
	})
	fmt.Printf("  %s: %d\n", title, len(fs))
	for _, k := range keys {
		fmt.Printf("    %4d  %s\n", len(by[k]), k)
		for i, f := range by[k] {
			if i == examples {
				break
			}
			fmt.Printf("            %s: %s\n              -> %s\n", f.source, clip(f.text, 110), clip(f.msg, 140))
		}
	}
}

var nearText = regexp.MustCompile(`near "([^"]*)`)

// cause groups a failure: the statement's verb and the first word the
// grammar stopped at.
func cause(f failure) string {
	verb := sql.Verb(f.text, sql.MySQL)
	at := ""
	if m := nearText.FindStringSubmatch(f.msg); m != nil {
		w := strings.Fields(m[1])
		if len(w) > 0 {
			at = strings.ToUpper(strings.Trim(w[0], "(),;`'\""))
			if len(at) > 24 {
				at = at[:24]
			}
		}
	}
	if at == "" {
		msg := f.msg
		if i := strings.Index(msg, " | "); i >= 0 {
			msg = msg[:i]
		}
		return verb + ": " + clip(msg, 50)
	}
	return verb + ": near " + at
}

func manualKey(why string) string {
	if i := strings.Index(why, "("); i >= 0 {
		if j := strings.Index(why[i:], ")"); j >= 0 {
			return why[i+1 : i+j]
		}
	}
	return clip(why, 50)
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return m[out[i]] > m[out[j]] || (m[out[i]] == m[out[j]] && out[i] < out[j]) })
	return out
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}
