package ha

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// ops are the engine-specific actions of a recovery. Each returns a short
// detail for the step record.
type ops interface {
	// freeze stops a replica receiving from the old primary and waits
	// until it applied what it received.
	freeze(ctx context.Context, n *Node) (string, error)
	// catchUp makes cand replicate from `from` until it reaches target,
	// then stop.
	catchUp(ctx context.Context, cand, from *Node, target string) (string, error)
	// promote makes cand a writable primary that follows no one.
	promote(ctx context.Context, cand, old *Node) (string, error)
	// repoint makes n replicate from to.
	repoint(ctx context.Context, n, to *Node) (string, error)
	// fence stops old taking writes (MariaDB: read_only and its clients
	// disconnected; Redis: made a replica of the new primary).
	fence(ctx context.Context, old, to *Node) (string, error)
	// lockWrites stops writes on a live primary and returns its final
	// position.
	lockWrites(ctx context.Context, p *Node) (target, detail string, err error)
	unlockWrites(ctx context.Context, p *Node) error
	// waitFor waits until n has applied target.
	waitFor(ctx context.Context, n *Node, target string, timeout time.Duration) (string, error)
	// attachOld makes the old primary of a switchover a replica of to.
	attachOld(ctx context.Context, old, to *Node) (string, error)
	// manualRepoint and manualFence are what a DBA runs by hand;
	// reattach says what to do with the old primary after a failover.
	manualRepoint(n, to *Node) string
	manualFence(old *Node) string
	reattach(old, to *Node) string
	// freezeStep names the freeze step.
	freezeStep() string
}

func (s *Service) opsFor(k engine.Kind, cluster string) ops {
	if k == engine.Redis {
		return &redisOps{s: s}
	}
	return &mariadbOps{s: s, cluster: cluster}
}

// ---- MariaDB ----

type mariadbOps struct {
	s       *Service
	cluster string
}

func (m *mariadbOps) exec(ctx context.Context, n *Node, stmts ...string) error {
	c, err := m.s.conns.get(ctx, n.Name)
	if err != nil {
		return err
	}
	for _, q := range stmts {
		if _, err := c.Exec(ctx, q); err != nil {
			m.s.conns.drop(n.Name)
			return fmt.Errorf("%s: %s: %w", n.Name, redactStmt(q), err)
		}
	}
	return nil
}

func (m *mariadbOps) query(ctx context.Context, n *Node, q string, args ...any) (map[string]string, error) {
	c, err := m.s.conns.get(ctx, n.Name)
	if err != nil {
		return nil, err
	}
	rows, _, err := c.Query(ctx, 1, q, args...)
	if err != nil {
		m.s.conns.drop(n.Name)
		return nil, fmt.Errorf("%s: %s: %w", n.Name, q, err)
	}
	if len(rows.Values) == 0 {
		return map[string]string{}, nil
	}
	return rows.Record(0), nil
}

// gtidWait waits until n applied pos; it fails on timeout.
func (m *mariadbOps) gtidWait(ctx context.Context, n *Node, pos string, timeout time.Duration) error {
	if pos == "" {
		return nil
	}
	secs := strconv.FormatFloat(timeout.Seconds(), 'f', 3, 64)
	rec, err := m.query(ctx, n, "SELECT MASTER_GTID_WAIT(?, "+secs+") AS res", pos)
	if err != nil {
		return err
	}
	if rec["res"] != "0" {
		cur, _ := m.query(ctx, n, "SELECT @@global.gtid_slave_pos AS pos")
		return fmt.Errorf("%s did not reach %s within %s (gtid_slave_pos %s)", n.Name, pos, timeout, cur["pos"])
	}
	return nil
}

