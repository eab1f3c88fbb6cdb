package reports

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/reports/merge"
	"github.com/dbfleet/dbfleet/internal/slowlog"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(sqldbtest.Main(m)) }

// shop is one MariaDB server holding three shard databases shop_0..2 and
// shop_all, every shard's rows together (the single-server reference).
var shop = testenv.Share(func(tb testing.TB) *testenv.MariaDB {
	m := testenv.StartMariaDB(tb)
	var all []string
	stmts := []string{"CREATE DATABASE shop_all", "CREATE TABLE shop_all.orders (id INT PRIMARY KEY, region VARCHAR(20), total DECIMAL(10,2), created_at DATETIME)"}
	for s := range 3 {
		db := fmt.Sprintf("shop_%d", s)
		stmts = append(stmts, "CREATE DATABASE "+db, "CREATE TABLE "+db+".orders LIKE shop_all.orders")
		var vals []string
		for i := range 40 {
			id := s*1000 + i
			region := []string{"north", "south", "east"}[(i+s)%3]
			vals = append(vals, fmt.Sprintf("(%d, '%s', %d.%02d, '2026-11-%02d 10:00:00')", id, region, 10+i*s, i%100, 1+(i+s)%20))
		}
		stmts = append(stmts, "INSERT INTO "+db+".orders VALUES "+strings.Join(vals, ","))
		all = append(all, vals...)
	}
	stmts = append(stmts, "INSERT INTO shop_all.orders VALUES "+strings.Join(all, ","))
	m.Exec(tb, stmts...)
	return m
})

// directQuerier reads the test server as its superuser: query.Service's
// checks are the query package's to test; this runs the report's bound
// statement with its arguments on the named database, streamed.
type directQuerier struct {
	t       testing.TB
	m       *testenv.MariaDB
	servers map[string]bool // instance names that exist
	seen    []query.ReportRequest
}

func (q *directQuerier) Stream(ctx context.Context, p auth.Principal, req query.ReportRequest) (merge.Stream, error) {
	q.seen = append(q.seen, req)
	if !q.servers[req.Instance] {
		return nil, errkind.New(errkind.Unavailable, "instance %s: connection refused", req.Instance)
	}
	db := q.m.DB(q.t, req.Database)
	rows, err := db.QueryContext(ctx, req.SQL, req.Args...)
	if err != nil {
		return nil, err
	}
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	return &sqlStream{rows: rows, cols: cols, max: req.MaxRows}, nil
}

type sqlStream struct {
	rows *sql.Rows
	cols []string
	row  []any
	err  error
	// max caps the rows as query.RowStream does (0: none); truncated: rows
	// were left when it was reached.
	max, n    int
	truncated bool
}

