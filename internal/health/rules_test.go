package health

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/engine"
)

func TestDefaultRules(t *testing.T) {
	rs := defaultRules(t)
	seen := map[string]bool{}
	for _, r := range rs.AllRules("") {
		if seen[r.ID] {
			t.Errorf("duplicate rule %s", r.ID)
		}
		seen[r.ID] = true
		if r.Title == "" {
			t.Errorf("rule %s has no title", r.ID)
		}
	}
	// Every input a rule reads is defined for an engine it applies to, or
	// is one the service provides.
	provided := map[string]bool{"host_cores": true, "host_memory_bytes": true, "host_disk_bytes": true,
		"days_until_full": true, "label_iops_limit": true, "window_seconds": true, "v": true, "t": true}
	for _, kind := range []engine.Kind{engine.MariaDB, engine.Postgres, engine.Redis} {
		inputs := rs.Inputs(kind, "")
		for _, w := range []Window{Now, Daily} {
			for _, r := range rs.Rules(kind, "", w) {
				progs := []*program{r.value, r.when}
				for i := range r.Tiers {
					progs = append(progs, r.Tiers[i].threshold, r.Tiers[i].points)
				}
				for _, p := range progs {
					if p == nil {
						continue
					}
					for _, v := range p.vars {
						if _, ok := inputs[v]; !ok && !provided[v] {
							t.Errorf("%s rule %s reads %q, which no input provides", kind, r.ID, v)
						}
					}
				}
			}
		}
		if len(rs.Anomalies(kind, "")) == 0 {
			t.Errorf("%s: no anomaly metrics", kind)
		}
	}
	if rs.Capacity(engine.MariaDB, "") == nil || rs.Capacity(engine.Postgres, "") == nil || rs.Capacity(engine.Redis, "") != nil {
		t.Error("capacity specs")
	}
}

// A user file changes a threshold, disables a rule, adds one, and
// overrides a rule for one cluster only.
func TestRuleOverrides(t *testing.T) {
	user := `
families:
  mysql:
    inputs:
      aborted: sum(increase(mysql_global_status_aborted_connects{$sel}[$window]))
rules:
  - id: mysql.replica_lag
    tiers:
      - {above: 300, severity: warning, points: 4}
  - id: mysql.deadlocks
    disabled: true
  - id: mysql.aborted
    title: Aborted connections
    category: availability
    engines: [mysql]
    value: aborted
    tiers:
      - {above: 100, severity: warning, points: 2}
clusters:
  reporting:
    rules:
      - id: mysql.threads_running
        tiers:
          - {above: 200, severity: warning, points: 1}
`
	rs, err := ParseRules([]byte(user), "user.yaml", defaultRules(t))
	if err != nil {
		t.Fatal(err)
	}
	eval := func(cluster string, change map[string]float64) Score {
		return Evaluate(rs.Rules(engine.MariaDB, cluster, Now), snapshot(engine.MariaDB, Now, change))
	}
	// Lag 120 s no longer deducts; 400 s deducts the new 4 points; the
	// rest of the rule (title, category, unit) is kept.
	if sc := eval("", map[string]float64{"replica_lag": 120}); len(sc.Deductions) != 0 {
		t.Errorf("lag 120: %+v", sc.Deductions)
	}
	sc := eval("", map[string]float64{"replica_lag": 400})
	if len(sc.Deductions) != 1 || sc.Deductions[0].Points != 4 || sc.Deductions[0].Category != "reliability" || sc.Deductions[0].Unit != "seconds" {
		t.Errorf("lag 400: %+v", sc.Deductions)
	}
	if sc := eval("", map[string]float64{"deadlocks": 5}); len(sc.Deductions) != 0 {
		t.Errorf("disabled deadlocks rule: %+v", sc.Deductions)
	}
	if sc := eval("", map[string]float64{"aborted": 500}); len(sc.Deductions) != 1 || sc.Deductions[0].Rule != "mysql.aborted" {
		t.Errorf("added rule: %+v", sc.Deductions)
	}
	if _, ok := rs.Inputs(engine.MariaDB, "")["aborted"]; !ok {
		t.Error("added input missing")
	}
	// The cluster override applies to its cluster only, and the cluster
	// still has the file's other changes.
	if sc := eval("reporting", map[string]float64{"threads_running": 100}); len(sc.Deductions) != 0 {
		t.Errorf("reporting cluster, 100 threads: %+v", sc.Deductions)
	}
	if sc := eval("reporting", map[string]float64{"threads_running": 300, "deadlocks": 5}); len(sc.Deductions) != 1 || sc.Deductions[0].Points != 1 {
		t.Errorf("reporting cluster, 300 threads: %+v", sc.Deductions)
	}
	if sc := eval("orders", map[string]float64{"threads_running": 100}); len(sc.Deductions) != 1 || sc.Deductions[0].Points != 9 {
		t.Errorf("other cluster: %+v", sc.Deductions)
	}
	// The built-in set is untouched.
	if sc := Evaluate(defaultRules(t).Rules(engine.MariaDB, "", Now), snapshot(engine.MariaDB, Now, map[string]float64{"deadlocks": 5})); len(sc.Deductions) != 1 {
		t.Errorf("built-in rules changed: %+v", sc.Deductions)
	}
}