func (m *mariadbOps) freeze(ctx context.Context, n *Node) (string, error) {
	if err := m.exec(ctx, n, "STOP SLAVE IO_THREAD"); err != nil {
		return "", err
	}
	st, err := m.query(ctx, n, "SHOW SLAVE STATUS")
	if err != nil {
		return "", err
	}
	io := st["Gtid_IO_Pos"]
	if delay, _ := strconv.Atoi(st["SQL_Delay"]); delay > 0 {
		return fmt.Sprintf("receiver stopped at %s; delayed replica (SQL_Delay=%d): not waiting for it to apply", io, delay), nil
	}
	if st["Slave_SQL_Running"] != "Yes" {
		return fmt.Sprintf("receiver stopped at %s; applier not running (%s): what it did not apply stays in its relay log", io, st["Last_SQL_Error"]), nil
	}
	if err := m.gtidWait(ctx, n, io, m.s.opt.ApplyTimeout); err != nil {
		return "", err
	}
	return "receiver stopped; applied everything received: " + orDash(io), nil
}

func (m *mariadbOps) changeMaster(ctx context.Context, n, to *Node, withCreds bool) (string, error) {
	host, port, err := splitHostPort(to.replAddr())
	if err != nil {
		return "", err
	}
	user, pw := "", ""
	if withCreds {
		if user, pw, err = m.s.replCredentials(ctx, m.cluster); err != nil {
			return "", err
		}
		if user == "" {
			return "", fmt.Errorf("%s has no replication settings of its own and cluster %q has no replication account configured (dbfleet cluster set %s --ha-repl-user USER --ha-repl-password-stdin)", n.Name, m.cluster, m.cluster)
		}
	} else if user, pw, err = m.s.replCredentials(ctx, m.cluster); err != nil {
		return "", err
	}
	return changeMasterStmt(host, port, user, pw, m.s.opt.HeartbeatPeriod), nil
}

// changeMasterStmt points a replica at host:port with GTIDs. Without a
// user the replica keeps the account it has.
func changeMasterStmt(host string, port int, user, password string, heartbeat time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%d", sqlQuote(host), port)
	if user != "" {
		fmt.Fprintf(&b, ", MASTER_USER=%s, MASTER_PASSWORD=%s", sqlQuote(user), sqlQuote(password))
	}
	fmt.Fprintf(&b, ", MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1")
	if heartbeat > 0 {
		fmt.Fprintf(&b, ", MASTER_HEARTBEAT_PERIOD=%s", strconv.FormatFloat(heartbeat.Seconds(), 'f', -1, 64))
	}
	return b.String()
}

