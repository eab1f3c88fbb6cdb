package ui

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/chart"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// MetricsSource is what the dashboards read (*metrics.Store). For gives
// the store as one caller sees it (series naming a database or table only
// when the caller's query grants cover it): the instance charts read
// through it.
type MetricsSource interface {
	Instant(ctx context.Context, query string, ts time.Time) (metrics.Vector, error)
	Range(ctx context.Context, query string, start, end time.Time, step time.Duration) (metrics.Matrix, error)
	For(ctx context.Context, p auth.Principal) (*metrics.View, error)
}

// rangeSource runs range queries (a caller's metrics.View).
type rangeSource interface {
	Range(ctx context.Context, query string, start, end time.Time, step time.Duration) (metrics.Matrix, error)
}

// ScrapeTargets reports the scraper's view of each instance (*metrics.Scraper).
type ScrapeTargets interface {
	Targets() []metrics.TargetStatus
}

// dashRefresh is how often a dashboard page refreshes itself, in seconds:
// the default scrape interval, so each refresh can show a new sample.
const dashRefresh = 15

// dashRanges are the time ranges a dashboard offers, with the step of
// their charts (about 240 points each).
var dashRanges = []struct {
	Name string
	D    time.Duration
}{{"1h", time.Hour}, {"6h", 6 * time.Hour}, {"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}}

// dashRange reads ?range=, defaulting to 1h.
func dashRange(r *http.Request) (string, time.Duration, error) {
	v := r.URL.Query().Get("range")
	if v == "" {
		v = "1h"
	}
	for _, dr := range dashRanges {
		if dr.Name == v {
			return dr.Name, dr.D, nil
		}
	}
	return "", 0, errkind.New(errkind.Invalid, "unknown range %q: choose 1h, 6h, 24h or 7d", v)
}

// panelQuery is one PromQL expression of a panel. In Q, $i stands for the
// instance's selector (instance="name") and $w for the rate window. Each
// resulting series is named Name, or by its label By when set.
type panelQuery struct {
	Name, By, Q string
}

// panel is one chart of a dashboard.
type panel struct {
	ID, Title string
	Unit      chart.Unit
	Queries   []panelQuery
}

// enginePanels lists the per-instance charts of each engine.
func enginePanels(k engine.Kind) []panel {
	switch k {
	case engine.MariaDB, engine.MySQL, engine.TiDB:
		return []panel{
			{"qps", "Queries and transactions per second", chart.UnitNone, []panelQuery{
				{Name: "queries/s", Q: `rate(mysql_global_status_queries{$i}[$w])`},
				{Name: "transactions/s", Q: `sum(rate(mysql_global_status_commands_total{$i,command=~"commit|rollback"}[$w]))`},
			}},
			{"connections", "Connections", chart.UnitNone, []panelQuery{
				{Name: "connected", Q: `mysql_global_status_threads_connected{$i}`},
				{Name: "max_connections", Q: `mysql_global_variables_max_connections{$i}`},
			}},
			{"threads", "Threads running", chart.UnitNone, []panelQuery{
				{Name: "running", Q: `mysql_global_status_threads_running{$i}`},
			}},
			{"bufferpool", "InnoDB buffer pool", chart.UnitBytes, []panelQuery{
				{Name: "size", Q: `mysql_global_variables_innodb_buffer_pool_size{$i}`},
				{Name: "data", Q: `mysql_global_status_innodb_buffer_pool_bytes_data{$i}`},
				{Name: "dirty", Q: `mysql_global_status_innodb_buffer_pool_bytes_dirty{$i}`},
			}},
			{"lag", "Replication lag", chart.UnitSeconds, []panelQuery{
				{By: "connection_name", Q: `mysql_slave_status_seconds_behind_master{$i}`},
			}},
			{"disk", "Table data by schema", chart.UnitBytes, []panelQuery{
				{By: "schema", Q: `sum by (schema) (mysql_info_schema_table_size{$i,component=~"data_length|index_length"})`},
			}},
		}
	case engine.Postgres:
		return []panel{
			{"qps", "Transactions and rows per second", chart.UnitNone, []panelQuery{
				{Name: "commits/s", Q: `sum(rate(pg_stat_database_xact_commit{$i}[$w]))`},
				{Name: "rollbacks/s", Q: `sum(rate(pg_stat_database_xact_rollback{$i}[$w]))`},
				{Name: "rows fetched/s", Q: `sum(rate(pg_stat_database_tup_fetched{$i}[$w]))`},
			}},
			{"connections", "Connections", chart.UnitNone, []panelQuery{
				{Name: "backends", Q: `sum(pg_stat_database_numbackends{$i})`},
				{Name: "max_connections", Q: `pg_settings_max_connections{$i}`},
			}},
			{"threads", "Active sessions", chart.UnitNone, []panelQuery{
				{Name: "active", Q: `sum(pg_stat_activity_count{$i,state="active"})`},
				{Name: "idle in transaction", Q: `sum(pg_stat_activity_count{$i,state=~"idle in transaction.*"})`},
			}},
			{"bufferpool", "Buffer cache hit ratio", chart.UnitPercent, []panelQuery{
				{Name: "hit %", Q: `100 * sum(rate(pg_stat_database_blks_hit{$i}[$w])) / clamp_min(sum(rate(pg_stat_database_blks_hit{$i}[$w])) + sum(rate(pg_stat_database_blks_read{$i}[$w])), 1)`},
			}},
			{"lag", "Replication lag", chart.UnitSeconds, []panelQuery{
				{Name: "replay lag", Q: `pg_replication_lag_seconds{$i} and on (instance) pg_replication_is_replica{$i} == 1`},
				{By: "application_name", Q: `pg_stat_replication_replay_lag_seconds{$i}`},
			}},
			{"disk", "Database size", chart.UnitBytes, []panelQuery{
				{By: "datname", Q: `pg_database_size_bytes{$i}`},
			}},
		}
	case engine.Redis:
		return []panel{
			{"qps", "Commands per second", chart.UnitNone, []panelQuery{
				{Name: "commands/s", Q: `rate(redis_commands_processed_total{$i}[$w])`},
				{Name: "hits/s", Q: `rate(redis_keyspace_hits_total{$i}[$w])`},
				{Name: "misses/s", Q: `rate(redis_keyspace_misses_total{$i}[$w])`},
			}},
			{"connections", "Clients", chart.UnitNone, []panelQuery{
				{Name: "connected", Q: `redis_connected_clients{$i}`},
				{Name: "blocked", Q: `redis_blocked_clients{$i}`},
			}},
			{"memory", "Memory", chart.UnitBytes, []panelQuery{
				{Name: "used", Q: `redis_memory_used_bytes{$i}`},
				{Name: "maxmemory", Q: `redis_memory_max_bytes{$i} > 0`},
			}},
			{"keys", "Keys", chart.UnitNone, []panelQuery{
				{By: "db", Q: `redis_db_keys{$i}`},
			}},
			{"lag", "Replication", chart.UnitSeconds, []panelQuery{
				{Name: "lag (by offset)", Q: `redis_replication_lag_seconds{$i}`},
				{By: "slave_ip", Q: `redis_connected_slave_lag_seconds{$i}`},
			}},
		}
	}
	return nil
}

// overviewColumns are the fleet table's values, one PromQL expression per
// column over every instance (matched by the instance label).
var overviewColumns = struct{ Up, Rate, Conns, Lag string }{
	Up: `up`,
	Rate: `rate(mysql_global_status_queries[2m])
	  or sum by (instance) (rate(pg_stat_database_xact_commit[2m]) + rate(pg_stat_database_xact_rollback[2m]))
	  or rate(redis_commands_processed_total[2m])`,
	Conns: `mysql_global_status_threads_connected or sum by (instance) (pg_stat_database_numbackends) or redis_connected_clients`,
	Lag: `max by (instance) (mysql_slave_status_seconds_behind_master)
	  or (pg_replication_lag_seconds and on (instance) pg_replication_is_replica == 1)
	  or redis_replication_lag_seconds`,
}

// expand fills $i and $w into a panel query.
func expand(q, instance string, window time.Duration) string {
	return strings.NewReplacer("$i", "instance="+strconv.Quote(instance), "$w", promDuration(window)).Replace(q)
}

func promDuration(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d/time.Second)) + "s"
}

