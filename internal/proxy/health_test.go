package proxy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/proxy/route"
)

func lag(f float64) *float64 { return &f }

func TestJudge(t *testing.T) {
	running := func(l *float64, gtid string) engine.Replication {
		return engine.Replication{ReadOnly: true, Source: &engine.Upstream{IORunning: true, SQLRunning: true, LagSeconds: l}, GTIDCurrent: gtid}
	}
	primaryPos := parseGTIDs("0-1-100,1-1-7")
	tests := []struct {
		name    string
		r       engine.Replication
		err     error
		prev    replicaHealth
		seen    bool
		want    bool
		because string
	}{
		{"healthy", running(lag(0), "0-1-100,1-1-7"), nil, replicaHealth{}, false, true, ""},
		{"unreachable", engine.Replication{}, errors.New("refused"), replicaHealth{Eligible: true}, true, false, "unreachable"},
		{"not a replica", engine.Replication{}, nil, replicaHealth{}, false, false, "not replicating"},
		{"sql thread stopped", engine.Replication{ReadOnly: true, Source: &engine.Upstream{IORunning: true, LagSeconds: lag(0)}}, nil, replicaHealth{}, false, false, "replication stopped"},
		{"io thread stopped", engine.Replication{ReadOnly: true, Source: &engine.Upstream{SQLRunning: true, LagSeconds: lag(0)}}, nil, replicaHealth{}, false, false, "replication stopped"},
		{"writable", engine.Replication{Source: &engine.Upstream{IORunning: true, SQLRunning: true, LagSeconds: lag(0)}, GTIDCurrent: "0-1-100,1-1-7"}, nil, replicaHealth{Eligible: true}, true, false, "writable"},
		{"lag unknown", running(nil, ""), nil, replicaHealth{}, false, false, "lag unknown"},
		{"lagging", running(lag(6), ""), nil, replicaHealth{Eligible: true}, true, false, "lagging"},
		{"at the limit", running(lag(5), "0-1-1"), nil, replicaHealth{Eligible: true}, true, true, ""},
		{"back but behind the primary", running(lag(0), "0-1-99,1-1-7"), nil, replicaHealth{}, true, false, "catching up"},
		{"back but a domain behind", running(lag(0), "0-1-100"), nil, replicaHealth{}, true, false, "catching up"},
		{"back and caught up", running(lag(0), "0-1-100,1-1-8"), nil, replicaHealth{}, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := judge(tt.r, tt.err, tt.prev, tt.seen, 5*time.Second, primaryPos)
			if h.Eligible != tt.want || h.Reason != tt.because {
				t.Errorf("judge = %+v, want eligible %v because %q", h, tt.want, tt.because)
			}
		})
	}
}

// A replica whose SQL thread stops leaves the read pool at the next check
// and comes back once restarted and caught up.
func TestStoppedReplicaLeavesAndReturns(t *testing.T) {
	c := cluster.Get(t)
	addr, p := startProxy(t, func(o *Options, _ *Topology, _ *User) {
		o.Monitor = Account{User: c.Primary().User, Password: c.Primary().Password}
	})
	rep := c.Replicas()[0]
	read := func() int {
		t.Helper()
		db := openDB(t, addr, "app")
		defer db.Close()
		return serverID(t, db, whoami)
	}
	p.check(t.Context(), nil)
	if got := read(); got != 2 {
		t.Fatalf("read on %d before the stop, want the replica", got)
	}
	rep.Exec(t, "STOP SLAVE SQL_THREAD")
	t.Cleanup(func() { rep.Exec(t, "START SLAVE SQL_THREAD") })
	p.check(t.Context(), nil)
	if got := read(); got != 1 {
		t.Errorf("read on %d with the replica stopped, want the primary", got)
	}
	if h := p.Status().Replicas; len(h) != 1 || h[0].Eligible || h[0].Reason != "replication stopped" {
		t.Errorf("status: %+v", h)
	}
	rep.Exec(t, "START SLAVE SQL_THREAD")
	c.WaitSync(t)
	p.check(t.Context(), nil) // learns the primary's position
	p.check(t.Context(), nil)
	if got := read(); got != 2 {
		t.Errorf("read on %d after the restart, want the replica", got)
	}
}