// sqlQuote quotes a MariaDB string literal.
func sqlQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`, "\n", `\n`, "\r", `\r`, "\x1a", `\Z`).Replace(s) + "'"
}

// redactStmt hides a password in a statement shown in errors and records.
func redactStmt(q string) string {
	i := strings.Index(q, "MASTER_PASSWORD=")
	if i < 0 {
		return q
	}
	rest := q[i+len("MASTER_PASSWORD="):]
	end := strings.Index(rest, ", MASTER_")
	if end < 0 {
		end = len(rest)
	}
	return q[:i] + "MASTER_PASSWORD='…'" + rest[end:]
}

func (m *mariadbOps) catchUp(ctx context.Context, cand, from *Node, target string) (string, error) {
	cm, err := m.changeMaster(ctx, cand, from, false)
	if err != nil {
		return "", err
	}
	if err := m.exec(ctx, cand, "STOP SLAVE", cm, "START SLAVE"); err != nil {
		return "", err
	}
	if err := m.gtidWait(ctx, cand, target, m.s.opt.CatchUpTimeout); err != nil {
		_ = m.exec(ctx, cand, "STOP SLAVE")
		return "", err
	}
	if err := m.exec(ctx, cand, "STOP SLAVE"); err != nil {
		return "", err
	}
	return fmt.Sprintf("replicated from %s up to %s", from.Name, target), nil
}

func (m *mariadbOps) promote(ctx context.Context, cand, old *Node) (string, error) {
	stmts := []string{"STOP SLAVE", "RESET SLAVE ALL"}
	detail := "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only=OFF"
	if old != nil && old.SemiSyncMaster && !cand.SemiSyncMaster {
		stmts = append(stmts, "SET GLOBAL rpl_semi_sync_master_enabled = ON")
		detail += "; semi-sync master enabled as on the old primary"
	}
	stmts = append(stmts, "SET GLOBAL read_only = OFF")
	if err := m.exec(ctx, cand, stmts...); err != nil {
		return "", err
	}
	return detail, nil
}

func (m *mariadbOps) repoint(ctx context.Context, n, to *Node) (string, error) {
	cm, err := m.changeMaster(ctx, n, to, false)
	if err != nil {
		return "", err
	}
	if err := m.exec(ctx, n, "STOP SLAVE", cm, "START SLAVE"); err != nil {
		return "", err
	}
	return "now replicates from " + to.Name + " at " + to.replAddr(), nil
}

// fence closes the old primary's client sessions, then sets read_only,
// then closes what connected meanwhile. Sessions go first: SET GLOBAL
// read_only waits for commits in progress, and on a semi-synchronous
// primary whose replicas left, a commit waits for an acknowledgement that
// never comes (up to rpl_semi_sync_master_timeout). A killed session's
// client gets an error, not an acknowledgement.
func (m *mariadbOps) fence(ctx context.Context, old, to *Node) (string, error) {
	n1, err := m.killClients(ctx, old)
	if err != nil {
		return "", fmt.Errorf("disconnect its clients: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, fenceTimeout)
	err = m.exec(rctx, old, "SET GLOBAL read_only = ON")
	cancel()
	if err != nil {
		return fmt.Sprintf("%d client connection(s) closed", n1), err
	}
	n2, err := m.killClients(ctx, old)
	if err != nil {
		return "read_only=ON", fmt.Errorf("read_only is ON but disconnecting its clients failed: %w", err)
	}
	return fmt.Sprintf("read_only=ON; %d client connection(s) closed", n1+n2), nil
}

// fenceTimeout bounds SET GLOBAL read_only on an old primary; a fence that
// does not finish is retried at the next probe.
const fenceTimeout = 5 * time.Second

// killClients closes the connections of accounts other than dbfleet's and
// the replication threads', so that no session keeps writing (sessions
// with SUPER ignore read_only).
func (m *mariadbOps) killClients(ctx context.Context, n *Node) (int, error) {
	c, err := m.s.conns.get(ctx, n.Name)
	if err != nil {
		return 0, err
	}
	t, err := m.s.inv.Target(ctx, n.Name)
	if err != nil {
		return 0, err
	}
	rows, _, err := c.Query(ctx, 0, `SELECT ID FROM information_schema.PROCESSLIST
		WHERE ID <> CONNECTION_ID() AND USER NOT IN ('system user', 'event_scheduler', 'unauthenticated user', ?)
		AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker', 'Killed')`, t.User)
	if err != nil {
		return 0, err
	}
	killed := 0
	for _, r := range rows.All() {
		id, ok := engine.Int64(r[0])
		if !ok {
			continue
		}
		if _, err := c.Exec(ctx, "KILL CONNECTION "+strconv.FormatInt(id, 10)); err == nil {
			killed++
		}
	}
	return killed, nil
}

func (m *mariadbOps) lockWrites(ctx context.Context, p *Node) (string, string, error) {
	if err := m.exec(ctx, p, "SET GLOBAL read_only = ON"); err != nil {
		return "", "", err
	}
	killed, err := m.killClients(ctx, p)
	if err != nil {
		return "", "", err
	}
	rec, err := m.query(ctx, p, "SELECT @@global.gtid_binlog_pos AS pos")
	if err != nil {
		return "", "", err
	}
	return rec["pos"], fmt.Sprintf("read_only=ON, %d client connection(s) closed; last transaction %s", killed, orDash(rec["pos"])), nil
}

func (m *mariadbOps) unlockWrites(ctx context.Context, p *Node) error {
	return m.exec(ctx, p, "SET GLOBAL read_only = OFF")
}

func (m *mariadbOps) waitFor(ctx context.Context, n *Node, target string, timeout time.Duration) (string, error) {
	if err := m.gtidWait(ctx, n, target, timeout); err != nil {
		return "", err
	}
	return "applied " + orDash(target), nil
}

