package sqlreview

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

func TestParseRuleFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown rule", "rules:\n  table-require-pkk: error\n", []string{`r.yaml:2: unknown rule "table-require-pkk" (did you mean "table-require-pk"?)`}},
		{"bad level", "rules:\n  table-require-pk: fatal\n", []string{`r.yaml:2: rule "table-require-pk": invalid level "fatal": want error, warning or off`}},
		{"unknown param", "envs:\n  prod:\n    column-varchar-max-length:\n      params:\n        max: 10\n", []string{`r.yaml:5: env prod: rule "column-varchar-max-length": unknown param "max" (known: max_length)`}},
		{"bad param type", "rules:\n  column-varchar-max-length: {level: error, params: {max_length: abc}}\n", []string{`r.yaml:2: rule "column-varchar-max-length": param "max_length": want an integer, got "abc"`}},
		{"bad regexp", "clusters:\n  orders:\n    naming-table:\n      params: {pattern: \"[a-z\"}\n", []string{`r.yaml:4: cluster orders: rule "naming-table": param "pattern": invalid regular expression`}},
		{"bad list", "rules:\n  column-type-disallow:\n    params:\n      types: {a: b}\n", []string{`r.yaml:4: rule "column-type-disallow": param "types": want a list of strings`}},
		{"unknown top key", "rule:\n  x: y\n", []string{`r.yaml:1: unknown key "rule": want rules, envs or clusters`}},
		{"unknown setting key", "rules:\n  table-require-pk: {lvl: error}\n", []string{`r.yaml:2: rule "table-require-pk": unknown key "lvl": want level or params`}},
		{"yaml syntax", "rules:\n  a: [\n", []string{"r.yaml:"}},
		{"several errors", "rules:\n  nope: error\n  table-require-pk: maybe\n", []string{"r.yaml:2: unknown rule", "r.yaml:3: rule \"table-require-pk\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRuleFile("r.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if errkind.Of(err) != errkind.Invalid {
				t.Errorf("error kind %v, want Invalid", errkind.Of(err))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%s\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

func TestRuleSetLayers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	os.WriteFile(path, []byte(`
rules:
  column-varchar-max-length: {level: error, params: {max_length: 100}}
  table-comment-required: off
envs:
  prod:
    column-varchar-max-length: {params: {max_length: 50}}
    table-comment-required: error
clusters:
  legacy:
    table-engine-innodb: off
    column-varchar-max-length: warning
`), 0o600)
	rv, err := New(Config{RulesFile: path})
	if err != nil {
		t.Fatal(err)
	}
	get := func(env, cluster, id string) RuleInfo {
		for _, ri := range rv.Rules(env, cluster) {
			if ri.ID == id {
				return ri
			}
		}
		t.Fatalf("no rule %s", id)
		return RuleInfo{}
	}
	param := func(ri RuleInfo, name string) any {
		for _, p := range ri.Params {
			if p.Name == name {
				return p.Value
			}
		}
		return nil
	}
	if ri := get("test", "", "column-varchar-max-length"); ri.Level != LevelError || param(ri, "max_length") != 100 {
		t.Errorf("test env: %s %v", ri.Level, param(ri, "max_length"))
	}
	if ri := get("prod", "", "column-varchar-max-length"); ri.Level != LevelError || param(ri, "max_length") != 50 {
		t.Errorf("prod env: %s %v", ri.Level, param(ri, "max_length"))
	}
	if ri := get("prod", "legacy", "column-varchar-max-length"); ri.Level != LevelWarning || param(ri, "max_length") != 50 {
		t.Errorf("prod legacy: %s %v", ri.Level, param(ri, "max_length"))
	}
	if ri := get("prod", "legacy", "table-engine-innodb"); ri.Level != LevelOff {
		t.Errorf("legacy engine rule: %s", ri.Level)
	}
	if get("test", "", "table-comment-required").Level != LevelOff || get("prod", "", "table-comment-required").Level != LevelError {
		t.Error("table-comment-required layers")
	}
	// Built-in sets: prod is stricter than test.
	def, _ := New(Config{})
	strict := func(env string) int {
		n := 0
		for _, ri := range def.Rules(env, "") {
			n += ri.Level.rank()
		}
		return n
	}
	if strict("prod") <= strict("test") {
		t.Errorf("built-in prod (%d) is not stricter than test (%d)", strict("prod"), strict("test"))
	}
	// The same script: prod errors, test warns.
	sql := "CREATE TABLE t (id INT PRIMARY KEY) COMMENT 'x';\nSELECT * FROM t;"
	p, _ := def.Review(t.Context(), Request{Engine: "mysql", SQL: sql, Env: "prod"})
	q, _ := def.Review(t.Context(), Request{Engine: "mysql", SQL: sql, Env: "test"})
	if p.ExitCode() != 2 || q.ExitCode() != 0 {
		t.Errorf("exit codes prod %d test %d, want 2 and 0", p.ExitCode(), q.ExitCode())
	}
}

func TestDefaultRulesParse(t *testing.T) {
	if _, err := ParseRuleFile("defaults.yaml", DefaultRules()); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRuleFile("empty.yaml", nil); err != nil {
		t.Fatalf("an empty file: %v", err)
	}
	if _, err := New(Config{RulesFile: "/nonexistent/rules.yaml"}); err == nil || !strings.Contains(err.Error(), "/nonexistent/rules.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// TestCatalog: ids are unique, every rule is explained, parameters have
// defaults of their type, and docs/sqlreview.md lists every rule.
func TestCatalog(t *testing.T) {
	doc, err := os.ReadFile("../../docs/sqlreview.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range catalog() {
		if seen[r.ID] {
			t.Errorf("duplicate rule id %s", r.ID)
		}
		seen[r.ID] = true
		if r.Summary == "" || len(r.Explain) < 40 {
			t.Errorf("rule %s lacks a summary or explanation", r.ID)
		}
		if _, err := ParseLevel(string(r.Level)); err != nil {
			t.Errorf("rule %s: %v", r.ID, err)
		}
		for _, p := range r.Params {
			ok := false
			switch p.Kind {
			case ParamInt:
				_, ok = p.Default.(int)
			case ParamBool:
				_, ok = p.Default.(bool)
			case ParamString, ParamRegexp:
				_, ok = p.Default.(string)
			case ParamList:
				_, ok = p.Default.([]string)
			}
			if !ok || p.Help == "" {
				t.Errorf("rule %s param %s: default %T does not match %s, or no help", r.ID, p.Name, p.Default, p.Kind)
			}
			if !strings.Contains(string(doc), "`"+p.Name+"`") {
				t.Errorf("docs/sqlreview.md does not mention param %s of %s", p.Name, r.ID)
			}
		}
		if !strings.Contains(string(doc), "`"+r.ID+"`") {
			t.Errorf("docs/sqlreview.md does not list rule %s", r.ID)
		}
	}
}