// stepFor gives about 240 points per chart; rate windows span at least
// four scrapes.
func stepFor(d time.Duration) (step, window time.Duration) {
	step = max((d / 240).Truncate(time.Second), 15*time.Second)
	window = max(2*step, time.Minute)
	return step, window
}

// renderPanel runs a panel's queries over the range and draws it.
func (u *site) renderPanel(ctx context.Context, src rangeSource, p panel, instance string, end time.Time, d time.Duration, width int) chartView {
	step, window := stepFor(d)
	start := end.Add(-d)
	c := chart.Chart{Title: p.Title, Unit: p.Unit, Start: start, End: end, Width: width, Height: 220}
	var errs []string
	for _, q := range p.Queries {
		m, err := src.Range(ctx, expand(q.Q, instance, window), start, end, step)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		sort.Slice(m, func(i, j int) bool { return m[i].Metric.Get(q.By) < m[j].Metric.Get(q.By) })
		for _, s := range m {
			name := q.Name
			if q.By != "" {
				name = s.Metric.Get(q.By)
				if name == "" {
					name = q.Name
				}
			}
			cs := chart.Series{Name: name}
			for _, pt := range s.Floats {
				cs.Points = append(cs.Points, chart.Point{T: time.UnixMilli(pt.T), V: pt.F})
			}
			c.Series = append(c.Series, cs)
		}
	}
	return chartView{ID: p.ID, Title: p.Title, SVG: template.HTML(c.SVG()), Error: strings.Join(errs, "; ")}
}

