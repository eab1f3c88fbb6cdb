package forecast

import (
	"math"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// MaxZ bounds a z-score so that it stays a finite number (JSON has no
// infinity): a value off a band of zero width scores +-MaxZ.
const MaxZ = 1000

// Comparison is a current value against the forecast band: "is now
// normal compared with history?".
type Comparison struct {
	At    time.Time `json:"at"`
	Y     float64   `json:"y"`
	Yhat  float64   `json:"yhat"`
	Lower float64   `json:"yhat_lower"`
	Upper float64   `json:"yhat_upper"`
	// Z is (y - yhat) / sd, where sd is recovered from the band: an
	// interval of width w spans +-Phi^-1((1+w)/2) sd (+-1.2816 for 0.8).
	Z float64 `json:"z"`
	// Outside is true when y is outside [Lower, Upper].
	Outside bool `json:"outside"`
}

// ZScore is (y - yhat) / sd with sd = (upper - lower) / (2 Phi^-1((1+width)/2)),
// bounded by +-MaxZ.
func ZScore(y, yhat, lower, upper, width float64) float64 {
	q := distuv.UnitNormal.Quantile((1 + width) / 2)
	sd := (upper - lower) / (2 * q)
	d := y - yhat
	if d == 0 {
		return 0
	}
	if !(sd > 0) {
		return math.Copysign(MaxZ, d)
	}
	return math.Max(-MaxZ, math.Min(MaxZ, d/sd))
}

// Compare predicts the band at `at` and places y in it.
func (m *Model) Compare(at time.Time, y float64) Comparison {
	p := m.Predict([]time.Time{at})[0]
	return Comparison{At: at, Y: y, Yhat: p.Yhat, Lower: p.Lower, Upper: p.Upper,
		Z: ZScore(y, p.Yhat, p.Lower, p.Upper, m.opts.IntervalWidth), Outside: y < p.Lower || y > p.Upper}
}

// NowVsHistory fits the history and compares the value y at `at` with the
// forecast band there.
func NowVsHistory(ds []time.Time, hist []float64, at time.Time, y float64, opts Options) (Comparison, error) {
	m, err := Fit(ds, hist, opts)
	if err != nil {
		return Comparison{}, err
	}
	return m.Compare(at, y), nil
}

// Fullness says when a growing quantity (disk usage) reaches a capacity.
type Fullness struct {
	From     time.Time `json:"from"`
	Capacity float64   `json:"capacity"`
	// Current is the forecast at From.
	Current float64 `json:"current"`
	// Within is true when the forecast reaches Capacity within the
	// horizon; Days is then the days from From until it does (0 when it
	// already has). When it is false, Days is the horizon: a lower bound.
	Within bool    `json:"within"`
	Days   float64 `json:"days"`
	// DaysUpper is the same for the upper edge of the band: the
	// pessimistic estimate (equal to Days or earlier).
	DaysUpper   float64 `json:"days_upper"`
	WithinUpper bool    `json:"within_upper"`
	// SlopePerDay is the trend's growth per day at the end of history.
	SlopePerDay float64 `json:"slope_per_day"`
}

// fullnessSteps is how many points of the horizon are forecast to find
// the crossing (then interpolated between two of them).
const fullnessSteps = 500

// DaysUntilFull forecasts from `from` over horizon and returns when yhat
// (and its upper band) first reach capacity.
func (m *Model) DaysUntilFull(from time.Time, capacity float64, horizon time.Duration) (Fullness, error) {
	if !(capacity > 0) || math.IsInf(capacity, 0) {
		return Fullness{}, errkind.New(errkind.Invalid, "days until full: capacity %g must be a positive number", capacity)
	}
	if horizon <= 0 {
		return Fullness{}, errkind.New(errkind.Invalid, "days until full: horizon %s must be positive", horizon)
	}
	step := horizon / fullnessSteps
	ds := make([]time.Time, fullnessSteps+1)
	for i := range ds {
		ds[i] = from.Add(time.Duration(i) * step)
	}
	pts := m.Predict(ds)
	horizonDays := horizon.Hours() / 24
	f := Fullness{From: from, Capacity: capacity, Current: pts[0].Yhat, SlopePerDay: m.SlopePerDay(),
		Days: horizonDays, DaysUpper: horizonDays}
	crossing := func(v func(Point) float64) (float64, bool) {
		if v(pts[0]) >= capacity {
			return 0, true
		}
		for i := 1; i < len(pts); i++ {
			a, b := v(pts[i-1]), v(pts[i])
			if b >= capacity {
				frac := 1.0
				if b > a {
					frac = (capacity - a) / (b - a)
				}
				at := pts[i-1].DS.Add(time.Duration(frac * float64(step)))
				return at.Sub(from).Hours() / 24, true
			}
		}
		return horizonDays, false
	}
	f.Days, f.Within = crossing(func(p Point) float64 { return p.Yhat })
	f.DaysUpper, f.WithinUpper = crossing(func(p Point) float64 { return p.Upper })
	if f.DaysUpper > f.Days {
		// The sampled band can be ragged; the pessimistic bound is never later.
		f.DaysUpper, f.WithinUpper = f.Days, f.Within
	}
	return f, nil
}

// DaysUntilFull fits the history of a quantity and forecasts when it
// reaches capacity, looking at most horizon ahead of from.
func DaysUntilFull(ds []time.Time, y []float64, capacity float64, from time.Time, horizon time.Duration, opts Options) (Fullness, error) {
	m, err := Fit(ds, y, opts)
	if err != nil {
		return Fullness{}, err
	}
	return m.DaysUntilFull(from, capacity, horizon)
}
