package health

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/forecast"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { os.Exit(sqldbtest.Main(m)) }

// fakeQuerier is a tiny in-test metric store: a query is answered by the
// first rule whose metric name it contains (longest name first), instant
// values being the generator at the query time.
type fakeQuerier struct {
	mu     sync.Mutex
	gen    map[string]func(t time.Time) float64 // metric name -> value at t
	fail   map[string]error
	starts map[string]time.Time // metric name -> first sample
	calls  int
}

func (f *fakeQuerier) match(q string) (string, bool) {
	best := ""
	for k := range f.gen {
		if strings.Contains(q, k) && len(k) > len(best) {
			best = k
		}
	}
	for k := range f.fail {
		if strings.Contains(q, k) && len(k) > len(best) {
			best = k
		}
	}
	return best, best != ""
}

func (f *fakeQuerier) Instant(ctx context.Context, q string, ts time.Time) ([]Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	k, ok := f.match(q)
	if !ok {
		return nil, nil
	}
	if err := f.fail[k]; err != nil {
		return nil, err
	}
	if !strings.Contains(q, `instance="m1"`) && !strings.Contains(q, `host="h1"`) {
		return nil, errors.New("query without the instance selector: " + q)
	}
	return []Sample{{Labels: map[string]string{"instance": "m1"}, Value: f.gen[k](ts)}}, nil
}

func (f *fakeQuerier) Range(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]Series, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	k, ok := f.match(q)
	if !ok {
		return nil, nil
	}
	if err := f.fail[k]; err != nil {
		return nil, err
	}
	s := Series{Labels: map[string]string{"instance": "m1"}}
	for t := start; !t.After(end); t = t.Add(step) {
		if st, ok := f.starts[k]; ok && t.Before(st) {
			continue
		}
		s.Points = append(s.Points, Point{T: t, V: f.gen[k](t)})
	}
	return []Series{s}, nil
}

// forecaster adapts internal/forecast as app does.
type forecaster struct{}

func (forecaster) Fit(ds []time.Time, y []float64) (Model, error) {
	m, err := forecast.Fit(ds, y, forecast.DefaultOptions())
	if err != nil {
		return nil, err
	}
	return fmodel{m}, nil
}

type fmodel struct{ m *forecast.Model }

func (f fmodel) Band(at []time.Time) []Band {
	pts := f.m.Predict(at)
	out := make([]Band, len(pts))
	for i, p := range pts {
		out[i] = Band{At: p.DS, Yhat: p.Yhat, Lower: p.Lower, Upper: p.Upper, SD: (p.Upper - p.Lower) / 2.5631}
	}
	return out
}

func (f fmodel) DaysUntilFull(from time.Time, capacity float64, horizon time.Duration) (float64, bool, error) {
	r, err := f.m.DaysUntilFull(from, capacity, horizon)
	return r.Days, r.Within, err
}

var now0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// busyMariaDB: 30 threads running on an 8-core host, QPS that follows a
// daily cycle but has been 5 times its usual level for the last 20
// minutes, and data at 800 GB growing 10 GB a day on a 1 TB disk (20
// days left).
func busyMariaDB() *fakeQuerier {
	spikeFrom := now0.Add(-20 * time.Minute)
	return &fakeQuerier{
		gen: map[string]func(time.Time) float64{
			"mysql_up":                                 func(time.Time) float64 { return 1 },
			"mysql_global_status_threads_running":      func(time.Time) float64 { return 30 },
			"mysql_global_status_threads_connected":    func(time.Time) float64 { return 40 },
			"mysql_global_variables_max_connections":   func(time.Time) float64 { return 500 },
			"mysql_global_status_uptime":               func(time.Time) float64 { return 1e6 },
			"mysql_global_status_innodb_deadlocks":     func(time.Time) float64 { return 0 },
			"mysql_global_status_slow_queries":         func(time.Time) float64 { return 0.5 },
			"mysql_global_status_innodb_buffer_pool_r": func(time.Time) float64 { return 0.999 }, // the hit ratio query
			"mysql_global_status_queries": func(t time.Time) float64 {
				h := float64(t.Unix()%86400) / 3600
				v := 1000 + 400*math.Sin(2*math.Pi*h/24) + 20*math.Sin(float64(t.Unix()/900)*1.7)
				if !t.Before(spikeFrom) {
					v *= 5
				}
				return v
			},
			"count(sum by (schema, table) (last_over_time(mysql_info_schema_table_size": func(time.Time) float64 { return 0 },
			"mysql_info_schema_table_size": func(t time.Time) float64 {
				return 800e9 + 10e9*t.Sub(now0).Hours()/24
			},
		},
		starts: map[string]time.Time{},
	}
}

