package ha

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
)

// conns keeps one open connection per instance between probes, so that
// probing every second does not log in every second. A connection that
// fails is dropped and reopened at the next use.
type conns struct {
	inv     *inventory.Service
	engines *engine.Registry
	timeout time.Duration

	mu   sync.Mutex
	open map[string]pooled
}

type pooled struct {
	conn engine.Conn
	key  string // target without password: reopen when the inventory changes
}

func (c *conns) get(ctx context.Context, name string) (engine.Conn, error) {
	t, err := c.inv.Target(ctx, name)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s|%s|%d|%s|%d", t.Engine, t.Host, t.Port, t.User, len(t.Password))
	c.mu.Lock()
	p, ok := c.open[name]
	c.mu.Unlock()
	if ok && p.key == key {
		return p.conn, nil
	}
	if ok {
		c.drop(name)
	}
	t.ConnectTimeout = c.timeout
	conn, err := c.engines.Open(ctx, t)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.open[name]; ok { // opened concurrently
		conn.Close()
		return old.conn, nil
	}
	c.open[name] = pooled{conn: conn, key: key}
	return conn, nil
}

// drop closes and forgets an instance's connection (after an error).
func (c *conns) drop(name string) {
	c.mu.Lock()
	p, ok := c.open[name]
	delete(c.open, name)
	c.mu.Unlock()
	if ok {
		go p.conn.Close() // closing a pool to a hung server may wait
	}
}

func (c *conns) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n, p := range c.open {
		p.conn.Close()
		delete(c.open, n)
	}
}

// memory keeps what each instance last reported, so that an unreachable
// node still shows its server id, address for replicas and replication
// settings, and tracks how long each replica's receiver has received
// nothing.
type memory struct {
	mu       sync.Mutex
	last     map[string]Node
	progress map[string]progressMark
}

type progressMark struct {
	sig   string
	since time.Time
}

// remember stores a successful probe and fills Source.Stalled.
func (m *memory) remember(n *Node, sig string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last[n.Name] = *n
	if n.Source == nil || sig == "" {
		delete(m.progress, n.Name)
		return
	}
	p, ok := m.progress[n.Name]
	if !ok || p.sig != sig {
		m.progress[n.Name] = progressMark{sig: sig, since: now}
		return
	}
	n.Source.Stalled = now.Sub(p.since)
}

// recall fills an unreachable node with what it last reported.
func (m *memory) recall(n *Node) {
	m.mu.Lock()
	last, ok := m.last[n.Name]
	m.mu.Unlock()
	if !ok {
		return
	}
	n.ServerID, n.ReplAddr, n.Version = last.ServerID, last.ReplAddr, last.Version
	n.LogBin, n.LogSlaveUpdates = last.LogBin, last.LogSlaveUpdates
	n.SemiSyncMaster, n.SemiSyncSlave = last.SemiSyncMaster, last.SemiSyncSlave
	n.GTIDBinlog, n.GTIDSlave, n.GTIDCurrent = last.GTIDBinlog, last.GTIDSlave, last.GTIDCurrent
	n.ReplID, n.Offset, n.ReadOnly = last.ReplID, last.Offset, last.ReadOnly
}

// probe asks one instance what it is; errors make it unreachable.
func (s *Service) probe(ctx context.Context, in inventory.Instance, rule Rule) Node {
	n := Node{Name: in.Name, Addr: net.JoinHostPort(in.Address, strconv.Itoa(in.Port)), Declared: in.Role, Rule: rule}
	ctx, cancel := context.WithTimeout(ctx, s.opt.ProbeTimeout)
	defer cancel()
	err := func() error {
		c, err := s.conns.get(ctx, in.Name)
		if err != nil {
			return err
		}
		var sig string
		switch in.Engine {
		case engine.Redis:
			sig, err = probeRedis(ctx, c, &n)
		case engine.MariaDB:
			sig, err = probeMariaDB(ctx, c, &n)
		default:
			err = probeGeneric(ctx, c, &n)
		}
		if err != nil {
			s.conns.drop(in.Name)
			return err
		}
		n.Reachable, n.Known = true, true
		s.mem.remember(&n, sig, time.Now())
		return nil
	}()
	if err != nil {
		n = Node{Name: n.Name, Addr: n.Addr, Declared: n.Declared, Rule: n.Rule, Error: probeError(ctx, err, s.opt.ProbeTimeout)}
		s.mem.recall(&n)
	}
	return n
}

func probeError(ctx context.Context, err error, timeout time.Duration) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %s (%v)", timeout, shorten(err.Error(), 200))
	}
	return shorten(err.Error(), 300)
}

