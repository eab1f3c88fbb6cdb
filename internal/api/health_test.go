package api_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/health"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

// metricValues is a tiny in-test metric store: an instant query gets the
// value of the first metric name it contains; range queries get nothing.
type metricValues map[string]float64

func (m metricValues) Instant(ctx context.Context, q string, ts time.Time) ([]health.Sample, error) {
	for name, v := range m {
		if strings.Contains(q, name+"{") {
			return []health.Sample{{Value: v}}, nil
		}
	}
	return nil, nil
}

func (m metricValues) Range(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]health.Series, error) {
	return nil, nil
}

func TestHealthRoutes(t *testing.T) {
	f := newFixture(t)
	var list []health.InstanceScore
	if code := f.do(t, "vic", "GET", "/api/v1/health", nil, nil); code != 503 {
		t.Errorf("without the health service: %d", code)
	}
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin"})
	inv := f.api.Inventory
	if _, err := inv.AddHost(ctx, inventory.Host{Name: "h", Address: "10.0.0.1", Cores: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: "m1", Engine: engine.MariaDB, Host: "h", Port: 3306, User: "u"}); err != nil {
		t.Fatal(err)
	}
	rules, err := health.LoadRules("")
	if err != nil {
		t.Fatal(err)
	}
	// 2 cores: threads running above min(2*2+8, 64) = 12 costs 3 points.
	q := metricValues{"mysql_up": 1, "mysql_global_status_threads_running": 14}
	f.api.Health = health.NewService(sqldbtest.SQLite(t), inv, q, nil, rules, health.Config{}, slog.New(slog.DiscardHandler))

	for _, user := range []string{"vic", "dev", "dora", "admin"} {
		if code := f.do(t, user, "GET", "/api/v1/health", nil, &list); code != 200 || len(list) != 1 || list[0].Instance != "m1" || list[0].Scored {
			t.Errorf("%s: list %d %+v", user, code, list)
		}
	}
	var rep health.Report
	if code := f.do(t, "vic", "GET", "/api/v1/instances/m1/health?window=now&hours=2", nil, &rep); code != 200 {
		t.Fatalf("report: %d", code)
	}
	sc := rep.Score
	if !rep.Live || sc.Value != 97 || sc.Level != health.Healthy || len(sc.Deductions) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	d := sc.Deductions[0]
	if d.Rule != "mysql.threads_running" || d.Category != "performance" || d.Severity != "warning" || d.Observed != 14 || d.Threshold != 12 || d.Points != 3 {
		t.Errorf("deduction: %+v", d)
	}
	if len(sc.Skipped) == 0 || len(rep.Bands) != 3 || rep.Bands[0].Error == "" {
		t.Errorf("skipped %v, bands %+v", sc.Skipped, rep.Bands)
	}
	var rulesOut []health.Rule
	if code := f.do(t, "vic", "GET", "/api/v1/health/rules?cluster=any", nil, &rulesOut); code != 200 || len(rulesOut) < 20 || rulesOut[0].ID != "down" {
		t.Errorf("rules: %d, %d rules", code, len(rulesOut))
	}
	for path, want := range map[string]int{
		"/api/v1/instances/nosuch/health":      404,
		"/api/v1/instances/m1/health?window=x": 400,
		"/api/v1/instances/m1/health?hours=-1": 400,
		"/api/v1/health?window=weekly":         400,
	} {
		if code := f.do(t, "vic", "GET", path, nil, nil); code != want {
			t.Errorf("%s: %d, want %d", path, code, want)
		}
	}
	if code := f.do(t, "", "GET", "/api/v1/health", nil, nil); code != 401 {
		t.Errorf("anonymous: %d", code)
	}
}