// chartView is one rendered chart; SVG is produced by internal/chart,
// which escapes every text it writes.
type chartView struct {
	ID, Title string
	SVG       template.HTML
	Error     string
}

type rangeLink struct {
	Name, URL string
	Active    bool
}

func rangeLinks(path, current string) []rangeLink {
	var out []rangeLink
	for _, dr := range dashRanges {
		out = append(out, rangeLink{Name: dr.Name, URL: path + "?range=" + dr.Name, Active: dr.Name == current})
	}
	return out
}

// fleetRow is one line of the fleet overview.
type fleetRow struct {
	Instance   inventory.Instance
	Health     string // up, down, unknown
	Error      string
	Score      string
	Rate       string
	Conns      string
	Lag        string
	LastScrape time.Time
}

type fleetData struct {
	Range    string
	Ranges   []rangeLink
	Rows     []fleetRow
	Chart    chartView
	Refresh  string
	Interval int
	NoStore  bool
	HasScore bool
}

// byInstance runs an instant query and maps results by instance label.
func (u *site) byInstance(ctx context.Context, q string, now time.Time) map[string]float64 {
	v, err := u.Metrics.Instant(ctx, q, now)
	out := map[string]float64{}
	if err != nil {
		u.log.Warn("dashboard query failed", "query", q, "err", err)
		return out
	}
	for _, s := range v {
		out[s.Metric.Get("instance")] = s.F
	}
	return out
}

func fmtValue(m map[string]float64, k string, unit chart.Unit) string {
	v, ok := m[k]
	if !ok || math.IsNaN(v) {
		return "-"
	}
	return chart.FormatValue(v, unit)
}

// dashboards is the fleet overview: every instance with its scrape state,
// health score, rate, connections and lag, and a chart of the fleet's rate.
func (u *site) dashboards(w http.ResponseWriter, r *http.Request, rq *request) error {
	rname, d, err := dashRange(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ins, err := u.Inventory.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		return err
	}
	data := fleetData{Range: rname, Ranges: rangeLinks("/dashboards", rname), Interval: dashRefresh,
		Refresh: "/dashboards?range=" + rname + "&fragment=dashboard", NoStore: u.Metrics == nil, HasScore: u.HealthScore != nil}
	targets := map[string]metrics.TargetStatus{}
	if u.Targets != nil {
		for _, t := range u.Targets.Targets() {
			targets[t.Instance] = t
		}
	}
	now := u.now()
	var up, rate, conns, lag map[string]float64
	if u.Metrics != nil {
		up = u.byInstance(ctx, overviewColumns.Up, now)
		rate = u.byInstance(ctx, overviewColumns.Rate, now)
		conns = u.byInstance(ctx, overviewColumns.Conns, now)
		lag = u.byInstance(ctx, overviewColumns.Lag, now)
	}
	for _, in := range ins {
		row := fleetRow{Instance: in, Health: "unknown", Score: "-",
			Rate: fmtValue(rate, in.Name, chart.UnitNone), Conns: fmtValue(conns, in.Name, chart.UnitNone), Lag: fmtValue(lag, in.Name, chart.UnitSeconds)}
		if v, ok := up[in.Name]; ok {
			row.Health = map[bool]string{true: "up", false: "down"}[v == 1]
		}
		if t, ok := targets[in.Name]; ok {
			row.Health, row.Error, row.LastScrape = t.Health, t.LastError, t.LastScrape
		}
		if u.HealthScore != nil {
			if s, ok := u.HealthScore(ctx, in.Name); ok {
				row.Score = strconv.Itoa(int(math.Round(s)))
			}
		}
		data.Rows = append(data.Rows, row)
	}
	if u.Metrics != nil {
		step, window := stepFor(d)
		q := strings.ReplaceAll(overviewColumns.Rate, "[2m]", "["+promDuration(window)+"]")
		c := chart.Chart{Title: "Queries (MySQL), transactions (PostgreSQL), commands (Redis) per second", Start: now.Add(-d), End: now, Width: 960, Height: 260}
		m, err := u.Metrics.Range(ctx, q, now.Add(-d), now, step)
		if err != nil {
			data.Chart.Error = err.Error()
		}
		sort.Slice(m, func(i, j int) bool { return m[i].Metric.Get("instance") < m[j].Metric.Get("instance") })
		for _, s := range m {
			cs := chart.Series{Name: s.Metric.Get("instance")}
			for _, pt := range s.Floats {
				cs.Points = append(cs.Points, chart.Point{T: time.UnixMilli(pt.T), V: pt.F})
			}
			c.Series = append(c.Series, cs)
		}
		data.Chart.ID, data.Chart.Title, data.Chart.SVG = "fleet-rate", c.Title, template.HTML(c.SVG())
	}
	if r.URL.Query().Get("fragment") == "dashboard" {
		u.fragment(w, "dashboards.html", "fleet_dashboard", data)
		return nil
	}
	v := u.view(rq, "Dashboards", "dashboards")
	v.Data = data
	u.render(w, r, http.StatusOK, "dashboards.html", v)
	return nil
}

