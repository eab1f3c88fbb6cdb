package forecast

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// CVRow is one held-out observation of a cross-validation and its
// forecast from the model fitted up to Cutoff.
type CVRow struct {
	DS     time.Time `json:"ds"`
	Cutoff time.Time `json:"cutoff"`
	Y      float64   `json:"y"`
	Yhat   float64   `json:"yhat"`
	Lower  float64   `json:"yhat_lower"`
	Upper  float64   `json:"yhat_upper"`
}

// Cutoffs returns the cross-validation cutoffs as Prophet's
// generate_cutoffs does: the last is the end of the history minus the
// horizon, then every period earlier while at least initial of history
// remains before it; a cutoff whose horizon holds no data moves back to
// the last data before it minus the horizon.
func Cutoffs(ds []time.Time, initial, period, horizon time.Duration) ([]time.Time, error) {
	if len(ds) == 0 {
		return nil, errkind.New(errkind.Invalid, "cross-validation: no data")
	}
	sorted := append([]time.Time(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Before(sorted[j]) })
	first, last := sorted[0], sorted[len(sorted)-1]
	cutoff := last.Add(-horizon)
	if cutoff.Before(first) {
		return nil, errkind.New(errkind.Invalid, "cross-validation: less data (%s) than the horizon (%s)", last.Sub(first), horizon)
	}
	result := []time.Time{cutoff}
	for !result[len(result)-1].Before(first.Add(initial)) {
		cutoff = cutoff.Add(-period)
		// Any data in (cutoff, cutoff+horizon]?
		i := sort.Search(len(sorted), func(i int) bool { return sorted[i].After(cutoff) })
		if !(i < len(sorted) && !sorted[i].After(cutoff.Add(horizon))) {
			if cutoff.After(first) {
				// The last date at or before the cutoff, minus the horizon.
				cutoff = sorted[i-1].Add(-horizon)
			}
		}
		result = append(result, cutoff)
	}
	result = result[:len(result)-1]
	if len(result) == 0 {
		return nil, errkind.New(errkind.Invalid, "cross-validation: less data (%s) than initial (%s) plus horizon (%s)", last.Sub(first), initial, horizon)
	}
	for i, j := 0, len(result)-1; i < j; i, j = i+1, j-1 {
		result[i], result[j] = result[j], result[i]
	}
	return result, nil
}

// CrossValidate fits the model on the history up to each cutoff and
// forecasts the following horizon, like Prophet's cross_validation. The
// seasonalities are decided once on the whole history (Auto resolved),
// as Prophet copies them from the full model.
func CrossValidate(ds []time.Time, y []float64, opts Options, initial, period, horizon time.Duration) ([]CVRow, error) {
	h, err := cleanHistory(ds, y)
	if err != nil {
		return nil, err
	}
	cutoffs, err := Cutoffs(h.ds, initial, period, horizon)
	if err != nil {
		return nil, err
	}
	fixed := FixSeasonalities(opts, h.ds)
	var rows []CVRow
	for _, c := range cutoffs {
		n := sort.Search(len(h.ds), func(i int) bool { return h.ds[i].After(c) })
		if n < MinRows {
			return nil, errkind.New(errkind.Invalid, "cross-validation: fewer than %d rows before cutoff %s: increase initial", MinRows, c.Format(time.RFC3339))
		}
		m, err := Fit(h.ds[:n], h.y[:n], fixed)
		if err != nil {
			return nil, fmt.Errorf("cross-validation cutoff %s: %w", c.Format(time.RFC3339), err)
		}
		end := n
		for end < len(h.ds) && !h.ds[end].After(c.Add(horizon)) {
			end++
		}
		pts := m.Predict(h.ds[n:end])
		for i, p := range pts {
			rows = append(rows, CVRow{DS: p.DS, Cutoff: c, Y: h.y[n+i], Yhat: p.Yhat, Lower: p.Lower, Upper: p.Upper})
		}
	}
	return rows, nil
}

