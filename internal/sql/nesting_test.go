package sql

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// nestFamily generates statements of one construct nested n deep.
type nestFamily struct {
	name string
	// mysql, pg: the dialects the family is written for.
	mysql, pg bool
	gen       func(n int) string
	// flat: the parsers build a list, not a nest (AND, OR, IN lists,
	// VALUES rows); Guard never refuses them for depth, and the family
	// is tested at about 256 KiB instead of at the limit.
	flat bool
}

func rep(s string, n int) string { return strings.Repeat(s, n) }

var nestFamilies = []nestFamily{
	{name: "parentheses", mysql: true, pg: true, gen: func(n int) string { return "SELECT " + rep("(", n) + "1" + rep(")", n) }},
	{name: "unary minus", mysql: true, pg: true, gen: func(n int) string { return "SELECT " + rep("- ", n) + "1" }},
	{name: "unary operator run", mysql: true, pg: true, gen: func(n int) string { return "SELECT 1 " + rep("-+", n/2) + "-1" }},
	{name: "NOT", mysql: true, pg: true, gen: func(n int) string { return "SELECT " + rep("NOT ", n) + "1" }},
	{name: "bang run", mysql: true, gen: func(n int) string { return "SELECT " + rep("!", n) + "1" }},
	{name: "tilde", mysql: true, pg: true, gen: func(n int) string { return "SELECT " + rep("~ ", n) + "1" }},
	{name: "plus chain", mysql: true, pg: true, gen: func(n int) string { return "SELECT 1" + rep(" + 1", n) }},
	{name: "minus chain without spaces", mysql: true, pg: true, gen: func(n int) string { return "SELECT 1" + rep("-1", n) }},
	{name: "concat chain", mysql: true, pg: true, gen: func(n int) string { return "SELECT 'a'" + rep(" || 'a'", n) }},
	{name: "json arrow chain", pg: true, gen: func(n int) string { return "SELECT '{}'::jsonb" + rep(" -> 'a'", n) }},
	{name: "json containment chain", pg: true, gen: func(n int) string { return "SELECT '{}'::jsonb" + rep(" @> '{}'", n) }},
	{name: "json path arrows", mysql: true, gen: func(n int) string { return "SELECT c" + rep("->'$.a'", n) + " FROM t" }},
	{name: "cast chain", pg: true, gen: func(n int) string { return "SELECT 1" + rep("::int", n) }},
	{name: "CAST nesting", mysql: true, pg: true, gen: func(n int) string { return "SELECT " + rep("CAST(", n) + "1" + rep(" AS CHAR)", n) }},
	{name: "CASE", mysql: true, pg: true, gen: func(n int) string { return "SELECT " + rep("CASE WHEN 1 = 1 THEN ", n) + "1" + rep(" END", n) }},
	{name: "CASE in ELSE", mysql: true, pg: true, gen: func(n int) string { return "SELECT " + rep("CASE WHEN 1 = 1 THEN 1 ELSE ", n) + "1" + rep(" END", n) }},
	{name: "nested subqueries", mysql: true, pg: true, gen: func(n int) string { return "SELECT " + rep("(SELECT ", n) + "1" + rep(")", n) }},
	{name: "derived tables", mysql: true, pg: true, gen: func(n int) string {
		return "SELECT * FROM " + rep("(SELECT * FROM ", n) + "t" + rep(") AS d", n)
	}},
	{name: "EXISTS", mysql: true, pg: true, gen: func(n int) string { return "SELECT " + rep("EXISTS (SELECT ", n) + "1" + rep(")", n) }},
	{name: "UNION chain", mysql: true, pg: true, gen: func(n int) string { return "SELECT 1" + rep(" UNION SELECT 1", n) }},
	{name: "UNION in parentheses", mysql: true, pg: true, gen: func(n int) string {
		return rep("(", n) + "SELECT 1" + rep(" UNION SELECT 1)", n)
	}},
	{name: "JOIN chain", mysql: true, pg: true, gen: func(n int) string { return "SELECT * FROM t0" + rep(" JOIN t ON 1 = 1", n) }},
	{name: "JOIN in parentheses", mysql: true, pg: true, gen: func(n int) string {
		return "SELECT * FROM " + rep("(", n) + "t0" + rep(" JOIN t ON 1 = 1)", n)
	}},
	{name: "ARRAY[]", pg: true, gen: func(n int) string { return "SELECT " + rep("ARRAY[", n) + "1" + rep("]", n) }},
	{name: "function calls", mysql: true, pg: true, gen: func(n int) string { return "SELECT " + rep("abs(", n) + "1" + rep(")", n) }},
	{name: "nested IN", mysql: true, pg: true, gen: func(n int) string { return "SELECT " + rep("1 IN (", n) + "1" + rep(")", n) }},
	{name: "BETWEEN chain", mysql: true, pg: true, gen: func(n int) string { return "SELECT 1" + rep(" BETWEEN 0 AND 2", n) }},
	{name: "IS NULL chain", mysql: true, pg: true, gen: func(n int) string { return "SELECT 1" + rep(" IS NULL", n) }},
	{name: "IS NOT DISTINCT FROM chain", pg: true, gen: func(n int) string { return "SELECT 1" + rep(" IS NOT DISTINCT FROM 1", n) }},
	{name: "COLLATE chain", pg: true, gen: func(n int) string { return "SELECT 'a'" + rep(` COLLATE "C"`, n) }},
	{name: "COLLATE chain", mysql: true, gen: func(n int) string { return "SELECT 'a'" + rep(" COLLATE utf8mb4_bin", n) }},
	{name: "AT TIME ZONE chain", pg: true, gen: func(n int) string { return "SELECT now()" + rep(" AT TIME ZONE 'UTC'", n) }},
	{name: "row constructors", mysql: true, pg: true, gen: func(n int) string { return "SELECT " + rep("ROW(1, ", n) + "1" + rep(")", n) }},
	{name: "LIKE chain", mysql: true, pg: true, gen: func(n int) string { return "SELECT 'a'" + rep(" LIKE 'a'", n) }},
	{name: "INTERVAL chain", mysql: true, gen: func(n int) string { return "SELECT NOW()" + rep(" + INTERVAL 1 DAY", n) }},
	{name: "BINARY prefix", mysql: true, gen: func(n int) string { return "SELECT " + rep("BINARY ", n) + "'a'" }},
	{name: "prefix operators", pg: true, gen: func(n int) string { return "SELECT " + rep("@ |/ ", n/2) + "1" }},
	{name: "common table expressions", mysql: true, pg: true, gen: func(n int) string {
		return rep("WITH c AS (", n) + "SELECT 1" + rep(") SELECT * FROM c", n)
	}},
	{name: "UPDATE with nested subquery", mysql: true, pg: true, gen: func(n int) string {
		return "UPDATE t SET a = " + rep("(SELECT ", n) + "1" + rep(")", n)
	}},
	{name: "CREATE TABLE default", mysql: true, pg: true, gen: func(n int) string {
		return "CREATE TABLE t (a int DEFAULT " + rep("(", n) + "1" + rep(")", n) + ")"
	}},
	// Lists: flat in both grammars, except that the TiDB grammar builds
	// AND and OR chains left-deep (Go survives them).
	{name: "AND chain", mysql: true, pg: true, flat: true, gen: func(n int) string { return "SELECT 1" + rep(" AND 1", n) }},
	{name: "OR chain", mysql: true, pg: true, flat: true, gen: func(n int) string { return "SELECT 1" + rep(" OR 1", n) }},
	{name: "IN list", mysql: true, pg: true, flat: true, gen: func(n int) string { return "SELECT 1 IN (1" + rep(", 1", n) + ")" }},
	{name: "VALUES rows", mysql: true, pg: true, flat: true, gen: func(n int) string { return "INSERT INTO t VALUES (1)" + rep(", (1)", n) }},
	{name: "subscripts", pg: true, flat: true, gen: func(n int) string { return "SELECT (ARRAY[1])" + rep("[1]", n) }},
	{name: "CASE arms", mysql: true, pg: true, flat: true, gen: func(n int) string { return "SELECT CASE" + rep(" WHEN 1 = 1 THEN 1", n) + " END" }},
}

