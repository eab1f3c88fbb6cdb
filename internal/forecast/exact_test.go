package forecast

import "math"

// cdSolve is an exact solver of the additive problem, to check the
// optimiser against: coordinate descent on theta with sigma fixed (each
// coordinate minimised in closed form, soft-thresholding the Laplace
// terms), alternated with sigma's closed-form optimum
// sigma^2 = (-n + sqrt(n^2 + 16 RSS)) / 8.
func cdSolve(p *problem, x []float64) {
	P := p.P
	for outer := 0; outer < 2000; outer++ {
		sigma2 := math.Exp(2 * x[P])
		for sweep := 0; sweep < 50; sweep++ {
			maxch := 0.0
			for a := 0; a < P; a++ {
				// f_a(v) = prior_a(v) + (G_aa v^2 - 2 v (b_a - sum_{c!=a} G_ac x_c))/(2 sigma2)
				var r float64
				for c := 0; c < P; c++ {
					if c != a {
						r += p.G[a*P+c] * x[c]
					}
				}
				r = p.b[a] - r
				gaa := p.G[a*P+a] / sigma2
				rr := r / sigma2
				var nv float64
				switch {
				case a == p.iK || a == p.iM:
					nv = rr / (gaa + 1.0/25)
				case a >= p.iD && a < p.iB:
					l := 1 / p.tau
					if rr > l {
						nv = (rr - l) / gaa
					} else if rr < -l {
						nv = (rr + l) / gaa
					}
				default:
					c := p.cols[a-p.iB]
					nv = rr / (gaa + 1/(c.prior*c.prior))
				}
				if d := math.Abs(nv - x[a]); d > maxch {
					maxch = d
				}
				x[a] = nv
			}
			if maxch < 1e-12 {
				break
			}
		}
		rss := p.c
		for a := 0; a < P; a++ {
			var ga float64
			for c := 0; c < P; c++ {
				ga += p.G[a*P+c] * x[c]
			}
			rss += x[a] * (ga - 2*p.b[a])
		}
		n := float64(p.n)
		s2 := (-n + math.Sqrt(n*n+16*rss)) / 8
		nu := 0.5 * math.Log(s2)
		if math.Abs(nu-x[P]) < 1e-13 {
			x[P] = nu
			break
		}
		x[P] = nu
	}
}