func (s *sqlStream) Columns() []string { return s.cols }
func (s *sqlStream) Truncated() bool   { return s.truncated }
func (s *sqlStream) Next() bool {
	if s.max > 0 && s.n == s.max {
		s.truncated = s.rows.Next()
		return false
	}
	s.n++
	if !s.rows.Next() {
		s.err = s.rows.Err()
		return false
	}
	raw := make([]any, len(s.cols))
	ptrs := make([]any, len(s.cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if s.err = s.rows.Scan(ptrs...); s.err != nil {
		return false
	}
	for i, v := range raw {
		if b, ok := v.([]byte); ok {
			raw[i] = string(b)
		}
	}
	s.row = raw
	return true
}
func (s *sqlStream) Row() []any   { return s.row }
func (s *sqlStream) Err() error   { return s.err }
func (s *sqlStream) Close() error { return s.rows.Close() }

// staticInventory is the inventory's answer for a shard map: the shard
// map lookup is inventory's (tested there); here it only names shards.
type staticInventory map[string]inventory.ShardMap

func (s staticInventory) ResolveGroup(ctx context.Context, name string) ([]inventory.Instance, error) {
	if name == "pair" { // a group of a live instance and one that is down
		return []inventory.Instance{{Name: "mdb"}, {Name: "gone"}}, nil
	}
	return nil, errkind.New(errkind.NotFound, "no group %q", name)
}

func (s staticInventory) GetShardMap(ctx context.Context, name string) (inventory.ShardMap, error) {
	m, ok := s[name]
	if !ok {
		return m, errkind.New(errkind.NotFound, "no shard map %q", name)
	}
	return m, nil
}

func newTestService(t *testing.T, dirs ...string) (*Service, *directQuerier) {
	t.Helper()
	m := shop.Get(t)
	q := &directQuerier{t: t, m: m, servers: map[string]bool{"mdb": true}}
	inv := staticInventory{"shop": {Name: "shop", Shards: []inventory.Shard{
		{Index: 0, Instance: "mdb", Database: "shop_0"}, {Index: 1, Instance: "mdb", Database: "shop_1"}, {Index: 2, Instance: "mdb", Database: "shop_2"}}}}
	cat := NewCatalog(dirs[0], nil, nil)
	if err := cat.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ps := cat.Problems(); len(ps) > 0 {
		t.Fatal(ps)
	}
	s := NewService(cat, q, inv, DefaultConfig(), nil)
	s.Now = func() time.Time { return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) }
	return s, q
}

// TestRunInstance runs a report on one instance: parameters bound as
// placeholders, the same rows as the query run by hand, totals, colours,
// drills, the number block and the chart; a locked parameter and a
// parameter of the wrong type stop the run before any query.
func TestRunInstance(t *testing.T) {
	s, q := newTestService(t, "testdata/run")
	dba := auth.Principal{User: "dora", Role: auth.DBA}
	res, err := s.Run(t.Context(), dba, "by-day", map[string]string{"region": "south"})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.seen) != 1 || !strings.Contains(q.seen[0].SQL, "region = ?") || q.seen[0].Args[0] != "south" || q.seen[0].Database != "shop_all" || q.seen[0].Report != "by-day" ||
		!q.seen[0].Chosen { // instance="${inst}": the viewer's grants must cover it
		t.Fatalf("request %+v", q.seen)
	}
	var want [][]string
	rows, err := shop.Get(t).DB(t, "shop_all").QueryContext(t.Context(),
		"SELECT DATE(created_at), COUNT(*), SUM(total) FROM orders WHERE region = 'south' AND created_at >= '2026-11-01' AND created_at < '2026-12-01' GROUP BY 1 ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	var orders int
	for rows.Next() {
		var d time.Time
		var n int
		var sum string
		if err := rows.Scan(&d, &n, &sum); err != nil {
			t.Fatal(err)
		}
		orders += n
		want = append(want, []string{d.Format(time.DateOnly), fmt.Sprint(n), strings.TrimSuffix(strings.TrimSuffix(sum, "0"), ".0")})
	}
	tbl := res.Blocks[1]
	if len(tbl.Cells) != len(want) || len(want) == 0 {
		t.Fatalf("%d rows, want %d", len(tbl.Cells), len(want))
	}
	for i, w := range want {
		c := tbl.Cells[i]
		if c[0].Text != w[0] || c[1].Text != w[1] {
			t.Errorf("row %d: %s %s, want %v", i, c[0].Text, c[1].Text, w)
		}
		if wl := "/reports/by-day?days=" + w[0] + ".." + w[0] + "&region=south"; c[0].Link != wl {
			t.Errorf("row %d: drill %q, want %q", i, c[0].Link, wl)
		}
		var n int
		fmt.Sscan(w[1], &n)
		if (n >= 3) != (c[1].Color == "red") {
			t.Errorf("row %d: %d orders coloured %q", i, n, c[1].Color)
		}
	}
	if tbl.Totals[1] != fmt.Sprint(orders) {
		t.Errorf("total orders %s, want %d", tbl.Totals[1], orders)
	}
	if res.Blocks[0].Value != want[0][1] {
		t.Errorf("number %q, want %s", res.Blocks[0].Value, want[0][1])
	}
	if !strings.HasPrefix(res.Blocks[2].SVG, "<svg") {
		t.Errorf("chart: %q %s", res.Blocks[2].Note, res.Blocks[2].SVG)
	}

	dev := auth.Principal{User: "devi", Role: auth.Developer}
	before := len(q.seen)
	for _, tc := range []struct {
		p    auth.Principal
		in   map[string]string
		kind errkind.Kind
	}{
		{dev, map[string]string{"region": "south"}, errkind.Forbidden},
		{dba, map[string]string{"days": "last week"}, errkind.Invalid},
		{dba, map[string]string{"inst": "x'; DROP"}, errkind.Invalid},
		{auth.Principal{User: "vera", Role: auth.Viewer}, nil, errkind.Forbidden},
	} {
		_, err := s.Run(t.Context(), tc.p, "by-day", tc.in)
		if errkind.Of(err) != tc.kind {
			t.Errorf("%s %v: %v, want %s", tc.p.Role, tc.in, err, tc.kind)
		}
	}
	if len(q.seen) != before {
		t.Errorf("a refused run sent %d queries", len(q.seen)-before)
	}
	res, err = s.Run(t.Context(), dev, "by-day", nil)
	if err != nil || res.Params["region"] != "north" {
		t.Fatalf("developer's run: %v %v", res, err)
	}
}

// TestRunShards runs the shipped sharded reports over the shard map shop
// (three databases) and compares with the same statement on shop_all,
// which holds every shard's rows: the same groups and sums (GROUP BY
// merge) and the same rows in the same order (ordered merge with LIMIT
// pushed down). A shard on an instance that is down gives a partial
// result naming it.
func TestRunShards(t *testing.T) {
	s, q := newTestService(t, "../../reports")
	dba := auth.Principal{User: "dora", Role: auth.DBA}
	all := shop.Get(t).DB(t, "shop_all")
	reference := func(stmt string, args ...any) [][]string {
		rows, err := all.QueryContext(t.Context(), stmt, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out [][]string
		for rows.Next() {
			raw := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range raw {
				ptrs[i] = &raw[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			rec := make([]string, len(cols))
			for i, v := range raw {
				rec[i] = cellText(v)
				if b, ok := v.([]byte); ok {
					rec[i] = string(b)
				}
			}
			out = append(out, rec)
		}
		return out
	}
	got := func(d *Data) [][]string {
		var out [][]string
		for _, r := range d.Rows {
			rec := make([]string, len(r))
			for i, v := range r {
				rec[i] = cellText(v)
			}
			out = append(out, rec)
		}
		return out
	}
	same := func(name string, got, want [][]string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) || len(want) == 0 {
			t.Errorf("%s:\n got %v\nwant %v", name, got, want)
		}
	}

	res, err := s.Run(t.Context(), dba, "orders-by-region", map[string]string{"days": "2026-11-01..2026-11-30", "min_total": "15"})
	if err != nil {
		t.Fatal(err)
	}
	d := res.Data[0]
	if d.Sources != 3 || len(d.Failed) != 0 {
		t.Errorf("sources %d, failed %v", d.Sources, d.Failed)
	}
	same("group by region", got(d), reference(`SELECT region, COUNT(*) AS orders, SUM(total) AS revenue FROM orders
		WHERE created_at >= '2026-11-01' AND created_at < '2026-12-01' AND total >= 15 GROUP BY region ORDER BY region`))
	for _, r := range q.seen {
		if !strings.HasPrefix(r.Database, "shop_") || r.Args[2] != int64(15) {
			t.Errorf("shard request %+v", r)
		}
	}

	res, err = s.Run(t.Context(), dba, "region-orders", map[string]string{"region": "east"})
	if err != nil {
		t.Fatal(err)
	}
	same("ordered, limit", got(res.Data[0]), reference("SELECT id, region, total, created_at FROM orders WHERE region = 'east' ORDER BY total DESC, id LIMIT 20"))

	// One more shard, on an instance that is down.
	s.inv.(staticInventory)["shop"] = inventory.ShardMap{Name: "shop", Shards: append(s.inv.(staticInventory)["shop"].Shards,
		inventory.Shard{Index: 3, Instance: "gone", Database: "shop_3"})}
	res, err = s.Run(t.Context(), dba, "orders-by-region", map[string]string{"days": "2026-11-01..2026-11-30", "min_total": "15"})
	if err != nil {
		t.Fatal(err)
	}
	d = res.Data[0]
	if d.Sources != 4 || len(d.Failed) != 1 || d.Failed[0].Source != "3:gone/shop_3" || !strings.Contains(d.Failed[0].Error, "connection refused") {
		t.Errorf("partial: sources %d, failed %+v", d.Sources, d.Failed)
	}
	same("partial group by", got(d), reference(`SELECT region, COUNT(*) AS orders, SUM(total) AS revenue FROM orders
		WHERE created_at >= '2026-11-01' AND created_at < '2026-12-01' AND total >= 15 GROUP BY region ORDER BY region`))
}

// stats and scores stand in for the flows and health services, whose
// own tests cover their numbers; this checks what a view makes of them
// and that the viewer's own permission is required.
type stats []flows.FlowStats

func (s stats) Stats(context.Context) ([]flows.FlowStats, error) { return s, nil }

type scores map[string]float64

func (s scores) Current(_ context.Context, name string) (float64, bool) {
	v, ok := s[name]
	return v, ok
}

type instances []inventory.Instance

func (s instances) ListInstances(context.Context, inventory.InstanceFilter) ([]inventory.Instance, error) {
	return s, nil
}

func (s instances) ListClusters(context.Context) ([]inventory.Cluster, error) {
	return []inventory.Cluster{{Name: "c", Business: "payments"}}, nil
}

// slow answers as slowlog would: classes per instance, and Forbidden for
// an instance the viewer may not see.
type slow map[string][]slowlog.TopClass

func (s slow) Summaries(context.Context) ([]slowlog.InstanceSummary, error) {
	return []slowlog.InstanceSummary{{Instance: "db-1", Classes: 1}, {Instance: "db-2", Classes: 2}, {Instance: "secret", Classes: 1}}, nil
}

func (s slow) Top(_ context.Context, _ auth.Principal, instance string, f slowlog.Filter) (slowlog.TopResult, error) {
	if instance == "secret" {
		return slowlog.TopResult{}, errkind.New(errkind.Forbidden, "no")
	}
	return slowlog.TopResult{Instance: instance, Top: s[instance]}, nil
}

func TestRunViews(t *testing.T) {
	s, _ := newTestService(t, "../../reports")
	s.Views = Views{
		Flows:     stats{{Flow: "data-fix", Title: "Data fix", Done: 4, Automatic: 3, AutomaticShare: 0.75, MedianDone: 90 * time.Second, Failed: 1}},
		Health:    scores{"db-1": 92, "db-2": 55},
		Instances: instances{{Name: "db-2", Cluster: "c"}, {Name: "db-1", Cluster: "c"}, {Name: "db-3"}},
		Slow: slow{"db-1": {{QueryID: "a", Fingerprint: "select ?", Calls: 10, QueryTime: 5, P95: 2}},
			"db-2": {{QueryID: "b", Fingerprint: "update t", Calls: 3, QueryTime: 9, P95: 0.5}, {QueryID: "c", Fingerprint: "select 1", Calls: 1, QueryTime: 1}}},
	}
	viewer := auth.Principal{User: "vera", Role: auth.Viewer}
	res, err := s.Run(t.Context(), viewer, "work-order-stats", nil)
	if err != nil {
		t.Fatal(err)
	}
	row := res.Blocks[0].Cells[0]
	if got := fmt.Sprintf("%s|%s|%s|%s|%s", row[0].Text, row[1].Text, row[2].Text, row[3].Text, row[5].Color); got != "Data fix|4|75.0%|90s|red" {
		t.Errorf("work-order stats row %s", got)
	}
	res, err = s.Run(t.Context(), viewer, "fleet-health", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Blocks[0].Cells {
		got = append(got, r[0].Text+"="+r[3].Text+"/"+r[3].Color)
	}
	if strings.Join(got, " ") != "db-1=92/green db-2=55/red db-3=/" || res.Blocks[0].Totals[3] != "55" {
		t.Errorf("health rows %v, totals %v", got, res.Blocks[0].Totals)
	}
	if _, err := s.Run(t.Context(), viewer, "slow-sql-top", nil); errkind.Of(err) != errkind.NotFound {
		t.Errorf("a viewer, whom its acl does not name, ran slow-sql-top: %v", err)
	}
	res, err = s.Run(t.Context(), auth.Principal{User: "dev", Role: auth.Developer}, "slow-sql-top", nil)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, r := range res.Blocks[0].Cells {
		got = append(got, r[0].Text+"/"+r[1].Text+"/"+r[2].Text+"/"+r[4].Text+"/"+r[5].Color)
	}
	if strings.Join(got, " ") != "payments/db-2/update t/9s/ payments/db-1/select ?/5s/red payments/db-2/select 1/1s/" || res.Data[0].Sources != 2 {
		t.Errorf("slow classes %v (sources %d)", got, res.Data[0].Sources)
	}
}

// TestSubreports: a sub-report run once per row of the parent's dataset
// with the row's value as its parameter, and its values rolled up.
func TestSubreports(t *testing.T) {
	s, _ := newTestService(t, "testdata/run")
	res, err := s.Run(t.Context(), auth.Principal{User: "dora", Role: auth.DBA}, "regions", nil)
	if err != nil {
		t.Fatal(err)
	}
	b := res.Blocks[0]
	if len(b.Subs) != 3 || b.Subs[0].Params["region"] != "east" || b.Subs[2].Params["region"] != "south" || b.Subs[1].Params["days"] != "2026-11-01..2026-11-10" {
		t.Fatalf("sub-reports %d: %+v", len(b.Subs), b.Subs)
	}
	var sum string
	var best int
	if err := shop.Get(t).DB(t, "shop_all").QueryRowContext(t.Context(),
		"SELECT SUM(total), (SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM orders WHERE created_at >= '2026-11-01' AND created_at < '2026-11-11' GROUP BY region, DATE(created_at)) x) FROM orders WHERE created_at >= '2026-11-01' AND created_at < '2026-11-11'").Scan(&sum, &best); err != nil {
		t.Fatal(err)
	}
	if b.Returns["revenue"] != strings.TrimRight(strings.TrimRight(sum, "0"), ".") || b.Returns["best_day_orders"] != fmt.Sprint(best) {
		t.Errorf("returns %v, want revenue %s, best day %d", b.Returns, sum, best)
	}
}

// TestRunGroup: a data-source group runs the dataset on every member and
// merges (GROUP BY re-aggregated); the member that is down is named.
func TestRunGroup(t *testing.T) {
	s, q := newTestService(t, "testdata/run")
	res, err := s.Run(t.Context(), auth.Principal{User: "dora", Role: auth.DBA}, "grouped", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Data[0]
	if d.Sources != 2 || len(d.Failed) != 1 || d.Failed[0].Source != "gone" || len(q.seen) != 2 || q.seen[0].Chosen {
		t.Fatalf("sources %d, failed %+v, requests %d", d.Sources, d.Failed, len(q.seen))
	}
	var got []string
	for _, r := range d.Rows {
		got = append(got, cellText(r[0])+"="+cellText(r[1]))
	}
	if strings.Join(got, " ") != "east=40 north=40 south=40" {
		t.Errorf("rows %v", got)
	}
}

// TestRunMetrics runs the shipped capacity report on a metric store: the
// parameter is bound as a quoted label value, one row per series.
func TestRunMetrics(t *testing.T) {
	s, _ := newTestService(t, "../../reports")
	st, err := metrics.Open(t.TempDir(), metrics.StoreOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	s.Now = func() time.Time { return now }
	var samples []metrics.Sample
	for _, x := range []struct {
		inst, env string
		v         float64
	}{{"pg-1", "prod", 3e9}, {"pg-2", "prod", 5e9}, {"pg-3", "test", 9e9}} {
		samples = append(samples, metrics.Sample{Labels: labels.FromStrings("__name__", "pg_database_size_bytes", "instance", x.inst, "env", x.env, "datname", "app"),
			T: now.Add(-time.Minute).UnixMilli(), V: x.v})
	}
	if err := st.Append(t.Context(), samples); err != nil {
		t.Fatal(err)
	}
	s.Metrics = st
	res, err := s.Run(t.Context(), auth.Principal{User: "vera", Role: auth.Viewer}, "capacity", map[string]string{"env": `prod"} or vector(1) #`})
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Data[0]; len(d.Rows) != 0 {
		t.Errorf("a parameter changed the expression: %v", d.Rows)
	}
	res, err = s.Run(t.Context(), auth.Principal{User: "vera", Role: auth.Viewer}, "capacity", nil)
	if err != nil {
		t.Fatal(err)
	}
	b := res.Blocks[0]
	var got []string
	for _, r := range b.Cells {
		got = append(got, r[0].Text+"="+r[1].Text)
	}
	if strings.Join(got, " ") != "pg-2=4.66 GiB pg-1=2.79 GiB" || b.Totals[1] != "7.45 GiB" {
		t.Errorf("rows %v totals %v", got, b.Totals)
	}
}

// TestRunShardsCapped: a GROUP BY merged over shards needs every shard's
// groups: a shard cut at the row cap would give wrong totals (and a wrong
// top-N) silently, so the run is refused; under the cap it is exact.
func TestRunShardsCapped(t *testing.T) {
	s, _ := newTestService(t, "../../reports")
	dba := auth.Principal{User: "dora", Role: auth.DBA}
	params := map[string]string{"days": "2026-11-01..2026-11-30", "min_total": "15"}
	// Every shard has the three regions: a shard cap of maxRows+1 cuts
	// them below maxRows=2.
	for _, c := range []struct {
		maxRows int
		refused bool
	}{{1, true}, {2, false}, {3, false}, {100, false}} {
		t.Run(fmt.Sprint(c.maxRows), func(t *testing.T) {
			s.cfg.MaxRows = c.maxRows
			res, err := s.Run(t.Context(), dba, "orders-by-region", params)
			if c.refused {
				if err == nil || !strings.Contains(err.Error(), "row cap") || !errkind.Is(err, errkind.Invalid) {
					t.Fatalf("a capped GROUP BY shard: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			d := res.Data[0]
			if want := min(c.maxRows, 3); len(d.Rows) != want || d.Truncated != (c.maxRows < 3) {
				t.Errorf("%d rows (truncated %v), want %d", len(d.Rows), d.Truncated, want)
			}
		})
	}
}