// nestChildEnv tells a re-executed test binary which statement to parse.
const nestChildEnv = "DBFLEET_SQL_NEST_CHILD"

// nestResult is what the child reports.
type nestResult struct {
	Parsed   bool   `json:"parsed"`
	Err      string `json:"err,omitempty"`
	Estimate int    `json:"estimate"`
	// TreeDepth is the depth of the parse tree: protobuf messages for
	// PostgreSQL, AST nodes for the MySQL family.
	TreeDepth int    `json:"tree_depth"`
	Rendered  bool   `json:"rendered"`
	RenderErr string `json:"render_err,omitempty"`
	Millis    int64  `json:"ms"`
}

// TestNestingAtTheLimit generates, for each construct family and dialect,
// the deepest statement Guard still accepts and parses it (then
// classifies and renders it) in a re-executed test binary, so that a crash
// in the C parser fails the test instead of killing the test run; and it
// checks that ten times deeper is refused with a LimitError before any
// parser runs. For PostgreSQL it also checks that the estimate bounds the
// real tree: at most pgMessagesPerLevel protobuf messages per estimated
// level.
func TestNestingAtTheLimit(t *testing.T) {
	if spec := os.Getenv(nestChildEnv); spec != "" {
		nestChild(t, spec)
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary for every family (-short)")
	}
	for fi, f := range nestFamilies {
		for _, d := range []Dialect{MariaDB, Postgres} {
			if (d == Postgres && !f.pg) || (d != Postgres && !f.mysql) {
				continue
			}
			t.Run(d.String()+"/"+f.name, func(t *testing.T) {
				n := deepestAccepted(d, f)
				text := f.gen(n)
				res := runNestChild(t, fi, d, n)
				t.Logf("n=%d bytes=%d estimate=%d tree depth=%d parsed=%v %s rendered=%v %s (%d ms)",
					n, len(text), res.Estimate, res.TreeDepth, res.Parsed, Clip(res.Err, 60), res.Rendered, Clip(res.RenderErr, 40), res.Millis)
				if f.flat {
					return
				}
				if d == Postgres && res.Parsed && res.TreeDepth > pgMessagesPerLevel*res.Estimate+pgMessagesSlack {
					t.Errorf("the tree is %d messages deep, more than %d per estimated level (%d): Depth under-estimates this family",
						res.TreeDepth, pgMessagesPerLevel, res.Estimate)
				}
				deep := f.gen(10 * n)
				if err := Guard(d, deep); !IsLimit(err) {
					t.Fatalf("10x deeper (n=%d, estimate %d) passes Guard: %v", 10*n, Depth(d, deep), err)
				}
				_, err := Parse(d, deep)
				var le *LimitError
				if !errors.As(err, &le) || le.What != "depth" {
					t.Fatalf("Parse of 10x deeper: %v, want a depth LimitError", err)
				}
			})
		}
	}
}

