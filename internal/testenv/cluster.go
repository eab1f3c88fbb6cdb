package testenv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// MariaDBCluster is a primary and its replicas, replicating with GTIDs
// (MASTER_USE_GTID=slave_pos).
type MariaDBCluster struct {
	// Nodes[0] is the primary; Nodes[i] has server_id i+1. All share the
	// superuser's password.
	Nodes []*MariaDB
	// ReplUser/ReplPassword: the replication account (REPLICATION SLAVE
	// from '%'), present on every node so that any node can become a
	// source, e.g. CHANGE MASTER TO ... after a failover.
	ReplUser, ReplPassword string
}

// Primary is Nodes[0].
func (c *MariaDBCluster) Primary() *MariaDB { return c.Nodes[0] }

// Replicas are Nodes[1:].
func (c *MariaDBCluster) Replicas() []*MariaDB { return c.Nodes[1:] }

// StartMariaDBCluster starts n servers (concurrently), makes Nodes[1:]
// read-only replicas of Nodes[0], and returns once every replica's IO and
// SQL threads run and a write on the primary has reached all of them.
// Options apply to every node; server ids and the password are the
// cluster's.
func StartMariaDBCluster(t testing.TB, n int, opts ...MariaDBOption) *MariaDBCluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("testenv: a cluster needs at least one node, not %d", n)
	}
	bins := requireMariaDB(t)
	began := time.Now()
	password := secret("secret-")
	c := &MariaDBCluster{Nodes: make([]*MariaDB, n), ReplUser: "repl", ReplPassword: secret("repl-")}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var cfg mariadbConfig
			for _, o := range slices.Concat(opts, []MariaDBOption{MariaDBServerID(i + 1), MariaDBPassword(password)}) {
				o(&cfg)
			}
			c.Nodes[i], errs[i] = startMariaDB(t, bins, cfg)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}

	for _, node := range c.Nodes {
		node.Exec(t,
			"SET SESSION sql_log_bin = 0",
			fmt.Sprintf("CREATE USER %s@'%%' IDENTIFIED BY %s", sqlString(c.ReplUser), sqlString(c.ReplPassword)),
			fmt.Sprintf("GRANT REPLICATION SLAVE ON *.* TO %s@'%%'", sqlString(c.ReplUser)),
		)
	}
	for _, r := range c.Replicas() {
		r.Exec(t,
			"SET GLOBAL read_only = ON",
			c.ChangeMasterTo(c.Primary()),
			"START SLAVE",
		)
	}
	c.waitRunning(t)

	// Prove replication end to end, then leave no trace but the GTIDs.
	c.Primary().Exec(t,
		"CREATE DATABASE testenv_probe",
		"CREATE TABLE testenv_probe.t (id INT PRIMARY KEY)",
		"INSERT INTO testenv_probe.t VALUES (1)",
	)
	c.WaitSync(t)
	for _, r := range c.Replicas() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		row, err := r.queryRow(ctx, "SELECT COUNT(*) AS n FROM testenv_probe.t")
		cancel()
		if err != nil || row["n"] != "1" {
			t.Fatalf("testenv: %s: the primary's probe row did not arrive (%v, %v)", r.where(), row, err)
		}
	}
	c.Primary().Exec(t, "DROP DATABASE testenv_probe")
	c.WaitSync(t)
	t.Logf("testenv: mariadb cluster of %d ready in %s", n, time.Since(began).Round(time.Millisecond))
	return c
}

// ChangeMasterTo is the statement that points a node at source with the
// cluster's replication account, using GTIDs.
func (c *MariaDBCluster) ChangeMasterTo(source *MariaDB) string {
	return fmt.Sprintf("CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%d, MASTER_USER=%s, MASTER_PASSWORD=%s, "+
		"MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
		sqlString(source.Host), source.Port, sqlString(c.ReplUser), sqlString(c.ReplPassword))
}

// waitRunning waits until every replica's IO and SQL threads run.
func (c *MariaDBCluster) waitRunning(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, r := range c.Replicas() {
		for {
			st := r.ReplicaStatus(t)
			if st["Slave_IO_Running"] == "Yes" && st["Slave_SQL_Running"] == "Yes" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal(r.proc.failure(fmt.Errorf("%s: replication threads not running after 30s: io=%q sql=%q io_error=%q sql_error=%q",
					r.where(), st["Slave_IO_Running"], st["Slave_SQL_Running"], st["Last_IO_Error"], st["Last_SQL_Error"])))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// WaitSync waits (up to 30 s) until every replica has applied everything
// in the primary's binary log: its gtid_slave_pos reaches the primary's
// gtid_binlog_pos (MASTER_GTID_WAIT).
func (c *MariaDBCluster) WaitSync(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	row, err := c.Primary().queryRow(ctx, "SELECT @@global.gtid_binlog_pos AS pos")
	if err != nil {
		t.Fatalf("testenv: %s: read gtid_binlog_pos: %v", c.Primary().where(), err)
	}
	pos := row["pos"]
	if pos == "" {
		return
	}
	for _, r := range c.Replicas() {
		res, err := r.queryRow(ctx, "SELECT MASTER_GTID_WAIT(?, 30) AS res", pos)
		if err != nil {
			t.Fatalf("testenv: %s: wait for gtid %s: %v", r.where(), pos, err)
		}
		if res["res"] != "0" {
			st := r.ReplicaStatus(t)
			t.Fatalf("testenv: %s: did not reach the primary's gtid %s within 30s (MASTER_GTID_WAIT=%q, gtid_slave_pos behind; io=%q sql=%q io_error=%q sql_error=%q)",
				r.where(), pos, res["res"], st["Slave_IO_Running"], st["Slave_SQL_Running"], st["Last_IO_Error"], st["Last_SQL_Error"])
		}
	}
}
