package proxy

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
)

// Source gives a cluster's current topology (the inventory and HA state in
// `dbfleet serve`, the server's API in `dbfleet proxy run`).
type Source interface {
	Topology(ctx context.Context, cluster string) (Topology, error)
}

// Prober reports what one server says about its replication.
type Prober interface {
	Probe(ctx context.Context, addr string) (engine.Replication, error)
}

// engineProber probes with the engine's MySQL driver as the monitor account.
type engineProber struct {
	acct    Account
	timeout time.Duration
}

func (e engineProber) Probe(ctx context.Context, addr string) (engine.Replication, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return engine.Replication{}, err
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return engine.Replication{}, fmt.Errorf("port of %s: %w", addr, err)
	}
	c, err := mysql.New().Open(ctx, engine.Target{Engine: engine.MariaDB, Host: host, Port: n, User: e.acct.User, Password: e.acct.Password, ConnectTimeout: e.timeout})
	if err != nil {
		return engine.Replication{}, err
	}
	defer c.Close() //nolint:errcheck // read-only probe
	return c.Replication(ctx)
}

// replicaHealth is what the last probe of a replica decided.
type replicaHealth struct {
	Eligible bool     `json:"eligible"`
	Reason   string   `json:"reason,omitempty"` // why not eligible
	Lag      *float64 `json:"lag_seconds,omitempty"`
}

// Run follows the cluster until ctx ends: every CheckEvery it reads the
// topology from src (nil: keep the static one; an error keeps the last
// known topology) and probes the servers: a replica whose replication is
// stopped, that is not read_only, whose lag is unknown or over MaxReplicaLag leaves the read
// pool, and comes back once its lag is under the limit and it has applied
// every transaction the primary had at the previous probe; a primary that
// reports read_only takes no writes.
func (p *Proxy) Run(ctx context.Context, src Source) error {
	t := time.NewTicker(p.opts.CheckEvery)
	defer t.Stop()
	for {
		p.check(ctx, src)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *Proxy) check(ctx context.Context, src Source) {
	if src != nil {
		topo, err := src.Topology(ctx, p.opts.Cluster)
		if err != nil {
			p.log.Warn("topology unavailable, keeping the last known one", "err", err)
		} else {
			if !sameTopology(topo, p.Topology()) {
				p.log.Info("topology changed", "primary", topo.Primary.Addr, "replicas", len(topo.Replicas), "holding", topo.Holding)
			}
			p.SetTopology(topo)
		}
	}
	p.mu.RLock()
	prober := p.prober
	p.mu.RUnlock()
	if prober == nil {
		return
	}
	topo := p.Topology()
	pctx, cancel := context.WithTimeout(ctx, p.opts.CheckEvery)
	defer cancel()
	var primaryPos map[uint32]uint64
	if topo.Primary.Addr != "" {
		r, err := prober.Probe(pctx, topo.Primary.Addr)
		switch {
		case err != nil:
			// Keep the previous verdict: HA decides whether it is dead.
			p.log.Debug("primary probe failed", "primary", topo.Primary.Addr, "err", err)
		default:
			p.mu.Lock()
			p.primaryRO = r.ReadOnly
			p.mu.Unlock()
			primaryPos = parseGTIDs(r.GTIDBinlog)
		}
	}
	for _, b := range topo.Replicas {
		r, err := prober.Probe(pctx, b.Addr)
		p.mu.Lock()
		prev, seen := p.health[b.Addr]
		h := judge(r, err, prev, seen, p.opts.MaxReplicaLag, p.lastPrimaryPos)
		if h.Eligible != prev.Eligible || !seen {
			p.log.Info("replica eligibility", "replica", b.Addr, "eligible", h.Eligible, "reason", h.Reason)
		}
		p.health[b.Addr] = h
		p.mu.Unlock()
	}
	if primaryPos != nil {
		p.mu.Lock()
		p.lastPrimaryPos = primaryPos
		p.mu.Unlock()
	}
}

// judge decides a replica's eligibility from its probe. A replica out of
// the pool comes back only when caught up with the primary's position at
// the previous probe.
func judge(r engine.Replication, err error, prev replicaHealth, seen bool, maxLag time.Duration, primaryPos map[uint32]uint64) replicaHealth {
	switch {
	case err != nil:
		return replicaHealth{Reason: "unreachable"}
	case r.Source == nil:
		return replicaHealth{Reason: "not replicating"}
	case !r.ReadOnly:
		// Forced-replica users, hints and session commands would write
		// on it.
		return replicaHealth{Reason: "writable"}
	case !r.Source.IORunning || !r.Source.SQLRunning:
		return replicaHealth{Reason: "replication stopped"}
	case r.Source.LagSeconds == nil:
		return replicaHealth{Reason: "lag unknown"}
	case *r.Source.LagSeconds > maxLag.Seconds():
		return replicaHealth{Reason: "lagging", Lag: r.Source.LagSeconds}
	}
	if seen && !prev.Eligible && !covers(parseGTIDs(r.GTIDCurrent), primaryPos) {
		return replicaHealth{Reason: "catching up", Lag: r.Source.LagSeconds}
	}
	return replicaHealth{Eligible: true, Lag: r.Source.LagSeconds}
}

// parseGTIDs reads a MariaDB GTID position ("0-1-100,1-2-5") as domain ->
// sequence number.
func parseGTIDs(s string) map[uint32]uint64 {
	m := map[uint32]uint64{}
	for _, g := range strings.Split(s, ",") {
		parts := strings.Split(strings.TrimSpace(g), "-")
		if len(parts) != 3 {
			continue
		}
		d, err1 := strconv.ParseUint(parts[0], 10, 32)
		n, err2 := strconv.ParseUint(parts[2], 10, 64)
		if err1 == nil && err2 == nil && n > m[uint32(d)] {
			m[uint32(d)] = n
		}
	}
	return m
}

// covers says whether position have has reached want in every domain.
func covers(have, want map[uint32]uint64) bool {
	for d, n := range want {
		if have[d] < n {
			return false
		}
	}
	return true
}

func sameTopology(a, b Topology) bool {
	if a.Primary != b.Primary || a.Holding != b.Holding || len(a.Replicas) != len(b.Replicas) {
		return false
	}
	for i := range a.Replicas {
		if a.Replicas[i] != b.Replicas[i] {
			return false
		}
	}
	return true
}