// Bad rule files are refused with the file, line and what is wrong.
func TestRuleErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "rules:\n  - id: x\n    valeu: up\n", []string{"user.yaml:3: field valeu not found"}},
		{"not yaml", "rules: [\n", []string{"user.yaml:"}},
		{"bad expression", "rules:\n  - id: mysql.deadlocks\n    value: deadlocks +* 2\n", []string{"user.yaml:2: rule mysql.deadlocks: value: \"deadlocks +* 2\""}},
		{"bad category and severity", `rules:
  - id: new.rule
    category: looks
    value: up
    tiers:
      - {above: 1, severity: dire, points: 3}
`, []string{`user.yaml:2: rule new.rule: category "looks": want one of availability, reliability, performance, maintainability`, `severity "dire"`}},
		{"no tiers", "rules:\n  - id: new.rule\n    category: performance\n    value: up\n", []string{"user.yaml:2: rule new.rule: tiers: at least one is required"}},
		{"above and below", "rules:\n  - id: down\n    tiers:\n      - {above: 1, below: 2, severity: info, points: 1}\n", []string{"tier 1: want exactly one of above or below"}},
		{"no id", "rules:\n  - value: up\n", []string{"user.yaml:2: rule without an id"}},
		{"unknown family", "families:\n  oracle:\n    inputs: {a: up}\n", []string{"user.yaml:3: unknown engine family \"oracle\""}},
		{"bad engine and window", "rules:\n  - id: down\n    engines: [oracle]\n    windows: [hourly]\n", []string{`engine "oracle"`, `window "hourly"`}},
		{"version", "version: 2\n", []string{"user.yaml: version 2: want 1"}},
		{"limit without capacity", "families:\n  mysql:\n    limits:\n      conns: {used: up}\n", []string{"user.yaml:3: mysql limit conns: capacity is required"}},
		{"limit with a bad capacity", "families:\n  mysql:\n    limits:\n      conns: {used: up, capacity: 'max_connections +* 2'}\n", []string{"user.yaml:3: mysql limit conns capacity:"}},
		{"limit named full", "families:\n  mysql:\n    limits:\n      full: {used: up, capacity: max_connections}\n", []string{`limit "full"`}},
	}
	base := defaultRules(t)
	for _, tt := range tests {
		_, err := ParseRules([]byte(tt.yaml), "user.yaml", base)
		if err == nil {
			t.Errorf("%s: accepted", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q, want %q", tt.name, err, w)
			}
		}
	}
}

func TestLoadRulesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(p, []byte("rules:\n  - id: down\n    disabled: true\n"), 0o600)
	rs, err := LoadRules(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs.Rules(engine.Redis, "", Now) {
		if r.ID == "down" {
			t.Error("down not disabled")
		}
	}
	if src := rs.Sources(); len(src) != 2 || src[1] != p {
		t.Errorf("sources %v", src)
	}
	if _, err := LoadRules(filepath.Join(t.TempDir(), "none.yaml")); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("missing file: %v", err)
	}
}