// FixSeasonalities returns opts with the built-in seasonalities decided on
// this history and turned into explicit orders, so that fits on parts of
// it use the same components.
func FixSeasonalities(opts Options, ds []time.Time) Options {
	seasons := ResolveSeasonalities(opts, ds)
	out := opts
	out.Yearly, out.Weekly, out.Daily = 0, 0, 0
	out.Seasonalities = nil
	for _, s := range seasons {
		switch s.Name {
		case "yearly":
			out.Yearly = s.Order
		case "weekly":
			out.Weekly = s.Order
		case "daily":
			out.Daily = s.Order
		default:
			out.Seasonalities = append(out.Seasonalities, s)
		}
	}
	return out
}

// Metrics are forecast errors at one horizon.
type Metrics struct {
	Horizon  time.Duration `json:"horizon"`
	MSE      float64       `json:"mse"`
	RMSE     float64       `json:"rmse"`
	MAE      float64       `json:"mae"`
	MAPE     float64       `json:"mape"`
	Coverage float64       `json:"coverage"`
}

// PerformanceMetrics aggregates cross-validation rows by horizon like
// Prophet's performance_metrics: sorted by horizon, each metric is a
// rolling mean over rollingWindow (a fraction, 0.1 by default in Prophet)
// of the rows, computed by horizon.
func PerformanceMetrics(rows []CVRow, rollingWindow float64) []Metrics {
	if len(rows) == 0 {
		return nil
	}
	w := int(rollingWindow * float64(len(rows)))
	w = max(w, 1)
	w = min(w, len(rows))
	h := make([]time.Duration, len(rows))
	se := make([]float64, len(rows))
	ae := make([]float64, len(rows))
	ape := make([]float64, len(rows))
	cov := make([]float64, len(rows))
	for i, r := range rows {
		h[i] = r.DS.Sub(r.Cutoff)
		e := r.Y - r.Yhat
		se[i] = e * e
		ae[i] = math.Abs(e)
		ape[i] = math.Abs(e / r.Y)
		if r.Y >= r.Lower && r.Y <= r.Upper {
			cov[i] = 1
		}
	}
	hs, mse := rollingMeanByH(se, h, w)
	_, mae := rollingMeanByH(ae, h, w)
	_, mape := rollingMeanByH(ape, h, w)
	_, coverage := rollingMeanByH(cov, h, w)
	out := make([]Metrics, len(hs))
	for i := range hs {
		out[i] = Metrics{Horizon: hs[i], MSE: mse[i], RMSE: math.Sqrt(mse[i]), MAE: mae[i], MAPE: mape[i], Coverage: coverage[i]}
	}
	return out
}

// rollingMeanByH is Prophet's rolling_mean_by_h: group by horizon, then
// from the longest horizon backwards, the mean of the last w values,
// taking a fraction of the earliest horizon's group when it overflows.
func rollingMeanByH(x []float64, h []time.Duration, w int) ([]time.Duration, []float64) {
	type group struct {
		h   time.Duration
		sum float64
		cnt int
	}
	byH := map[time.Duration]*group{}
	for i := range x {
		g := byH[h[i]]
		if g == nil {
			g = &group{h: h[i]}
			byH[h[i]] = g
		}
		g.sum += x[i]
		g.cnt++
	}
	groups := make([]*group, 0, len(byH))
	for _, g := range byH {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].h < groups[j].h })
	res := make([]float64, len(groups))
	trailing := len(groups) - 1
	var xSum float64
	var nSum int
	for i := len(groups) - 1; i >= 0; i-- {
		xSum += groups[i].sum
		nSum += groups[i].cnt
		for nSum >= w {
			excessN := nSum - w
			excessX := float64(excessN) * groups[i].sum / float64(groups[i].cnt)
			res[trailing] = (xSum - excessX) / float64(w)
			xSum -= groups[trailing].sum
			nSum -= groups[trailing].cnt
			trailing--
		}
	}
	hs := make([]time.Duration, 0, len(groups)-trailing-1)
	for _, g := range groups[trailing+1:] {
		hs = append(hs, g.h)
	}
	return hs, res[trailing+1:]
}