// Snapshot probes every instance of a cluster at once.
func (s *Service) Snapshot(ctx context.Context, cluster string) (Topology, error) {
	c, err := s.inv.GetCluster(ctx, cluster)
	if err != nil {
		return Topology{}, err
	}
	rules, err := s.st.rules(ctx)
	if err != nil {
		return Topology{}, err
	}
	t := Topology{Cluster: c.Name, Engine: c.Engine, TakenAt: time.Now(), Nodes: make([]Node, len(c.Instances))}
	var wg sync.WaitGroup
	for i, in := range c.Instances {
		wg.Go(func() {
			r := rules[in.Name]
			if r == "" {
				r = RuleNeutral
			}
			t.Nodes[i] = s.probe(ctx, in, r)
		})
	}
	wg.Wait()
	t.sortNodes()
	t.redisCaughtUp()
	return t, nil
}

// redisCaughtUp measures Redis replicas' lag by offset: a replica whose
// offset has reached its source's has no lag, however long ago its last
// I/O from the source was (an idle primary sends only a PING every
// repl-ping-replica-period, 10 s, so master_last_io_seconds_ago is not a
// lag). A replica behind keeps master_last_io_seconds_ago as its lag.
func (t *Topology) redisCaughtUp() {
	if t.Engine != engine.Redis {
		return
	}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if n.Source == nil || n.Source.IO != "Yes" {
			continue
		}
		if src := t.sourceOf(n); src != nil && src.Reachable && n.Offset >= src.Offset {
			zero := 0.0
			n.Source.Lag = &zero
		}
	}
}