func setup(t *testing.T, db *sqldb.DB, q Querier, rules *RuleSet) (*Service, *inventory.Service) {
	t.Helper()
	ctx := context.Background()
	key := make([]byte, secret.KeySize)
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory.NewService(db, box, engine.NewRegistry(), slog.New(slog.DiscardHandler))
	if _, err := inv.AddHost(ctx, inventory.Host{Name: "h1", Address: "10.0.0.1", Cores: 8, DiskBytes: 1e12}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddCluster(ctx, inventory.Cluster{Name: "c1", Engine: engine.MariaDB}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: "m1", Engine: engine.MariaDB, Host: "h1", Port: 3306, User: "u", Cluster: "c1"}); err != nil {
		t.Fatal(err)
	}
	if rules == nil {
		rules = defaultRules(t)
	}
	s := NewService(db, inv, q, forecaster{}, rules, Config{History: 7 * 24 * time.Hour}, slog.New(slog.DiscardHandler))
	s.now = func() time.Time { return now0 }
	return s, inv
}

func TestServiceScoresAndStores(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		q := busyMariaDB()
		s, _ := setup(t, db, q, nil)
		sc, err := s.Compute(ctx, "m1", Now, now0)
		if err != nil {
			t.Fatal(err)
		}
		byRule := map[string]Deduction{}
		for _, d := range sc.Deductions {
			byRule[d.Rule] = d
		}
		if d := byRule["mysql.threads_running"]; d.Points != 3 || d.Threshold != 24 {
			t.Errorf("threads_running: %+v", d)
		}
		if d := byRule["anomaly"]; d.Points != 3 || d.Item != "anomaly:qps" || d.Observed < 3 {
			t.Errorf("anomaly: %+v (z inputs %v)", d, sc.Inputs)
		}
		days := sc.Inputs["days_until_full"]
		if math.Abs(days-20) > 1.5 {
			t.Errorf("days until full %g, want about 20 (200 GB left at 10 GB/day)", days)
		}
		if d := byRule["capacity"]; math.Abs(d.Points-(15-days/3)) > 0.01 || d.Category != "maintainability" {
			t.Errorf("capacity: %+v", d)
		}
		if len(sc.Deductions) != 3 {
			t.Errorf("deductions: %+v", sc.Deductions)
		}
		want := 100 - 3 - 3 - byRule["capacity"].Points
		if math.Abs(sc.Value-want) > 0.1 || sc.Level != LevelOf(sc.Value) {
			t.Errorf("score %g %s, want %g", sc.Value, sc.Level, want)
		}
		// Host-metric rules have no data: skipped with the reason.
		skipped := map[string]string{}
		for _, sk := range sc.Skipped {
			skipped[sk.Rule] = sk.Reason
		}
		if !strings.Contains(skipped["cpu"], "no data for cpu (no data)") {
			t.Errorf("skipped: %v", skipped)
		}

		// RunOnce stores it; Report reads it back with its deductions.
		if err := s.RunOnce(ctx, Now, now0); err != nil {
			t.Fatal(err)
		}
		rep, err := s.Report(ctx, "m1", Now, 6*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Live || rep.Score.Value != sc.Value || len(rep.Score.Deductions) != 3 || rep.Score.Deductions[0].Message == "" {
			t.Errorf("report: %+v", rep.Score)
		}
		if rep.Fullness == nil || !rep.Fullness.Within || rep.Fullness.Capacity != 1e12 {
			t.Errorf("fullness: %+v", rep.Fullness)
		}
		if len(rep.History) != 1 || rep.History[0].Value != sc.Value {
			t.Errorf("history: %+v", rep.History)
		}
		var qps *MetricBand
		for i := range rep.Bands {
			if rep.Bands[i].Metric == "qps" {
				qps = &rep.Bands[i]
			}
		}
		if qps == nil || len(qps.Points) < 100 || qps.Z < 3 {
			t.Fatalf("bands: %+v", rep.Bands)
		}
		// Before the spike the observed QPS lies in its band; at the end it
		// is far above.
		in := 0
		for _, p := range qps.Points[:len(qps.Points)-10] {
			if p.Has && p.Y >= p.Lower && p.Y <= p.Upper {
				in++
			}
		}
		last := qps.Points[len(qps.Points)-1]
		if in < (len(qps.Points)-10)*6/10 || !last.Has || last.Y < last.Upper*2 {
			t.Errorf("band: %d of %d in; last %+v", in, len(qps.Points)-10, last)
		}
		list, err := s.List(ctx, Now)
		if err != nil || len(list) != 1 || !list[0].Scored || list[0].Value != sc.Value || list[0].Deductions != 3 || list[0].Top == "" {
			t.Errorf("list: %+v %v", list, err)
		}
		if len(list) == 1 && (list[0].DaysUntilFull == nil || *list[0].DaysUntilFull != days) {
			t.Errorf("list: days until full %v, want %g (the score's forecast, for alerting)", list[0].DaysUntilFull, days)
		}
	})
}

