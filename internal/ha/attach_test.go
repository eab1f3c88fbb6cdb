package ha

import (
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// TestAttach: cluster attach re-attaches a detached node as a replica of
// the primary; it refuses a node holding transactions the primary lacks,
// both those it can see in the positions and a diverged history only the
// server can tell (error 1236), and leaves that node not replicating.
func TestAttach(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 2)
	e := newEnv(t, nil, fastOptions())
	names := e.addMariaDB("c1", c, nil, ModeNotify)
	p, r := c.Nodes[0], c.Nodes[1]
	p.Exec(t, "CREATE DATABASE IF NOT EXISTS att", "CREATE TABLE att.t (id INT PRIMARY KEY)")
	c.WaitSync(t)

	// Already a running replica: nothing changes.
	res, err := e.ha.Attach(e.ctx, names[1])
	if err != nil || !res.Already || res.Primary != names[0] {
		t.Fatalf("attach a running replica: %+v %v", res, err)
	}

	// Detached (an old primary back as a standalone read-only node), the
	// primary moved on: attached, it catches up, declared a replica.
	none := ""
	if _, err := e.inv.UpdateInstance(e.ctx, names[1], inventory.InstancePatch{Role: &none}); err != nil {
		t.Fatal(err)
	}
	r.Exec(t, "STOP SLAVE", "RESET SLAVE ALL")
	p.Exec(t, "INSERT INTO att.t VALUES (1), (2)")
	res, err = e.ha.Attach(e.ctx, names[1])
	if err != nil || res.Already || len(res.Steps) != 3 {
		t.Fatalf("attach a detached node: %+v %v", res, err)
	}
	c.WaitSync(t)
	if st := r.ReplicaStatus(t); st["Slave_IO_Running"] != "Yes" || st["Slave_SQL_Running"] != "Yes" {
		t.Fatalf("after attach: IO %s SQL %s", st["Slave_IO_Running"], st["Slave_SQL_Running"])
	}
	if role := e.role(names[1]); role != inventory.RoleReplica {
		t.Errorf("declared role after attach: %q", role)
	}

	// Errant: detached, written to: refused with the transaction named.
	r.Exec(t, "STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = OFF", "INSERT INTO att.t VALUES (100)", "SET GLOBAL read_only = ON")
	_, err = e.ha.Attach(e.ctx, names[1])
	if !errkind.Is(err, errkind.Conflict) || !strings.Contains(err.Error(), "holds transactions") {
		t.Fatalf("attach a node with an errant transaction: %v", err)
	}
	// Diverged behind the primary's position: the server would serve it
	// from the next sequence number (no gtid_strict_mode) and hide the
	// divergence; its own binary log ahead of what it applied tells.
	p.Exec(t, "INSERT INTO att.t VALUES (3)", "INSERT INTO att.t VALUES (4)", "INSERT INTO att.t VALUES (5)")
	_, err = e.ha.Attach(e.ctx, names[1])
	if !errkind.Is(err, errkind.Conflict) || !strings.Contains(err.Error(), "written on it, not received") {
		t.Fatalf("attach a diverged node: %v", err)
	}
	if st := r.ReplicaStatus(t); st["Slave_IO_Running"] == "Yes" {
		t.Errorf("a refused attach left the node replicating: %v", st)
	}
}

// TestAttachOldPrimary: after a switchover, the old primary (made a
// replica by it, then detached and written to) is judged against the
// position its successor had when promoted.
func TestAttachOldPrimary(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 2)
	e := newEnv(t, nil, fastOptions())
	names := e.addMariaDB("c1", c, nil, ModeNotify)
	old := c.Nodes[0]
	old.Exec(t, "CREATE DATABASE IF NOT EXISTS att", "CREATE TABLE att.t (id INT PRIMARY KEY)")
	c.WaitSync(t)
	if rec, err := e.ha.Switchover(e.ctx, "c1", names[1]); err != nil {
		t.Fatalf("switchover: %v\n%s", err, rec.Text())
	}
	// The old primary replicates writes of the new one, is detached:
	// attached again as it is (nothing errant).
	c.Nodes[1].Exec(t, "INSERT INTO att.t VALUES (10)", "INSERT INTO att.t VALUES (11)")
	waitFor(t, 10*time.Second, "the old primary applies the new one's writes", func() bool {
		var n int
		old.DB(t, "").QueryRow("SELECT COUNT(*) FROM att.t WHERE id = 11").Scan(&n)
		return n == 1
	})
	old.Exec(t, "STOP SLAVE", "RESET SLAVE ALL")
	if res, err := e.ha.Attach(e.ctx, names[0]); err != nil || res.Already {
		t.Fatalf("attach the old primary: %+v %v", res, err)
	}
	// Detached and written to (as a primary that was not fenced would be):
	// refused, although its position is behind the new primary's.
	old.Exec(t, "STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = OFF", "INSERT INTO att.t VALUES (7)", "SET GLOBAL read_only = ON")
	c.Nodes[1].Exec(t, "INSERT INTO att.t VALUES (1)", "INSERT INTO att.t VALUES (2)", "INSERT INTO att.t VALUES (3)")
	_, err := e.ha.Attach(e.ctx, names[0])
	if !errkind.Is(err, errkind.Conflict) || !strings.Contains(err.Error(), "holds transactions") {
		t.Fatalf("attach an old primary written to after the switchover: %v", err)
	}
}
