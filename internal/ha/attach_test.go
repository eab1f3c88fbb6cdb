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

	// Errant: detached, writable, written to: fenced first (a write until
	// then is judged too), refused with the transaction named, left
	// read-only.
	r.Exec(t, "STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = OFF", "INSERT INTO att.t VALUES (100)")
	_, err = e.ha.Attach(e.ctx, names[1])
	if !errkind.Is(err, errkind.Conflict) || !strings.Contains(err.Error(), "holds transactions") {
		t.Fatalf("attach a node with an errant transaction: %v", err)
	}
	var ro int
	if err := r.DB(t, "").QueryRow("SELECT @@global.read_only").Scan(&ro); err != nil || ro != 1 {
		t.Fatalf("read_only after a refused attach: %d %v", ro, err)
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

// TestAttachNeverRewinds: a plain replica whose SQL thread is stopped and
// whose binary log lags what it applied (reset, as with log_slave_updates
// OFF) resumes from what it applied: its position is not moved back to
// its binary log's (which would re-apply transactions, or with a purged binary log on the primary, error 1236).
func TestAttachNeverRewinds(t *testing.T) {
	c := testenv.StartMariaDBCluster(t, 2)
	e := newEnv(t, nil, fastOptions())
	names := e.addMariaDB("c1", c, nil, ModeNotify)
	p, r := c.Nodes[0], c.Nodes[1]
	p.Exec(t, "CREATE DATABASE IF NOT EXISTS att", "CREATE TABLE att.t (id INT PRIMARY KEY)", "INSERT INTO att.t VALUES (1), (2)")
	c.WaitSync(t)
	// The primary's binary log no longer holds the first transactions (as
	// after a purge): a replica sent back to its empty binary log position
	// is refused (error 1236), where MariaDB's idempotent DDL replay would
	// otherwise hide the rewind.
	r.Exec(t, "STOP SLAVE")
	p.Exec(t, "FLUSH BINARY LOGS")
	var file, pos, doDB, ignoreDB string
	if err := p.DB(t, "").QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &doDB, &ignoreDB); err != nil {
		t.Fatal(err)
	}
	// The server keeps a file until its binlog checkpoint moves past it.
	waitFor(t, 10*time.Second, "the primary purges its first binary logs", func() bool {
		p.Exec(t, "PURGE BINARY LOGS TO '"+file+"'")
		var first string
		return p.DB(t, "").QueryRow("SHOW BINARY LOGS").Scan(&first, &pos) == nil && first == file
	})
	r.Exec(t, "RESET MASTER", "START SLAVE IO_THREAD")
	var before string
	if err := r.DB(t, "").QueryRow("SELECT @@global.gtid_slave_pos").Scan(&before); err != nil || before == "" {
		t.Fatalf("replica position: %q %v", before, err)
	}
	p.Exec(t, "INSERT INTO att.t VALUES (3)")
	res, err := e.ha.Attach(e.ctx, names[1])
	if err != nil || res.Already {
		t.Fatalf("attach a replica with its SQL thread stopped: %+v %v", res, err)
	}
	c.WaitSync(t)
	if st := r.ReplicaStatus(t); st["Slave_SQL_Running"] != "Yes" || st["Last_SQL_Errno"] != "0" {
		t.Fatalf("after attach: SQL %s errno %s %s", st["Slave_SQL_Running"], st["Last_SQL_Errno"], st["Last_SQL_Error"])
	}
	var n int
	if err := r.DB(t, "").QueryRow("SELECT COUNT(*) FROM att.t").Scan(&n); err != nil || n != 3 {
		t.Fatalf("rows on the replica after attach: %d %v", n, err)
	}
}