// reprobe refreshes some nodes of a topology in place.
func (s *Service) reprobe(ctx context.Context, t *Topology, names ...string) error {
	c, err := s.inv.GetCluster(ctx, t.Cluster)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, in := range c.Instances {
		n := t.node(in.Name)
		if n == nil || (len(names) > 0 && !contains(names, in.Name)) {
			continue
		}
		wg.Go(func() { *n = s.probe(ctx, in, n.Rule) })
	}
	wg.Wait()
	t.redisCaughtUp()
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// truthy reads a variable's or status value's text as a truth value
// (ON, 1, YES...).
func truthy(s string) bool {
	b, _ := engine.Bool(s)
	return b
}

// probeMariaDB reads variables, GTID positions, the replica status and
// semi-sync state. It returns the receiver's progress signature.
func probeMariaDB(ctx context.Context, c engine.Conn, n *Node) (string, error) {
	rows, _, err := c.Query(ctx, 1, `SELECT @@server_id AS server_id, @@read_only AS read_only, @@log_bin AS log_bin,
		@@log_slave_updates AS log_slave_updates, @@gtid_binlog_pos AS binlog, @@gtid_slave_pos AS slave, @@gtid_current_pos AS current,
		@@report_host AS report_host, @@report_port AS report_port, @@version AS version,
		@@rpl_semi_sync_master_enabled AS semi_master, @@rpl_semi_sync_slave_enabled AS semi_slave`)
	if err != nil {
		return "", err
	}
	if len(rows.Values) == 0 {
		return "", fmt.Errorf("no variables returned")
	}
	v := rows.Record(0)
	id, _ := strconv.ParseUint(v["server_id"], 10, 32)
	n.ServerID, n.Version = uint32(id), v["version"]
	n.ReadOnly, n.LogBin, n.LogSlaveUpdates = truthy(v["read_only"]), truthy(v["log_bin"]), truthy(v["log_slave_updates"])
	n.SemiSyncMaster, n.SemiSyncSlave = truthy(v["semi_master"]), truthy(v["semi_slave"])
	n.GTIDBinlog, n.GTIDSlave, n.GTIDCurrent = mustGTIDSet(v["binlog"]), mustGTIDSet(v["slave"]), mustGTIDSet(v["current"])
	if v["report_host"] != "" && v["report_port"] != "" && v["report_port"] != "0" {
		n.ReplAddr = net.JoinHostPort(v["report_host"], v["report_port"])
	}

	st, _, err := c.Query(ctx, 0, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients', 'Rpl_semi_sync_slave_status')")
	if err != nil {
		return "", err
	}
	status := map[string]string{}
	for i := range st.Values {
		status[st.String(i, 0)] = st.String(i, 1)
	}
	n.SemiSyncMasterActive = truthy(status["Rpl_semi_sync_master_status"])
	n.SemiSyncClients, _ = strconv.Atoi(status["Rpl_semi_sync_master_clients"])

	dumps, _, err := c.Query(ctx, 1, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
	if err != nil {
		return "", err
	}
	n.Replicas = int(dumps.Int64(0, 0))

	ss, _, err := c.Query(ctx, 0, "SHOW ALL SLAVES STATUS")
	if err != nil {
		return "", err
	}
	for i := range ss.Values {
		rec := ss.Record(i)
		if rec["Connection_name"] != "" || rec["Master_Host"] == "" {
			continue // multi-source named connections are not managed
		}
		n.Source = parseSlaveStatus(rec)
		n.Source.SemiSync = truthy(status["Rpl_semi_sync_slave_status"])
		return strings.Join([]string{rec["Master_Log_File"], rec["Read_Master_Log_Pos"], rec["Slave_received_heartbeats"], rec["Gtid_IO_Pos"]}, "|"), nil
	}
	return "", nil
}

func parseSlaveStatus(rec map[string]string) *Source {
	port := rec["Master_Port"]
	s := &Source{
		Addr:      net.JoinHostPort(rec["Master_Host"], port),
		IO:        rec["Slave_IO_Running"],
		IOState:   rec["Slave_IO_State"],
		IOError:   rec["Last_IO_Error"],
		SQL:       rec["Slave_SQL_Running"] == "Yes",
		SQLError:  rec["Last_SQL_Error"],
		UsingGTID: rec["Using_Gtid"],
		IOPos:     mustGTIDSet(rec["Gtid_IO_Pos"]),
	}
	id, _ := strconv.ParseUint(rec["Master_Server_Id"], 10, 32)
	s.ServerID = uint32(id)
	s.IOErrno, _ = strconv.Atoi(rec["Last_IO_Errno"])
	s.SQLErrno, _ = strconv.Atoi(rec["Last_SQL_Errno"])
	s.Delay, _ = strconv.Atoi(rec["SQL_Delay"])
	s.HeartbeatPeriod, _ = strconv.ParseFloat(rec["Slave_heartbeat_period"], 64)
	if lag := rec["Seconds_Behind_Master"]; lag != "" {
		if f, err := strconv.ParseFloat(lag, 64); err == nil {
			s.Lag = &f
		}
	}
	return s
}

// probeGeneric uses the engine adapter's replication report (MySQL):
// enough to diagnose, not to fail over.
func probeGeneric(ctx context.Context, c engine.Conn, n *Node) error {
	r, err := c.Replication(ctx)
	if err != nil {
		return err
	}
	n.ReadOnly, n.Replicas = r.ReadOnly, len(r.Replicas)
	n.LogBin, n.LogSlaveUpdates = true, true
	if u := r.Source; u != nil {
		io := "No"
		if u.IORunning {
			io = "Yes"
		}
		n.Source = &Source{Addr: net.JoinHostPort(u.Host, strconv.Itoa(u.Port)), IO: io, IOState: u.IOState, SQL: u.SQLRunning,
			Lag: u.LagSeconds, IOError: u.LastError, UsingGTID: u.UsingGTID}
	}
	return nil
}

// probeRedis reads INFO replication.
func probeRedis(ctx context.Context, c engine.Conn, n *Node) (string, error) {
	info, err := redisInfo(ctx, c)
	if err != nil {
		return "", err
	}
	n.LogBin, n.LogSlaveUpdates = true, true
	n.ReplID = info["master_replid"]
	n.Replicas, _ = strconv.Atoi(info["connected_slaves"])
	if info["role"] == "slave" {
		n.ReadOnly = true
		n.Offset, _ = strconv.ParseInt(info["slave_repl_offset"], 10, 64)
		s := &Source{Addr: net.JoinHostPort(info["master_host"], info["master_port"]), IO: "No", SQL: true, IOState: info["master_link_status"]}
		if info["master_link_status"] == "up" {
			s.IO = "Yes"
			if v, err := strconv.ParseFloat(info["master_last_io_seconds_ago"], 64); err == nil && v >= 0 {
				s.Lag = &v
			}
		}
		if info["master_sync_in_progress"] == "1" {
			s.IO, s.IOState = "Connecting", "sync in progress"
		}
		if d, err := strconv.Atoi(info["master_link_down_since_seconds"]); err == nil && d >= 0 {
			s.LinkDown = time.Duration(d) * time.Second
		}
		n.Source = s
		return "", nil
	}
	n.Offset, _ = strconv.ParseInt(info["master_repl_offset"], 10, 64)
	return "", nil
}

func redisInfo(ctx context.Context, c engine.Conn) (map[string]string, error) {
	rows, _, err := c.Query(ctx, 1, "INFO replication")
	if err != nil {
		return nil, err
	}
	if len(rows.Values) == 0 {
		return nil, fmt.Errorf("INFO replication: empty reply")
	}
	out := map[string]string{}
	for line := range strings.SplitSeq(rows.String(0, 0), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out, nil
}
