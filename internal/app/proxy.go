package app

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/proxy"
)

// ProxySource is the proxy's view of a cluster in `dbfleet serve` (and
// in bench/proxy's chaos run): the
// inventory's declared primary and replicas (the HA controller updates
// them after a failover), writes held while a recovery of the cluster
// runs, and the stored account of the primary as the monitor.
type proxySource struct {
	inv *inventory.Service
	ha  *ha.Service
}

// ProxySource returns the topology source `dbfleet serve` gives its
// proxies; haSvc may be nil (no hold from running recoveries).
func ProxySource(inv *inventory.Service, haSvc *ha.Service) proxy.Source {
	return proxySource{inv: inv, ha: haSvc}
}

func (s proxySource) Topology(ctx context.Context, cluster string) (proxy.Topology, error) {
	var t proxy.Topology
	ins, err := s.inv.ListInstances(ctx, inventory.InstanceFilter{Cluster: cluster})
	if err != nil {
		return t, err
	}
	primary := ""
	for _, in := range ins {
		b := proxy.Backend{Name: in.Name, Addr: net.JoinHostPort(in.Address, strconv.Itoa(in.Port))}
		switch in.Role {
		case inventory.RolePrimary:
			t.Primary, primary = b, in.Name
		case inventory.RoleReplica:
			t.Replicas = append(t.Replicas, b)
		}
	}
	if primary == "" {
		return t, fmt.Errorf("cluster %q has no declared primary", cluster)
	}
	if s.ha != nil {
		recs, err := s.ha.Recoveries(ctx, cluster, 1)
		if err != nil {
			return t, err
		}
		t.Holding = len(recs) > 0 && recs[0].State == ha.StateRunning
	}
	target, err := s.inv.Target(ctx, primary)
	if err != nil {
		return t, err
	}
	t.Monitor = proxy.Account{User: target.User, Password: target.Password}
	return t, nil
}

// proxyCollector exposes the proxies' counters on /metrics.
type proxyCollector struct{ svc *proxy.Service }

var (
	proxyLabels   = []string{"cluster", "backend", "user"}
	proxyQueries  = prometheus.NewDesc("dbfleet_proxy_queries_total", "Statements the proxy sent to a backend, by proxy user.", proxyLabels, nil)
	proxyErrors   = prometheus.NewDesc("dbfleet_proxy_errors_total", "Statements answered with an error or whose answer failed.", proxyLabels, nil)
	proxyDuration = prometheus.NewDesc("dbfleet_proxy_query_duration_seconds", "Time from sending a statement to a backend to the end of its answer.", proxyLabels, nil)
	proxyPool     = prometheus.NewDesc("dbfleet_proxy_pool_connections", "Backend connections of a pool: open, idle and the maximum.", append(proxyLabels, "state"), nil)
)

func (c proxyCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{proxyQueries, proxyErrors, proxyDuration, proxyPool} {
		ch <- d
	}
}

func (c proxyCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.svc.Stats() {
		lv := []string{s.Cluster, s.Backend, s.User}
		ch <- prometheus.MustNewConstMetric(proxyQueries, prometheus.CounterValue, float64(s.Queries), lv...)
		ch <- prometheus.MustNewConstMetric(proxyErrors, prometheus.CounterValue, float64(s.Errors), lv...)
		buckets := make(map[float64]uint64, len(proxy.LatencyBuckets))
		for i, ub := range proxy.LatencyBuckets {
			buckets[ub] = s.Buckets[i]
		}
		ch <- prometheus.MustNewConstHistogram(proxyDuration, s.Buckets[len(s.Buckets)-1], s.SumSeconds, buckets, lv...)
		for _, st := range []struct {
			name string
			v    int
		}{{"open", s.Open}, {"idle", s.Idle}, {"max", s.Max}} {
			ch <- prometheus.MustNewConstMetric(proxyPool, prometheus.GaugeValue, float64(st.v), append(lv, st.name)...)
		}
	}
}
