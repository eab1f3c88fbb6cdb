package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dbfleet/dbfleet/internal/forecast"
	"github.com/dbfleet/dbfleet/internal/health"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// newHealth builds the health service over the metric store and the
// forecast model, with the built-in rules and the configured rules file.
func newHealth(cfg health.Config, db *sqldb.DB, inv *inventory.Service, store *metrics.Store, log *slog.Logger) (*health.Service, error) {
	rules, err := health.LoadRules(cfg.RulesFile)
	if err != nil {
		return nil, fmt.Errorf("health.rules_file: %w", err)
	}
	var q health.Querier
	if store != nil {
		q = metricsQuerier{store}
	}
	return health.NewService(db, inv, q, forecaster{opts: forecast.DefaultOptions()}, rules, cfg, log), nil
}

// healthLoop recomputes scores on the holder of the health.score lease.
func healthLoop(leases *lease.Manager, svc *health.Service) struct {
	name string
	run  func(context.Context) error
} {
	return struct {
		name string
		run  func(context.Context) error
	}{"health score", func(ctx context.Context) error { return leases.Run(ctx, "health.score", svc.Run) }}
}

// metricsQuerier adapts the metric store to health.Querier.
type metricsQuerier struct{ s *metrics.Store }

func (q metricsQuerier) Instant(ctx context.Context, promql string, ts time.Time) ([]health.Sample, error) {
	vec, err := q.s.Instant(ctx, promql, ts)
	if err != nil {
		return nil, err
	}
	out := make([]health.Sample, 0, len(vec))
	for _, s := range vec {
		if s.H != nil {
			continue // native histograms are not health inputs
		}
		out = append(out, health.Sample{Labels: s.Metric.Map(), Value: s.F})
	}
	return out, nil
}

func (q metricsQuerier) Range(ctx context.Context, promql string, start, end time.Time, step time.Duration) ([]health.Series, error) {
	m, err := q.s.Range(ctx, promql, start, end, step)
	if err != nil {
		return nil, err
	}
	out := make([]health.Series, 0, len(m))
	for _, s := range m {
		hs := health.Series{Labels: s.Metric.Map(), Points: make([]health.Point, 0, len(s.Floats))}
		for _, p := range s.Floats {
			hs.Points = append(hs.Points, health.Point{T: time.UnixMilli(p.T).UTC(), V: p.F})
		}
		out = append(out, hs)
	}
	return out, nil
}

// forecaster adapts the forecast model to health.Forecaster.
type forecaster struct{ opts forecast.Options }

func (f forecaster) Fit(ds []time.Time, y []float64) (health.Model, error) {
	m, err := forecast.Fit(ds, y, f.opts)
	if err != nil {
		return nil, err
	}
	return forecastModel{m: m, q: distuv.UnitNormal.Quantile((1 + f.opts.IntervalWidth) / 2)}, nil
}

type forecastModel struct {
	m *forecast.Model
	q float64 // half the band's width in standard deviations
}

func (f forecastModel) Band(at []time.Time) []health.Band {
	pts := f.m.Predict(at)
	out := make([]health.Band, len(pts))
	for i, p := range pts {
		out[i] = health.Band{At: p.DS, Yhat: p.Yhat, Lower: p.Lower, Upper: p.Upper, SD: (p.Upper - p.Lower) / (2 * f.q)}
	}
	return out
}

func (f forecastModel) DaysUntilFull(from time.Time, capacity float64, horizon time.Duration) (float64, bool, error) {
	r, err := f.m.DaysUntilFull(from, capacity, horizon)
	return r.Days, r.Within, err
}