// After its own write, a session never reads older data: while the
// replica does not apply (SQL thread stopped, still in the pool because
// no check ran), the read goes to the primary; once it applies, the read
// waits for the write's GTID there.
func TestCausalReads(t *testing.T) {
	c := cluster.Get(t)
	addr, p := startProxy(t, func(o *Options, _ *Topology, _ *User) { o.CausalReads = true })
	rep := c.Replicas()[0]
	db := openDB(t, addr, "app")
	ctx := t.Context()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rep.Exec(t, "STOP SLAVE SQL_THREAD")
	t.Cleanup(func() { rep.Exec(t, "START SLAVE SQL_THREAD") })
	for i := range 3 {
		want := "v" + strconv.Itoa(i) + time.Now().Format("150405.000000")
		if _, err := conn.ExecContext(ctx, "REPLACE INTO t VALUES (100, ?)", want); err != nil {
			t.Fatal(err)
		}
		var got string
		var sid int
		if err := conn.QueryRowContext(ctx, "SELECT t.v, w.id FROM t, app.whoami w WHERE t.id = 100").Scan(&got, &sid); err != nil {
			t.Fatal(err)
		}
		if got != want || sid != 1 {
			t.Errorf("read after write %d: %q on %d, want %q on the primary", i, got, sid, want)
		}
	}
	if p.causalPrimary.Load() != 3 {
		t.Errorf("%d reads sent to the primary, want 3", p.causalPrimary.Load())
	}
	rep.Exec(t, "START SLAVE SQL_THREAD")
	p.opts.CausalTimeout = 5 * time.Second
	for i := range 3 {
		want := "w" + strconv.Itoa(i)
		if _, err := conn.ExecContext(ctx, "REPLACE INTO t VALUES (100, ?)", want); err != nil {
			t.Fatal(err)
		}
		var got string
		var sid int
		if err := conn.QueryRowContext(ctx, "SELECT t.v, w.id FROM t, app.whoami w WHERE t.id = 100").Scan(&got, &sid); err != nil {
			t.Fatal(err)
		}
		if got != want || sid != 2 {
			t.Errorf("read after write %d: %q on %d, want %q on the replica", i, got, sid, want)
		}
	}
	if p.causalWaits.Load() != 3 {
		t.Errorf("%d reads waited on the replica, want 3", p.causalWaits.Load())
	}
}

// Between the HA controller's pre- and post- events new writes wait and
// then go to the new primary; reads keep flowing; the old primary is
// fenced; a transaction open on the old primary fails instead of going on
// elsewhere.
func TestFailoverHoldsWrites(t *testing.T) {
	c := cluster.Get(t)
	newPrimary := hostPort(c.Primary().Host, c.Primary().Port)
	oldPrimary := "127.0.0.1:1" // the old primary is gone
	addr, p := startProxy(t, func(_ *Options, topo *Topology, _ *User) {
		topo.Primary = Backend{Name: "old", Addr: oldPrimary}
	})
	db := openDB(t, addr, "app")
	ctx := t.Context()
	p.HandleHA(HAEvent{Event: "pre-failover", OldPrimaryAddr: oldPrimary})
	done := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(ctx, "REPLACE INTO t VALUES (200, 'held')")
		done <- err
	}()
	for p.waiting() == 0 {
		select {
		case err := <-done:
			t.Fatalf("write not held: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if got := serverID(t, db, whoami); got != 2 {
		t.Errorf("read during the failover on %d, want the replica", got)
	}
	p.HandleHA(HAEvent{Event: "post-failover", OldPrimaryAddr: oldPrimary, NewPrimary: "n1", NewPrimaryAddr: newPrimary})
	if err := <-done; err != nil {
		t.Fatalf("held write: %v", err)
	}
	var v string
	if err := c.Primary().DB(t, "app").QueryRowContext(ctx, "SELECT v FROM t WHERE id = 200").Scan(&v); err != nil || v != "held" {
		t.Errorf("held write on the new primary: %q, %v", v, err)
	}
	if !p.isFenced(oldPrimary) {
		t.Error("old primary not fenced")
	}

	// A transaction open when the primary changes fails.
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "REPLACE INTO t VALUES (201, 'tx')"); err != nil {
		t.Fatal(err)
	}
	p.HandleHA(HAEvent{Event: "pre-switchover", OldPrimaryAddr: newPrimary})
	p.HandleHA(HAEvent{Event: "post-switchover", OldPrimaryAddr: newPrimary, NewPrimaryAddr: "127.0.0.1:2"})
	var me *mysql.MySQLError
	if _, err := conn.ExecContext(ctx, "COMMIT"); err == nil || errors.As(err, &me) && me.Number != 2013 {
		t.Errorf("commit after the primary changed: %v, want the transaction lost", err)
	}
}