// MetricsAt returns the metrics row at the given horizon, or the first
// row with a longer horizon.
func MetricsAt(ms []Metrics, horizon time.Duration) (Metrics, bool) {
	for _, m := range ms {
		if m.Horizon >= horizon {
			return m, true
		}
	}
	return Metrics{}, false
}

// SeasonalNaive forecasts each target timestamp with the value one season
// earlier, going back whole seasons until the value is at or before the
// cutoff (the last observed season repeated). A missing timestamp takes
// the latest value before it. The band is empty (lower = upper = yhat).
func SeasonalNaive(ds []time.Time, y []float64, cutoff time.Time, season time.Duration, targets []time.Time) []Point {
	out := make([]Point, len(targets))
	for i, t := range targets {
		src := t
		for src.After(cutoff) {
			src = src.Add(-season)
		}
		j := sort.Search(len(ds), func(k int) bool { return ds[k].After(src) }) - 1
		v := math.NaN()
		if j >= 0 {
			v = y[j]
		}
		out[i] = Point{DS: t, Yhat: v, Lower: v, Upper: v, Trend: v}
	}
	return out
}

// CrossValidateNaive is CrossValidate with SeasonalNaive as the model, on
// the same cutoffs, for a baseline.
func CrossValidateNaive(ds []time.Time, y []float64, season, initial, period, horizon time.Duration) ([]CVRow, error) {
	h, err := cleanHistory(ds, y)
	if err != nil {
		return nil, err
	}
	cutoffs, err := Cutoffs(h.ds, initial, period, horizon)
	if err != nil {
		return nil, err
	}
	var rows []CVRow
	for _, c := range cutoffs {
		n := sort.Search(len(h.ds), func(i int) bool { return h.ds[i].After(c) })
		end := n
		for end < len(h.ds) && !h.ds[end].After(c.Add(horizon)) {
			end++
		}
		pts := SeasonalNaive(h.ds[:n], h.y[:n], c, season, h.ds[n:end])
		for i, p := range pts {
			rows = append(rows, CVRow{DS: p.DS, Cutoff: c, Y: h.y[n+i], Yhat: p.Yhat, Lower: p.Lower, Upper: p.Upper})
		}
	}
	return rows, nil
}

// Holdout fits all but the last n rows of the history and forecasts n
// steps of freq after them, as Prophet's test_fit_predict does; the
// forecast is compared with the held-out rows by position. It returns the
// forecast and the held-out values.
func Holdout(ds []time.Time, y []float64, n int, freq time.Duration, opts Options) ([]Point, []float64, error) {
	h, err := cleanHistory(ds, y)
	if err != nil {
		return nil, nil, err
	}
	if n < 1 || len(h.ds)-n < MinRows {
		return nil, nil, errkind.New(errkind.Invalid, "holdout of %d rows leaves %d of %d to fit: a fit needs at least %d", n, len(h.ds)-n, len(h.ds), MinRows)
	}
	k := len(h.ds) - n
	m, err := Fit(h.ds[:k], h.y[:k], opts)
	if err != nil {
		return nil, nil, err
	}
	return m.Predict(m.MakeFuture(n, freq, false)), h.y[k:], nil
}

// HoldoutRMSE is the root mean squared error of Holdout's forecast.
func HoldoutRMSE(ds []time.Time, y []float64, n int, freq time.Duration, opts Options) (float64, error) {
	pred, actual, err := Holdout(ds, y, n, freq, opts)
	if err != nil {
		return 0, err
	}
	return RMSE(pred, actual), nil
}

// RMSE of predictions against actual values, by position.
func RMSE(pred []Point, actual []float64) float64 {
	var se float64
	for i, p := range pred {
		d := p.Yhat - actual[i]
		se += d * d
	}
	return math.Sqrt(se / float64(len(pred)))
}
