package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

// The controller's timing (probe every ProbeInterval, confirm a dead
// primary Confirmations times ConfirmInterval apart, tell once, stop
// watching a cluster switched off) in a synctest bubble, over a SQLite
// store opened in the bubble and an engine driver in memory: real servers
// cannot follow the bubble's clock. What the controller does to real
// servers is failover_test.go's.

// memFleet is a driver for a primary and a replica whose liveness the test
// switches. It serves engine.Postgres, probed generically (Replication).
type memFleet struct {
	mu     sync.Mutex
	ports  map[int]string // port -> node name
	dead   map[string]bool
	probes int
}

func (f *memFleet) Kinds() []engine.Kind { return []engine.Kind{engine.Postgres} }

func (f *memFleet) Open(ctx context.Context, t engine.Target) (engine.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := f.ports[t.Port]
	if f.dead[name] {
		return nil, errkind.Wrap(errkind.Unavailable, fmt.Errorf("connect to %s: connection refused", name))
	}
	return &memConn{f: f, name: name}, nil
}

func (f *memFleet) set(name string, dead bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dead[name] = dead
}

func (f *memFleet) probeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.probes
}

type memConn struct {
	engine.Conn // nil: the controller's probe only replicates, pings and closes
	f           *memFleet
	name        string
}

func (c *memConn) Engine() engine.Kind { return engine.Postgres }
func (c *memConn) Close() error        { return nil }

func (c *memConn) Ping(ctx context.Context) error {
	_, err := c.Replication(ctx)
	return err
}

func (c *memConn) Replication(ctx context.Context) (engine.Replication, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	c.f.probes++
	if c.f.dead[c.name] {
		return engine.Replication{}, errors.New("server closed the connection")
	}
	primaryPort := 0
	for port, name := range c.f.ports {
		if name == "p1" {
			primaryPort = port
		}
	}
	if c.name == "p1" {
		return engine.Replication{Role: "primary", Replicas: []engine.Downstream{{Host: "127.0.0.1", State: "streaming"}}}, nil
	}
	lag := 0.0
	up := !c.f.dead["p1"]
	src := &engine.Upstream{Host: "127.0.0.1", Port: primaryPort, IORunning: up, SQLRunning: true, IOState: "streaming"}
	if up {
		src.LagSeconds = &lag
	} else {
		src.IOState, src.LastError = "stopped", "could not connect to the primary server"
	}
	return engine.Replication{Role: "replica", ReadOnly: true, Source: src}, nil
}

// events records what the controller tells people.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) Notify(ctx context.Context, ev Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
	return nil
}

func (e *events) of(kind string) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.all {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

func TestControllerTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db := sqldbtest.SQLite(t)
		log := slog.New(slog.DiscardHandler)
		box, err := secret.New(make([]byte, secret.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		fleet := &memFleet{ports: map[int]string{15432: "p1", 15433: "p2"}, dead: map[string]bool{}}
		engines := engine.NewRegistry(fleet)
		inv := inventory.NewService(db, box, engines, log)
		if _, err := inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := inv.AddCluster(ctx, inventory.Cluster{Name: "c1", Engine: engine.Postgres}); err != nil {
			t.Fatal(err)
		}
		for _, in := range []inventory.NewInstance{
			{Name: "p1", Engine: engine.Postgres, Host: "h", Port: 15432, User: "u", Password: "p", Cluster: "c1", Role: "primary"},
			{Name: "p2", Engine: engine.Postgres, Host: "h", Port: 15433, User: "u", Password: "p", Cluster: "c1", Role: "replica"},
		} {
			if _, err := inv.AddInstance(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		var told events
		const probe, confirm = 5 * time.Second, 2 * time.Second
		s := NewService(db, inv, engines, box, &told, log, "test", Config{
			ProbeInterval: probe, ProbeTimeout: time.Second, Confirmations: 3, ConfirmInterval: confirm,
		})
		defer s.Close()
		mode := ModeNotify
		if _, err := s.SetSettings(ctx, "c1", SettingsPatch{Mode: &mode}); err != nil {
			t.Fatal(err)
		}
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.Run(rctx) }()
		defer func() {
			stop()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}()

		// Healthy: probed every ProbeInterval, nothing told.
		time.Sleep(time.Minute + probe/2)
		if n := fleet.probeCount(); n != 2*13 {
			t.Errorf("%d probes in a minute, want 26 (two nodes, at 0 s and every %s)", n, probe)
		}
		if len(told.all) != 0 {
			t.Fatalf("told %v about a healthy cluster", told.all)
		}

		// The primary dies: found at the next probe, confirmed by two more
		// ConfirmInterval apart, told once.
		died := time.Now()
		fleet.set("p1", true)
		time.Sleep(probe + 2*confirm)
		dead := told.of("dead_primary")
		if len(dead) != 1 {
			t.Fatalf("told %d dead_primary events within %s of the death, want 1 (all: %+v)", len(dead), probe+2*confirm, told.all)
		}
		if want := died.Add(probe/2 + 2*confirm); !dead[0].At.Equal(want) {
			t.Errorf("dead primary told at %s after the death, want %s (next probe, then 2 confirmations)",
				dead[0].At.Sub(died), want.Sub(died))
		}
		time.Sleep(time.Minute)
		if n := len(told.of("dead_primary")); n != 1 {
			t.Errorf("told the same dead primary %d times in a minute, want once", n)
		}
		if list, _ := s.Recoveries(ctx, "c1", 10); len(list) != 0 {
			t.Errorf("notify mode started %d recovery(ies)", len(list))
		}

		// Switched off: no more probes once the controller's refresh saw
		// it.
		off := ModeOff
		if _, err := s.SetSettings(ctx, "c1", SettingsPatch{Mode: &off}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(probe + probe/2)
		before := fleet.probeCount()
		time.Sleep(time.Minute)
		if n := fleet.probeCount() - before; n != 0 {
			t.Errorf("%d probes of a cluster switched off", n)
		}
	})
}
