// Command forecast measures dbfleet's forecast model against Prophet's
// published results and a seasonal-naive baseline, on the data in
// internal/forecast/testdata (from the Prophet project, MIT licence):
//
//   - Peyton Manning cross-validation (initial 730 d, period 180 d,
//     horizon 365 d): metrics at the 37-day horizon, Prophet's documented
//     figures beside them, and seasonal-naive MAPE on the same cutoffs;
//   - prophet_tests_data.csv, last 30 rows held out: RMSE (absmax and
//     minmax scaling) against Prophet's 10.64 and 11.13, and seasonal naive;
//   - fit time (median of -runs) for 2,905 daily points and for 8 weeks of
//     5-minute points (16,128), on one core (GOMAXPROCS=1).
//
// Run from the repository root:
//
//	go run ./bench/forecast [-data internal/forecast/testdata] [-runs 20]
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/dbfleet/dbfleet/internal/forecast"
)

const day = 24 * time.Hour

func main() {
	data := flag.String("data", "internal/forecast/testdata", "directory with the Prophet data files")
	runs := flag.Int("runs", 20, "fits per timing")
	flag.Parse()
	runtime.GOMAXPROCS(1)
	if err := run(*data, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func read(dir, name string) (forecast.Series, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return forecast.Series{}, err
	}
	defer f.Close()
	return forecast.ReadCSV(f, name)
}

func run(dir string, runs int) error {
	peyton, err := read(dir, "example_wp_log_peyton_manning.csv")
	if err != nil {
		return err
	}
	tests, err := read(dir, "prophet_tests_data.csv")
	if err != nil {
		return err
	}
	opts := forecast.DefaultOptions()

	fmt.Println("== Peyton Manning cross-validation: initial 730 d, period 180 d, horizon 365 d")
	cutoffs, err := forecast.Cutoffs(peyton.DS, 730*day, 180*day, 365*day)
	if err != nil {
		return err
	}
	began := time.Now()
	rows, err := forecast.CrossValidate(peyton.DS, peyton.Y, opts, 730*day, 180*day, 365*day)
	if err != nil {
		return err
	}
	took := time.Since(began)
	m37, _ := forecast.MetricsAt(forecast.PerformanceMetrics(rows, 0.1), 37*day)
	fmt.Printf("cutoffs: %d (%s .. %s), %d forecast rows, %s\n", len(cutoffs), cutoffs[0].Format("2006-01-02"), cutoffs[len(cutoffs)-1].Format("2006-01-02"), len(rows), took.Round(time.Millisecond))
	fmt.Printf("%-28s %10s %10s %10s %10s\n", "at 37 days", "MAPE", "RMSE", "MAE", "coverage")
	fmt.Printf("%-28s %10.6f %10.6f %10.6f %10.6f\n", "dbfleet", m37.MAPE, m37.RMSE, m37.MAE, m37.Coverage)
	fmt.Printf("%-28s %10.6f %10.6f %10.6f %10.6f\n", "Prophet (published)", 0.058376, 0.702395, 0.503977, 0.676565)
	for _, season := range []struct {
		name string
		d    time.Duration
	}{{"seasonal naive, 7 d", 7 * day}, {"seasonal naive, 364 d", 364 * day}, {"seasonal naive, 365 d", 365 * day}} {
		nrows, err := forecast.CrossValidateNaive(peyton.DS, peyton.Y, season.d, 730*day, 180*day, 365*day)
		if err != nil {
			return err
		}
		n37, _ := forecast.MetricsAt(forecast.PerformanceMetrics(nrows, 0.1), 37*day)
		fmt.Printf("%-28s %10.6f %10.6f %10.6f %10s\n", season.name, n37.MAPE, n37.RMSE, n37.MAE, "-")
	}

	fmt.Println()
	fmt.Println("== prophet_tests_data.csv: fit all but the last 30 rows, forecast 30 days, RMSE by position")
	for _, tc := range []struct {
		scaling forecast.Scaling
		want    float64
	}{{forecast.AbsMax, 10.64}, {forecast.MinMax, 11.13}} {
		o := opts
		o.Scaling = tc.scaling
		rmse, err := forecast.HoldoutRMSE(tests.DS, tests.Y, 30, day, o)
		if err != nil {
			return err
		}
		fmt.Printf("dbfleet %-7s RMSE %7.3f   Prophet %.2f   (%+.1f%%)\n", tc.scaling, rmse, tc.want, 100*(rmse-tc.want)/tc.want)
	}
	n := len(tests.DS) - 30
	last := tests.DS[n-1]
	var targets []time.Time
	for i := 1; i <= 30; i++ {
		targets = append(targets, last.Add(time.Duration(i)*day))
	}
	for _, season := range []time.Duration{7 * day, 364 * day} {
		pts := forecast.SeasonalNaive(tests.DS[:n], tests.Y[:n], last, season, targets)
		fmt.Printf("seasonal naive %3d d RMSE %7.3f\n", int(season/day), forecast.RMSE(pts, tests.Y[n:]))
	}

	fmt.Println()
	fmt.Printf("== fit time, GOMAXPROCS=1, median of %d\n", runs)
	fiveMin := synthetic(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 5*time.Minute, 56*day)
	for _, tc := range []struct {
		name string
		s    forecast.Series
		mode forecast.Mode
	}{
		{"Peyton Manning, daily", peyton, forecast.Additive},
		{"8 weeks of 5-minute points", fiveMin, forecast.Additive},
		{"8 weeks of 5-minute points, multiplicative", fiveMin, forecast.Multiplicative},
	} {
		o := opts
		o.SeasonalityMode = tc.mode
		r := runs
		if tc.mode == forecast.Multiplicative {
			r = max(1, runs/10)
		}
		var times []time.Duration
		var stats forecast.FitStats
		for range r {
			began := time.Now()
			m, err := forecast.Fit(tc.s.DS, tc.s.Y, o)
			if err != nil {
				return err
			}
			times = append(times, time.Since(began))
			stats = m.Stats()
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		fmt.Printf("%-44s %6d points %4d params  median %8s  (%d L-BFGS iterations)\n", tc.name, len(tc.s.DS), stats.Parameters, times[len(times)/2].Round(10*time.Microsecond), stats.Iterations)
	}
	return nil
}

// synthetic is a metric every step over span: a trend, a daily and a
// weekly cycle and Normal noise.
func synthetic(start time.Time, step, span time.Duration) forecast.Series {
	rng := rand.New(rand.NewPCG(1, 7))
	n := int(span / step)
	s := forecast.Series{DS: make([]time.Time, n), Y: make([]float64, n)}
	for i := range n {
		ts := start.Add(time.Duration(i) * step)
		d := ts.Sub(start).Hours() / 24
		s.DS[i] = ts
		s.Y[i] = 100 + 0.5*d + 20*math.Sin(2*math.Pi*d) + 8*math.Cos(2*math.Pi*d/7) + rng.NormFloat64()*3
	}
	return s
}
