package forecast

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/optimize"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// problem is the negative log posterior of Prophet's model (prophet.stan)
// on the scaled data, as a function of
//
//	x = [k, m, delta_1..delta_S, beta_1..beta_K, u]    (linear growth)
//	x = [m, beta_1..beta_K, u]                         (flat growth)
//
// with sigma = exp(u) (the unconstrained space, no Jacobian term, as
// Stan's optimiser):
//
//	k^2/50 + m^2/50 + sum|delta|/tau + sum beta^2/(2 s^2) + 2 sigma^2
//	+ n log sigma + sum r^2 / (2 sigma^2)
//
// where r = trend (1 + X_m beta) + X_a beta - y. When every seasonality is
// additive the mean is linear in theta = x without u, so the residual sum
// of squares is a quadratic form with the Gram matrix Z'Z computed once:
// each evaluation then costs O(P^2) instead of O(n P).
type problem struct {
	n     int
	t, y  []float64
	X     []float64 // n x K, row-major
	K     int
	cols  []column
	cps   []float64 // changepoints (scaled time), sorted
	cpIdx []int     // first row with t >= cps[j]
	flat  bool
	tau   float64

	iK, iM, iD, iB, P int // offsets into x; P = len(theta); u = x[P]

	// Gram form (additive models): RSS = c - 2 theta.b + theta' G theta.
	gram bool
	G    []float64 // P x P, full symmetric
	b    []float64
	c    float64

	// scratch for the direct evaluation: each row's trend, additive and
	// multiplicative terms and residual at the point cached.
	trend, add, mul, w []float64
	cached             []float64
	cachedRSS          float64
}

func newProblem(m *Model, X []float64, y []float64) *problem {
	cols := m.columns()
	p := &problem{n: len(y), t: m.histT, y: y, X: X, K: len(cols), cols: cols, cps: m.cpT,
		flat: m.opts.Growth == Flat, tau: m.opts.ChangepointPriorScale}
	if p.flat {
		p.iK, p.iM, p.iD, p.iB = -1, 0, 1, 1
	} else {
		p.iK, p.iM, p.iD, p.iB = 0, 1, 2, 2+len(p.cps)
	}
	p.P = p.iB + p.K
	p.cpIdx = make([]int, len(p.cps))
	for j, s := range p.cps {
		p.cpIdx[j] = sort.SearchFloat64s(p.t, s)
	}
	p.gram = true
	for _, c := range cols {
		if c.mult {
			p.gram = false
		}
	}
	if p.gram {
		p.buildGram()
	} else {
		p.trend = make([]float64, p.n)
		p.add = make([]float64, p.n)
		p.mul = make([]float64, p.n)
		p.w = make([]float64, p.n)
	}
	return p
}

func (p *problem) dim() int { return p.P + 1 }

// zRow writes the design row of observation i: [t, 1, (t - s_j)+, X_i].
func (p *problem) zRow(i int, z []float64) {
	t := p.t[i]
	if !p.flat {
		z[p.iK] = t
		for j, s := range p.cps {
			if t >= s {
				z[p.iD+j] = t - s
			} else {
				z[p.iD+j] = 0
			}
		}
	}
	z[p.iM] = 1
	copy(z[p.iB:], p.X[i*p.K:(i+1)*p.K])
}

func (p *problem) buildGram() {
	P := p.P
	p.G = make([]float64, P*P)
	p.b = make([]float64, P)
	z := make([]float64, P)
	for i := 0; i < p.n; i++ {
		p.zRow(i, z)
		yi := p.y[i]
		p.c += yi * yi
		for a := 0; a < P; a++ {
			za := z[a]
			if za == 0 {
				continue
			}
			p.b[a] += za * yi
			row := p.G[a*P:]
			for c := a; c < P; c++ {
				row[c] += za * z[c]
			}
		}
	}
	for a := 0; a < P; a++ {
		for c := a + 1; c < P; c++ {
			p.G[c*P+a] = p.G[a*P+c]
		}
	}
}