type instanceDashData struct {
	Instance inventory.Instance
	Target   *metrics.TargetStatus
	Range    string
	Ranges   []rangeLink
	Charts   []chartView
	Refresh  string
	Interval int
	NoStore  bool
	Score    string
}

// instanceDashboard shows one instance's charts over the chosen range.
func (u *site) instanceDashboard(w http.ResponseWriter, r *http.Request, rq *request) error {
	rname, d, err := dashRange(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	in, err := u.Inventory.GetInstance(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	path := "/dashboards/instances/" + in.Name
	data := instanceDashData{Instance: in, Range: rname, Ranges: rangeLinks(path, rname), Interval: dashRefresh,
		Refresh: path + "?range=" + rname + "&fragment=dashboard", NoStore: u.Metrics == nil, Score: "-"}
	if u.Targets != nil {
		for _, t := range u.Targets.Targets() {
			if t.Instance == in.Name {
				data.Target = &t
			}
		}
	}
	if u.HealthScore != nil {
		if s, ok := u.HealthScore(ctx, in.Name); ok {
			data.Score = strconv.Itoa(int(math.Round(s)))
		}
	}
	if u.Metrics != nil {
		view, err := u.Metrics.For(ctx, rq.p)
		if err != nil {
			return err
		}
		now := u.now()
		for _, p := range enginePanels(in.Engine) {
			data.Charts = append(data.Charts, u.renderPanel(ctx, view, p, in.Name, now, d, 560))
		}
	}
	if r.URL.Query().Get("fragment") == "dashboard" {
		u.fragment(w, "dashboard_instance.html", "instance_dashboard", data)
		return nil
	}
	v := u.view(rq, "Dashboard "+in.Name, "dashboards")
	v.Data = data
	u.render(w, r, http.StatusOK, "dashboard_instance.html", v)
	return nil
}

// instanceChart serves one chart of an instance's dashboard as an SVG
// image (for embedding elsewhere: reports, e-mails, wikis).
func (u *site) instanceChart(w http.ResponseWriter, r *http.Request, rq *request) error {
	rname, d, err := dashRange(r)
	if err != nil {
		return err
	}
	_ = rname
	if u.Metrics == nil {
		return errkind.New(errkind.Unavailable, "the metrics store is not running in this server")
	}
	in, err := u.Inventory.GetInstance(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	view, err := u.Metrics.For(r.Context(), rq.p)
	if err != nil {
		return err
	}
	id := strings.TrimSuffix(r.PathValue("chart"), ".svg")
	for _, p := range enginePanels(in.Engine) {
		if p.ID == id {
			cv := u.renderPanel(r.Context(), view, p, in.Name, u.now(), d, 640)
			if cv.Error != "" {
				return fmt.Errorf("chart %s of %s: %s", id, in.Name, cv.Error)
			}
			w.Header().Set("Content-Type", "image/svg+xml")
			w.Header().Set("Cache-Control", "no-store")
			w.Write([]byte(cv.SVG))
			return nil
		}
	}
	return errkind.New(errkind.NotFound, "instance %q (%s) has no chart %q", in.Name, in.Engine, id)
}