// The "now" loop: a score every tick, a daily one once a day, old scores
// pruned.
func TestServiceTick(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	q := busyMariaDB()
	s, _ := setup(t, db, q, nil)
	at := now0
	s.now = func() time.Time { return at }
	count := func(w Window) int {
		var n int
		db.QueryRowContext(ctx, "SELECT COUNT(*) FROM health_scores WHERE kind = ?", string(w)).Scan(&n)
		return n
	}
	s.tick(ctx)
	at = at.Add(time.Minute)
	s.tick(ctx)
	if count(Now) != 2 || count(Daily) != 1 {
		t.Errorf("after two ticks: %d now, %d daily", count(Now), count(Daily))
	}
	at = at.Add(24 * time.Hour)
	s.tick(ctx)
	if count(Daily) != 2 {
		t.Errorf("a day later: %d daily", count(Daily))
	}
	at = at.Add(8 * 24 * time.Hour)
	s.tick(ctx)
	// The three old "now" scores are pruned (kept 7 days), with their
	// deductions.
	var orphans int
	db.QueryRowContext(ctx, "SELECT COUNT(*) FROM health_deductions d LEFT JOIN health_scores s ON s.id = d.score_id WHERE s.id IS NULL").Scan(&orphans)
	if count(Now) != 1 || count(Daily) != 3 || orphans != 0 {
		t.Errorf("after pruning: %d now, %d daily, %d orphan deductions", count(Now), count(Daily), orphans)
	}
	daily, ok, err := s.st.latest(ctx, "m1", Daily)
	if err != nil || !ok || daily.Window != Daily {
		t.Errorf("daily: %+v %v", daily, err)
	}
}

