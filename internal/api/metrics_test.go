package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/dbfleet/dbfleet/internal/api"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// scrapedStore scrapes a real MariaDB twice, with queries in between, into
// a fresh store.
func scrapedStore(t *testing.T) (*metrics.Store, *metrics.Scraper) {
	t.Helper()
	m := testenv.StartMariaDB(t)
	ctx := context.Background()
	box, _ := secret.New(make([]byte, secret.KeySize))
	inv := inventory.NewService(sqldbtest.SQLite(t), box, engine.NewRegistry(mysql.New()), slog.New(slog.DiscardHandler))
	if _, err := inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddCluster(ctx, inventory.Cluster{Name: "shop", Engine: engine.MariaDB}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: "m1", Engine: engine.MariaDB, Host: "h", Port: m.Port, User: m.User, Password: m.Password, Cluster: "shop"}); err != nil {
		t.Fatal(err)
	}
	store, err := metrics.Open(t.TempDir(), metrics.StoreOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	sc := metrics.NewScraper(inv, store, metrics.ScraperOptions{}, nil)
	defer sc.Close()
	if err := sc.ScrapeAll(ctx); err != nil {
		t.Fatal(err)
	}
	db := m.DB(t, "")
	for range 50 {
		if _, err := db.Exec("SELECT 1"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond) // a later sample: rate needs two
	if err := sc.ScrapeAll(ctx); err != nil {
		t.Fatal(err)
	}
	return store, sc
}

// promCall sends a Prometheus API request (GET with a query string, or
// POST with a form) and decodes the envelope.
func (f *fixture) promCall(t *testing.T, user, method, path string, params url.Values) (int, map[string]any) {
	t.Helper()
	var req *http.Request
	if method == "GET" {
		req, _ = http.NewRequest("GET", f.srv.URL+path+"?"+params.Encode(), nil)
	} else {
		req, _ = http.NewRequest("POST", f.srv.URL+path, strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[user])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s %s: %q: %v", method, path, body, err)
	}
	return resp.StatusCode, out
}

func TestPrometheusAPI(t *testing.T) {
	f := newFixture(t)
	// Without a store the API says so, in the Prometheus envelope.
	code, out := f.promCall(t, "vic", "GET", "/api/v1/query", url.Values{"query": {"up"}})
	if code != 503 || out["status"] != "error" || out["errorType"] != "unavailable" {
		t.Fatalf("no store: %d %v", code, out)
	}
	f.api.Metrics, f.api.Scraper = scrapedStore(t)
	now := strconv.FormatInt(time.Now().Unix()+1, 10)

	for _, method := range []string{"GET", "POST"} {
		// A real PromQL query over scraped data: the query rate of m1.
		code, out := f.promCall(t, "vic", method, "/api/v1/query", url.Values{"query": {`irate(mysql_global_status_queries[1m])`}, "time": {now}})
		if code != 200 || out["status"] != "success" {
			t.Fatalf("%s query: %d %v", method, code, out)
		}
		data := out["data"].(map[string]any)
		res := data["result"].([]any)
		if data["resultType"] != "vector" || len(res) != 1 {
			t.Fatalf("%s query: %v", method, data)
		}
		sample := res[0].(map[string]any)
		metric, value := sample["metric"].(map[string]any), sample["value"].([]any)
		rate, _ := strconv.ParseFloat(value[1].(string), 64)
		if metric["instance"] != "m1" || metric["cluster"] != "shop" || metric["engine"] != "mariadb" || rate < 50/2.0 {
			t.Errorf("%s query sample %v, want m1's rate of at least 25/s", method, sample)
		}

		// Range.
		start := strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
		code, out = f.promCall(t, "vic", method, "/api/v1/query_range", url.Values{"query": {`mysql_up`}, "start": {start}, "end": {now}, "step": {"15s"}})
		data, _ = out["data"].(map[string]any)
		if code != 200 || data["resultType"] != "matrix" || len(data["result"].([]any)) != 1 {
			t.Fatalf("%s query_range: %d %v", method, code, out)
		}
		values := data["result"].([]any)[0].(map[string]any)["values"].([]any)
		if len(values) < 1 || values[len(values)-1].([]any)[1] != "1" {
			t.Errorf("%s query_range values %v", method, values)
		}

		// A PromQL error is 400 with the engine's message.
		code, out = f.promCall(t, "vic", method, "/api/v1/query", url.Values{"query": {`rate(mysql_up[5m]`}})
		if code != 400 || out["status"] != "error" || out["errorType"] != "bad_data" || !strings.Contains(out["error"].(string), "unclosed left parenthesis") {
			t.Errorf("%s bad query: %d %v", method, code, out)
		}
	}

	// Scalars, as Grafana's "test data source" sends.
	code, out = f.promCall(t, "vic", "GET", "/api/v1/query", url.Values{"query": {"1+1"}, "time": {"1700000000.5"}})
	if data := out["data"].(map[string]any); code != 200 || data["resultType"] != "scalar" || data["result"].([]any)[1] != "2" || data["result"].([]any)[0].(float64) != 1700000000.5 {
		t.Errorf("scalar: %d %v", code, out)
	}

	bad := []struct {
		path   string
		params url.Values
		msg    string
	}{
		{"/api/v1/query", url.Values{}, "query"},
		{"/api/v1/query", url.Values{"query": {"up"}, "time": {"yesterday"}}, `cannot parse "yesterday"`},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {"1"}, "end": {"2"}, "step": {"0"}}, "zero or negative"},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {"1"}, "end": {"2"}}, "duration"},
		{"/api/v1/series", url.Values{}, "no match[]"},
		{"/api/v1/series", url.Values{"match[]": {"{instance="}}, "bad series selector"},
	}
	for _, b := range bad {
		code, out := f.promCall(t, "vic", "GET", b.path, b.params)
		if code != 400 || out["errorType"] != "bad_data" || !strings.Contains(out["error"].(string), b.msg) {
			t.Errorf("%s %v: %d %v, want 400 mentioning %q", b.path, b.params, code, out, b.msg)
		}
	}

	// Series, labels, label values, targets.
	code, out = f.promCall(t, "vic", "GET", "/api/v1/series", url.Values{"match[]": {`mysql_up`, `up{engine="mariadb"}`}})
	if series := out["data"].([]any); code != 200 || len(series) != 2 {
		t.Errorf("series: %d %v", code, out)
	}
	code, out = f.promCall(t, "vic", "POST", "/api/v1/labels", url.Values{})
	if code != 200 || !contains(out["data"], "instance") || !contains(out["data"], "__name__") {
		t.Errorf("labels: %d %v", code, out)
	}
	code, out = f.promCall(t, "vic", "GET", "/api/v1/label/instance/values", url.Values{})
	if code != 200 || len(out["data"].([]any)) != 1 || !contains(out["data"], "m1") {
		t.Errorf("label values: %d %v", code, out)
	}
	code, out = f.promCall(t, "vic", "GET", "/api/v1/label/__name__/values", url.Values{"match[]": {`{__name__=~"mysql_global_status_threads_.*"}`}})
	if code != 200 || !contains(out["data"], "mysql_global_status_threads_running") || contains(out["data"], "mysql_up") {
		t.Errorf("metric names: %d %v", code, out)
	}
	code, out = f.promCall(t, "vic", "GET", "/api/v1/targets", url.Values{})
	targets := out["data"].(map[string]any)["activeTargets"].([]any)
	if code != 200 || len(targets) != 1 || targets[0].(map[string]any)["health"] != "up" {
		t.Errorf("targets: %d %v", code, out)
	}

	// Authentication as for every API call.
	if code, _ := f.promCall(t, "", "GET", "/api/v1/query", url.Values{"query": {"up"}}); code != 401 {
		t.Errorf("anonymous: %d, want 401", code)
	}
	var doc map[string]any
	f.do(t, "", "GET", "/api/v1/openapi.json", nil, &doc)
	if _, ok := doc["paths"].(map[string]any)["/api/v1/query_range"].(map[string]any)["post"]; !ok {
		t.Error("OpenAPI lacks POST /api/v1/query_range")
	}
	_ = api.PromResponse{}
}