// The hold ends with its window even without a post- event, and the
// queue of held writes is bounded.
func TestFailoverHoldWindowAndQueue(t *testing.T) {
	c := cluster.Get(t)
	primary := hostPort(c.Primary().Host, c.Primary().Port)
	const window = 300 * time.Millisecond
	addr, p := startProxy(t, func(o *Options, _ *Topology, _ *User) {
		o.HoldWindow = window
		o.HoldQueue = 1
	})
	db := openDB(t, addr, "app")
	ctx := t.Context()
	p.HandleHA(HAEvent{Event: "pre-failover", OldPrimaryAddr: primary})
	began := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(ctx, "REPLACE INTO t VALUES (202, 'late')")
		done <- err
	}()
	for p.waiting() == 0 {
		select {
		case err := <-done:
			t.Fatalf("write not held: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	var me *mysql.MySQLError
	_, err := db.ExecContext(ctx, "REPLACE INTO t VALUES (203, 'over')")
	if !errors.As(err, &me) || !strings.Contains(me.Message, errHoldFull.Error()) {
		t.Errorf("write over the queue: %v, want %q", err, errHoldFull)
	}
	if err := <-done; err != nil {
		t.Fatalf("held write after the window: %v", err)
	}
	if d := time.Since(began); d < window {
		t.Errorf("held write ran after %s, before the window (%s) ended", d, window)
	}
	if p.Status().Holding {
		t.Error("still holding after the window")
	}
}

// A primary that cannot be reached holds new writes until the topology
// names another one, instead of failing them.
func TestUnreachablePrimaryHoldsWrites(t *testing.T) {
	c := cluster.Get(t)
	addr, p := startProxy(t, func(_ *Options, topo *Topology, _ *User) {
		topo.Primary = Backend{Name: "dead", Addr: "127.0.0.1:1"}
	})
	db := openDB(t, addr, "app")
	done := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(t.Context(), "REPLACE INTO t VALUES (210, 'after the failover')")
		done <- err
	}()
	for p.waiting() == 0 {
		select {
		case err := <-done:
			t.Fatalf("write not held: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if got := serverID(t, db, whoami); got != 2 {
		t.Errorf("read while the primary is away on %d, want the replica", got)
	}
	topo := p.Topology()
	topo.Primary = Backend{Name: "n1", Addr: hostPort(c.Primary().Host, c.Primary().Port)}
	p.SetTopology(topo)
	if err := <-done; err != nil {
		t.Fatalf("held write: %v", err)
	}
}

// A user kept on replicas (--route replica) never reaches the primary: with
// no eligible replica (none configured, or the only one writable) its
// statements fail instead of running on the primary.
func TestForcedReplicaNeverFallsBackToPrimary(t *testing.T) {
	c := cluster.Get(t)
	rep := c.Replicas()[0]
	replica := route.Replica
	tests := []struct {
		name   string
		mut    func(*Options, *Topology, *User)
		before func(t *testing.T, p *Proxy)
	}{
		{"no replica", func(_ *Options, topo *Topology, _ *User) { topo.Replicas = nil }, func(*testing.T, *Proxy) {}},
		{"writable replica", nil, func(t *testing.T, p *Proxy) {
			rep.Exec(t, "SET GLOBAL read_only = OFF")
			t.Cleanup(func() { rep.Exec(t, "SET GLOBAL read_only = ON") })
			p.check(t.Context(), nil)
			if h := p.Status().Replicas; len(h) != 1 || h[0].Eligible || h[0].Reason != "writable" {
				t.Errorf("status: %+v", h)
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, p := startProxy(t, func(o *Options, topo *Topology, u *User) {
				o.Monitor = Account{User: c.Primary().User, Password: c.Primary().Password}
				u.Force = &replica
				if tt.mut != nil {
					tt.mut(o, topo, u)
				}
			})
			tt.before(t, p)
			db := openDB(t, addr, "app")
			id := 900 + i
			for _, q := range []string{
				fmt.Sprintf("INSERT INTO app.t VALUES (%d, 'forced')", id),
				whoami,
			} {
				if _, err := db.ExecContext(t.Context(), q); err == nil {
					t.Errorf("%s: ran with no eligible replica", q)
				}
			}
			var n int
			if err := c.Primary().DB(t, "app").QueryRowContext(t.Context(), "SELECT COUNT(*) FROM app.t WHERE id = ?", id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("the forced-replica write reached the primary")
				c.Primary().Exec(t, fmt.Sprintf("DELETE FROM app.t WHERE id = %d", id))
			}
		})
	}
}

// A replica not yet probed takes no reads when the proxy probes: Serve
// judges the replicas before its first session, and a replica unknown to
// the last check is not picked.
func TestUnprobedReplicaIneligible(t *testing.T) {
	c := cluster.Get(t)
	addr, p := startProxy(t, func(o *Options, _ *Topology, _ *User) {
		o.Monitor = Account{User: c.Primary().User, Password: c.Primary().Password}
	})
	db := openDB(t, addr, "app")
	if got := serverID(t, db, whoami); got != 2 {
		t.Errorf("first read on %d, want the replica probed before the first session", got)
	}
	p.mu.Lock()
	clear(p.health)
	p.mu.Unlock()
	if r, ok := p.pickReplica(); ok {
		t.Errorf("picked %s, not yet probed", r.Addr)
	}
	p.check(t.Context(), nil)
	if _, ok := p.pickReplica(); !ok {
		t.Error("no replica picked after the probe")
	}
}
