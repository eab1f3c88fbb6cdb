package ui

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"log/slog"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// TestDashboards scrapes a real MariaDB and a dead instance into a store
// and checks the fleet overview and the instance dashboard render them.
func TestDashboards(t *testing.T) {
	f := newFixture(t)
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin"})
	m := testenv.StartMariaDB(t)
	if _, err := f.inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.inv.AddCluster(ctx, inventory.Cluster{Name: "shop", Engine: engine.MariaDB}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []inventory.NewInstance{
		{Name: "m1", Engine: engine.MariaDB, Host: "h", Port: m.Port, User: m.User, Password: m.Password, Cluster: "shop"},
		{Name: "gone", Engine: engine.MariaDB, Host: "h", Port: testenv.FreePort(t), User: "u", Password: "p"},
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
	sc := metrics.NewScraper(f.inv, store, metrics.ScraperOptions{Timeout: 5 * time.Second}, nil)
	defer sc.Close()
	for i := range 3 {
		if i > 0 {
			time.Sleep(time.Second)
		}
		if err := sc.ScrapeAll(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// Serve a site with the store (the fixture's own has none).
	site, err := newSite(&Server{Auth: f.auth, Inventory: f.inv, Audit: f.audit, Log: slog.New(slog.DiscardHandler), Version: "test",
		Metrics: store, Targets: sc, HealthScore: func(_ context.Context, name string) (float64, bool) { return 87.4, name == "m1" }})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	f.srv = httptest.NewServer(httpx.SecurityHeaders(site.routes()))
	defer f.srv.Close()
	f.addUser("vic", "viewer")
	b := f.browser()
	b.mustLogin("vic", "vic-password")

	r := b.get("/dashboards")
	if r.status != 200 {
		t.Fatalf("/dashboards: %d\n%s", r.status, r.body)
	}
	for _, want := range []string{
		`<tr data-instance="m1">`, `href="/dashboards/instances/m1"`, `<span class="badge up">up</span>`, `<td class="num">87</td>`,
		`<tr data-instance="gone">`, `<span class="badge down"`, `connection refused`,
		`<svg xmlns="http://www.w3.org/2000/svg"`, `data-refresh="/dashboards?range=1h&amp;fragment=dashboard"`, `>Dashboards</a>`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/dashboards lacks %q", want)
		}
	}
	// The fleet chart has m1's line (a path with a title naming it).
	if !strings.Contains(r.body, "<title>m1</title></path>") {
		t.Error("fleet chart has no line for m1")
	}

	r = b.get("/dashboards/instances/m1?range=6h")
	if r.status != 200 {
		t.Fatalf("instance dashboard: %d\n%s", r.status, r.body)
	}
	for _, id := range []string{"qps", "connections", "threads", "bufferpool", "lag", "disk"} {
		if !strings.Contains(r.body, `<figure class="chart" id="chart-`+id+`">`) {
			t.Errorf("instance dashboard lacks chart %s", id)
		}
	}
	for _, want := range []string{"<title>queries/s</title></path>", "<title>connected</title></path>", "<title>running</title></path>",
		"<title>size</title></path>", `class="active" aria-current="true">6h</a>`, "Health score</th><td>87"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("instance dashboard lacks %q", want)
		}
	}
	if strings.Contains(r.body, `<figcaption class="warn">`) {
		t.Errorf("a chart failed: %s", r.body[strings.Index(r.body, `<figcaption class="warn">`):][:300])
	}

	// The live fragment is the dashboard alone.
	r = b.get("/dashboards/instances/m1?range=1h&fragment=dashboard")
	if r.status != 200 || strings.Contains(r.body, "<html") || !strings.Contains(r.body, `id="chart-qps"`) {
		t.Errorf("fragment: %d %.200s", r.status, r.body)
	}
	// One chart as an SVG image.
	r = b.get("/dashboards/instances/m1/charts/connections.svg?range=24h")
	if r.status != 200 || !strings.HasPrefix(r.body, "<svg") || r.header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("chart svg: %d %s %.100s", r.status, r.header.Get("Content-Type"), r.body)
	}
	// The dead instance's page shows why.
	r = b.get("/dashboards/instances/gone")
	if r.status != 200 || !strings.Contains(r.body, `id="scrape-error">`) || !strings.Contains(r.body, "connection refused") {
		t.Errorf("dead instance dashboard: %d", r.status)
	}
	for path, want := range map[string]int{
		"/dashboards?range=2y":                     400,
		"/dashboards/instances/nope":               404,
		"/dashboards/instances/m1/charts/nope.svg": 404,
	} {
		if r := b.get(path); r.status != want {
			t.Errorf("%s: %d, want %d", path, r.status, want)
		}
	}
}

// TestDashboardsWithoutStore: a server without the metrics store says so.
func TestDashboardsWithoutStore(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.mustLogin("admin", adminPassword)
	r := b.get("/dashboards")
	if r.status != 200 || !strings.Contains(r.body, "metrics store is not running") {
		t.Errorf("%d %.300s", r.status, r.body)
	}
}
