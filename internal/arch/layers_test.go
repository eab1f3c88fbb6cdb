package arch

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/dbfleet/dbfleet/"

// layers lists, bottom first, which internal packages sit on which layer
// (ARCHITECTURE.md §3). A package may import packages of lower layers and
// its own group (the path before the first '/', e.g. platform/sqldb may
// import platform/errkind); never a higher layer, never a sibling group of
// the same layer.
var layers = [][]string{
	{"migrations", "web", "arch"},
	{"platform", "chart"},
	{"engine", "sql", "testenv"},
	{"auth", "inventory"},
	{"metrics", "health", "forecast", "slowlog", "sqlreview", "verify", "backup", "notify"},
	{"executor", "query", "placement", "proxy"},
	{"ha", "alerts"},
	{"flows"},
	{"reports"},
	{"api", "ui"},
	// config composes each domain's Config (ARCHITECTURE.md §3: just
	// below app).
	{"config"},
	{"app"},
	{"cli"},
	{"cmd"},
}

func groupOf(rel string) string {
	rel = strings.TrimPrefix(rel, "internal/")
	g, _, _ := strings.Cut(rel, "/")
	return g
}

func rankOf(t *testing.T, group string) int {
	for i, l := range layers {
		for _, g := range l {
			if g == group {
				return i
			}
		}
	}
	t.Errorf("package group %q is not placed in any layer: add it to layers in internal/arch/layers_test.go", group)
	return -1
}

func TestLayering(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string]map[string]bool{} // package dir (relative) -> imported module packages
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "data" || name == "bench") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		if imports[rel] == nil {
			imports[rel] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if strings.HasPrefix(p, module) {
				imports[rel][strings.TrimPrefix(p, module)] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) < 5 {
		t.Fatalf("found only %d packages under %s: the walk is broken", len(imports), root)
	}
	for _, v := range violations(t, imports) {
		t.Error(v)
	}
}

// violations lists every import that breaks the layering.
func violations(t *testing.T, imports map[string]map[string]bool) []string {
	var out []string
	var pkgs []string
	for p := range imports {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		if pkg == "." {
			continue
		}
		from := groupOf(pkg)
		rf := rankOf(t, from)
		var imps []string
		for imp := range imports[pkg] {
			imps = append(imps, imp)
		}
		sort.Strings(imps)
		for _, imp := range imps {
			if strings.HasSuffix(imp, "/sqldbtest") || imp == "internal/testenv" {
				if !strings.HasSuffix(pkg, "sqldbtest") {
					out = append(out, fmt.Sprintf("%s imports test-only package %s outside tests", pkg, imp))
				}
				continue
			}
			to := groupOf(imp)
			if to == from {
				continue
			}
			rt := rankOf(t, to)
			switch {
			case rt > rf:
				out = append(out, fmt.Sprintf("%s (layer %d) imports %s (layer %d): dependencies must point downward; pass an interface or an event instead", pkg, rf, imp, rt))
			case rt == rf:
				out = append(out, fmt.Sprintf("%s imports %s, a sibling on the same layer: talk through a small interface wired by app", pkg, imp))
			}
		}
	}
	return out
}

// TestLayeringCatchesViolations proves the check is live.
func TestLayeringCatchesViolations(t *testing.T) {
	tests := []struct {
		from, imp string
		bad       bool
	}{
		{"internal/inventory", "internal/platform/sqldb", false},
		{"internal/platform/audit", "internal/platform/sqldb", false},
		{"internal/api", "internal/inventory", false},
		{"internal/cli", "internal/app", false},
		{"internal/inventory", "internal/api", true},
		{"internal/platform/sqldb", "internal/inventory", true},
		{"internal/inventory", "internal/auth", true},
		{"internal/engine/mysql", "internal/config", true},
		{"internal/app", "internal/cli", true},
		{"internal/inventory", "internal/testenv", true},
	}
	for _, tt := range tests {
		got := violations(t, map[string]map[string]bool{tt.from: {tt.imp: true}})
		if (len(got) > 0) != tt.bad {
			t.Errorf("%s -> %s: violations %v, want bad=%v", tt.from, tt.imp, got, tt.bad)
		}
	}
}
