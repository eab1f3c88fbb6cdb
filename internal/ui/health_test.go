package ui

import (
	"context"
	"log/slog"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/forecast"
	"github.com/dbfleet/dbfleet/internal/health"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// storeQuerier and healthForecaster adapt the metric store and the
// forecast model to the health service, as app does.
type storeQuerier struct{ s *metrics.Store }

func (q storeQuerier) Instant(ctx context.Context, promql string, ts time.Time) ([]health.Sample, error) {
	v, err := q.s.Instant(ctx, promql, ts)
	var out []health.Sample
	for _, s := range v {
		out = append(out, health.Sample{Labels: s.Metric.Map(), Value: s.F})
	}
	return out, err
}

func (q storeQuerier) Range(ctx context.Context, promql string, start, end time.Time, step time.Duration) ([]health.Series, error) {
	m, err := q.s.Range(ctx, promql, start, end, step)
	var out []health.Series
	for _, s := range m {
		hs := health.Series{Labels: s.Metric.Map()}
		for _, p := range s.Floats {
			hs.Points = append(hs.Points, health.Point{T: time.UnixMilli(p.T), V: p.F})
		}
		out = append(out, hs)
	}
	return out, err
}

type healthForecaster struct{}

func (healthForecaster) Fit(ds []time.Time, y []float64) (health.Model, error) {
	m, err := forecast.Fit(ds, y, forecast.DefaultOptions())
	return healthModel{m}, err
}

type healthModel struct{ m *forecast.Model }

func (h healthModel) Band(at []time.Time) []health.Band {
	var out []health.Band
	for _, p := range h.m.Predict(at) {
		out = append(out, health.Band{At: p.DS, Yhat: p.Yhat, Lower: p.Lower, Upper: p.Upper, SD: (p.Upper - p.Lower) / 2.5631})
	}
	return out
}

func (h healthModel) DaysUntilFull(from time.Time, capacity float64, horizon time.Duration) (float64, bool, error) {
	f, err := h.m.DaysUntilFull(from, capacity, horizon)
	return f.Days, f.Within, err
}

// TestHealthPages fills a real metric store with three days of an
// instance's metrics (a daily QPS cycle that jumped fivefold in the last
// 20 minutes, 30 threads running on 8 cores), scores it, and checks the
// list and the drill-down: score, deductions with their causes, the
// metric against its forecast band, and what could not be evaluated.
func TestHealthPages(t *testing.T) {
	f := newFixture(t)
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin"})
	if _, err := f.inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1", Cores: 8}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []inventory.NewInstance{
		{Name: "m1", Engine: engine.MariaDB, Host: "h", Port: 3306, User: "u"},
		{Name: "m2", Engine: engine.MariaDB, Host: "h", Port: 3307, User: "u"},
	} {
		if _, err := f.inv.AddInstance(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	store, err := metrics.Open(t.TempDir(), metrics.StoreOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now().Truncate(time.Minute)
	var samples []metrics.Sample
	var queries float64
	for ts := now.Add(-72 * time.Hour); !ts.After(now); ts = ts.Add(time.Minute) {
		h := float64(ts.Unix()%86400) / 3600
		rate := 200 + 80*math.Sin(2*math.Pi*h/24)
		if now.Sub(ts) <= 20*time.Minute {
			rate *= 5
		}
		queries += rate * 60
		ms := ts.UnixMilli()
		for name, v := range map[string]float64{"mysql_up": 1, "mysql_global_status_threads_running": 30, "mysql_global_status_queries": queries} {
			samples = append(samples, metrics.Sample{Labels: labels.FromStrings("__name__", name, "instance", "m1"), T: ms, V: v})
		}
	}
	if err := store.Append(ctx, samples); err != nil {
		t.Fatal(err)
	}
	rules, err := health.LoadRules("")
	if err != nil {
		t.Fatal(err)
	}
	svc := health.NewService(f.db, f.inv, storeQuerier{store}, healthForecaster{}, rules, health.Config{History: 3 * 24 * time.Hour}, slog.New(slog.DiscardHandler))
	if err := svc.RunOnce(ctx, health.Now, now); err != nil {
		t.Fatal(err)
	}

	site, err := newSite(&Server{Auth: f.auth, Inventory: f.inv, Audit: f.audit, Log: slog.New(slog.DiscardHandler), Version: "test", Health: svc})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	f.srv = httptest.NewServer(httpx.SecurityHeaders(site.routes()))
	defer f.srv.Close()
	f.addUser("vic", "viewer")
	b := f.browser()
	b.mustLogin("vic", "vic-password")

	r := b.get("/health")
	if r.status != 200 {
		t.Fatalf("/health: %d\n%s", r.status, r.body)
	}
	// m1 lost 3 (threads running) + 3 (QPS anomaly); m2 has no data: 100.
	for _, want := range []string{`href="/health/m1?window=now"`, `<td class="num">94.0</td>`, `<span class="badge up">healthy</span>`,
		"<td>anomaly:qps: ", `href="/health/m2?window=now"`, `<td class="num">100.0</td>`, `>Health</a>`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/health lacks %q", want)
		}
	}
	if i, j := strings.Index(r.body, "/health/m1?"), strings.Index(r.body, "/health/m2?"); i < 0 || j < i {
		t.Error("the list is not worst first")
	}

	r = b.get("/health/m1")
	if r.status != 200 {
		t.Fatalf("/health/m1: %d\n%s", r.status, r.body)
	}
	for _, want := range []string{
		`<strong class="score" id="score-value">94.0</strong>`, `<span class="badge up" id="score-level">healthy</span>`,
		`<td class="mono">threads_running</td><td class="num">30</td><td class="num">&gt; 24</td>`,
		`<td class="mono">anomaly:qps</td>`, `performance <strong>6</strong>`, `availability <strong>0</strong>`,
		`<figure class="chart" id="band-qps"><svg`, "<title>forecast band</title>", "<title>observed</title>",
		`<td class="mono">cpu</td><td class="muted">no data for cpu (no data)</td>`,
		`id="band-connections"><figcaption><strong>connections</strong>: <span class="muted">history 0s, a forecast needs 2.0 days</span>`,
		"<title>Score history</title>",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/health/m1 lacks %q", want)
		}
	}
	// The daily window has no stored score yet: computed for the page.
	r = b.get("/health/m1?window=daily")
	if r.status != 200 || !strings.Contains(r.body, "no stored score was recent") || strings.Contains(r.body, "anomaly:qps") {
		t.Errorf("daily: %d", r.status)
	}
	for path, status := range map[string]int{"/health/nosuch": 404, "/health/m1?hours=5": 400, "/health?window=weekly": 400} {
		if r := b.get(path); r.status != status {
			t.Errorf("%s: %d, want %d", path, r.status, status)
		}
	}
}
