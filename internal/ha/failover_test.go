package ha

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// writable lists the nodes with read_only off.
func writableNodes(t *testing.T, c *testenv.MariaDBCluster, skip ...int) []int {
	var out []int
	for i, n := range c.Nodes {
		if slices.Contains(skip, i) {
			continue
		}
		if scalar(t, n.DB(t, ""), "SELECT @@global.read_only") == "0" {
			out = append(out, i)
		}
	}
	return out
}

// TestFailoverKill: kill -9 of the primary under a continuous writer. The
// controller fails over to a replica, repoints the other, updates the
// inventory, records every step; no acknowledged write is lost; when the
// old primary comes back writable (testenv restarts it with read_only off)
// the controller fences it.
func TestFailoverKill(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 3)
	prepareApp(t, c)
	e := newEnv(t, nil, fastOptions())
	names := e.addMariaDB("c1", c, nil, ModeAutomatic)
	w := e.startWriter("c1", names, c)
	w.waitMore(50, 10*time.Second)
	e.runController()
	time.Sleep(time.Second) // a few healthy probes first

	killed := time.Now()
	c.Primary().Kill(t)
	rec := e.waitRecovery("c1", 1, 30*time.Second)
	if rec.State != StateDone {
		t.Fatalf("recovery %s: %s\n%s", rec.State, rec.Error, rec.Text())
	}
	t.Logf("failover done %s after the kill:\n%s", time.Since(killed).Round(time.Millisecond), rec.Text())
	if rec.Origin != OriginAutomatic || rec.OldPrimary != names[0] || rec.NewPrimary == "" || rec.NewPrimary == names[0] {
		t.Fatalf("recovery: %+v", rec)
	}
	if !rec.FencePending {
		t.Error("the dead old primary could not be fenced: fence must be pending")
	}
	var stepNames []string
	for _, s := range rec.Steps {
		stepNames = append(stepNames, s.Name)
		if s.Status != StepDone && !(s.Name == "fence old primary" && s.Status == StepFailed) {
			t.Errorf("step %s on %s: %s %s", s.Name, s.Instance, s.Status, s.Error)
		}
	}
	for _, want := range []string{"stop receiving and apply relay log", "re-read positions and plan", "promote", "update inventory", "repoint", "fence old primary"} {
		if !slices.Contains(stepNames, want) {
			t.Errorf("no step %q in %v", want, stepNames)
		}
	}
	newIdx := slices.Index(names, rec.NewPrimary)
	other := 3 - newIdx
	if e.role(rec.NewPrimary) != inventory.RolePrimary || e.role(names[0]) != inventory.RoleReplica {
		t.Errorf("inventory roles: new %s=%q, old %s=%q", rec.NewPrimary, e.role(rec.NewPrimary), names[0], e.role(names[0]))
	}
	// Writes resume on the new primary and reach the repointed replica.
	w.waitMore(50, 15*time.Second)
	if got := writableNodes(t, c, 0); !slices.Equal(got, []int{newIdx}) {
		t.Errorf("writable nodes %v, want only %d", got, newIdx)
	}
	st := c.Nodes[other].ReplicaStatus(t)
	if st["Master_Port"] != itoa(c.Nodes[newIdx].Port) || st["Slave_IO_Running"] != "Yes" || st["Using_Gtid"] != "Slave_Pos" {
		t.Errorf("other replica: master port %s io %s gtid %s, want %d Yes Slave_Pos", st["Master_Port"], st["Slave_IO_Running"], st["Using_Gtid"], c.Nodes[newIdx].Port)
	}
	w.checkNoLoss(c.Nodes[newIdx])

	// The old primary comes back writable: the controller fences it.
	c.Primary().Start(t)
	deadline := time.Now().Add(15 * time.Second)
	for scalar(t, c.Primary().DB(t, ""), "SELECT @@global.read_only") != "1" {
		if time.Now().After(deadline) {
			t.Fatal("the old primary came back writable and was not fenced")
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, 10*time.Second, "fence recorded", func() bool {
		r, _ := e.ha.Recovery(e.ctx, rec.ID)
		return !r.FencePending
	})
	if k := e.notes.kinds(); !slices.Contains(k, KindFailover) || !slices.Contains(k, "fence") {
		t.Errorf("notifications %v, want a failover and a fence", k)
	}

	// Anti-flap: the new primary dies too; the unacknowledged failover
	// blocks the second one until it is acknowledged.
	c.Nodes[newIdx].Kill(t)
	time.Sleep(3 * time.Second)
	list, _ := e.ha.Recoveries(e.ctx, "c1", 10)
	if len(list) != 1 {
		t.Fatalf("a second automatic failover ran during the anti-flap period: %d recoveries", len(list))
	}
	if !slices.Contains(e.notes.kinds(), "dead_primary") {
		t.Errorf("no dead_primary notification while blocked: %v", e.notes.kinds())
	}
	st2, err := e.ha.Status(e.ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if st2.Action.Kind != ActBlocked {
		t.Errorf("action while blocked = %+v", st2.Action)
	}
	if _, err := e.ha.Ack(e.ctx, rec.ID, "checked, old primary fenced"); err != nil {
		t.Fatal(err)
	}
	rec2 := e.waitRecovery("c1", 2, 30*time.Second)
	if rec2.State != StateDone || rec2.OldPrimary != rec.NewPrimary {
		t.Fatalf("second failover after ack: %s\n%s", rec2.State, rec2.Text())
	}
	if _, err := e.ha.Ack(e.ctx, rec.ID, "again"); err == nil || !strings.Contains(err.Error(), "already acknowledged") {
		t.Errorf("second ack: %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFailoverHung: SIGSTOP of the primary. dbfleet's probes time out;
// the replicas' receivers stay "Yes" but hear no heartbeat: after three
// heartbeat periods they count as having lost it and the controller fails
// over. When the old primary resumes (SIGCONT) it is fenced.
//
// With semi-synchronous replication the writer's last commit on the old
// primary waits for an acknowledgement no replica will send; the fence
// must not wait for it (it closes the sessions first).
func TestFailoverHung(t *testing.T) {
	t.Run("async", func(t *testing.T) { testHung(t, false) })
	t.Run("semisync", func(t *testing.T) { testHung(t, true) })
}

func testHung(t *testing.T, semi bool) {
	c := testenv.StartMariaDBCluster(t, 3)
	if semi {
		enableSemiSync(t, c)
	}
	prepareApp(t, c)
	heartbeat(t, c)
	e := newEnv(t, nil, fastOptions())
	names := e.addMariaDB("c1", c, nil, ModeAutomatic)
	w := e.startWriter("c1", names, c)
	w.waitMore(30, 10*time.Second)
	e.runController()
	time.Sleep(time.Second)

	stopped := time.Now()
	signal(t, c.Primary(), syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(pid(t, c.Primary()), syscall.SIGCONT) })
	rec := e.waitRecovery("c1", 1, 30*time.Second)
	if rec.State != StateDone {
		t.Fatalf("recovery %s: %s\n%s", rec.State, rec.Error, rec.Text())
	}
	t.Logf("hung primary failed over %s after SIGSTOP:\n%s", time.Since(stopped).Round(time.Millisecond), rec.Text())
	if p := rec.Diagnosis.Has(CodeDeadPrimary); p == nil || !strings.Contains(strings.Join(p.Evidence, "\n"), "not even a heartbeat") {
		t.Errorf("diagnosis evidence should show the stalled receivers: %+v", rec.Diagnosis)
	}
	w.waitMore(30, 15*time.Second)
	newIdx := slices.Index(names, rec.NewPrimary)
	w.checkNoLoss(c.Nodes[newIdx])

	signal(t, c.Primary(), syscall.SIGCONT)
	resumed := time.Now()
	stray := make(chan error, 1)
	if semi {
		// A client still connected to the old primary writes as soon as it
		// resumes: with semi-sync its commit waits for an acknowledgement
		// no replica will send, which a fence must not wait for.
		go func() {
			db, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(127.0.0.1:%d)/app", appUser, appPassword, c.Primary().Port))
			if err != nil {
				stray <- err
				return
			}
			defer db.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err = db.ExecContext(ctx, "INSERT INTO t (id) VALUES (-1)")
			stray <- err
		}()
	}
	waitFor(t, 15*time.Second, "old primary fenced after SIGCONT", func() bool {
		r, _ := e.ha.Recovery(e.ctx, rec.ID)
		return !r.FencePending
	})
	// Within a couple of probes, not after rpl_semi_sync_master_timeout.
	if took := time.Since(resumed); took > 4*time.Second {
		t.Errorf("the resumed old primary was fenced only %s after it resumed", took.Round(time.Millisecond))
	}
	if semi {
		select {
		case err := <-stray:
			if err == nil {
				t.Error("a write on the fenced old primary was acknowledged")
			}
		case <-time.After(5 * time.Second):
			t.Error("a write on the old primary still waits after the fence")
		}
	}
	if got := writableNodes(t, c); !slices.Equal(got, []int{newIdx}) {
		t.Errorf("writable nodes after the old primary resumed: %v, want only %d", got, newIdx)
	}
}

// TestFailoverFailsMidway: a repoint fails; the recovery stops as failed,
// records where, keeps the new primary, says how to finish by hand, and
// blocks the next automatic failover until acknowledged.
func TestFailoverFailsMidway(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 3)
	e := newEnv(t, nil, fastOptions())
	names := e.addMariaDB("c1", c, nil, ModeNotify)
	c.Primary().Kill(t)
	waitFor(t, 10*time.Second, "dead primary diagnosed", func() bool {
		st, err := e.ha.Status(e.ctx, "c1")
		return err == nil && st.Diagnosis.Has(CodeDeadPrimary) != nil
	})
	// Prefer db2 so that db3 is the one repointed.
	if _, err := e.ha.SetPromotion(e.ctx, names[1], RulePrefer); err != nil {
		t.Fatal(err)
	}
	e.ha.failStep = "repoint " + names[2]
	rec, err := e.ha.Failover(e.ctx, "c1", FailoverOptions{})
	if err == nil || rec.State != StateFailed {
		t.Fatalf("failover: state %s err %v", rec.State, err)
	}
	t.Logf("%s", rec.Text())
	if rec.NewPrimary != names[1] {
		t.Errorf("new primary %q, want %s", rec.NewPrimary, names[1])
	}
	last := rec.Steps[len(rec.Steps)-1]
	failed := slices.IndexFunc(rec.Steps, func(s Step) bool { return s.Status == StepFailed && s.Name == "repoint" })
	if failed < 0 || rec.Steps[failed].Instance != names[2] {
		t.Fatalf("no failed repoint step of %s: %+v", names[2], rec.Steps)
	}
	_ = last
	text := strings.Join(rec.NextSteps, "\n")
	for _, want := range []string{"on " + names[2] + ": STOP SLAVE; CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=" + itoa(c.Nodes[1].Port),
		"MASTER_USE_GTID=slave_pos", "dbfleet cluster ack"} {
		if !strings.Contains(text, want) {
			t.Errorf("next steps lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, c.ReplPassword) {
		t.Error("next steps reveal the replication password")
	}
	if got := writableNodes(t, c, 0); !slices.Equal(got, []int{1}) {
		t.Errorf("writable nodes %v, want the new primary only", got)
	}
	// The stored record says the same.
	stored, err := e.ha.Recovery(e.ctx, rec.ID)
	if err != nil || stored.State != StateFailed || len(stored.Steps) != len(rec.Steps) || stored.Acked() {
		t.Errorf("stored recovery: %+v %v", stored, err)
	}
	b, err := e.ha.st.blocker(e.ctx, e.db, "c1", time.Hour)
	if err != nil || b == nil || b.ID != rec.ID {
		t.Errorf("a failed recovery must block automatic failovers: %v %v", b, err)
	}
	// A DBA finishes by hand with the printed statement.
	c.Nodes[2].Exec(t, "STOP SLAVE", c.ChangeMasterTo(c.Nodes[1]), "START SLAVE")
	if _, err := e.ha.Ack(e.ctx, rec.ID, "repointed db3 by hand"); err != nil {
		t.Fatal(err)
	}
}

// TestManualFailoverRefusals: a live primary needs a switchover (or
// --force); a refused plan changes nothing.
func TestManualFailoverRefusals(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 2)
	e := newEnv(t, nil, fastOptions())
	names := e.addMariaDB("c1", c, nil, ModeOff)
	rec, err := e.ha.Failover(e.ctx, "c1", FailoverOptions{})
	if err == nil || rec.State != StateAborted || !strings.Contains(rec.Error, "answers") {
		t.Fatalf("failover of a live primary: %s %v", rec.State, err)
	}
	if e.role(names[0]) != inventory.RolePrimary {
		t.Error("a refused failover changed the inventory")
	}
	// Forced: the live primary is fenced first, then replaced.
	rec, err = e.ha.Failover(e.ctx, "c1", FailoverOptions{Force: true})
	if err != nil || rec.State != StateDone {
		t.Fatalf("forced failover: %v\n%s", err, rec.Text())
	}
	if rec.Steps[0].Name != "fence old primary" {
		t.Errorf("first step %q, want the fence", rec.Steps[0].Name)
	}
	if got := writableNodes(t, c); !slices.Equal(got, []int{1}) {
		t.Errorf("writable nodes %v, want only the new primary", got)
	}
	if !rec.Acked() {
		t.Error("a manual recovery that succeeded is acknowledged by whoever ran it")
	}
}

// TestPartitionNoFailover: dbfleet reaches every node through its own
// TCP proxy; replicas replicate directly. Cutting dbfleet's proxy to the
// primary (a black hole: connections hang) must not trigger a failover:
// the replicas still see the primary. Cutting every proxy must not either.
func TestPartitionNoFailover(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 3)
	prepareApp(t, c)
	proxies := make([]*tcpProxy, 3)
	ports := make([]int, 3)
	for i, n := range c.Nodes {
		proxies[i] = startProxy(t, n.Port)
		ports[i] = proxies[i].port
	}
	e := newEnv(t, nil, fastOptions())
	names := e.addMariaDB("c1", c, ports, ModeAutomatic)
	w := e.startWriter("c1", names, c) // the application reaches the primary directly
	e.runController()
	time.Sleep(time.Second)
	st, err := e.ha.Status(e.ctx, "c1")
	if err != nil || len(st.Diagnosis.Problems) != 0 {
		t.Fatalf("through the proxies the cluster should be healthy: %v\n%s", err, st.Tree)
	}

	proxies[0].cut(t)
	waitFor(t, 10*time.Second, "unreachable primary diagnosed", func() bool {
		st, err := e.ha.Status(e.ctx, "c1")
		return err == nil && st.Diagnosis.Has(CodeUnreachablePrimary) != nil
	})
	st, _ = e.ha.Status(e.ctx, "c1")
	t.Logf("controller cut from the primary:\n%s", st.Tree)
	if st.Action.Kind != ActReprobe {
		t.Errorf("action %+v, want reprobe", st.Action)
	}
	time.Sleep(4 * time.Second) // many probe cycles
	for _, p := range proxies[1:] {
		p.cut(t)
	}
	time.Sleep(3 * time.Second)
	if list, _ := e.ha.Recoveries(e.ctx, "c1", 10); len(list) != 0 {
		t.Fatalf("a partition between dbfleet and the primary triggered %d recovery(ies): %s", len(list), list[0].Text())
	}
	w.waitMore(20, 5*time.Second) // the primary still takes writes
	if got := writableNodes(t, c); !slices.Equal(got, []int{0}) {
		t.Errorf("writable nodes %v", got)
	}
	for _, p := range proxies {
		p.heal(t)
	}
	waitFor(t, 10*time.Second, "healthy again", func() bool {
		st, err := e.ha.Status(e.ctx, "c1")
		return err == nil && len(st.Diagnosis.Problems) == 0
	})
	w.checkNoLoss(c.Primary())
}

// TestSwitchover: a planned switchover under a continuous writer loses
// nothing, leaves one writable node, attaches the old primary under the
// new one; a second switchover goes back.
func TestSwitchover(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 3)
	prepareApp(t, c)
	e := newEnv(t, nil, fastOptions())
	names := e.addMariaDB("c1", c, nil, ModeAutomatic)
	w := e.startWriter("c1", names, c)
	w.waitMore(50, 10*time.Second)

	rec, err := e.ha.Switchover(e.ctx, "c1", names[2])
	if err != nil {
		t.Fatalf("switchover: %v\n%s", err, rec.Text())
	}
	t.Logf("%s", rec.Text())
	w.waitMore(50, 10*time.Second)
	if got := writableNodes(t, c); !slices.Equal(got, []int{2}) {
		t.Errorf("writable nodes %v, want only node 2", got)
	}
	for _, i := range []int{0, 1} {
		st := c.Nodes[i].ReplicaStatus(t)
		if st["Master_Port"] != itoa(c.Nodes[2].Port) || st["Slave_IO_Running"] != "Yes" || st["Slave_SQL_Running"] != "Yes" {
			t.Errorf("node %d: %s io=%s sql=%s err=%s %s", i, st["Master_Port"], st["Slave_IO_Running"], st["Slave_SQL_Running"], st["Last_IO_Error"], st["Last_SQL_Error"])
		}
	}
	st, err := e.ha.Status(e.ctx, "c1")
	if err != nil || len(st.Diagnosis.Problems) != 0 || st.Diagnosis.Primary != names[2] {
		t.Errorf("after the switchover: %v\n%s", err, st.Tree)
	}
	// And back, without naming a target: the most advanced eligible one.
	if _, err := e.ha.SetPromotion(e.ctx, names[1], RuleNever); err != nil {
		t.Fatal(err)
	}
	rec, err = e.ha.Switchover(e.ctx, "c1", "")
	if err != nil || rec.NewPrimary != names[0] {
		t.Fatalf("switchover back: %v\n%s", err, rec.Text())
	}
	w.waitMore(50, 10*time.Second)
	c.WaitSync(t)
	w.checkNoLoss(c.Primary())
	want := scalar(t, c.Primary().DB(t, ""), "SELECT COUNT(*) FROM app.t")
	for _, i := range []int{1, 2} {
		if n := scalar(t, c.Nodes[i].DB(t, ""), "SELECT COUNT(*) FROM app.t"); n != want {
			t.Errorf("node %d has %s rows, the primary %s", i, n, want)
		}
	}
	// Refusals change nothing.
	if rec, err := e.ha.Switchover(e.ctx, "c1", names[1]); err == nil || rec.State != StateAborted || !strings.Contains(rec.Error, "never") {
		t.Errorf("switchover to a never replica: %v %s", err, rec.State)
	}
}

// TestSwitchoverRollback: when the target cannot catch up in time, the old
// primary takes writes again and nothing else changes.
func TestSwitchoverRollback(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 2)
	prepareApp(t, c)
	opt := fastOptions()
	opt.SwitchoverTimeout = time.Second
	e := newEnv(t, nil, opt)
	names := e.addMariaDB("c1", c, nil, ModeOff)
	// The replica's applier is stopped: it will not reach the last write.
	c.Nodes[1].Exec(t, "STOP SLAVE SQL_THREAD")
	c.Primary().Exec(t, "INSERT INTO app.t (id) VALUES (1)")
	rec, err := e.ha.Switchover(e.ctx, "c1", names[1])
	if err == nil {
		t.Fatal("switchover to a replica whose applier is stopped must fail")
	}
	// It was refused by the plan (not running) or rolled back.
	if rec.State != StateAborted {
		t.Fatalf("state %s: %s", rec.State, rec.Error)
	}
	// Start the applier but keep it from catching up: lock the table the
	// pending write needs.
	c.Nodes[1].Exec(t, "START SLAVE SQL_THREAD")
	c.WaitSync(t)
	hold := c.Nodes[1].DB(t, "")
	conn, err := hold.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "LOCK TABLES app.t WRITE"); err != nil {
		t.Fatal(err)
	}
	c.Primary().Exec(t, "INSERT INTO app.t (id) VALUES (2)")
	rec, err = e.ha.Switchover(e.ctx, "c1", names[1])
	if err == nil || rec.State != StateAborted || !strings.Contains(rec.Error, "rolled back") {
		t.Fatalf("switchover with a stuck target: %v\n%s", err, rec.Text())
	}
	conn.ExecContext(context.Background(), "UNLOCK TABLES")
	if got := writableNodes(t, c); !slices.Equal(got, []int{0}) {
		t.Errorf("after the rollback writable nodes are %v, want the old primary", got)
	}
	if e.role(names[0]) != inventory.RolePrimary {
		t.Error("rollback changed the inventory")
	}
}