func (m *mariadbOps) attachOld(ctx context.Context, old, to *Node) (string, error) {
	cm, err := m.changeMaster(ctx, old, to, true)
	if err != nil {
		return "", err
	}
	if err := m.exec(ctx, old, "STOP SLAVE"); err != nil {
		return "", err
	}
	// Its own transactions are in its binary log; count them as applied so
	// that it asks the new primary only for what follows. Per domain only
	// where the binary log is ahead: a replica's binary log may lag what it
	// applied (log_slave_updates OFF, or reset), and its position must never
	// move backwards (transactions applied twice, or error 1236).
	pos, err := m.resumePos(ctx, old)
	if err != nil {
		return "", err
	}
	if err := m.exec(ctx, old, fmt.Sprintf("SET GLOBAL gtid_slave_pos = '%s'", pos), cm, "START SLAVE"); err != nil {
		return "", err
	}
	return "replica of " + to.Name + " from " + orDash(pos.String()) + "; read_only stays ON", nil
}

// resumePos is where n resumes replicating: per domain the furthest of
// what it applied (gtid_slave_pos) and what it wrote (gtid_binlog_pos).
func (m *mariadbOps) resumePos(ctx context.Context, n *Node) (GTIDSet, error) {
	rec, err := m.query(ctx, n, "SELECT @@global.gtid_slave_pos AS slave, @@global.gtid_binlog_pos AS binlog")
	if err != nil {
		return nil, err
	}
	slave, err := ParseGTIDSet(rec["slave"])
	if err != nil {
		return nil, fmt.Errorf("%s: gtid_slave_pos %q: %w", n.Name, rec["slave"], err)
	}
	binlog, err := ParseGTIDSet(rec["binlog"])
	if err != nil {
		return nil, fmt.Errorf("%s: gtid_binlog_pos %q: %w", n.Name, rec["binlog"], err)
	}
	return slave.Union(binlog), nil
}

func (m *mariadbOps) manualRepoint(n, to *Node) string {
	host, port, _ := splitHostPort(to.replAddr())
	return fmt.Sprintf("on %s: STOP SLAVE; %s; START SLAVE", n.Name, changeMasterStmt(host, port, "", "", m.s.opt.HeartbeatPeriod))
}

func (m *mariadbOps) reattach(old, to *Node) string {
	return fmt.Sprintf("re-attach %s as a replica of %s once it is back: dbfleet cluster attach %s (refused while it holds transactions %s lacks; docs/ha.md, \"Re-attaching the old primary\")", old.Name, to.Name, old.Name, to.Name)
}

func (m *mariadbOps) freezeStep() string { return "stop receiving and apply relay log" }

func (m *mariadbOps) manualFence(old *Node) string {
	return fmt.Sprintf("keep %s away from clients: when it is back, SET GLOBAL read_only=ON on it before anything else (dbfleet does it by itself while the fence is pending), or keep it stopped", old.Name)
}

// ---- Redis ----

type redisOps struct{ s *Service }

func (r *redisOps) exec(ctx context.Context, n *Node, cmd string, args ...any) error {
	c, err := r.s.conns.get(ctx, n.Name)
	if err != nil {
		return err
	}
	if _, err := c.Exec(ctx, cmd, args...); err != nil {
		r.s.conns.drop(n.Name)
		return fmt.Errorf("%s: %s: %w", n.Name, cmd, err)
	}
	return nil
}

func (r *redisOps) info(ctx context.Context, n *Node) (map[string]string, error) {
	c, err := r.s.conns.get(ctx, n.Name)
	if err != nil {
		return nil, err
	}
	return redisInfo(ctx, c)
}

func (r *redisOps) replicaOf(ctx context.Context, n, to *Node) error {
	host, port, err := splitHostPort(to.replAddr())
	if err != nil {
		return err
	}
	return r.exec(ctx, n, "REPLICAOF ? ?", host, strconv.Itoa(port))
}

func (r *redisOps) freeze(ctx context.Context, n *Node) (string, error) {
	info, err := r.info(ctx, n)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("link %s; offset %s", info["master_link_status"], info["slave_repl_offset"]), nil
}

