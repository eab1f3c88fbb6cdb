package ha

import (
	"testing"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// TestRedisLagByOffset: a Redis replica whose offset reached its source's
// has no lag, whatever master_last_io_seconds_ago said; one behind keeps
// it; MariaDB lags are left alone.
func TestRedisLagByOffset(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name      string
		eng       engine.Kind
		primary   int64
		reachable bool
		replica   int64
		io        string
		lag       *float64
		want      *float64
	}{
		{"idle, caught up", engine.Redis, 500, true, 500, "Yes", f(9), f(0)},
		{"behind", engine.Redis, 500, true, 400, "Yes", f(3), f(3)},
		{"source unreachable", engine.Redis, 500, false, 500, "Yes", f(9), f(9)},
		{"link down", engine.Redis, 500, true, 500, "No", nil, nil},
		{"mariadb untouched", engine.MariaDB, 0, true, 0, "Yes", f(9), f(9)},
	}
	for _, tt := range tests {
		topo := Topology{Engine: tt.eng, Nodes: []Node{
			{Name: "p", Addr: "10.0.0.1:6379", Reachable: tt.reachable, Offset: tt.primary},
			{Name: "r", Addr: "10.0.0.2:6379", Reachable: true, Offset: tt.replica, Source: &Source{Addr: "10.0.0.1:6379", IO: tt.io, Lag: tt.lag}},
		}}
		topo.redisCaughtUp()
		got := topo.Nodes[1].Source.Lag
		if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
			t.Errorf("%s: lag %v, want %v", tt.name, deref(got), deref(tt.want))
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
