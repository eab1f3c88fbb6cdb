package ha

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// Rule is an instance's promotion rule.
type Rule string

// Promotion rules: prefer is chosen over neutral replicas (caught up first
// if it is behind); never is never promoted.
const (
	RulePrefer  Rule = "prefer"
	RuleNeutral Rule = "neutral"
	RuleNever   Rule = "never"
)

// ParseRule validates a promotion rule ("" is neutral).
func ParseRule(s string) (Rule, error) {
	switch Rule(s) {
	case RulePrefer, RuleNeutral, RuleNever:
		return Rule(s), nil
	case "":
		return RuleNeutral, nil
	}
	return "", fmt.Errorf("invalid promotion rule %q (prefer, neutral or never)", s)
}

// Topology is a snapshot of what every node of a cluster reports, taken
// at one moment: the input of the pure functions Diagnose and the
// planners.
type Topology struct {
	Cluster string      `json:"cluster"`
	Engine  engine.Kind `json:"engine"`
	TakenAt time.Time   `json:"taken_at"`
	// Nodes are sorted by name.
	Nodes []Node `json:"nodes"`
}

// Node is one instance as it reported itself (or failed to).
type Node struct {
	Name string `json:"name"`
	// Addr is where dbfleet connects (the inventory's address and port).
	Addr string `json:"addr"`
	// ReplAddr is where replicas should connect to it (report_host and
	// report_port when it sets them); empty means Addr.
	ReplAddr string `json:"repl_addr,omitempty"`
	// Declared is the inventory's role (primary, replica or empty).
	Declared string `json:"declared,omitempty"`
	Rule     Rule   `json:"rule"`

	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"` // why it could not be probed
	// Known says whether the fields below come from this probe (true) or
	// from the last successful one (an unreachable node's last report).
	Known bool `json:"known"`

	ServerID        uint32 `json:"server_id,omitempty"`
	Version         string `json:"version,omitempty"`
	ReadOnly        bool   `json:"read_only"`
	LogBin          bool   `json:"log_bin"`
	LogSlaveUpdates bool   `json:"log_slave_updates"`
	// Semi-synchronous replication: the variables enabling each side, and
	// whether the primary side is active now (Rpl_semi_sync_master_status).
	SemiSyncMaster       bool `json:"semi_sync_master,omitempty"`
	SemiSyncSlave        bool `json:"semi_sync_slave,omitempty"`
	SemiSyncMasterActive bool `json:"semi_sync_master_active,omitempty"`
	SemiSyncClients      int  `json:"semi_sync_clients,omitempty"`

	// MariaDB GTID positions.
	GTIDBinlog  GTIDSet `json:"gtid_binlog,omitempty"`
	GTIDSlave   GTIDSet `json:"gtid_slave,omitempty"`
	GTIDCurrent GTIDSet `json:"gtid_current,omitempty"`

	// Redis: replication id and offset (a replica's is what it received).
	ReplID string `json:"repl_id,omitempty"`
	Offset int64  `json:"offset,omitempty"`

	// Source is set when the node follows a source.
	Source *Source `json:"source,omitempty"`
	// Replicas is how many replicas the node serves, as it sees them.
	Replicas int `json:"replicas"`
}

// Source is a node's view of the source it replicates from.
type Source struct {
	// Addr is the source's host:port as the replica has it configured.
	Addr     string `json:"addr"`
	ServerID uint32 `json:"server_id,omitempty"` // Master_Server_Id
	// IO is the receiver: Yes, No or Connecting (Redis: link up is Yes).
	IO       string `json:"io"`
	IOState  string `json:"io_state,omitempty"`
	IOErrno  int    `json:"io_errno,omitempty"`
	IOError  string `json:"io_error,omitempty"`
	SQL      bool   `json:"sql"`
	SQLErrno int    `json:"sql_errno,omitempty"`
	SQLError string `json:"sql_error,omitempty"`
	// Lag is Seconds_Behind_Master; nil when unknown (threads stopped).
	Lag *float64 `json:"lag,omitempty"`
	// IOPos is what it received (Gtid_IO_Pos).
	IOPos     GTIDSet `json:"io_pos,omitempty"`
	UsingGTID string  `json:"using_gtid,omitempty"`
	Delay     int     `json:"delay,omitempty"` // SQL_Delay
	// HeartbeatPeriod is the source's heartbeat interval in seconds.
	HeartbeatPeriod float64 `json:"heartbeat_period,omitempty"`
	// Stalled is how long the receiver has received nothing at all, not
	// even a heartbeat (measured by the prober across probes).
	Stalled time.Duration `json:"stalled_ns,omitempty"`
	// SemiSync: Rpl_semi_sync_slave_status (this replica acknowledges).
	SemiSync bool `json:"semi_sync,omitempty"`
	// LinkDown is how long a Redis replica's link has been down.
	LinkDown time.Duration `json:"link_down_ns,omitempty"`
}

// replAddr is where replicas connect to n.
func (n *Node) replAddr() string {
	if n.ReplAddr != "" {
		return n.ReplAddr
	}
	return n.Addr
}

// writable: a MariaDB node with read_only off, or a Redis master.
func (n *Node) writable(eng engine.Kind) bool {
	if !n.Reachable {
		return false
	}
	if eng == engine.Redis {
		return n.Source == nil
	}
	return !n.ReadOnly
}

