package forecast

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// MinRows is the least number of usable history rows (a timestamp with a
// finite value) a fit needs.
const MinRows = 2

// Model is a fitted forecast model. It is immutable after Fit and safe for
// concurrent use.
type Model struct {
	opts Options

	start  time.Time // first history timestamp
	tScale float64   // history span in seconds
	yMin   float64   // subtracted before scaling (minmax), else 0
	yScale float64

	seasons []Seasonality // resolved: every one with Order > 0, Mode and PriorScale set

	// Changepoints in scaled time (sorted) and as timestamps.
	cpT     []float64
	cpTimes []time.Time

	// MAP parameters on the scaled problem.
	k, m  float64
	delta []float64
	beta  []float64
	sigma float64

	histT    []float64 // scaled times of the history, sorted
	histDS   []time.Time
	histY    []float64
	constant bool // the history is constant: nothing was fitted

	stats FitStats
}

// FitStats describe how the optimiser ended.
type FitStats struct {
	Rows        int           `json:"rows"`
	Parameters  int           `json:"parameters"`
	Iterations  int           `json:"iterations"`
	Evaluations int           `json:"evaluations"`
	Objective   float64       `json:"objective"`
	Status      string        `json:"status"`
	Duration    time.Duration `json:"duration"`
}

// Point is one predicted row.
type Point struct {
	DS    time.Time `json:"ds"`
	Yhat  float64   `json:"yhat"`
	Lower float64   `json:"yhat_lower"`
	Upper float64   `json:"yhat_upper"`
	Trend float64   `json:"trend"`
}

// history is the cleaned, sorted input of a fit.
type history struct {
	ds []time.Time
	y  []float64
}

// cleanHistory drops rows without a value (NaN), rejects infinities,
// sorts by time and checks that enough remains.
func cleanHistory(ds []time.Time, y []float64) (history, error) {
	if len(ds) != len(y) {
		return history{}, errkind.New(errkind.Invalid, "history has %d timestamps but %d values", len(ds), len(y))
	}
	idx := make([]int, 0, len(ds))
	for i, v := range y {
		if math.IsNaN(v) {
			continue
		}
		if math.IsInf(v, 0) {
			return history{}, errkind.New(errkind.Invalid, "history value at %s is infinite", ds[i].Format(time.RFC3339))
		}
		idx = append(idx, i)
	}
	if len(idx) < MinRows {
		return history{}, tooShort(len(idx))
	}
	sort.SliceStable(idx, func(a, b int) bool { return ds[idx[a]].Before(ds[idx[b]]) })
	h := history{ds: make([]time.Time, len(idx)), y: make([]float64, len(idx))}
	for j, i := range idx {
		h.ds[j], h.y[j] = ds[i], y[i]
	}
	if !h.ds[len(h.ds)-1].After(h.ds[0]) {
		return history{}, errkind.New(errkind.Invalid, "history spans no time (every row is at %s): a fit needs at least %d distinct timestamps", h.ds[0].Format(time.RFC3339), MinRows)
	}
	return h, nil
}

func tooShort(n int) error {
	rows := "rows"
	if n == 1 {
		rows = "row"
	}
	return errkind.New(errkind.Invalid, "history too short: %d usable %s (a timestamp with a numeric value); a fit needs at least %d", n, rows, MinRows)
}

