package arch

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The one SQL front end: only internal/sql may run a parser. Other
// packages may use the parse trees' types (the TiDB ast package,
// pg_query's node messages) for their analyses, never the parsers'
// entry points.
const (
	tidbParserPkg = "github.com/pingcap/tidb/pkg/parser"
	pgQueryPkg    = "github.com/pganalyze/pg_query_go/v6"
)

// pgQueryEntryPoints are pg_query's functions that lex, split, parse,
// normalise or deparse SQL.
var pgQueryEntryPoints = map[string]bool{
	"Parse": true, "ParseToJSON": true, "ParsePlPgSqlToJSON": true, "Scan": true,
	"SplitWithParser": true, "SplitWithScanner": true, "Deparse": true,
	"Normalize": true, "NormalizeUtility": true, "Fingerprint": true,
	"FingerprintToUInt64": true, "IsUtilityStmt": true,
}

// frontEndViolations lists the uses of a parser in one Go file.
func frontEndViolations(fset *token.FileSet, path string, f *ast.File) []string {
	var out []string
	pgName := ""
	for _, imp := range f.Imports {
		p := strings.Trim(imp.Path.Value, `"`)
		switch {
		case p == tidbParserPkg || p == pgQueryPkg+"/parser":
			out = append(out, fmt.Sprintf("%s imports %s: parse through internal/sql", path, p))
		case p == pgQueryPkg:
			pgName = "pg_query"
			if imp.Name != nil {
				pgName = imp.Name.Name
			}
		}
	}
	if pgName == "" {
		return out
	}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok && id.Name == pgName && pgQueryEntryPoints[sel.Sel.Name] {
			out = append(out, fmt.Sprintf("%s: %s.%s runs PostgreSQL's parser: use internal/sql", fset.Position(sel.Pos()), pgName, sel.Sel.Name))
		}
		return true
	})
	return out
}

func TestOneSQLFrontEnd(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	var bad []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "data") || rel == "internal/sql" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, rel, src, 0)
		if err != nil {
			return err
		}
		files++
		bad = append(bad, frontEndViolations(fset, rel, f)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("checked only %d Go files under %s: the walk is broken", files, root)
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}

// TestOneSQLFrontEndCatchesViolations proves the check is live.
func TestOneSQLFrontEndCatchesViolations(t *testing.T) {
	tests := []struct {
		name, src string
		bad       bool
	}{
		{"tidb parser", `package p; import "github.com/pingcap/tidb/pkg/parser"; var _ = parser.New`, true},
		{"pg parse", `package p; import pg "github.com/pganalyze/pg_query_go/v6"; func f() { pg.Parse("x") }`, true},
		{"pg deparse default name", `package p; import "github.com/pganalyze/pg_query_go/v6"; func f() { pg_query.Deparse(nil) }`, true},
		{"pg parser errors", `package p; import "github.com/pganalyze/pg_query_go/v6/parser"; var _ parser.Error`, true},
		{"pg node types", `package p; import pg "github.com/pganalyze/pg_query_go/v6"; var _ *pg.SelectStmt`, false},
		{"tidb ast", `package p; import "github.com/pingcap/tidb/pkg/parser/ast"; var _ ast.StmtNode`, false},
	}
	for _, tt := range tests {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "x.go", tt.src, 0)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := frontEndViolations(fset, "x.go", f); (len(got) > 0) != tt.bad {
			t.Errorf("%s: violations %v, want bad=%v", tt.name, got, tt.bad)
		}
	}
}
