package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Querier reads metric values with PromQL; app adapts the metrics store.
type Querier interface {
	// Instant evaluates a query at ts.
	Instant(ctx context.Context, promql string, ts time.Time) ([]Sample, error)
	// Range evaluates a query at every step from start to end.
	Range(ctx context.Context, promql string, start, end time.Time, step time.Duration) ([]Series, error)
}

// Sample is one value of an instant query.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Series is one series of a range query.
type Series struct {
	Labels map[string]string
	Points []Point
}

// Point is a timestamped value.
type Point struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// Forecaster fits forecast models; app adapts internal/forecast.
type Forecaster interface {
	Fit(ds []time.Time, y []float64) (Model, error)
}

// Model is a fitted forecast.
type Model interface {
	// Band returns the forecast and its band at each time; SD is the
	// standard deviation the band implies.
	Band(at []time.Time) []Band
	// DaysUntilFull returns the days from `from` until the forecast reaches
	// capacity, or within false (and days = the horizon) when it does not.
	DaysUntilFull(from time.Time, capacity float64, horizon time.Duration) (days float64, within bool, err error)
}

// Band is the forecast at one time.
type Band struct {
	At    time.Time `json:"at"`
	Yhat  float64   `json:"yhat"`
	Lower float64   `json:"lower"`
	Upper float64   `json:"upper"`
	SD    float64   `json:"sd"`
}

// Service computes, stores and reports health scores.
type Service struct {
	inv   *inventory.Service
	q     Querier
	fc    Forecaster
	rules *RuleSet
	st    store
	log   *slog.Logger
	opts  Config
	now   func() time.Time

	mu       sync.Mutex
	models   map[string]*cachedModel
	capacity map[string]*cachedCapacity
}

type cachedModel struct {
	query    string
	model    Model
	err      error
	fittedAt time.Time
}

type cachedCapacity struct {
	days, used, capacity float64
	within               bool
	err                  error
	at                   time.Time
}

// NewService returns a health service. q and fc may be nil (no metric
// store, no forecast): every rule needing their inputs is then skipped.
func NewService(db *sqldb.DB, inv *inventory.Service, q Querier, fc Forecaster, rules *RuleSet, opts Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{inv: inv, q: q, fc: fc, rules: rules, st: store{db: db}, log: log, opts: opts.withDefaults(), now: time.Now,
		models: map[string]*cachedModel{}, capacity: map[string]*cachedCapacity{}}
}

// Rules is the effective rule set.
func (s *Service) Rules() *RuleSet { return s.rules }

// Compute scores one instance now (or at `at`) without storing it.
func (s *Service) Compute(ctx context.Context, name string, w Window, at time.Time) (Score, error) {
	inst, err := s.inv.GetInstance(ctx, name)
	if err != nil {
		return Score{}, err
	}
	return s.compute(ctx, inst, w, at)
}

func (s *Service) compute(ctx context.Context, inst inventory.Instance, w Window, at time.Time) (Score, error) {
	snap, err := s.Snapshot(ctx, inst, w, at)
	if err != nil {
		return Score{}, err
	}
	return Evaluate(s.rules.Rules(inst.Engine, inst.Cluster, w), snap), nil
}

// escapeLabel quotes a value for a PromQL label matcher.
func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func expand(q string, inst inventory.Instance, w Window) string {
	win := "30m"
	if w == Daily {
		win = "1d"
	}
	return strings.NewReplacer(
		"$sel", `instance="`+escapeLabel(inst.Name)+`"`,
		"$instance", escapeLabel(inst.Name),
		"$host", escapeLabel(inst.Host),
		"$window", win,
	).Replace(q)
}

