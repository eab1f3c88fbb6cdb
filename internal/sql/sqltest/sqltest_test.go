package sqltest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// TestNoProductionImporter: sqltest is a test helper; only _test.go files
// may import it.
func TestNoProductionImporter(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	const me = "github.com/dbfleet/dbfleet/internal/sql/sqltest"
	n := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		n++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == me {
				t.Errorf("%s imports %s, a test helper", path, me)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("walked only %d Go files under %s", n, root)
	}
}

// TestCasesLoad: the golden file loads, each statement's recorded class
// is the one the front end gives now, and the lexer rules hold.
func TestCasesLoad(t *testing.T) {
	cases := Cases(t)
	if len(cases) < 50 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, c := range cases {
		for i, s := range c.Stmts {
			if got := sql.LexClass(c.Dialect, s.Text); got != s.Lex {
				t.Errorf("%s %s [%d]: Lex = %+v, LexClass says %+v", c.Dialect, c.Name, i+1, s.Lex, got)
			}
			if !s.Parsed() {
				continue
			}
			p, err := sql.Parse(c.Dialect, s.Text)
			if err != nil {
				t.Errorf("%s %s [%d]: recorded as parsed, Parse: %v", c.Dialect, c.Name, i+1, err)
				continue
			}
			if got := p.Class(); got != s.Class {
				t.Errorf("%s %s [%d]: Class = %+v, Parse says %+v", c.Dialect, c.Name, i+1, s.Class, got)
			}
			if (p.Manual != "") != (s.Manual != "") {
				t.Errorf("%s %s [%d]: Manual = %q, Parse says %q", c.Dialect, c.Name, i+1, s.Manual, p.Manual)
			}
			if s.LexUnsure == "" && s.Lex != s.Class {
				t.Errorf("%s %s [%d]: lexer and tree disagree without a reason", c.Dialect, c.Name, i+1)
			}
		}
	}
}

func TestLessCautious(t *testing.T) {
	q := sql.Class{Kind: sql.KindQuery, Verb: "SELECT"}
	tests := []struct {
		lex, tree sql.Class
		want      bool
	}{
		{q, q, false},
		{q, sql.Class{Kind: sql.KindDML, Verb: "SELECT"}, true},
		{sql.Class{Kind: sql.KindDML}, q, false},
		{sql.Class{Kind: sql.KindDDL}, sql.Class{Kind: sql.KindDDL, Destroys: "DROP TABLE t"}, true},
		{sql.Class{Kind: sql.KindDDL, NonTx: true}, sql.Class{Kind: sql.KindDDL}, false},
		{sql.Class{Kind: sql.KindDDL}, sql.Class{Kind: sql.KindDDL, NonTx: true}, true},
		{q, sql.Class{Kind: sql.KindQuery, Locking: "FOR UPDATE"}, true},
		{sql.Class{Kind: sql.KindOther}, sql.Class{Kind: sql.KindTxn, Txn: "BEGIN"}, true},
		{sql.Class{Kind: sql.KindSession}, sql.Class{Kind: sql.KindOther, Global: true}, true},
	}
	for _, tt := range tests {
		if got := LessCautious(tt.lex, tt.tree) != ""; got != tt.want {
			t.Errorf("LessCautious(%+v, %+v) = %v, want %v", tt.lex, tt.tree, got, tt.want)
		}
	}
}

func TestEachFilters(t *testing.T) {
	seen := map[sql.Dialect]int{}
	Each(t, func(t *testing.T, c Case, s Stmt) {
		seen[c.Dialect]++
		if s.Text == "" {
			t.Error("a statement without text")
		}
	}, sql.Postgres)
	if seen[sql.Postgres] < 100 || len(seen) != 1 {
		t.Errorf("Each(Postgres) visited %v", seen)
	}
}
