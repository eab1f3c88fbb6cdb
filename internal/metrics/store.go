package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sort"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// StoreOptions configure the embedded TSDB and the query engine.
type StoreOptions struct {
	// Retention is how long samples are kept; zero means 15 days.
	Retention time.Duration
	// QueryTimeout bounds one PromQL evaluation; zero means 2 minutes.
	QueryTimeout time.Duration
	// MaxSamples bounds the samples one query may load; zero means 50 million.
	MaxSamples int
	// Registerer receives the TSDB's and the engine's own metrics; nil for none.
	Registerer prometheus.Registerer
	// Remote, when set, receives a copy of every appended sample.
	Remote *RemoteWriter
	// Visibility decides which database objects' series a caller of For
	// may see; nil: only series that name no database object.
	Visibility Visibility
}

// Store is the embedded metric store: a Prometheus TSDB in a directory and a
// PromQL engine over it. It is safe for concurrent use.
type Store struct {
	db     *tsdb.DB
	engine *promql.Engine
	parser parser.Parser
	log    *slog.Logger
	remote *RemoteWriter
	vis    Visibility

	appended atomic.Int64 // samples appended since Open
}

// Open opens (or creates) the TSDB in dir.
func Open(dir string, opts StoreOptions, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("metrics directory %s: %w", dir, err)
	}
	to := tsdb.DefaultOptions()
	if opts.Retention > 0 {
		to.RetentionDuration = opts.Retention.Milliseconds()
	}
	// Blocks span at most a tenth of the retention (Prometheus' rule), so
	// that old data is dropped in steps no larger than that.
	to.MaxBlockDuration = min(max(to.RetentionDuration/10, to.MinBlockDuration), 31*24*time.Hour.Milliseconds())
	// Scrapes of many instances finish out of order by a few seconds.
	to.OutOfOrderTimeWindow = time.Minute.Milliseconds()
	db, err := tsdb.Open(dir, log.With("component", "tsdb"), opts.Registerer, to, nil)
	if err != nil {
		return nil, fmt.Errorf("open metrics store %s: %w", dir, err)
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 2 * time.Minute
	}
	if opts.MaxSamples <= 0 {
		opts.MaxSamples = 50_000_000
	}
	p := parser.NewParser(parser.Options{})
	eng := promql.NewEngine(promql.EngineOpts{
		Logger:               log.With("component", "promql"),
		Reg:                  opts.Registerer,
		MaxSamples:           opts.MaxSamples,
		Timeout:              opts.QueryTimeout,
		LookbackDelta:        5 * time.Minute,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		Parser:               p,
	})
	return &Store{db: db, engine: eng, parser: p, log: log, remote: opts.Remote, vis: opts.Visibility}, nil
}

// Close flushes and closes the TSDB.
func (s *Store) Close() error { return s.db.Close() }

// Sample is one value of one series at one time.
type Sample struct {
	Labels labels.Labels
	T      int64 // unix milliseconds
	V      float64
}

