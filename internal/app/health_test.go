package app

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/forecast"
	"github.com/dbfleet/dbfleet/internal/health"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/testenv"
	"github.com/dbfleet/dbfleet/migrations"
)

// TestHealthOnRealMariaDB scrapes a real MariaDB and a dead instance into
// the metric store and scores them through the adapters app wires: the
// live server was just started (a restart within the window: -5), its
// other rules pass or lack data (and say so); the dead one is down.
func TestHealthOnRealMariaDB(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "test"})
	m := testenv.StartMariaDB(t)
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "dbfleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := slog.New(slog.DiscardHandler)
	if err := db.Migrate(ctx, migrations.FS, log); err != nil {
		t.Fatal(err)
	}
	box, err := secret.New(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.NewService(db, box, Engines(), log)
	if _, err := inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1", Cores: 4, DiskBytes: 100 << 30}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []inventory.NewInstance{
		{Name: "live", Engine: engine.MariaDB, Host: "h", Port: m.Port, User: m.User, Password: m.Password},
		{Name: "dead", Engine: engine.MariaDB, Host: "h", Port: testenv.FreePort(t), User: "u", Password: "p"},
	} {
		if _, err := inv.AddInstance(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	store, err := metrics.Open(t.TempDir(), metrics.StoreOptions{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sc := metrics.NewScraper(inv, store, metrics.ScraperOptions{Timeout: 5 * time.Second}, log)
	defer sc.Close()
	for i := range 3 {
		if i > 0 {
			time.Sleep(time.Second)
		}
		if err := sc.ScrapeAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := newHealth(config.Defaults().Health, db, inv, store, log)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()

	live, err := svc.Compute(ctx, "live", health.Now, now)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]func(float64) bool{
		"up":                func(v float64) bool { return v == 1 },
		"max_connections":   func(v float64) bool { return v >= 100 },
		"threads_connected": func(v float64) bool { return v >= 1 },
		"threads_running":   func(v float64) bool { return v >= 1 },
		"uptime":            func(v float64) bool { return v > 0 && v < 600 },
		"host_cores":        func(v float64) bool { return v == 4 },
		"large_tables":      func(v float64) bool { return v == 0 },
	} {
		if v, ok := live.Inputs[name]; !ok || !want(v) {
			t.Errorf("live input %s = %v (present %v)", name, v, ok)
		}
	}
	if len(live.Deductions) != 1 || live.Deductions[0].Rule != "mysql.restarted" || live.Value != 95 || live.Level != health.Healthy {
		t.Errorf("live: score %g, deductions %+v", live.Value, live.Deductions)
	}
	skipped := map[string]string{}
	for _, s := range live.Skipped {
		skipped[s.Rule] = s.Reason
	}
	for rule, want := range map[string]string{
		"anomaly":               "a forecast needs 2.0 days",
		"capacity":              "a forecast needs 2.0 days",
		"mysql.replica_stopped": "no data for replica_io_running",
		"cpu":                   "no data for cpu",
	} {
		if !strings.Contains(skipped[rule], want) {
			t.Errorf("live: %s skipped for %q, want %q", rule, skipped[rule], want)
		}
	}

	dead, err := svc.Compute(ctx, "dead", health.Now, now)
	if err != nil {
		t.Fatal(err)
	}
	if dead.Value != 0 || dead.Level != health.HighRisk || len(dead.Deductions) == 0 || dead.Deductions[0].Rule != "down" ||
		dead.Deductions[0].Category != "availability" || dead.Deductions[0].Message != "down: 0 < 1" {
		t.Errorf("dead: score %g, deductions %+v", dead.Value, dead.Deductions)
	}

	// Stored by the loop's RunOnce, read back by the dashboards' hook.
	if err := svc.RunOnce(ctx, health.Now, now); err != nil {
		t.Fatal(err)
	}
	if v, ok := svc.Current(ctx, "live"); !ok || v != 95 {
		t.Errorf("current score of live: %g %v", v, ok)
	}
	// A bad PromQL input is reported as the engine's message, not a crash.
	rs, err := health.ParseRules([]byte("families:\n  mysql:\n    inputs:\n      threads_running: 'sum(rate(x[5m]'\n"), "bad.yaml", svc.Rules())
	if err != nil {
		t.Fatal(err)
	}
	svc2 := health.NewService(db, inv, metricsQuerier{store}, forecaster{opts: forecast.DefaultOptions()}, rs, health.Config{}, log)
	s2, err := svc2.Compute(ctx, "live", health.Now, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range s2.Skipped {
		if s.Rule == "mysql.threads_running" && !strings.Contains(s.Reason, "query failed: bad PromQL") {
			t.Errorf("bad input query: %q", s.Reason)
		}
	}
}
