package forecast

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Predict returns the forecast at each timestamp: yhat, the uncertainty
// interval and the trend. Timestamps after the history get trend
// uncertainty simulated as Prophet does (UncertaintySamples future paths,
// a slope change at each step with probability S*dt, of size
// Laplace(0, mean|delta|)) plus Normal(0, sigma) observation noise; the
// interval is the IntervalWidth range of those samples. Within the
// history only the noise is uncertain, and the interval is its exact
// quantiles.
func (m *Model) Predict(ds []time.Time) []Point {
	out := make([]Point, len(ds))
	if len(ds) == 0 {
		return out
	}
	t := m.scaleTimes(ds)
	X := m.features(ds)
	cols := m.columns()
	K := len(cols)
	add := make([]float64, len(ds))
	mul := make([]float64, len(ds))
	for i := range ds {
		row := X[i*K : (i+1)*K]
		for j, c := range cols {
			if c.mult {
				mul[i] += row[j] * m.beta[j]
			} else {
				add[i] += row[j] * m.beta[j]
			}
		}
		tr := m.trendScaled(t[i])
		out[i] = Point{DS: ds[i], Trend: m.unscale(tr), Yhat: m.unscale(tr*(1+mul[i]) + add[i])}
	}

	w := m.opts.IntervalWidth
	qLo, qHi := (1-w)/2, (1+w)/2
	zHi := distuv.UnitNormal.Quantile(qHi)
	// Rows in the future, in time order.
	var future []int
	for i := range ds {
		if t[i] > 1 {
			future = append(future, i)
		} else {
			half := zHi * m.sigma * m.yScale
			out[i].Lower, out[i].Upper = out[i].Yhat-half, out[i].Yhat+half
		}
	}
	if len(future) == 0 {
		return out
	}
	sort.SliceStable(future, func(a, b int) bool { return t[future[a]] < t[future[b]] })
	nSamples := m.opts.UncertaintySamples
	if nSamples == 0 || m.constant || m.opts.Growth == Flat {
		// No trend uncertainty: the noise alone, exactly.
		half := zHi * m.sigma * m.yScale
		for _, i := range future {
			out[i].Lower, out[i].Upper = out[i].Yhat-half, out[i].Yhat+half
		}
		return out
	}

	// Trend deviations of each simulated path at each future row
	// (Prophet's vectorised sampler: shifts averaged with the previous
	// step, integrated twice, times the mean step).
	nf := len(future)
	var step float64
	if nf > 1 {
		step = (t[future[nf-1]] - t[future[0]]) / float64(nf-1)
	} else {
		step = (m.histT[len(m.histT)-1] - m.histT[0]) / float64(len(m.histT)-1)
	}
	likelihood := float64(len(m.cpT)) * step
	var meanDelta float64
	for _, d := range m.delta {
		meanDelta += math.Abs(d)
	}
	if len(m.delta) > 0 {
		meanDelta /= float64(len(m.delta))
	}
	meanDelta += 1e-8
	rng := rand.New(rand.NewPCG(m.opts.Seed, 0x9e3779b97f4a7c15))
	dev := make([]float64, nSamples*nf) // sample-major
	for s := 0; s < nSamples; s++ {
		var prev, slope, level float64
		row := dev[s*nf : (s+1)*nf]
		for j := 0; j < nf; j++ {
			var shift float64
			if rng.Float64() < likelihood {
				shift = laplace(rng, meanDelta)
			}
			slope += (prev + shift) / 2
			prev = shift
			level += slope
			row[j] = level * step
		}
	}
	vals := make([]float64, nSamples)
	for j, i := range future {
		tr := m.trendScaled(t[i])
		for s := 0; s < nSamples; s++ {
			trend := tr + dev[s*nf+j]
			noise := rng.NormFloat64() * m.sigma
			vals[s] = m.unscale(trend*(1+mul[i]) + add[i] + noise)
		}
		sort.Float64s(vals)
		out[i].Lower, out[i].Upper = percentile(vals, qLo), percentile(vals, qHi)
	}
	return out
}

func (m *Model) unscale(v float64) float64 { return v*m.yScale + m.yMin }

// laplace draws from Laplace(0, b).
func laplace(rng *rand.Rand, b float64) float64 {
	u := rng.Float64() - 0.5
	if u < 0 {
		return b * math.Log(1+2*u)
	}
	return -b * math.Log(1-2*u)
}

// percentile of sorted values with linear interpolation (numpy's default).
func percentile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}

// MakeFuture returns periods timestamps after the end of the history,
// freq apart, preceded by the history's own timestamps when
// includeHistory is set.
func (m *Model) MakeFuture(periods int, freq time.Duration, includeHistory bool) []time.Time {
	var out []time.Time
	if includeHistory {
		out = append(out, m.histDS...)
	}
	last := m.HistoryEnd()
	for i := 1; i <= periods; i++ {
		out = append(out, last.Add(time.Duration(i)*freq))
	}
	return out
}

// ParseFreq reads a frequency: D (day), H (hour), W (week), T or min
// (minute), S (second), optionally with a count ("5min", "15T", "2H"), or
// a Go duration ("5m", "1h30m").
func ParseFreq(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		d      time.Duration
	}{
		{"min", time.Minute}, {"D", 24 * time.Hour}, {"d", 24 * time.Hour}, {"H", time.Hour},
		{"W", 7 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"T", time.Minute}, {"S", time.Second},
	}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n := 1
			if num != "" {
				v, err := strconv.Atoi(num)
				if err != nil || v <= 0 {
					break
				}
				n = v
			}
			return time.Duration(n) * u.d, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errkind.New(errkind.Invalid, "invalid frequency %q: want D, H, W, 5min (pandas style) or a positive Go duration such as 5m", s)
	}
	return d, nil
}

// FormatFreq is the inverse of ParseFreq for display.
func FormatFreq(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dD", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dH", d/time.Hour)
	}
	return d.String()
}