// Fit fits a model to the history (ds, y). Rows whose y is NaN are
// ignored, as missing values.
func Fit(ds []time.Time, y []float64, opts Options) (*Model, error) {
	began := time.Now()
	if err := opts.Validate(); err != nil {
		return nil, errkind.Wrap(errkind.Invalid, err)
	}
	h, err := cleanHistory(ds, y)
	if err != nil {
		return nil, err
	}
	m := &Model{opts: opts, histDS: h.ds, histY: h.y}
	m.initScales(h)
	m.histT = m.scaleTimes(h.ds)
	m.setChangepoints()
	m.seasons = ResolveSeasonalities(opts, h.ds)

	ys := make([]float64, len(h.y))
	for i, v := range h.y {
		ys[i] = (v - m.yMin) / m.yScale
	}
	X := m.features(h.ds)
	p := newProblem(m, X, ys)
	m.k, m.m = p.initTrend()
	m.delta = make([]float64, len(m.cpT))
	m.beta = make([]float64, len(m.columns()))
	m.sigma = 1
	if minMax(h.y) == 0 {
		// Nothing to fit: Prophet keeps the initial values.
		m.constant = true
		m.stats = FitStats{Rows: len(ys), Parameters: p.dim(), Status: "constant history", Duration: time.Since(began)}
		return m, nil
	}
	if err := p.solve(m); err != nil {
		return nil, err
	}
	m.stats.Duration = time.Since(began)
	return m, nil
}

func minMax(y []float64) float64 {
	lo, hi := y[0], y[0]
	for _, v := range y {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return hi - lo
}

func (m *Model) initScales(h history) {
	switch m.opts.Scaling {
	case MinMax:
		lo, hi := h.y[0], h.y[0]
		for _, v := range h.y {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		m.yMin, m.yScale = lo, hi-lo
	default:
		for _, v := range h.y {
			m.yScale = math.Max(m.yScale, math.Abs(v))
		}
	}
	if m.yScale == 0 {
		m.yScale = 1
	}
	m.start = h.ds[0]
	m.tScale = h.ds[len(h.ds)-1].Sub(m.start).Seconds()
}

func (m *Model) scaleTimes(ds []time.Time) []float64 {
	t := make([]float64, len(ds))
	for i, d := range ds {
		t[i] = d.Sub(m.start).Seconds() / m.tScale
	}
	return t
}

// setChangepoints places the potential changepoints at evenly spaced rows
// of the first ChangepointRange of the history, as Prophet does: indices
// linspace(0, rows-1, n+1) rounded half to even, the first dropped.
func (m *Model) setChangepoints() {
	rows := len(m.histT)
	histSize := int(math.Floor(float64(rows) * m.opts.ChangepointRange))
	n := m.opts.NChangepoints
	if n+1 > histSize {
		n = histSize - 1
	}
	if n <= 0 || m.opts.Growth == Flat {
		return
	}
	for i := 1; i <= n; i++ {
		pos := float64(i) * float64(histSize-1) / float64(n)
		j := int(math.RoundToEven(pos))
		m.cpT = append(m.cpT, m.histT[j])
		m.cpTimes = append(m.cpTimes, m.histDS[j])
	}
	sort.Float64s(m.cpT)
}

// ResolveSeasonalities returns the seasonalities a fit on a history with
// these timestamps uses: the built-in ones decided by span and spacing
// (Auto) or forced by their order, then the custom ones, each with its
// mode and prior scale filled in. Cross-validation resolves them once on
// the whole history, as Prophet does.
func ResolveSeasonalities(opts Options, ds []time.Time) []Seasonality {
	var span, minDT time.Duration
	if len(ds) > 1 {
		sorted := make([]time.Time, len(ds))
		copy(sorted, ds)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].Before(sorted[j]) })
		span = sorted[len(sorted)-1].Sub(sorted[0])
		for i := 1; i < len(sorted); i++ {
			if d := sorted[i].Sub(sorted[i-1]); d > 0 && (minDT == 0 || d < minDT) {
				minDT = d
			}
		}
	}
	day := 24 * time.Hour
	pick := func(order, def int, disable bool) int {
		if order == Auto {
			if disable {
				return 0
			}
			return def
		}
		return order
	}
	var out []Seasonality
	add := func(name string, period float64, order int) {
		if order > 0 {
			out = append(out, Seasonality{Name: name, Period: period, Order: order})
		}
	}
	add("yearly", YearlyPeriod, pick(opts.Yearly, YearlyOrder, span < 730*day))
	add("weekly", WeeklyPeriod, pick(opts.Weekly, WeeklyOrder, span < 14*day || minDT >= 7*day))
	add("daily", DailyPeriod, pick(opts.Daily, DailyOrder, span < 2*day || minDT >= day))
	out = append(out, opts.Seasonalities...)
	for i := range out {
		if out[i].PriorScale == 0 {
			out[i].PriorScale = opts.SeasonalityPriorScale
		}
		if out[i].Mode == "" {
			out[i].Mode = opts.SeasonalityMode
		}
	}
	return out
}