// received is what a replica has received from its source (Gtid_IO_Pos,
// else its applied position). A delayed replica counts only what it
// applied: it will not apply the rest before its delay, so it cannot
// serve it to others.
func (n *Node) received() GTIDSet {
	if n.Source != nil && !n.Source.IOPos.Empty() && n.Source.Delay == 0 {
		return n.Source.IOPos
	}
	return n.GTIDSlave
}

// errant lists transactions the node wrote itself (see errantGTIDs).
func (n *Node) errant() []GTID {
	if n.Source == nil || !n.Known || !n.LogBin {
		return nil
	}
	return errantGTIDs(n.GTIDBinlog, n.GTIDSlave, n.Source.ServerID)
}

// ioRunning reports a receiver connected and receiving.
func (s *Source) ioRunning() bool { return s.IO == "Yes" }

// lostSource reports whether a replica has lost its source: its receiver
// is not connected (stopped, or reconnecting after an error), or it is
// "connected" but has received nothing, not even a heartbeat, for three
// heartbeat periods (a hung source: SIGSTOP, a black-holed network).
func (s *Source) lostSource(eng engine.Kind) (bool, string) {
	if eng == engine.Redis {
		if s.IO == "Yes" {
			return false, ""
		}
		if s.LinkDown > 0 {
			return true, fmt.Sprintf("master_link_status=down for %s", s.LinkDown.Round(time.Second))
		}
		return true, "master_link_status=" + orDefault(s.IOState, "down")
	}
	switch {
	case s.IO == "No" && s.IOErrno == 0:
		return true, "replication receiver stopped (Slave_IO_Running=No)"
	case s.IO != "Yes":
		return true, fmt.Sprintf("Slave_IO_Running=%s%s", s.IO, errnoText(s.IOErrno, s.IOError))
	case strings.Contains(s.IOState, "Reconnecting") || strings.Contains(s.IOState, "reconnect") || strings.HasPrefix(s.IOState, "Connecting"):
		return true, fmt.Sprintf("Slave_IO_State=%q%s", s.IOState, errnoText(s.IOErrno, s.IOError))
	}
	if lim := s.stallLimit(); lim > 0 && s.Stalled >= lim {
		return true, fmt.Sprintf("Slave_IO_Running=Yes but nothing received, not even a heartbeat, for %s (heartbeat period %gs)", s.Stalled.Round(100*time.Millisecond), s.HeartbeatPeriod)
	}
	return false, ""
}

// stallLimit is how long a receiver may hear nothing before its source is
// deemed lost: two heartbeat periods (a live source sends one every
// period when it has nothing else to send), at least 2 s; 0 without
// heartbeats.
func (s *Source) stallLimit() time.Duration {
	if s.HeartbeatPeriod <= 0 {
		return 0
	}
	return max(time.Duration(2*s.HeartbeatPeriod*float64(time.Second)), 2*time.Second)
}

func errnoText(errno int, msg string) string {
	switch {
	case errno != 0 && msg != "":
		return fmt.Sprintf(", Last_IO_Errno=%d: %s", errno, shorten(msg, 160))
	case errno != 0:
		return fmt.Sprintf(", Last_IO_Errno=%d", errno)
	case msg != "":
		return ": " + shorten(msg, 160)
	}
	return ""
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// node returns the node named name.
func (t *Topology) node(name string) *Node {
	for i := range t.Nodes {
		if t.Nodes[i].Name == name {
			return &t.Nodes[i]
		}
	}
	return nil
}

// sourceOf resolves which node of the cluster n replicates from: by the
// source's server id when it is known and unique, else by address (the
// address dbfleet uses or the one the node reports for replicas). nil when
// n follows no one, or a server outside the cluster.
func (t *Topology) sourceOf(n *Node) *Node {
	if n.Source == nil {
		return nil
	}
	if id := n.Source.ServerID; id != 0 {
		var match *Node
		count := 0
		for i := range t.Nodes {
			c := &t.Nodes[i]
			if c.Name != n.Name && c.ServerID == id {
				match, count = c, count+1
			}
		}
		if count == 1 {
			return match
		}
	}
	want := normAddr(n.Source.Addr)
	for i := range t.Nodes {
		c := &t.Nodes[i]
		if c.Name == n.Name {
			continue
		}
		if normAddr(c.Addr) == want || (c.ReplAddr != "" && normAddr(c.ReplAddr) == want) {
			return c
		}
	}
	return nil
}

// normAddr lower-cases a host:port and spells localhost as 127.0.0.1.
func normAddr(a string) string {
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		return strings.ToLower(a)
	}
	h = strings.ToLower(h)
	if h == "localhost" {
		h = "127.0.0.1"
	}
	return net.JoinHostPort(h, p)
}

// replicasOf lists the nodes that replicate from p (direct replicas), by
// name.
func (t *Topology) replicasOf(p *Node) []*Node {
	var out []*Node
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if n.Name != p.Name && t.sourceOf(n) == p {
			out = append(out, n)
		}
	}
	return out
}

// splitHostPort parses host:port.
func splitHostPort(a string) (string, int, error) {
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: %w", a, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("address %q: invalid port", a)
	}
	return h, port, nil
}

// sortNodes orders nodes by name.
func (t *Topology) sortNodes() {
	slices.SortFunc(t.Nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
}

// MarshalJSON writes a position as MariaDB spells it.
func (s GTIDSet) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a position written by MarshalJSON.
func (s *GTIDSet) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	set, err := ParseGTIDSet(str)
	if err != nil {
		return err
	}
	*s = set
	return nil
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