// initTrend is Prophet's start: a line through the first and last points
// (linear), or the mean level (flat).
func (p *problem) initTrend() (k, m float64) {
	if p.flat {
		for _, v := range p.y {
			m += v
		}
		return 0, m / float64(p.n)
	}
	T := p.t[p.n-1] - p.t[0]
	k = (p.y[p.n-1] - p.y[0]) / T
	m = p.y[0] - k*p.t[0]
	return k, m
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// eval returns the objective at x and, when grad is not nil, stores its
// gradient. |delta| has the subgradient 0 at 0, as in Stan.
func (p *problem) eval(x, grad []float64) float64 {
	P := p.P
	theta, u := x[:P], x[P]
	sigma2 := math.Exp(2 * u)
	f := 2*sigma2 + float64(p.n)*u
	clear(grad)
	// Priors.
	if !p.flat {
		k := theta[p.iK]
		f += k * k / 50
		if grad != nil {
			grad[p.iK] += k / 25
		}
		for j := range p.cps {
			d := theta[p.iD+j]
			f += math.Abs(d) / p.tau
			if grad != nil {
				grad[p.iD+j] += sign(d) / p.tau
			}
		}
	}
	mm := theta[p.iM]
	f += mm * mm / 50
	if grad != nil {
		grad[p.iM] += mm / 25
	}
	for j, c := range p.cols {
		bj := theta[p.iB+j]
		v := c.prior * c.prior
		f += bj * bj / (2 * v)
		if grad != nil {
			grad[p.iB+j] += bj / v
		}
	}
	// Likelihood.
	var rss float64
	if p.gram {
		rss = p.c
		for a := 0; a < P; a++ {
			row := p.G[a*P : (a+1)*P]
			var ga float64
			for c, v := range row {
				ga += v * theta[c]
			}
			// ga = (G theta)_a
			rss += theta[a] * (ga - 2*p.b[a])
			if grad != nil {
				grad[a] += (ga - p.b[a]) / sigma2
			}
		}
		if rss < 0 {
			rss = 0
		}
	} else {
		rss = p.direct(theta, grad, sigma2)
	}
	f += rss / (2 * sigma2)
	if grad != nil {
		grad[P] = 4*sigma2 + float64(p.n) - rss/sigma2
	}
	return f
}

// direct evaluates the residual sum of squares observation by observation
// (needed with multiplicative seasonalities) and adds its gradient
// divided by sigma^2.
func (p *problem) direct(theta, grad []float64, sigma2 float64) float64 {
	rss := p.forward(theta)
	if grad == nil {
		return rss
	}
	p.backward(grad, sigma2)
	return rss
}

// forward computes each row's trend, seasonal terms and residual (kept
// for backward) and returns the residual sum of squares. The optimiser
// asks for the value and then the gradient at the same point: the second
// call reuses the first's rows.
func (p *problem) forward(theta []float64) float64 {
	if p.cached != nil && slices.Equal(p.cached, theta) {
		return p.cachedRSS
	}
	K := p.K
	beta := theta[p.iB : p.iB+K]
	var rss float64
	// The trend row by row: t is sorted, so the slope and offset change
	// only as each changepoint is passed.
	var slope, offset float64
	if p.flat {
		offset = theta[p.iM]
	} else {
		slope, offset = theta[p.iK], theta[p.iM]
	}
	next := 0
	for i := 0; i < p.n; i++ {
		t := p.t[i]
		for !p.flat && next < len(p.cps) && t >= p.cps[next] {
			d := theta[p.iD+next]
			slope += d
			offset -= d * p.cps[next]
			next++
		}
		tr := slope*t + offset
		var a, mu float64
		row := p.X[i*K : (i+1)*K]
		for j, c := range p.cols {
			if c.mult {
				mu += row[j] * beta[j]
			} else {
				a += row[j] * beta[j]
			}
		}
		r := tr*(1+mu) + a - p.y[i]
		rss += r * r
		p.trend[i], p.add[i], p.mul[i], p.w[i] = tr, a, mu, r
	}
	p.cached = append(p.cached[:0], theta...)
	p.cachedRSS = rss
	return rss
}

// backward adds the gradient of RSS / (2 sigma^2) at the point of the
// last forward pass.
func (p *problem) backward(grad []float64, sigma2 float64) {
	K := p.K
	// Trend parameters: d r_i / d trend_i = 1 + mul_i.
	var sumW, sumWT float64
	for i := 0; i < p.n; i++ {
		w := p.w[i] / sigma2
		wi := w * (1 + p.mul[i])
		sumW += wi
		sumWT += wi * p.t[i]
		row := p.X[i*K : (i+1)*K]
		for j, c := range p.cols {
			if c.mult {
				grad[p.iB+j] += w * p.trend[i] * row[j]
			} else {
				grad[p.iB+j] += w * row[j]
			}
		}
	}
	grad[p.iM] += sumW
	if p.flat {
		return
	}
	grad[p.iK] += sumWT
	// Changepoints: sum over rows after s_j of w (t - s_j), by suffix sums.
	var sw, swt float64
	upto := p.n
	for j := len(p.cps) - 1; j >= 0; j-- {
		for i := upto - 1; i >= p.cpIdx[j]; i-- {
			wi := p.w[i] / sigma2 * (1 + p.mul[i])
			sw += wi
			swt += wi * p.t[i]
		}
		upto = p.cpIdx[j]
		grad[p.iD+j] += swt - p.cps[j]*sw
	}
}

// solve finds the MAP estimate with gonum's L-BFGS from Prophet's start
// (a line through the first and last points, deltas and betas 0,
// sigma 1). A model with multiplicative seasonalities starts instead from
// the additive model's optimum, its multiplicative coefficients divided
// by the mean trend, which saves most of the (slower) iterations.
func (p *problem) solve(m *Model) error {
	x := make([]float64, p.dim())
	if !p.flat {
		x[p.iK] = m.k
	}
	x[p.iM] = m.m
	evals := 0
	if !p.gram {
		twin := *p
		twin.cols = make([]column, len(p.cols))
		for j, c := range p.cols {
			c.mult = false
			twin.cols[j] = c
		}
		twin.gram = true
		twin.buildGram()
		xa, _, _, err := twin.minimize(x, m.opts.MaxIterations, &evals)
		if err != nil {
			return err
		}
		var mean float64
		for _, t := range p.t {
			if p.flat {
				mean += xa[p.iM]
			} else {
				mean += piecewiseLinear(t, xa[p.iK], xa[p.iM], p.cps, xa[p.iD:p.iD+len(p.cps)])
			}
		}
		mean /= float64(p.n)
		copy(x, xa)
		if math.Abs(mean) > 1e-3 {
			for j, c := range p.cols {
				if c.mult {
					x[p.iB+j] /= mean
				}
			}
		}
	}
	if !p.gram {
		x = p.gaussNewton(x, m.opts.MaxIterations, &evals)
	}
	xb, res, status, err := p.minimize(x, m.opts.MaxIterations, &evals)
	if err != nil {
		return err
	}
	m.stats = FitStats{Rows: p.n, Parameters: p.dim(), Iterations: res.MajorIterations, Evaluations: evals,
		Objective: res.F, Status: status}
	m.setParams(p, xb)
	return nil
}

// gaussNewton brings a multiplicative model near its optimum cheaply:
// the mean is linearised around x (its Jacobian J computed row by row
// once), the resulting quadratic problem (Gram matrix J'J, with the
// priors and sigma) is solved by L-BFGS in O(P^2) per evaluation, and the
// step towards its solution is halved until the true objective
// decreases. A few rounds replace most of the expensive row-by-row
// L-BFGS iterations; the caller finishes with those.
func (p *problem) gaussNewton(x []float64, maxIter int, evals *int) []float64 {
	P := p.P
	f := p.eval(x, nil)
	lin := *p
	lin.gram = true
	lin.G = make([]float64, P*P)
	lin.b = make([]float64, P)
	z := make([]float64, P)
	trial := make([]float64, len(x))
	for round := 0; round < 50; round++ {
		p.forward(x[:P])
		// Row i of J, and the pseudo-target y~ = y - pred + J theta.
		clear(lin.G)
		clear(lin.b)
		lin.c = 0
		for i := 0; i < p.n; i++ {
			p.jacobianRow(i, x[:P], z)
			var jt float64
			for a, v := range z {
				jt += v * x[a]
			}
			yt := p.w[i]*-1 + jt // w holds pred - y
			lin.c += yt * yt
			for a := 0; a < P; a++ {
				za := z[a]
				if za == 0 {
					continue
				}
				lin.b[a] += za * yt
				row := lin.G[a*P:]
				for c := a; c < P; c++ {
					row[c] += za * z[c]
				}
			}
		}
		for a := 0; a < P; a++ {
			for c := a + 1; c < P; c++ {
				lin.G[c*P+a] = lin.G[a*P+c]
			}
		}
		target, _, _, err := lin.minimize(x, maxIter, evals)
		if err != nil {
			break
		}
		improved := false
		for step := 1.0; step > 1e-3; step /= 2 {
			for i := range x {
				trial[i] = x[i] + step*(target[i]-x[i])
			}
			if ft := p.eval(trial, nil); ft < f {
				done := f-ft < 1e-12*math.Abs(f)
				copy(x, trial)
				f, improved = ft, true
				if done {
					return x
				}
				break
			}
		}
		if !improved {
			break
		}
	}
	return x
}

// jacobianRow writes d pred_i / d theta at the point of the last forward
// pass.
func (p *problem) jacobianRow(i int, theta, z []float64) {
	g := 1 + p.mul[i]
	t := p.t[i]
	clear(z)
	if !p.flat {
		z[p.iK] = t * g
		for j, s := range p.cps {
			if t >= s {
				z[p.iD+j] = (t - s) * g
			}
		}
	}
	z[p.iM] = g
	row := p.X[i*p.K : (i+1)*p.K]
	for j, c := range p.cols {
		if c.mult {
			z[p.iB+j] = p.trend[i] * row[j]
		} else {
			z[p.iB+j] = row[j]
		}
	}
}

// minimize runs L-BFGS (backtracking line search) from x, restarting it
// from its best point while that still improves the objective: the
// Laplace terms are not differentiable at 0, and a fresh start clears a
// curvature history that the kinks have spoiled.
func (p *problem) minimize(x0 []float64, maxIter int, evals *int) ([]float64, *optimize.Result, string, error) {
	prob := optimize.Problem{
		Func: func(x []float64) float64 { *evals++; return p.eval(x, nil) },
		Grad: func(grad, x []float64) { p.eval(x, grad) },
	}
	var best *optimize.Result
	var status string
	x := x0
	iterations := 0
	for restart := 0; restart < 20 && iterations < maxIter; restart++ {
		settings := &optimize.Settings{
			MajorIterations:   maxIter - iterations,
			GradientThreshold: 1e-8,
			Converger:         &optimize.FunctionConverge{Absolute: 1e-8, Relative: 1e-10, Iterations: 10},
		}
		res, err := optimize.Minimize(prob, x, settings, &optimize.LBFGS{Store: p.store(), Linesearcher: &optimize.Backtracking{}})
		if err != nil && !isLinesearchFailure(err) {
			return nil, nil, "", errkind.Wrap(errkind.Invalid, fmt.Errorf("fit: optimiser: %w", err))
		}
		if res == nil || math.IsNaN(res.F) || math.IsInf(res.F, 0) {
			return nil, nil, "", errkind.Wrap(errkind.Invalid, fmt.Errorf("fit: the optimiser diverged"))
		}
		iterations += res.MajorIterations
		if best != nil && res.F >= best.F-1e-9*math.Abs(best.F) {
			break
		}
		best = res
		best.MajorIterations = iterations
		x = res.X
		status = res.Status.String()
		if err != nil {
			status = err.Error()
		}
	}
	return best.X, best, status, nil
}

// store is L-BFGS's memory: a longer one pays off when evaluations are
// expensive (row by row); the cheap Gram form does well with 10 and lands
// closer to Prophet's Stan optimum.
func (p *problem) store() int {
	if p.gram {
		return 10
	}
	return 30
}

func isLinesearchFailure(err error) bool {
	return err != nil && (errors.Is(err, optimize.ErrLinesearcherFailure) || errors.Is(err, optimize.ErrNoProgress) || errors.Is(err, optimize.ErrLinesearcherBound) || errors.Is(err, optimize.ErrNonDescentDirection))
}

func (m *Model) setParams(p *problem, x []float64) {
	if !p.flat {
		m.k = x[p.iK]
		copy(m.delta, x[p.iD:p.iD+len(p.cps)])
	}
	m.m = x[p.iM]
	copy(m.beta, x[p.iB:p.iB+p.K])
	m.sigma = math.Exp(x[p.P])
}