// column describes one seasonal feature column.
type column struct {
	season int
	prior  float64
	mult   bool
}

func (m *Model) columns() []column {
	var cols []column
	for si, s := range m.seasons {
		for j := 0; j < 2*s.Order; j++ {
			cols = append(cols, column{season: si, prior: s.PriorScale, mult: s.Mode == Multiplicative})
		}
	}
	return cols
}

// features returns the Fourier features of every timestamp, row-major
// (len(ds) rows of len(columns()) values).
func (m *Model) features(ds []time.Time) []float64 {
	K := 0
	for _, s := range m.seasons {
		K += 2 * s.Order
	}
	X := make([]float64, len(ds)*K)
	for i, d := range ds {
		row := X[i*K : (i+1)*K]
		FourierRow(d, m.seasons, row)
	}
	return X
}

// FourierRow writes the Fourier features of one timestamp for the given
// seasonalities into row: sin and cos of 2 pi n t / P for n = 1..Order,
// interleaved, with t the days since the Unix epoch (whole seconds).
func FourierRow(d time.Time, seasons []Seasonality, row []float64) {
	days := float64(d.Unix()) / 86400
	c := 0
	for _, s := range seasons {
		x := 2 * math.Pi * days / s.Period
		for n := 1; n <= s.Order; n++ {
			sin, cos := math.Sincos(x * float64(n))
			row[c], row[c+1] = sin, cos
			c += 2
		}
	}
}

// piecewiseLinear is the piecewise linear trend on the scaled problem:
// (k + sum of deltas of passed changepoints) t + (m - sum s_j delta_j).
func piecewiseLinear(t, k, m float64, cps, deltas []float64) float64 {
	v := k*t + m
	for j, s := range cps {
		if t >= s {
			v += deltas[j] * (t - s)
		}
	}
	return v
}

func (m *Model) trendScaled(t float64) float64 {
	if m.opts.Growth == Flat {
		return m.m
	}
	return piecewiseLinear(t, m.k, m.m, m.cpT, m.delta)
}

// Seasonalities are the components the model uses, resolved.
func (m *Model) Seasonalities() []Seasonality { return append([]Seasonality(nil), m.seasons...) }

// Changepoints are the potential trend changepoints.
func (m *Model) Changepoints() []time.Time { return append([]time.Time(nil), m.cpTimes...) }

// Stats describe the fit.
func (m *Model) Stats() FitStats { return m.stats }

// Options are the options the model was fitted with.
func (m *Model) Options() Options { return m.opts }

// HistoryEnd is the last timestamp of the history.
func (m *Model) HistoryEnd() time.Time { return m.histDS[len(m.histDS)-1] }

// HistoryStart is the first timestamp of the history.
func (m *Model) HistoryStart() time.Time { return m.start }

// Sigma is the fitted observation noise in the units of y.
func (m *Model) Sigma() float64 { return m.sigma * m.yScale }

// SlopePerDay is the trend's growth per day at the end of the history, in
// the units of y: what it extrapolates into the future.
func (m *Model) SlopePerDay() float64 {
	if m.opts.Growth == Flat {
		return 0
	}
	k := m.k
	for _, d := range m.delta {
		k += d
	}
	return k * m.yScale / (m.tScale / 86400)
}

func (m *Model) String() string {
	return fmt.Sprintf("forecast model: %d rows, %d changepoints, %d seasonalities", len(m.histT), len(m.cpT), len(m.seasons))
}