// Append writes samples in one transaction and hands them to the
// remote writer when there is one. Samples of one series must come in time
// order; a sample older than what the store has for its series (beyond the
// out-of-order window) is dropped and counted in the returned error.
func (s *Store) Append(ctx context.Context, samples []Sample) error {
	if len(samples) == 0 {
		return nil
	}
	app := s.db.AppenderV2(ctx)
	var dropped int
	var firstErr error
	for _, smp := range samples {
		if _, err := app.Append(0, smp.Labels, 0, smp.T, smp.V, nil, nil, storage.AOptions{}); err != nil {
			dropped++
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", smp.Labels.Get(model.MetricNameLabel), err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("append samples: %w", err)
	}
	s.appended.Add(int64(len(samples) - dropped))
	if s.remote != nil {
		s.remote.Enqueue(samples)
	}
	if dropped > 0 {
		return fmt.Errorf("append samples: dropped %d of %d, first: %w", dropped, len(samples), firstErr)
	}
	return nil
}

// RuleStorage is the TSDB itself, for Prometheus' rule manager (it writes
// ALERTS and ALERTS_FOR_STATE and reads them back after a restart).
func (s *Store) RuleStorage() storage.Storage { return s.db }

// Appended is the number of samples stored since Open.
func (s *Store) Appended() int64 { return s.appended.Load() }

// queryError classifies a PromQL failure: a bad expression is the
// caller's (Invalid, the engine's message kept), a timeout or cancellation
// Unavailable, anything else stays unclassified.
func queryError(query string, err error) error {
	var perr parser.ParseErrors
	var pe *parser.ParseErr
	switch {
	case errors.As(err, &perr), errors.As(err, &pe):
		return errkind.Wrap(errkind.Invalid, fmt.Errorf("bad PromQL %q: %w", query, err))
	case errors.As(err, new(promql.ErrQueryTimeout)), errors.As(err, new(promql.ErrQueryCanceled)), errors.Is(err, context.DeadlineExceeded):
		return errkind.Wrap(errkind.Unavailable, fmt.Errorf("PromQL %q: %w", query, err))
	case errors.As(err, new(promql.ErrTooManySamples)), errors.As(err, new(promql.ErrStorage)):
		return errkind.Wrap(errkind.Unavailable, fmt.Errorf("PromQL %q: %w", query, err))
	}
	return errkind.Wrap(errkind.Invalid, fmt.Errorf("PromQL %q: %w", query, err))
}

// Instant evaluates query at ts and returns the result as a vector. A query
// whose result is a scalar is returned as a one-element vector without
// labels; a range-vector or string result is an error (Invalid).
func (s *Store) Instant(ctx context.Context, query string, ts time.Time) (promql.Vector, error) {
	res, err := s.Query(ctx, query, ts)
	if err != nil {
		return nil, err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		return v, nil
	case promql.Scalar:
		return promql.Vector{{T: v.T, F: v.V}}, nil
	}
	return nil, errkind.New(errkind.Invalid, "PromQL %q: result is a %s, want an instant vector or scalar", query, res.Value.Type())
}

// Query evaluates query at ts and returns whatever type it yields (vector,
// scalar, matrix for a range selector, string).
func (s *Store) Query(ctx context.Context, query string, ts time.Time) (*promql.Result, error) {
	return s.query(ctx, s.db, query, ts)
}

func (s *Store) query(ctx context.Context, from storage.Queryable, query string, ts time.Time) (*promql.Result, error) {
	q, err := s.engine.NewInstantQuery(ctx, from, nil, query, ts)
	if err != nil {
		return nil, queryError(query, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, queryError(query, res.Err)
	}
	return copyResult(res), nil
}

// Range evaluates query at every step from start to end.
func (s *Store) Range(ctx context.Context, query string, start, end time.Time, step time.Duration) (promql.Matrix, error) {
	return s.rangeQuery(ctx, s.db, query, start, end, step)
}

func (s *Store) rangeQuery(ctx context.Context, from storage.Queryable, query string, start, end time.Time, step time.Duration) (promql.Matrix, error) {
	if step <= 0 {
		return nil, errkind.New(errkind.Invalid, "PromQL range: step must be positive, got %s", step)
	}
	if end.Before(start) {
		return nil, errkind.New(errkind.Invalid, "PromQL range: end %s is before start %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	if n := end.Sub(start) / step; n > 11000 {
		return nil, errkind.New(errkind.Invalid, "PromQL range: %d points exceed the limit of 11000; increase the step", n)
	}
	q, err := s.engine.NewRangeQuery(ctx, from, nil, query, start, end, step)
	if err != nil {
		return nil, queryError(query, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, queryError(query, res.Err)
	}
	m, err := res.Matrix()
	if err != nil {
		return nil, queryError(query, err)
	}
	return copyMatrix(m), nil
}

// copyResult detaches a result from the query's pooled memory, which
// Close returns for reuse.
func copyResult(r *promql.Result) *promql.Result {
	out := &promql.Result{Warnings: r.Warnings}
	switch v := r.Value.(type) {
	case promql.Vector:
		out.Value = append(promql.Vector{}, v...)
	case promql.Matrix:
		out.Value = copyMatrix(v)
	default:
		out.Value = v
	}
	return out
}

func copyMatrix(m promql.Matrix) promql.Matrix {
	out := make(promql.Matrix, len(m))
	for i, s := range m {
		out[i] = promql.Series{Metric: s.Metric, Floats: append([]promql.FPoint(nil), s.Floats...), Histograms: append([]promql.HPoint(nil), s.Histograms...)}
	}
	return out
}

// ParseSelectors parses series selectors ("up", `{instance="db1"}`), as
// the match[] parameters of the Prometheus API.
func (s *Store) ParseSelectors(selectors []string) ([][]*labels.Matcher, error) {
	out := make([][]*labels.Matcher, 0, len(selectors))
	for _, sel := range selectors {
		m, err := s.parser.ParseMetricSelector(sel)
		if err != nil {
			return nil, errkind.Wrap(errkind.Invalid, fmt.Errorf("bad series selector %q: %w", sel, err))
		}
		out = append(out, m)
	}
	return out, nil
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixMilli()
}

func maxMillis(t time.Time) int64 {
	if t.IsZero() {
		return math.MaxInt64
	}
	return t.UnixMilli()
}

// Series returns the label sets of the series that match any of the
// selectors and have samples between start and end (zero times: no bound).
func (s *Store) Series(ctx context.Context, selectors [][]*labels.Matcher, start, end time.Time) ([]labels.Labels, error) {
	return s.series(ctx, s.db, selectors, start, end)
}

func (s *Store) series(ctx context.Context, from storage.Queryable, selectors [][]*labels.Matcher, start, end time.Time) ([]labels.Labels, error) {
	q, err := from.Querier(millis(start), maxMillis(end))
	if err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	defer q.Close()
	seen := map[uint64]bool{}
	var out []labels.Labels
	for _, ms := range selectors {
		hints := &storage.SelectHints{Start: millis(start), End: maxMillis(end), Func: "series"}
		set := q.Select(ctx, false, hints, ms...)
		for set.Next() {
			l := set.At().Labels()
			if h := l.Hash(); !seen[h] {
				seen[h] = true
				out = append(out, l.Copy())
			}
		}
		if err := set.Err(); err != nil {
			return nil, fmt.Errorf("series: %w", err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i], out[j]) < 0 })
	return out, nil
}

// LabelNames lists label names of series matching any selector (all series
// when none is given) between start and end.
func (s *Store) LabelNames(ctx context.Context, selectors [][]*labels.Matcher, start, end time.Time) ([]string, error) {
	return s.labelNames(ctx, s.db, selectors, start, end)
}

func (s *Store) labelNames(ctx context.Context, from storage.Queryable, selectors [][]*labels.Matcher, start, end time.Time) ([]string, error) {
	return labelSet(ctx, from, selectors, start, end, func(q storage.Querier, ms []*labels.Matcher) ([]string, error) {
		names, _, err := q.LabelNames(ctx, nil, ms...)
		return names, err
	})
}

// LabelValues lists the values of label name on series matching any
// selector (all when none) between start and end.
func (s *Store) LabelValues(ctx context.Context, name string, selectors [][]*labels.Matcher, start, end time.Time) ([]string, error) {
	return s.labelValues(ctx, s.db, name, selectors, start, end)
}

func (s *Store) labelValues(ctx context.Context, from storage.Queryable, name string, selectors [][]*labels.Matcher, start, end time.Time) ([]string, error) {
	return labelSet(ctx, from, selectors, start, end, func(q storage.Querier, ms []*labels.Matcher) ([]string, error) {
		vals, _, err := q.LabelValues(ctx, name, nil, ms...)
		return vals, err
	})
}

func labelSet(ctx context.Context, from storage.Queryable, selectors [][]*labels.Matcher, start, end time.Time, get func(storage.Querier, []*labels.Matcher) ([]string, error)) ([]string, error) {
	q, err := from.Querier(millis(start), maxMillis(end))
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	defer q.Close()
	if len(selectors) == 0 {
		selectors = [][]*labels.Matcher{nil}
	}
	set := map[string]bool{}
	for _, ms := range selectors {
		vals, err := get(q, ms)
		if err != nil {
			return nil, fmt.Errorf("labels: %w", err)
		}
		for _, v := range vals {
			set[v] = true
		}
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Strings(out)
	return out, nil
}