func contains(list any, s string) bool {
	for _, v := range list.([]any) {
		if v == s {
			return true
		}
	}
	return false
}

// onlyDBAs lets DBAs and admins see every database object's series and
// nobody else any (app wires the query grants instead).
type onlyDBAs struct{}

func (onlyDBAs) Scopes(_ context.Context, p auth.Principal) (bool, []metrics.Scope, error) {
	return p.Can(auth.QueryGrant), nil, nil
}

// The query routes read the store as the caller sees it (metrics.Store.For).
func TestPrometheusAPIHidesObjectsFromCallers(t *testing.T) {
	f := newFixture(t)
	store, err := metrics.Open(t.TempDir(), metrics.StoreOptions{Visibility: onlyDBAs{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	if err := store.Append(context.Background(), []metrics.Sample{
		{Labels: labels.FromStrings("__name__", "mysql_info_schema_table_rows", "instance", "m1", "schema", "sec_secret", "table", "keys"), T: now.UnixMilli(), V: 3},
		{Labels: labels.FromStrings("__name__", "mysql_up", "instance", "m1"), T: now.UnixMilli(), V: 1},
	}); err != nil {
		t.Fatal(err)
	}
	f.api.Metrics = store
	at := strconv.FormatInt(now.Unix()+1, 10)
	for _, tc := range []struct {
		user string
		want int
	}{{"vic", 0}, {"dev", 0}, {"dora", 1}, {"admin", 1}} {
		code, out := f.promCall(t, tc.user, "GET", "/api/v1/query", url.Values{"query": {`{schema=~"sec_.*"}`}, "time": {at}})
		if res := out["data"].(map[string]any)["result"].([]any); code != 200 || len(res) != tc.want {
			t.Errorf("%s: %d %v, want %d series", tc.user, code, out, tc.want)
		}
		code, out = f.promCall(t, tc.user, "GET", "/api/v1/label/schema/values", url.Values{})
		if vals := out["data"].([]any); code != 200 || len(vals) != tc.want {
			t.Errorf("%s: schema values %d %v, want %d", tc.user, code, out, tc.want)
		}
		code, out = f.promCall(t, tc.user, "GET", "/api/v1/query", url.Values{"query": {`mysql_up`}, "time": {at}})
		if res := out["data"].(map[string]any)["result"].([]any); code != 200 || len(res) != 1 {
			t.Errorf("%s: mysql_up %d %v", tc.user, code, out)
		}
	}
}
