package sql

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestKeywordTableHoldsTheWordsWeCompare: every upper-case word literal
// in the package's code (what keyword's result is compared with) is in
// the keyword table, so that keyword finds it in any case.
func TestKeywordTableHoldsTheWordsWeCompare(t *testing.T) {
	word := regexp.MustCompile(`^[A-Z][A-Z0-9_]*[A-Z0-9]$`)
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, f := range files {
		name := f.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(node ast.Node) bool {
			lit, ok := node.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || !word.MatchString(s) {
				return true
			}
			n++
			if got := keyword(strings.ToLower(s)); got != s {
				t.Errorf("%s: %q is not in the keyword table (keyword(%q) = %q): add it to extraKeywords", fset.Position(lit.Pos()), s, strings.ToLower(s), got)
			}
			return true
		})
	}
	if n < 200 {
		t.Errorf("found only %d word literals", n)
	}
}

func TestKeyword(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"select", "SELECT"}, {"SeLeCt", "SELECT"}, {"users", ""}, {"", ""},
		{"concurrently", "CONCURRENTLY"}, {strings.Repeat("a", 40), ""}, {"sélect", ""},
	} {
		if got := keyword(tt.in); got != tt.want {
			t.Errorf("keyword(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := upperWord("users"); got != "USERS" {
		t.Errorf("upperWord(users) = %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = keyword("select"); _ = keyword("t_001"); _ = upperWord("update") }); n != 0 {
		t.Errorf("keyword allocates %v times", n)
	}
}
