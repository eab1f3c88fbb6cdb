package alerts_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

func TestCheckRuleFileNamesFileAndLine(t *testing.T) {
	_, _, errs := alerts.CheckRuleFile("testdata/bad.rules.yml")
	var all []string
	for _, e := range errs {
		all = append(all, e.Error())
	}
	joined := strings.Join(all, "\n")
	for _, want := range []string{
		"testdata/bad.rules.yml:8:", // the bad expression
		`testdata/bad.rules.yml:9:16: group "db": alert "MySQLDown" with the same labels is already defined at line 4`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("errors:\n%s\nwant one containing %q", joined, want)
		}
	}
	if len(errs) != 2 {
		t.Errorf("got %d errors, want 2:\n%s", len(errs), joined)
	}
}

func TestBuiltinRulesAreValid(t *testing.T) {
	g, n, errs := alerts.CheckRuleFile(alerts.BuiltinRules)
	if len(errs) > 0 || g < 3 || n < 10 {
		t.Errorf("builtin rules: %d groups, %d rules, errors %v", g, n, errs)
	}
}

// TestRuleFiresOnStoppedMariaDB: real scrapes of a real MariaDB into the
// TSDB, Prometheus' rule manager evaluating the default MySQLDown rule's
// expression; stopping the server fires the alert, starting it resolves.
// A bad rule file reloaded meanwhile is refused and the rules stay.
func TestRuleFiresOnStoppedMariaDB(t *testing.T) {
	m := testenv.StartMariaDB(t)
	key := make([]byte, secret.KeySize)
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inv := inventory.NewService(sqldbtest.SQLite(t), box, engine.NewRegistry(mysql.New()), slog.New(slog.DiscardHandler))
	if _, err := inv.AddHost(ctx, inventory.Host{Name: "local", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddCluster(ctx, inventory.Cluster{Name: "c1", Engine: engine.MariaDB, Env: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: "db1", Engine: engine.MariaDB, Host: "local", Port: m.Port, User: m.User, Password: m.Password, Cluster: "c1"}); err != nil {
		t.Fatal(err)
	}
	store, err := metrics.Open(t.TempDir(), metrics.StoreOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sc := metrics.NewScraper(inv, store, metrics.ScraperOptions{Interval: time.Second, Timeout: 900 * time.Millisecond, Concurrency: 2}, nil)

	dir := t.TempDir()
	file := filepath.Join(dir, "db.rules.yml")
	os.WriteFile(file, []byte(`groups:
  - name: db
    interval: 1s
    rules:
      - alert: MySQLDown
        expr: mysql_up == 0
        for: 2s
        labels: {severity: critical}
        annotations: {summary: "{{ $labels.instance }} is down"}
`), 0o600)
	cfg := alerts.DefaultConfig()
	cfg.DefaultRules = false
	cfg.RuleFiles = []string{filepath.Join(dir, "*.yml")}
	cfg.EvaluationInterval = time.Second

	var mu sync.Mutex
	var got []alerts.Alert
	ev := alerts.NewEvaluator(ctx, cfg, store, nil, func(as []alerts.Alert) {
		mu.Lock()
		got = append(got, as...)
		mu.Unlock()
	}, slog.New(slog.DiscardHandler))
	if err := ev.Load(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { sc.Run(ctx) })
	wg.Go(func() { ev.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	// wait until pred holds on the alerts received so far.
	wait := func(what string, pred func(a alerts.Alert) bool) alerts.Alert {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, a := range got {
				if pred(a) {
					mu.Unlock()
					return a
				}
			}
			got = got[:0]
			mu.Unlock()
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("no alert: %s", what)
		return alerts.Alert{}
	}
	time.Sleep(3 * time.Second)
	mu.Lock()
	for _, a := range got {
		t.Errorf("alert while MariaDB is up: %v", a.Labels)
	}
	mu.Unlock()

	m.Stop(t)
	a := wait("MySQLDown firing", func(a alerts.Alert) bool { return a.Name() == "MySQLDown" && !a.Resolved(time.Now()) })
	if a.Labels["instance"] != "db1" || a.Labels["cluster"] != "c1" || a.Annotations["summary"] != "db1 is down" {
		t.Errorf("alert %v %v, want instance db1 cluster c1 and the summary", a.Labels, a.Annotations)
	}

	// A broken reload is refused with file:line; the rule stays.
	os.WriteFile(filepath.Join(dir, "zz.rules.yml"), []byte("groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: up ==\n"), 0o600)
	if err := ev.Load(); err == nil || !strings.Contains(err.Error(), "zz.rules.yml:5:") {
		t.Errorf("bad reload: %v, want an error naming zz.rules.yml:5", err)
	}
	rs, lerr := ev.Rules()
	if len(rs) != 1 || rs[0].Name != "MySQLDown" || lerr == nil {
		t.Errorf("after a bad reload: rules %+v, error %v; want MySQLDown still loaded and the error kept", rs, lerr)
	}

	m.Start(t)
	wait("MySQLDown resolved", func(a alerts.Alert) bool { return a.Name() == "MySQLDown" && a.Resolved(time.Now()) })
}
