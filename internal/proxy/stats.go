package proxy

import (
	"sort"
	"sync/atomic"
	"time"
)

// LatencyBuckets are the upper bounds (seconds) of the statement latency
// histograms: what a backend took to answer, as the proxy saw it.
var LatencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// stats counts one pool's statements (a backend for one account).
type stats struct {
	queries atomic.Uint64
	errors  atomic.Uint64 // ERR answers and failed relays
	sumNs   atomic.Uint64
	buckets [17]atomic.Uint64 // len(LatencyBuckets)+1, the last is +Inf
}

func (s *stats) observe(d time.Duration, failed bool) {
	s.queries.Add(1)
	if failed {
		s.errors.Add(1)
	}
	s.sumNs.Add(uint64(d))
	sec := d.Seconds()
	i := sort.SearchFloat64s(LatencyBuckets, sec)
	s.buckets[i].Add(1)
}

// BackendStats is one backend's use by one proxy user.
type BackendStats struct {
	Cluster string `json:"cluster"`
	Backend string `json:"backend"`
	User    string `json:"user"` // the proxy user
	Queries uint64 `json:"queries"`
	Errors  uint64 `json:"errors"`
	// Buckets are cumulative counts per LatencyBuckets bound, then +Inf.
	Buckets    []uint64 `json:"-"`
	SumSeconds float64  `json:"-"`
	Open       int      `json:"open"`
	Idle       int      `json:"idle"`
	Max        int      `json:"max"`
}

// Stats returns every pool's counters, for /metrics.
func (p *Proxy) Stats() []BackendStats {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]BackendStats, 0, len(p.pools))
	for k, pl := range p.pools {
		open, idle := pl.stats()
		b := BackendStats{Cluster: p.opts.Cluster, Backend: k.addr, User: k.user, Open: open, Idle: idle, Max: cap(pl.slots),
			Queries: pl.st.queries.Load(), Errors: pl.st.errors.Load(), SumSeconds: float64(pl.st.sumNs.Load()) / 1e9}
		var cum uint64
		for i := range pl.st.buckets {
			cum += pl.st.buckets[i].Load()
			b.Buckets = append(b.Buckets, cum)
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Backend+out[i].User < out[j].Backend+out[j].User })
	return out
}