const (
	// pgMessagesPerLevel bounds the protobuf messages PostgreSQL's tree
	// nests per level Depth estimates (a scalar subquery is six: ResTarget,
	// Node, SubLink, Node, SelectStmt, Node). pg_query_go refuses trees
	// deeper than 10,000 messages (protobuf's recursion limit) with an
	// error, and the C parser crashed between 20,000 and 30,000 levels of
	// a + chain (about twice as many messages) on this project's machines:
	// at MaxDepth the tree stays under both.
	pgMessagesPerLevel = 8
	pgMessagesSlack    = 16
)

// deepestAccepted finds the largest n for which Guard accepts f.gen(n)
// (for a flat family, the n that makes about 256 KiB).
func deepestAccepted(d Dialect, f nestFamily) int {
	if f.flat {
		one := len(f.gen(1)) - len(f.gen(0))
		return (256 << 10) / one
	}
	lo, hi := 1, 2
	for Guard(d, f.gen(hi)) == nil {
		lo, hi = hi, hi*2
		if hi > 1<<22 {
			return lo
		}
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if Guard(d, f.gen(mid)) == nil {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

func runNestChild(t *testing.T, family int, d Dialect, n int) nestResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNestingAtTheLimit$", "-test.v")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d/%d/%d", nestChildEnv, family, int(d), n))
	out, err := cmd.CombinedOutput()
	var res nestResult
	for _, line := range strings.Split(string(out), "\n") {
		if js, ok := strings.CutPrefix(line, "NEST "); ok {
			if err := json.Unmarshal([]byte(js), &res); err != nil {
				t.Fatalf("child output %q: %v", js, err)
			}
		}
	}
	if err != nil {
		t.Fatalf("the parser died at a depth Guard accepts (n=%d): %v\n%s", n, err, Clip(string(out), 2000))
	}
	return res
}

// nestChild parses one generated statement and prints what happened.
func nestChild(t *testing.T, spec string) {
	parts := strings.Split(spec, "/")
	fi, _ := strconv.Atoi(parts[0])
	di, _ := strconv.Atoi(parts[1])
	n, _ := strconv.Atoi(parts[2])
	f, d := nestFamilies[fi], Dialect(di)
	text := f.gen(n)
	res := nestResult{Estimate: Depth(d, text)}
	start := time.Now()
	p, err := Parse(d, text)
	if err != nil {
		res.Err = err.Error()
	} else {
		res.Parsed = true
		_ = p.Class()
		res.TreeDepth = treeDepth(p)
		if _, err := p.Render(); err != nil {
			res.RenderErr = err.Error()
		} else {
			res.Rendered = true
		}
	}
	res.Millis = time.Since(start).Milliseconds()
	js, _ := json.Marshal(res)
	fmt.Printf("NEST %s\n", js)
}

// treeDepth measures a parse tree: protobuf message nesting for
// PostgreSQL, AST node nesting for the MySQL family.
func treeDepth(p *Parsed) int {
	switch {
	case p.PG != nil:
		return pgDepth(p.PG.ProtoReflect())
	case p.MySQL != nil:
		v := &depthVisitor{}
		p.MySQL.Accept(v)
		return v.max
	}
	return 0
}

func pgDepth(m protoreflect.Message) int {
	deepest := 0
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			for i, l := 0, v.List(); i < l.Len(); i++ {
				deepest = max(deepest, pgDepth(l.Get(i).Message()))
			}
			return true
		}
		deepest = max(deepest, pgDepth(v.Message()))
		return true
	})
	return deepest + 1
}

type depthVisitor struct{ cur, max int }

func (v *depthVisitor) Enter(n ast.Node) (ast.Node, bool) {
	v.cur++
	v.max = max(v.max, v.cur)
	return n, false
}

func (v *depthVisitor) Leave(n ast.Node) (ast.Node, bool) {
	v.cur--
	return n, true
}
