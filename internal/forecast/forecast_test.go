package forecast

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

func readSeries(t testing.TB, name string) Series {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ReadCSV(f, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// synthetic is a metric sampled every step over span: a linear trend, a
// daily and a weekly cycle and Normal noise, deterministic for a seed.
func synthetic(start time.Time, step, span time.Duration, seed uint64) Series {
	rng := rand.New(rand.NewPCG(seed, 7))
	n := int(span / step)
	s := Series{DS: make([]time.Time, n), Y: make([]float64, n)}
	for i := range n {
		ts := start.Add(time.Duration(i) * step)
		days := float64(ts.Unix()) / 86400
		s.DS[i] = ts
		s.Y[i] = 100 + 0.5*days - 0.5*float64(start.Unix())/86400 +
			20*math.Sin(2*math.Pi*days) + 8*math.Cos(2*math.Pi*days/7) + rng.NormFloat64()*3
	}
	return s
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.7g, want %.7g +- %g", what, got, want, tol)
	}
}

// Prophet's test_fourier_series_weekly and _yearly (values from R's
// forecast package) on the first row of its test data.
func TestFourierSeries(t *testing.T) {
	s := readSeries(t, "prophet_tests_data.csv")
	for _, tc := range []struct {
		period float64
		want   []float64
	}{
		{7, []float64{0.7818315, 0.6234898, 0.9749279, -0.2225209, 0.4338837, -0.9009689}},
		{365.25, []float64{0.7006152, -0.7135393, -0.9998330, 0.01827656, 0.7262249, 0.6874572}},
	} {
		row := make([]float64, 6)
		FourierRow(s.DS[0], []Seasonality{{Period: tc.period, Order: 3}}, row)
		for i := range row {
			near(t, "feature", row[i], tc.want[i], 1e-6)
		}
	}
}

// Prophet's test_growth_init: k and m of the line through the first and
// last of 468 rows.
func TestLinearGrowthInit(t *testing.T) {
	s := readSeries(t, "prophet_tests_data.csv")
	m, err := Fit(s.DS[:468], s.Y[:468], DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ys := make([]float64, len(m.histY))
	for i, v := range m.histY {
		ys[i] = v / m.yScale
	}
	k, mm := newProblem(m, m.features(m.histDS), ys).initTrend()
	near(t, "k", k, 0.3055671, 1e-7)
	near(t, "m", mm, 0.5307511, 1e-7)
}

// Prophet's test_piecewise_linear.
func TestPiecewiseLinear(t *testing.T) {
	want := []float64{0, 1, 2, 3, 4, 5, 6.5, 8, 9.5, 11, 12.5}
	for i, w := range want {
		if got := piecewiseLinear(float64(i), 1, 0, []float64{5}, []float64{0.5}); got != w {
			t.Errorf("trend(%d) = %g, want %g", i, got, w)
		}
	}
}

func TestChangepoints(t *testing.T) {
	s := readSeries(t, "prophet_tests_data.csv")
	half := len(s.DS) / 2
	m, err := Fit(s.DS[:half], s.Y[:half], DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.cpT) != 25 {
		t.Fatalf("%d changepoints, want 25", len(m.cpT))
	}
	limit := m.histT[int(math.Ceil(0.8*float64(half)))]
	if m.cpT[0] <= 0 || m.cpT[24] > limit {
		t.Errorf("changepoints %g..%g, want in (0, %g]", m.cpT[0], m.cpT[24], limit)
	}
	// Indices linspace(0, 203, 26) rounded half to even: 8.12 -> 8, ... the
	// last is row 203.
	if !m.cpTimes[24].Equal(m.histDS[203]) || !m.cpTimes[0].Equal(m.histDS[8]) {
		t.Errorf("changepoint rows: first %s last %s", m.cpTimes[0], m.cpTimes[24])
	}
	// Prophet's test_override_n_changepoints: 20 rows allow 15.
	m, err = Fit(s.DS[:20], s.Y[:20], DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.cpT) != 15 {
		t.Errorf("%d changepoints on 20 rows, want 15", len(m.cpT))
	}
	o := DefaultOptions()
	o.NChangepoints = 0
	if m, err = Fit(s.DS[:half], s.Y[:half], o); err != nil || len(m.cpT) != 0 {
		t.Errorf("no changepoints: %v, %d", err, len(m.cpT))
	}
}

func TestAutoSeasonalities(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	names := func(ds []time.Time, o Options) string {
		var out []string
		for _, s := range ResolveSeasonalities(o, ds) {
			out = append(out, s.Name)
		}
		return strings.Join(out, ",")
	}
	grid := func(step, span time.Duration) []time.Time { return synthetic(start, step, span, 1).DS }
	o := DefaultOptions()
	for _, tc := range []struct {
		ds   []time.Time
		want string
	}{
		{readSeries(t, "example_wp_log_peyton_manning.csv").DS, "yearly,weekly"},
		{grid(5*time.Minute, 56*day), "weekly,daily"},
		{grid(time.Hour, 10*day), "daily"},
		{grid(day, 13*day), ""},
		{grid(7*day, 800*day), "yearly"},
	} {
		if got := names(tc.ds, o); got != tc.want {
			t.Errorf("%d rows over %s: seasonalities %q, want %q", len(tc.ds), tc.ds[len(tc.ds)-1].Sub(tc.ds[0]), got, tc.want)
		}
	}
	o.Weekly, o.Daily = 0, 6
	o.Seasonalities = []Seasonality{{Name: "hourly", Period: 1.0 / 24, Order: 2, Mode: Multiplicative}}
	ss := ResolveSeasonalities(o, grid(5*time.Minute, 56*day))
	if len(ss) != 2 || ss[0].Name != "daily" || ss[0].Order != 6 || ss[1].Mode != Multiplicative || ss[0].Mode != Additive || ss[1].PriorScale != 10 {
		t.Errorf("forced seasonalities: %+v", ss)
	}
}

// The analytic gradient agrees with central finite differences, for the
// Gram (additive) and the direct (multiplicative) evaluation, and both
// evaluations give the same objective on an additive model.
func TestGradient(t *testing.T) {
	s := synthetic(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), time.Hour, 21*day, 3)
	for _, mode := range []Mode{Additive, Multiplicative} {
		o := DefaultOptions()
		o.SeasonalityMode = mode
		m, err := Fit(s.DS, s.Y, o)
		if err != nil {
			t.Fatal(err)
		}
		ys := make([]float64, len(m.histY))
		for i, v := range m.histY {
			ys[i] = v / m.yScale
		}
		p := newProblem(m, m.features(m.histDS), ys)
		if p.gram != (mode == Additive) {
			t.Fatalf("%s: gram = %v", mode, p.gram)
		}
		rng := rand.New(rand.NewPCG(9, 9))
		x := make([]float64, p.dim())
		for i := range x {
			x[i] = rng.NormFloat64() * 0.3
		}
		g := make([]float64, len(x))
		// A small sigma (the likelihood dominates) and a large one (the
		// priors do).
		for _, sigma := range []float64{0.2, 50} {
			x[p.P] = math.Log(sigma)
			p.eval(x, g)
			for i := range x {
				h := 1e-5
				xp := append([]float64(nil), x...)
				xm := append([]float64(nil), x...)
				xp[i] += h
				xm[i] -= h
				fd := (p.eval(xp, nil) - p.eval(xm, nil)) / (2 * h)
				if math.Abs(fd-g[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
					t.Errorf("%s, sigma %g: d/dx[%d] = %.9g, finite difference %.9g", mode, sigma, i, g[i], fd)
				}
			}
		}
		x[p.P] = math.Log(0.2)
		p.eval(x, g)
		if mode == Additive {
			direct := *p
			direct.gram = false
			direct.trend, direct.add, direct.mul, direct.w = make([]float64, p.n), make([]float64, p.n), make([]float64, p.n), make([]float64, p.n)
			gd := make([]float64, len(x))
			fg, fd := p.eval(x, nil), direct.eval(x, gd)
			if math.Abs(fg-fd) > 1e-8*math.Abs(fd) {
				t.Errorf("gram objective %g, direct %g", fg, fd)
			}
			for i := range g {
				if math.Abs(g[i]-gd[i]) > 1e-7*math.Max(1, math.Abs(gd[i])) {
					t.Errorf("gradient[%d]: gram %g, direct %g", i, g[i], gd[i])
				}
			}
		}
	}
}

// L-BFGS reaches the exact MAP of the Peyton Manning model (found by
// coordinate descent) to within 0.01% of the objective.
func TestOptimiserReachesMAP(t *testing.T) {
	s := readSeries(t, "example_wp_log_peyton_manning.csv")
	m, err := Fit(s.DS, s.Y, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ys := make([]float64, len(m.histY))
	for i, v := range m.histY {
		ys[i] = v / m.yScale
	}
	p := newProblem(m, m.features(m.histDS), ys)
	x := make([]float64, p.dim())
	cdSolve(p, x)
	exact := p.eval(x, nil)
	got := m.Stats().Objective
	if got < exact-1e-6 || (got-exact) > 1e-4*math.Abs(exact) {
		t.Errorf("L-BFGS objective %.4f, exact MAP %.4f", got, exact)
	}
	t.Logf("L-BFGS %.4f (%d iterations), exact %.4f", got, m.Stats().Iterations, exact)
}

// Prophet's quick start: fit all of the Peyton Manning data, forecast 365
// days. Its published yhat for the last three days, and the interval.
func TestPeytonQuickStart(t *testing.T) {
	s := readSeries(t, "example_wp_log_peyton_manning.csv")
	m, err := Fit(s.DS, s.Y, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	fut := m.MakeFuture(365, day, true)
	if len(fut) != 2905+365 {
		t.Fatalf("%d future rows", len(fut))
	}
	pts := m.Predict(fut)
	byDate := map[string]Point{}
	for _, p := range pts {
		byDate[p.DS.Format("2006-01-02")] = p
	}
	for _, w := range []struct {
		date        string
		yhat        float64
		lower, uppr float64
	}{
		{"2017-01-15", 8.212625, 7.456310, 8.959726},
		{"2017-01-16", 8.537635, math.NaN(), math.NaN()},
		{"2017-01-17", 8.325071, math.NaN(), math.NaN()},
	} {
		p, ok := byDate[w.date]
		if !ok {
			t.Fatalf("no forecast for %s", w.date)
		}
		near(t, w.date+" yhat", p.Yhat, w.yhat, 0.01)
		if !math.IsNaN(w.lower) {
			// The interval is simulated: compare loosely.
			near(t, w.date+" yhat_lower", p.Lower, w.lower, 0.15)
			near(t, w.date+" yhat_upper", p.Upper, w.uppr, 0.15)
		}
	}
}

// Prophet's test_fit_predict: fit all but the last 30 rows of its test
// data, forecast the next 30 days, compare with the held-out rows by
// position: RMSE 10.64 (absmax) and 11.13 (minmax), within 10%.
func TestHoldoutRMSE(t *testing.T) {
	s := readSeries(t, "prophet_tests_data.csv")
	for _, tc := range []struct {
		scaling Scaling
		want    float64
	}{{AbsMax, 10.64}, {MinMax, 11.13}} {
		o := DefaultOptions()
		o.Scaling = tc.scaling
		got, err := HoldoutRMSE(s.DS, s.Y, 30, day, o)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-tc.want) > 0.1*tc.want {
			t.Errorf("%s: RMSE %.3f, want %.2f +- 10%%", tc.scaling, got, tc.want)
		}
		t.Logf("%s: RMSE %.3f (Prophet %.2f)", tc.scaling, got, tc.want)
	}
}

// Prophet's documented cross-validation of the Peyton Manning model
// (initial 730 days, period 180, horizon 365): 11 cutoffs, and at the
// 37-day horizon MAPE 0.058376, RMSE 0.702395, MAE 0.503977, coverage
// 0.676565. MAPE must be no worse; the rest within a few percent.
func TestPeytonCrossValidation(t *testing.T) {
	if testing.Short() {
		t.Skip("fits 11 models")
	}
	s := readSeries(t, "example_wp_log_peyton_manning.csv")
	cutoffs, err := Cutoffs(s.DS, 730*day, 180*day, 365*day)
	if err != nil {
		t.Fatal(err)
	}
	if len(cutoffs) != 11 || cutoffs[0].Format("2006-01-02") != "2010-02-15" || cutoffs[10].Format("2006-01-02") != "2015-01-20" {
		t.Fatalf("cutoffs %v", cutoffs)
	}
	rows, err := CrossValidate(s.DS, s.Y, DefaultOptions(), 730*day, 180*day, 365*day)
	if err != nil {
		t.Fatal(err)
	}
	ms := PerformanceMetrics(rows, 0.1)
	got, ok := MetricsAt(ms, 37*day)
	if !ok || got.Horizon != 37*day {
		t.Fatalf("no metrics at 37 days (first horizon %s)", ms[0].Horizon)
	}
	if got.MAPE > 0.0584 {
		t.Errorf("MAPE at 37 days %.6f, Prophet 0.058376", got.MAPE)
	}
	near(t, "RMSE", got.RMSE, 0.702395, 0.03*0.702395)
	near(t, "MAE", got.MAE, 0.503977, 0.03*0.503977)
	near(t, "coverage", got.Coverage, 0.676565, 0.05)
	t.Logf("at 37 days: MAPE %.6f RMSE %.6f MAE %.6f coverage %.6f (%d rows)", got.MAPE, got.RMSE, got.MAE, got.Coverage, len(rows))

	// The seasonal-naive baseline on the same splits is clearly worse.
	naive, err := CrossValidateNaive(s.DS, s.Y, 364*day, 730*day, 180*day, 365*day)
	if err != nil {
		t.Fatal(err)
	}
	nm, _ := MetricsAt(PerformanceMetrics(naive, 0.1), 37*day)
	if len(naive) != len(rows) || nm.MAPE < got.MAPE*1.1 {
		t.Errorf("seasonal naive: %d rows, MAPE %.4f vs model %.4f", len(naive), nm.MAPE, got.MAPE)
	}
}

// Prophet's rolling_mean_by_h, checked by hand: horizons 1..4 with two
// rows each except horizon 3 (one row), window 3.
func TestRollingMeanByH(t *testing.T) {
	x := []float64{1, 3, 5, 7, 9, 11, 13}
	h := []time.Duration{1, 1, 2, 2, 3, 4, 4}
	hs, res := rollingMeanByH(x, h, 3)
	wantH := []time.Duration{2, 3, 4}
	if len(hs) != len(wantH) {
		t.Fatalf("horizons %v, want %v", hs, wantH)
	}
	// h=4: n=2 < 3, add h=3 -> n=3: res[h4] = (24+9)/3 = 11.
	near(t, "h4", res[2], 11, 1e-12)
	// h=3 trailing after removing h4: x_sum=9 n=1; add h2 -> n=3: res[h3] = (9+12)/3 = 7.
	near(t, "h3", res[1], 7, 1e-12)
	// h=2: x_sum=12 n=2; add h1 (sum 4, n 2) -> n=4, excess 1 of h1 (mean 2): (16-2)/3.
	near(t, "h2", res[0], 14.0/3, 1e-12)
}

func TestConstantAndFlat(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var ds []time.Time
	var y []float64
	for i := range 100 {
		ds = append(ds, start.Add(time.Duration(i)*day))
		y = append(y, 20)
	}
	m, err := Fit(ds, y, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	p := m.Predict(m.MakeFuture(10, day, false))
	if p[9].Yhat != 20 {
		t.Errorf("constant history: yhat %g, want 20", p[9].Yhat)
	}
	// Prophet's test_flat_growth: 30 + sin(8x) over 8 weeks.
	y = y[:56]
	ds = ds[:56]
	for i := range y {
		y[i] = 30 + math.Sin(8*2*math.Pi*float64(i)/55)
	}
	o := DefaultOptions()
	o.Growth = Flat
	if m, err = Fit(ds, y, o); err != nil {
		t.Fatal(err)
	}
	if m.k != 0 || math.Round(m.m*m.yScale) != 30 {
		t.Errorf("flat growth: k %g, level %g", m.k, m.m*m.yScale)
	}
	if m.SlopePerDay() != 0 {
		t.Errorf("flat slope %g", m.SlopePerDay())
	}
}

// A series whose daily swing grows with its level is fitted better by the
// multiplicative mode.
func TestMultiplicative(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(5, 5))
	var ds []time.Time
	var y []float64
	for i := range 24 * 42 {
		ts := start.Add(time.Duration(i) * time.Hour)
		level := 100 + 3*float64(i)/24
		ds = append(ds, ts)
		y = append(y, level*(1+0.3*math.Sin(2*math.Pi*float64(i)/24))+rng.NormFloat64())
	}
	n := len(ds) - 7*24
	rmse := func(mode Mode) float64 {
		o := DefaultOptions()
		o.SeasonalityMode = mode
		m, err := Fit(ds[:n], y[:n], o)
		if err != nil {
			t.Fatal(err)
		}
		var se float64
		for i, p := range m.Predict(ds[n:]) {
			se += (p.Yhat - y[n+i]) * (p.Yhat - y[n+i])
		}
		return math.Sqrt(se / float64(len(ds)-n))
	}
	add, mul := rmse(Additive), rmse(Multiplicative)
	// Flat growth with a multiplicative daily cycle fits too.
	o := DefaultOptions()
	o.Growth, o.SeasonalityMode = Flat, Multiplicative
	if m, err := Fit(ds[:24*7], y[:24*7], o); err != nil || m.Stats().Objective >= 0 {
		t.Errorf("flat multiplicative: %v %+v", err, m)
	}
	if mul > add*0.5 {
		t.Errorf("multiplicative RMSE %.3f, additive %.3f: want multiplicative much better", mul, add)
	}
	t.Logf("RMSE additive %.3f multiplicative %.3f", add, mul)
}

// The interval covers about IntervalWidth of fresh data from the same
// process, and a wider interval is wider.
func TestIntervalCoverage(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	s := synthetic(start, 15*time.Minute, 35*day, 11)
	n := len(s.DS) - 96*2
	for _, w := range []float64{0.8, 0.95} {
		o := DefaultOptions()
		o.IntervalWidth = w
		m, err := Fit(s.DS[:n], s.Y[:n], o)
		if err != nil {
			t.Fatal(err)
		}
		in := 0
		pts := m.Predict(s.DS[n:])
		for i, p := range pts {
			if s.Y[n+i] >= p.Lower && s.Y[n+i] <= p.Upper {
				in++
			}
		}
		cov := float64(in) / float64(len(pts))
		if math.Abs(cov-w) > 0.08 {
			t.Errorf("width %.2f: coverage %.3f", w, cov)
		}
		near(t, "sigma", m.Sigma(), 3, 0.3)
	}
}

func TestPredictDeterministic(t *testing.T) {
	s := readSeries(t, "prophet_tests_data.csv")
	m, err := Fit(s.DS, s.Y, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	fut := m.MakeFuture(20, day, false)
	a, b := m.Predict(fut), m.Predict(fut)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("row %d differs: %+v vs %+v", i, a[i], b[i])
		}
		if !(a[i].Lower < a[i].Yhat && a[i].Yhat < a[i].Upper) {
			t.Errorf("row %d: yhat %g outside [%g, %g]", i, a[i].Yhat, a[i].Lower, a[i].Upper)
		}
		if i > 0 && a[i].Upper-a[i].Lower < 0.5*(a[i-1].Upper-a[i-1].Lower) {
			t.Errorf("row %d: band shrinks", i)
		}
	}
}

func TestFitErrors(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		ds   []time.Time
		y    []float64
		opts func(*Options)
		want string
	}{
		{"one row", []time.Time{start}, []float64{1}, nil, "history too short: 1 usable row (a timestamp with a numeric value); a fit needs at least 2"},
		{"NaN rows do not count", []time.Time{start, start.Add(day), start.Add(2 * day)}, []float64{1, math.NaN(), math.NaN()}, nil, "a fit needs at least 2"},
		{"no span", []time.Time{start, start}, []float64{1, 2}, nil, "spans no time"},
		{"infinite", []time.Time{start, start.Add(day)}, []float64{1, math.Inf(1)}, nil, "infinite"},
		{"lengths", []time.Time{start}, []float64{1, 2}, nil, "1 timestamps but 2 values"},
		{"options", []time.Time{start, start.Add(day)}, []float64{1, 2}, func(o *Options) { o.IntervalWidth = 1.5; o.Growth = "logistic" }, "interval width 1.5"},
	} {
		o := DefaultOptions()
		if tc.opts != nil {
			tc.opts(&o)
		}
		_, err := Fit(tc.ds, tc.y, o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestCompare(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	s := synthetic(start, 15*time.Minute, 28*day, 2)
	n := len(s.DS) - 1
	m, err := Fit(s.DS[:n], s.Y[:n], DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	at := s.DS[n]
	normal := m.Compare(at, s.Y[n])
	if math.Abs(normal.Z) > 2.5 || normal.Outside && math.Abs(normal.Z) < 1.28 {
		t.Errorf("normal value: %+v", normal)
	}
	spike := m.Compare(at, normal.Yhat+30)
	if spike.Z < 5 || !spike.Outside {
		t.Errorf("spike of 10 sigma: %+v", spike)
	}
	dip := m.Compare(at, normal.Yhat-30)
	if dip.Z > -5 {
		t.Errorf("dip: %+v", dip)
	}
	// z from the band: the 80% band spans +-1.2816 sd.
	near(t, "z", ZScore(12, 10, 7.4369, 12.5631, 0.8), 1, 1e-3)
	if ZScore(3, 2, 2, 2, 0.8) != MaxZ || ZScore(2, 2, 2, 2, 0.8) != 0 {
		t.Error("zero-width band")
	}
	c, err := NowVsHistory(s.DS[:n], s.Y[:n], at, normal.Yhat+30, DefaultOptions())
	if err != nil || c.Z < 5 {
		t.Errorf("NowVsHistory: %+v %v", c, err)
	}
}

func TestDaysUntilFull(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 3))
	// Disk usage grows 2 GB a day from 100 GB, sampled hourly for 30 days,
	// with a small daily wave; capacity 200 GB.
	var ds []time.Time
	var y []float64
	for i := range 30 * 24 {
		d := float64(i) / 24
		ds = append(ds, start.Add(time.Duration(i)*time.Hour))
		y = append(y, 100+2*d+0.5*math.Sin(2*math.Pi*d)+rng.NormFloat64()*0.2)
	}
	now := ds[len(ds)-1]
	f, err := DaysUntilFull(ds, y, 200, now, 90*day, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	// At day 29.96 usage is ~160 GB: 40 GB left at 2 GB/day = 20 days.
	if !f.Within || math.Abs(f.Days-20) > 1 {
		t.Errorf("days until full: %+v", f)
	}
	if f.DaysUpper > f.Days || f.DaysUpper < 15 {
		t.Errorf("pessimistic days %g vs %g", f.DaysUpper, f.Days)
	}
	near(t, "slope", f.SlopePerDay, 2, 0.1)
	// Not within a 10-day horizon.
	m, _ := Fit(ds, y, DefaultOptions())
	f, _ = m.DaysUntilFull(now, 200, 10*day)
	if f.Within || f.Days != 10 {
		t.Errorf("short horizon: %+v", f)
	}
	// Already full.
	f, _ = m.DaysUntilFull(now, 150, 10*day)
	if !f.Within || f.Days != 0 {
		t.Errorf("already full: %+v", f)
	}
	// Shrinking usage never fills.
	for i := range y {
		y[i] = 300 - y[i]
	}
	f, _ = DaysUntilFull(ds, y, 250, now, 90*day, DefaultOptions())
	if f.Within {
		t.Errorf("shrinking: %+v", f)
	}
	if _, err := m.DaysUntilFull(now, 0, day); err == nil {
		t.Error("capacity 0 accepted")
	}
}

func TestSeasonalNaive(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var ds []time.Time
	var y []float64
	for i := range 14 {
		if i == 10 {
			continue // a gap
		}
		ds = append(ds, start.Add(time.Duration(i)*day))
		y = append(y, float64(i))
	}
	cutoff := ds[len(ds)-1] // day 13
	targets := []time.Time{start.Add(14 * day), start.Add(17 * day), start.Add(24 * day)}
	got := SeasonalNaive(ds, y, cutoff, 7*day, targets)
	// 14 -> 7; 17 -> 10 is missing: the latest before, 9; 24 -> 10 -> 9.
	for i, w := range []float64{7, 9, 9} {
		if got[i].Yhat != w {
			t.Errorf("target %d: %g, want %g", i, got[i].Yhat, w)
		}
	}
}

func TestParseFreq(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"D": day, "H": time.Hour, "5m": 5 * time.Minute, "5min": 5 * time.Minute, "15T": 15 * time.Minute,
		"W": 7 * day, "2H": 2 * time.Hour, "1h30m": 90 * time.Minute, "30S": 30 * time.Second,
	} {
		got, err := ParseFreq(in)
		if err != nil || got != want {
			t.Errorf("ParseFreq(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0D", "-5m", "M", "xD", "5 parsecs"} {
		if _, err := ParseFreq(bad); err == nil {
			t.Errorf("ParseFreq(%q) accepted", bad)
		}
	}
}