// Missing and failing data: the score says why each rule was skipped, and
// a history too short for a forecast says how much is needed.
func TestServiceMissingData(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	q := busyMariaDB()
	q.fail = map[string]error{"mysql_global_status_threads_running": errors.New("bad PromQL: parse error")}
	q.starts["mysql_global_status_queries"] = now0.Add(-3 * time.Hour)
	q.starts["mysql_info_schema_table_size"] = now0.Add(-5 * time.Hour)
	s, _ := setup(t, db, q, nil)
	sc, err := s.Compute(ctx, "m1", Now, now0)
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]string{}
	for _, sk := range sc.Skipped {
		skipped[sk.Rule] = sk.Reason
	}
	for rule, want := range map[string]string{
		"mysql.threads_running": "threads_running (query failed: bad PromQL: parse error)",
		"anomaly":               "z_qps (history 3h0m0s, a forecast needs 2.0 days)",
		"capacity":              "days_until_full (history 5h0m0s, a forecast needs 2.0 days)",
	} {
		if !strings.Contains(skipped[rule], want) {
			t.Errorf("%s skipped for %q, want %q", rule, skipped[rule], want)
		}
	}
	if sc.Value != 100 {
		t.Errorf("score %g: %+v", sc.Value, sc.Deductions)
	}
	// A failed fit is not retried on every call.
	calls := q.calls
	if _, err := s.Compute(ctx, "m1", Now, now0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if perCall := q.calls - calls; perCall > 25 {
		t.Errorf("%d queries for a second score", perCall)
	}
	// No metric store at all.
	s2 := NewService(db, s.inv, nil, nil, s.rules, Config{}, nil)
	sc, err = s2.Compute(ctx, "m1", Now, now0)
	if err != nil || sc.Value != 100 || len(sc.Skipped) == 0 || !strings.Contains(sc.Skipped[0].Reason, "no metric store") {
		t.Errorf("no store: %+v %v", sc, err)
	}
	if _, err := s.Compute(ctx, "nosuch", Now, now0); err == nil || !strings.Contains(err.Error(), `"nosuch" not found`) {
		t.Errorf("unknown instance: %v", err)
	}
}

// Per-cluster rules reach the service: the instance's cluster tolerates
// more threads.
func TestServiceClusterOverride(t *testing.T) {
	db := sqldbtest.SQLite(t)
	rs, err := ParseRules([]byte("clusters:\n  c1:\n    rules:\n      - id: mysql.threads_running\n        tiers: [{above: 100, severity: warning, points: 1}]\n"), "user.yaml", defaultRules(t))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := setup(t, db, busyMariaDB(), rs)
	sc, err := s.Compute(context.Background(), "m1", Now, now0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range sc.Deductions {
		if d.Rule == "mysql.threads_running" {
			t.Errorf("cluster override ignored: %+v", d)
		}
	}
}

// TestLimitForecast: a limit other than the disk's (connections against
// max_connections) is forecast like the disk, into days_until_<name>, and
// the fleet list carries it for alerting.
func TestLimitForecast(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	q := busyMariaDB()
	// 300 connections growing 20 a day against max_connections 500: 10
	// days left.
	q.gen["mysql_global_status_threads_connected"] = func(t time.Time) float64 { return 300 + 20*t.Sub(now0).Hours()/24 }
	s, _ := setup(t, db, q, nil)
	sc, err := s.Compute(ctx, "m1", Now, now0)
	if err != nil {
		t.Fatal(err)
	}
	days, ok := sc.Inputs["days_until_connections"]
	if !ok || math.Abs(days-10) > 1 {
		t.Fatalf("days until connections %v (%v), want about 10; missing: %v", days, ok, sc.Skipped)
	}
	if err := s.RunOnce(ctx, Now, now0); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx, Now)
	if err != nil || len(list) != 1 || math.Abs(list[0].Limits["connections"]-days) > 1e-9 {
		t.Fatalf("list: %+v, %v; want the connections forecast %g", list, err, days)
	}

	// Without max_connections the limit is unknown, and says why.
	delete(q.gen, "mysql_global_variables_max_connections")
	s2, inv := setup(t, sqldbtest.SQLite(t), q, nil)
	inst, err := inv.GetInstance(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s2.Snapshot(ctx, inst, Now, now0)
	if err != nil {
		t.Fatal(err)
	}
	if why := snap.Missing["days_until_connections"]; !strings.Contains(why, "max_connections not set") {
		t.Errorf("missing days_until_connections: %q, want the capacity input named", why)
	}
}