// Snapshot gathers the inputs of an instance's score: the rule file's
// PromQL inputs, host facts, and for "now" the forecast z-scores; days
// until full from a forecast refreshed daily.
func (s *Service) Snapshot(ctx context.Context, inst inventory.Instance, w Window, at time.Time) (Snapshot, error) {
	snap := Snapshot{Instance: inst.Name, Engine: inst.Engine, Cluster: inst.Cluster, Window: w, At: at,
		Values: map[string]float64{}, Missing: map[string]string{}}
	for k, v := range inst.Labels {
		if f, err := strconv.ParseFloat(v, 64); err == nil && finite(f) {
			snap.Values["label_"+identSafe(k)] = f
		}
	}
	if inst.Host != "" {
		if h, err := s.inv.GetHost(ctx, inst.Host); err == nil {
			for k, v := range h.Labels {
				if f, err := strconv.ParseFloat(v, 64); err == nil && finite(f) {
					if _, ok := snap.Values["label_"+identSafe(k)]; !ok {
						snap.Values["label_"+identSafe(k)] = f
					}
				}
			}
			if h.Cores > 0 {
				snap.Values["host_cores"] = float64(h.Cores)
			}
			if h.MemoryBytes > 0 {
				snap.Values["host_memory_bytes"] = float64(h.MemoryBytes)
			}
			if h.DiskBytes > 0 {
				snap.Values["host_disk_bytes"] = float64(h.DiskBytes)
			}
		}
	}
	for _, k := range []string{"host_cores", "host_memory_bytes", "host_disk_bytes"} {
		if _, ok := snap.Values[k]; !ok {
			snap.Missing[k] = "not set on host " + inst.Host
		}
	}
	if s.q == nil {
		for name := range s.rules.Inputs(inst.Engine, inst.Cluster) {
			snap.Missing[name] = "no metric store"
		}
		return snap, nil
	}
	inputs := s.rules.Inputs(inst.Engine, inst.Cluster)
	names := make([]string, 0, len(inputs))
	for n := range inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return snap, err
		}
		v, why := s.instant(ctx, expand(inputs[name], inst, w), at)
		if why != "" {
			snap.Missing[name] = why
			continue
		}
		snap.Values[name] = v
	}
	if w == Now {
		s.anomalies(ctx, inst, at, &snap)
	}
	s.fullness(ctx, inst, w, at, &snap)
	return snap, nil
}