// waitOffset polls until n, a replica, reached offset with its link up.
func (r *redisOps) waitOffset(ctx context.Context, n *Node, target int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		info, err := r.info(ctx, n)
		if err != nil {
			return err
		}
		off, _ := strconv.ParseInt(info["slave_repl_offset"], 10, 64)
		if info["master_link_status"] == "up" && off >= target {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not reach offset %d within %s (offset %d, link %s)", n.Name, target, timeout, off, info["master_link_status"])
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (r *redisOps) catchUp(ctx context.Context, cand, from *Node, target string) (string, error) {
	off, _ := strconv.ParseInt(target, 10, 64)
	if err := r.replicaOf(ctx, cand, from); err != nil {
		return "", err
	}
	if err := r.waitOffset(ctx, cand, off, r.s.opt.CatchUpTimeout); err != nil {
		return "", err
	}
	return fmt.Sprintf("replicated from %s up to offset %d", from.Name, off), nil
}

func (r *redisOps) promote(ctx context.Context, cand, old *Node) (string, error) {
	if err := r.exec(ctx, cand, "REPLICAOF NO ONE"); err != nil {
		return "", err
	}
	return "REPLICAOF NO ONE", nil
}

func (r *redisOps) repoint(ctx context.Context, n, to *Node) (string, error) {
	if err := r.replicaOf(ctx, n, to); err != nil {
		return "", err
	}
	return "REPLICAOF " + to.replAddr(), nil
}

// fence pauses the old primary's writes until a new primary exists, then
// makes it a replica of the new one.
func (r *redisOps) fence(ctx context.Context, old, to *Node) (string, error) {
	if to == nil {
		ms := recoveryTimeout.Milliseconds()
		if err := r.exec(ctx, old, "CLIENT PAUSE ? WRITE", strconv.FormatInt(ms, 10)); err != nil {
			return "", err
		}
		return fmt.Sprintf("CLIENT PAUSE %d WRITE until the new primary is chosen", ms), nil
	}
	if err := r.replicaOf(ctx, old, to); err != nil {
		return "", err
	}
	_ = r.exec(ctx, old, "CLIENT UNPAUSE")
	return "made a replica of " + to.Name + " (REPLICAOF " + to.replAddr() + ")", nil
}

func (r *redisOps) lockWrites(ctx context.Context, p *Node) (string, string, error) {
	ms := (r.s.opt.SwitchoverTimeout + 5*time.Second).Milliseconds()
	if err := r.exec(ctx, p, "CLIENT PAUSE ? WRITE", strconv.FormatInt(ms, 10)); err != nil {
		return "", "", err
	}
	info, err := r.info(ctx, p)
	if err != nil {
		return "", "", err
	}
	return info["master_repl_offset"], fmt.Sprintf("CLIENT PAUSE %d WRITE; offset %s", ms, info["master_repl_offset"]), nil
}

func (r *redisOps) unlockWrites(ctx context.Context, p *Node) error {
	return r.exec(ctx, p, "CLIENT UNPAUSE")
}

func (r *redisOps) waitFor(ctx context.Context, n *Node, target string, timeout time.Duration) (string, error) {
	off, _ := strconv.ParseInt(target, 10, 64)
	if err := r.waitOffset(ctx, n, off, timeout); err != nil {
		return "", err
	}
	return "reached offset " + target, nil
}

func (r *redisOps) attachOld(ctx context.Context, old, to *Node) (string, error) {
	if err := r.replicaOf(ctx, old, to); err != nil {
		return "", err
	}
	_ = r.exec(ctx, old, "CLIENT UNPAUSE")
	return "replica of " + to.Name, nil
}

func (r *redisOps) manualRepoint(n, to *Node) string {
	host, port, _ := net.SplitHostPort(to.replAddr())
	return fmt.Sprintf("on %s: REPLICAOF %s %s", n.Name, host, port)
}

func (r *redisOps) reattach(old, to *Node) string {
	return fmt.Sprintf("%s will be made a replica of %s as soon as it answers (it then resynchronises from it)", old.Name, to.Name)
}

func (r *redisOps) freezeStep() string { return "read replication offset" }

func (r *redisOps) manualFence(old *Node) string {
	return fmt.Sprintf("when %s is back, make it a replica of the new primary (REPLICAOF) before clients reach it: restarted empty it would otherwise be a second master (dbfleet does it by itself while the fence is pending)", old.Name)
}