func identSafe(k string) string {
	var b strings.Builder
	for _, r := range k {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// instant runs one input query: the largest finite value, or why there is
// none.
func (s *Service) instant(ctx context.Context, q string, at time.Time) (float64, string) {
	samples, err := s.q.Instant(ctx, q, at)
	if err != nil {
		s.log.Debug("health input query failed", "query", q, "err", err)
		return 0, "query failed: " + firstLine(err.Error())
	}
	best := math.NaN()
	for _, smp := range samples {
		if finite(smp.Value) && (math.IsNaN(best) || smp.Value > best) {
			best = smp.Value
		}
	}
	if math.IsNaN(best) {
		return 0, "no data"
	}
	return best, ""
}

// series runs a range query and returns the first series' finite points.
func (s *Service) series(ctx context.Context, q string, start, end time.Time, step time.Duration) ([]Point, error) {
	res, err := s.q.Range(ctx, q, start, end, step)
	if err != nil {
		return nil, err
	}
	if len(res) == 0 {
		return nil, nil
	}
	// Several series: the one with the most points.
	sort.SliceStable(res, func(i, j int) bool { return len(res[i].Points) > len(res[j].Points) })
	var out []Point
	for _, p := range res[0].Points {
		if finite(p.V) {
			out = append(out, p)
		}
	}
	return out, nil
}

// model returns the forecast model of a metric, fitting it when it is
// missing or older than Refit. A failed fit is remembered for an hour.
func (s *Service) model(ctx context.Context, inst inventory.Instance, metric, q string, at time.Time) (Model, error) {
	key := inst.Name + "\x00" + metric
	s.mu.Lock()
	c := s.models[key]
	s.mu.Unlock()
	if c != nil && c.query == q {
		age := at.Sub(c.fittedAt)
		if c.err == nil && age < s.opts.Refit && age >= -time.Minute {
			return c.model, nil
		}
		if c.err != nil && age < time.Hour && age >= -time.Minute {
			return nil, c.err
		}
	}
	m, err := s.fit(ctx, q, at)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	s.mu.Lock()
	s.models[key] = &cachedModel{query: q, model: m, err: err, fittedAt: at}
	s.mu.Unlock()
	return m, err
}

func (s *Service) fit(ctx context.Context, q string, at time.Time) (Model, error) {
	if s.fc == nil {
		return nil, errors.New("no forecaster")
	}
	pts, err := s.series(ctx, q, at.Add(-s.opts.History), at, stepFor(s.opts.History, s.opts.Step))
	if err != nil {
		return nil, fmt.Errorf("query failed: %s", firstLine(err.Error()))
	}
	if len(pts) < 2 || pts[len(pts)-1].T.Sub(pts[0].T) < s.opts.MinHistory {
		have := time.Duration(0)
		if len(pts) > 1 {
			have = pts[len(pts)-1].T.Sub(pts[0].T)
		}
		return nil, fmt.Errorf("history %s, a forecast needs %s", roundDuration(have), roundDuration(s.opts.MinHistory))
	}
	ds := make([]time.Time, len(pts))
	y := make([]float64, len(pts))
	for i, p := range pts {
		ds[i], y[i] = p.T, p.V
	}
	return s.fc.Fit(ds, y)
}

// stepFor is step, or longer when the span would need more than 10,000
// points (range queries are bounded).
func stepFor(span, step time.Duration) time.Duration {
	if least := (span/10000 + time.Minute - 1).Truncate(time.Minute); least > step {
		return least
	}
	return step
}

func roundDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	case d >= time.Hour:
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}

// anomalies adds z_<metric> for each anomaly metric: of the z-scores of
// the last Sustain minutes, the one closest to 0 (so that |z| > 3 means
// it stayed beyond 3 all along).
func (s *Service) anomalies(ctx context.Context, inst inventory.Instance, at time.Time, snap *Snapshot) {
	for name, spec := range s.rules.Anomalies(inst.Engine, inst.Cluster) {
		key := "z_" + name
		q := expand(spec.Query, inst, Now)
		m, err := s.model(ctx, inst, name, q, at)
		if err != nil {
			snap.Missing[key] = err.Error()
			continue
		}
		recent, err := s.series(ctx, q, at.Add(-s.opts.Sustain), at, time.Minute)
		if err != nil {
			snap.Missing[key] = "query failed: " + firstLine(err.Error())
			continue
		}
		if len(recent) == 0 || at.Sub(recent[0].T) < s.opts.Sustain-2*time.Minute {
			snap.Missing[key] = fmt.Sprintf("fewer than %s of recent data", s.opts.Sustain)
			continue
		}
		ts := make([]time.Time, len(recent))
		for i, p := range recent {
			ts[i] = p.T
		}
		bands := m.Band(ts)
		z := math.Inf(1)
		for i, b := range bands {
			zi := zscore(recent[i].V, b, spec.MinSD)
			if math.Abs(zi) < math.Abs(z) {
				z = zi
			}
		}
		snap.Values[key] = z
	}
}

// zscore of y against a band, its standard deviation at least minSD.
func zscore(y float64, b Band, minSD float64) float64 {
	sd := math.Max(b.SD, minSD)
	d := y - b.Yhat
	if d == 0 {
		return 0
	}
	if !(sd > 0) {
		return math.Copysign(1000, d)
	}
	return math.Max(-1000, math.Min(1000, d/sd))
}

// fullness adds days_until_full, disk_used and disk_capacity, forecast
// from the capacity spec, and days_until_<name> for each other limit
// (connections against max_connections), each at most once a day per
// instance.
func (s *Service) fullness(ctx context.Context, inst inventory.Instance, w Window, at time.Time, snap *Snapshot) {
	if spec := s.rules.Capacity(inst.Engine, inst.Cluster); spec != nil {
		if c, err := s.untilLimit(ctx, inst, w, at, "", *spec, snap); err != nil {
			snap.Missing["days_until_full"] = err.Error()
		} else {
			snap.Values["days_until_full"] = c.days
			snap.Values["disk_used"] = c.used
			snap.Values["disk_capacity"] = c.capacity
		}
	}
	limits := s.rules.Limits(inst.Engine, inst.Cluster)
	names := make([]string, 0, len(limits))
	for n := range limits {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		if c, err := s.untilLimit(ctx, inst, w, at, name, limits[name], snap); err != nil {
			snap.Missing["days_until_"+name] = err.Error()
		} else {
			snap.Values["days_until_"+name] = c.days
		}
	}
}

// untilLimit forecasts spec.Used until it reaches spec.Capacity (the
// disk's when name is empty), cached a day per instance and limit.
func (s *Service) untilLimit(ctx context.Context, inst inventory.Instance, w Window, at time.Time, name string, spec CapacitySpec, snap *Snapshot) (*cachedCapacity, error) {
	env := map[string]any{}
	for k, v := range snap.Values {
		env[k] = v
	}
	p, err := compile(spec.Capacity)
	if err != nil {
		return nil, err
	}
	if miss := p.missing(env); len(miss) > 0 {
		return nil, errors.New("capacity unknown: " + strings.Join(miss, ", ") + " not set")
	}
	capacity, err := p.number(env)
	if err != nil || !(capacity > 0) {
		return nil, fmt.Errorf("capacity %s is not a positive number", spec.Capacity)
	}
	key := inst.Name + "\x00" + name
	s.mu.Lock()
	c := s.capacity[key]
	s.mu.Unlock()
	if c == nil || c.capacity != capacity || at.Sub(c.at) >= 24*time.Hour || at.Before(c.at.Add(-time.Minute)) || (c.err != nil && at.Sub(c.at) >= time.Hour) {
		c = &cachedCapacity{capacity: capacity, at: at}
		q := expand(spec.Used, inst, w)
		var m Model
		pts, err := s.series(ctx, q, at.Add(-s.opts.History), at, stepFor(s.opts.History, time.Hour))
		switch {
		case err != nil:
			c.err = fmt.Errorf("query failed: %s", firstLine(err.Error()))
		case s.fc == nil:
			c.err = errors.New("no forecaster")
		case len(pts) < 2 || pts[len(pts)-1].T.Sub(pts[0].T) < s.opts.MinHistory:
			have := time.Duration(0)
			if len(pts) > 1 {
				have = pts[len(pts)-1].T.Sub(pts[0].T)
			}
			c.err = fmt.Errorf("history %s, a forecast needs %s", roundDuration(have), roundDuration(s.opts.MinHistory))
		default:
			ds := make([]time.Time, len(pts))
			y := make([]float64, len(pts))
			for i, p := range pts {
				ds[i], y[i] = p.T, p.V
			}
			c.used = y[len(y)-1]
			if m, err = s.fc.Fit(ds, y); err != nil {
				c.err = err
			} else if c.days, c.within, err = m.DaysUntilFull(at, capacity, s.opts.CapacityHorizon); err != nil {
				c.err = err
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.mu.Lock()
		s.capacity[key] = c
		s.mu.Unlock()
	}
	if c.err != nil {
		return nil, c.err
	}
	return c, nil
}

// RunOnce scores every instance in a window and stores the scores, a few
// instances at a time (Config.Concurrency). One instance's failure does
// not stop the others; the first error is returned after all were tried.
func (s *Service) RunOnce(ctx context.Context, w Window, at time.Time) error {
	insts, err := s.inv.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		return err
	}
	s.forgetOthers(insts)
	var g errgroup.Group
	g.SetLimit(max(s.opts.Concurrency, 1))
	for _, inst := range insts {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			ictx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
			defer cancel()
			sc, err := s.compute(ictx, inst, w, at)
			if err == nil {
				_, err = s.st.save(ictx, sc)
			}
			if err != nil {
				s.log.Warn("health score failed", "instance", inst.Name, "window", w, "err", err)
				return fmt.Errorf("health of %s: %w", inst.Name, err)
			}
			return nil
		})
	}
	err = g.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// forgetOthers drops cached models of instances no longer registered.
func (s *Service) forgetOthers(insts []inventory.Instance) {
	names := make(map[string]bool, len(insts))
	for _, in := range insts {
		names[in.Name] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.models {
		if name, _, _ := strings.Cut(k, "\x00"); !names[name] {
			delete(s.models, k)
		}
	}
	for k := range s.capacity {
		if !names[k] {
			delete(s.capacity, k)
		}
	}
}

// Run recomputes "now" scores every Interval and "daily" scores once a day
// (when the newest is a day old), and prunes old scores, until ctx ends.
// app runs it under a lease so that one server does it.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		s.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Service) tick(ctx context.Context) {
	at := s.now()
	s.RunOnce(ctx, Now, at)
	if ctx.Err() != nil {
		return
	}
	due, err := s.dailyDue(ctx, at)
	if err != nil {
		s.log.Warn("health daily check failed", "err", err)
	}
	if due {
		s.RunOnce(ctx, Daily, at)
		if _, err := s.st.prune(ctx, Now, at.Add(-s.opts.KeepNow)); err != nil {
			s.log.Warn("health prune failed", "err", err)
		}
		if _, err := s.st.prune(ctx, Daily, at.Add(-s.opts.KeepDaily)); err != nil {
			s.log.Warn("health prune failed", "err", err)
		}
	}
}

// dailyDue is true when no daily score was computed in the last day.
func (s *Service) dailyDue(ctx context.Context, at time.Time) (bool, error) {
	var last int64
	err := s.st.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(computed_at), 0) FROM health_scores WHERE kind = ?`, string(Daily)).Scan(&last)
	if err != nil {
		return false, err
	}
	return at.Sub(time.UnixMilli(last)) >= 24*time.Hour-s.opts.Interval, nil
}

// Report is an instance's health for display: its latest score, the
// score's history, and each anomaly metric against its forecast band.
type Report struct {
	Score Score `json:"score"`
	// Live is true when no stored score was recent and this one was
	// computed for the request.
	Live    bool           `json:"live"`
	History []HistoryPoint `json:"history"`
	Bands   []MetricBand   `json:"bands"`
	// Fullness is the disk forecast, when there is one.
	Fullness *Fullness `json:"fullness,omitempty"`
}

// MetricBand is a metric's recent values against its forecast band.
type MetricBand struct {
	Metric string  `json:"metric"`
	Query  string  `json:"query"`
	Z      float64 `json:"z"`
	// Error says why there is no band (too short a history...).
	Error  string      `json:"error,omitempty"`
	Points []BandPoint `json:"points,omitempty"`
}

// BandPoint is the observed value (NaN-free: Has tells whether there is
// one) and the forecast band at a time.
type BandPoint struct {
	At    time.Time `json:"at"`
	Y     float64   `json:"y"`
	Has   bool      `json:"has_y"`
	Yhat  float64   `json:"yhat"`
	Lower float64   `json:"lower"`
	Upper float64   `json:"upper"`
}

// Fullness is the "days until full" forecast.
type Fullness struct {
	Days     float64 `json:"days"`
	Within   bool    `json:"within"`
	Used     float64 `json:"used_bytes"`
	Capacity float64 `json:"capacity_bytes"`
}

// Report returns an instance's latest score in a window (computed now
// when none was stored within two intervals, or a day for daily), its
// history over the last day (daily: 30 days) and, for "now", its
// metrics against their bands over the last `back`.
func (s *Service) Report(ctx context.Context, name string, w Window, back time.Duration) (Report, error) {
	inst, err := s.inv.GetInstance(ctx, name)
	if err != nil {
		return Report{}, err
	}
	at := s.now()
	var r Report
	sc, ok, err := s.st.latest(ctx, inst.Name, w)
	if err != nil {
		return Report{}, err
	}
	fresh := 2 * s.opts.Interval
	if w == Daily {
		fresh = 25 * time.Hour
	}
	if !ok || at.Sub(sc.At) > fresh {
		if sc, err = s.compute(ctx, inst, w, at); err != nil {
			return Report{}, err
		}
		r.Live = true
	}
	r.Score = sc
	since := at.Add(-24 * time.Hour)
	if w == Daily {
		since = at.Add(-30 * 24 * time.Hour)
	}
	if r.History, err = s.st.history(ctx, inst.Name, w, since); err != nil {
		return Report{}, err
	}
	if d, ok := sc.Inputs["days_until_full"]; ok {
		r.Fullness = &Fullness{Days: d, Within: d < s.opts.CapacityHorizon.Hours()/24, Used: sc.Inputs["disk_used"], Capacity: sc.Inputs["disk_capacity"]}
	}
	if back > 0 && s.q != nil {
		r.Bands = s.bands(ctx, inst, at, back, sc)
	}
	return r, nil
}

// bands charts each anomaly metric over the last `back` with its band.
func (s *Service) bands(ctx context.Context, inst inventory.Instance, at time.Time, back time.Duration, sc Score) []MetricBand {
	specs := s.rules.Anomalies(inst.Engine, inst.Cluster)
	names := make([]string, 0, len(specs))
	for n := range specs {
		names = append(names, n)
	}
	sort.Strings(names)
	step := back / 120
	if step < time.Minute {
		step = time.Minute
	}
	start := at.Add(-back).Truncate(step)
	var out []MetricBand
	for _, name := range names {
		spec := specs[name]
		q := expand(spec.Query, inst, Now)
		mb := MetricBand{Metric: name, Query: q, Z: sc.Inputs["z_"+name]}
		m, err := s.model(ctx, inst, name, q, at)
		if err != nil {
			mb.Error = err.Error()
			out = append(out, mb)
			continue
		}
		pts, err := s.series(ctx, q, start, at, step)
		if err != nil {
			mb.Error = "query failed: " + firstLine(err.Error())
			out = append(out, mb)
			continue
		}
		byT := map[int64]float64{}
		for _, p := range pts {
			byT[p.T.UnixMilli()] = p.V
		}
		var ts []time.Time
		for t := start; !t.After(at); t = t.Add(step) {
			ts = append(ts, t)
		}
		for i, b := range m.Band(ts) {
			bp := BandPoint{At: ts[i], Yhat: b.Yhat, Lower: b.Lower, Upper: b.Upper}
			if v, ok := byT[ts[i].UnixMilli()]; ok {
				bp.Y, bp.Has = v, true
			}
			mb.Points = append(mb.Points, bp)
		}
		out = append(out, mb)
	}
	return out
}

// InstanceScore is one row of the fleet overview.
type InstanceScore struct {
	Instance string      `json:"instance"`
	Engine   engine.Kind `json:"engine"`
	Cluster  string      `json:"cluster,omitempty"`
	// Scored is false when no score has been computed yet.
	Scored     bool      `json:"scored"`
	Value      float64   `json:"score"`
	Level      Level     `json:"level,omitempty"`
	At         time.Time `json:"at,omitzero"`
	Deductions int       `json:"deductions"`
	// Top is the largest deduction's message.
	Top string `json:"top,omitempty"`
	// DaysUntilFull is the disk forecast of the score, when it has one.
	DaysUntilFull *float64 `json:"days_until_full,omitempty"`
	// Limits are the other forecasts with a limit (the rules' limits):
	// days until each reaches it (the horizon when it does not).
	Limits map[string]float64 `json:"limits,omitempty"`
}

// List returns the latest score in a window of every registered instance.
func (s *Service) List(ctx context.Context, w Window) ([]InstanceScore, error) {
	insts, err := s.inv.ListInstances(ctx, inventory.InstanceFilter{})
	if err != nil {
		return nil, err
	}
	latest, err := s.st.latestAll(ctx, w)
	if err != nil {
		return nil, err
	}
	out := []InstanceScore{}
	for _, inst := range insts {
		row := InstanceScore{Instance: inst.Name, Engine: inst.Engine, Cluster: inst.Cluster}
		if sc, ok := latest[inst.Name]; ok {
			row.Scored, row.Value, row.Level, row.At, row.Deductions = true, sc.Value, sc.Level, sc.At, len(sc.Deductions)
			if len(sc.Deductions) > 0 {
				row.Top = sc.Deductions[0].Message
			}
			if d, ok := sc.Inputs["days_until_full"]; ok {
				row.DaysUntilFull = &d
			}
			for name := range s.rules.Limits(inst.Engine, inst.Cluster) {
				if d, ok := sc.Inputs["days_until_"+name]; ok {
					if row.Limits == nil {
						row.Limits = map[string]float64{}
					}
					row.Limits[name] = d
				}
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// Latest returns an instance's newest stored score in a window; ok is
// false when there is none.
func (s *Service) Latest(ctx context.Context, name string, w Window) (Score, bool, error) {
	return s.st.latest(ctx, name, w)
}

// Current is the value of an instance's newest "now" score if it is
// recent (within three intervals), for dashboards.
func (s *Service) Current(ctx context.Context, name string) (float64, bool) {
	sc, ok, err := s.st.latest(ctx, name, Now)
	if err != nil || !ok || s.now().Sub(sc.At) > 3*s.opts.Interval {
		return 0, false
	}
	return sc.Value, true
}
