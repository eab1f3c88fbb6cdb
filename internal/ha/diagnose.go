package ha

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// Code names a diagnosis.
type Code string

// Diagnoses, in the order they are listed within a severity.
const (
	CodeDeadPrimary        Code = "dead_primary"
	CodeUnreachablePrimary Code = "unreachable_primary"
	CodeNoPrimary          Code = "no_primary"
	CodeTwoWritable        Code = "two_writable"
	CodeReplicaWritable    Code = "replica_writable"
	CodePrimaryReadOnly    Code = "primary_read_only"
	CodeReplicaSQLError    Code = "replica_sql_error"
	CodeErrant             Code = "errant_transactions"
	CodeReplicaIOError     Code = "replica_io_error"
	CodeReplicaStopped     Code = "replica_stopped"
	CodeReplicaUnreachable Code = "replica_unreachable"
	CodeNotReplicating     Code = "not_replicating"
	CodeReplicaLagging     Code = "replica_lagging"
	CodeForeignSource      Code = "foreign_source"
	CodeNoGTID             Code = "replica_without_gtid"
	CodeSemiSyncDegraded   Code = "semi_sync_degraded"
	CodeDeclaredMismatch   Code = "declared_role_mismatch"
	CodeNoReplica          Code = "no_replica"
	CodeChained            Code = "chained_replica"
	CodeDelayed            Code = "delayed_replica"
	CodeUnsupported        Code = "failover_unsupported"
)

var codeOrder = []Code{
	CodeDeadPrimary, CodeUnreachablePrimary, CodeNoPrimary, CodeTwoWritable, CodePrimaryReadOnly,
	CodeReplicaWritable, CodeReplicaSQLError, CodeErrant, CodeReplicaIOError, CodeReplicaStopped, CodeReplicaUnreachable,
	CodeNotReplicating, CodeReplicaLagging, CodeForeignSource, CodeNoGTID, CodeSemiSyncDegraded,
	CodeDeclaredMismatch, CodeNoReplica, CodeChained, CodeDelayed, CodeUnsupported,
}

// Severity of a problem.
type Severity string

// Severities.
const (
	Critical Severity = "critical"
	Warning  Severity = "warning"
	Info     Severity = "info"
)

func (s Severity) rank() int {
	switch s {
	case Critical:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// Problem is one named diagnosis with its evidence: what each node
// reported that led to it.
type Problem struct {
	Code     Code     `json:"code"`
	Severity Severity `json:"severity"`
	Instance string   `json:"instance,omitempty"`
	Summary  string   `json:"summary"`
	Evidence []string `json:"evidence,omitempty"`
}

// Diagnosis is what Diagnose makes of a topology.
type Diagnosis struct {
	Cluster string      `json:"cluster"`
	Engine  engine.Kind `json:"engine"`
	// Primary is the node acting as primary (the one the replicas follow,
	// else the writable one, else the declared one); empty when none.
	Primary          string    `json:"primary,omitempty"`
	PrimaryReachable bool      `json:"primary_reachable"`
	Problems         []Problem `json:"problems"`
}

// Has returns the first problem with code c, or nil.
func (d *Diagnosis) Has(c Code) *Problem {
	for i := range d.Problems {
		if d.Problems[i].Code == c {
			return &d.Problems[i]
		}
	}
	return nil
}

// Worst is the highest severity among the problems ("" when healthy).
func (d *Diagnosis) Worst() Severity {
	if len(d.Problems) == 0 {
		return ""
	}
	return d.Problems[0].Severity
}

// failoverSupported: engines whose failover and switchover dbfleet
// performs.
func failoverSupported(k engine.Kind) bool { return k == engine.MariaDB || k == engine.Redis }

// Diagnose names what is wrong with a cluster from what every node
// reported. It is pure: the same topology always gives the same diagnosis.
//
// A primary is dead only when dbfleet cannot reach it AND every reachable
// replica has lost it too AND those replicas are at least half of them;
// when replicas still see it, it is only unreachable (from dbfleet).
func Diagnose(t Topology, s Settings) Diagnosis {
	t.sortNodes()
	d := Diagnosis{Cluster: t.Cluster, Engine: t.Engine, Problems: []Problem{}}
	add := func(p Problem) { d.Problems = append(d.Problems, p) }
	p, how := findPrimary(&t)
	if p != nil {
		d.Primary, d.PrimaryReachable = p.Name, p.Reachable
	} else {
		add(Problem{Code: CodeNoPrimary, Severity: Critical, Summary: "no node acts as primary", Evidence: noPrimaryEvidence(&t)})
	}

	if p != nil && !p.Reachable {
		add(primaryDown(&t, p))
	}
	if p != nil && p.Reachable {
		if t.Engine != engine.Redis && p.ReadOnly {
			add(Problem{Code: CodePrimaryReadOnly, Severity: Warning, Instance: p.Name,
				Summary:  fmt.Sprintf("primary %s is read-only: writes are refused", p.Name),
				Evidence: []string{fmt.Sprintf("%s: read_only=ON (%s)", p.Name, how)}})
		}
		if p.SemiSyncMaster && !p.SemiSyncMasterActive {
			add(Problem{Code: CodeSemiSyncDegraded, Severity: Warning, Instance: p.Name,
				Summary: fmt.Sprintf("semi-synchronous replication is enabled on %s but not active: commits are acknowledged without a replica's receipt", p.Name),
				Evidence: []string{fmt.Sprintf("%s: rpl_semi_sync_master_enabled=ON, Rpl_semi_sync_master_status=OFF, Rpl_semi_sync_master_clients=%d", p.Name, p.SemiSyncClients),
					"a failover now may lose acknowledged transactions"}})
		}
		if len(t.replicasOf(p)) == 0 {
			sev := Info
			if s.Mode == ModeAutomatic {
				sev = Warning
			}
			add(Problem{Code: CodeNoReplica, Severity: sev, Instance: p.Name,
				Summary:  fmt.Sprintf("no replica follows primary %s: there is nothing to fail over to", p.Name),
				Evidence: []string{fmt.Sprintf("%s serves %d replica(s); no instance of the cluster reports it as its source", p.Name, p.Replicas)}})
		}
	}

	var writable []string
	for i := range t.Nodes {
		if t.Nodes[i].writable(t.Engine) {
			writable = append(writable, t.Nodes[i].Name)
		}
	}
	if len(writable) >= 2 {
		ev := make([]string, 0, len(writable))
		for _, w := range writable {
			n := t.node(w)
			if t.Engine == engine.Redis {
				ev = append(ev, fmt.Sprintf("%s: role master (replicates from no one)", w))
			} else {
				ev = append(ev, fmt.Sprintf("%s: read_only=OFF%s", w, sourceNote(&t, n)))
			}
		}
		add(Problem{Code: CodeTwoWritable, Severity: Critical,
			Summary:  fmt.Sprintf("%d nodes accept writes: %s (split brain risk)", len(writable), strings.Join(writable, ", ")),
			Evidence: ev})
	}

	if t.Engine != engine.Redis {
		for i := range t.Nodes {
			n := &t.Nodes[i]
			if n.Reachable && n.Source != nil && !n.ReadOnly {
				add(Problem{Code: CodeReplicaWritable, Severity: Warning, Instance: n.Name,
					Summary:  fmt.Sprintf("replica %s is writable (read_only=OFF): a client may write there and diverge it", n.Name),
					Evidence: []string{fmt.Sprintf("%s: read_only=OFF%s; fix with SET GLOBAL read_only=ON and read_only=ON in its configuration", n.Name, sourceNote(&t, n))}})
			}
		}
	}

	if p != nil {
		var declared []string
		for i := range t.Nodes {
			if t.Nodes[i].Declared == "primary" && t.Nodes[i].Name != p.Name {
				declared = append(declared, t.Nodes[i].Name)
			}
		}
		if p.Declared != "primary" || len(declared) > 0 {
			decl := "no primary"
			if len(declared) > 0 {
				decl = strings.Join(declared, ", ")
			}
			fix := "dbfleet instance set " + p.Name + " --role primary"
			for _, o := range declared {
				fix = "dbfleet instance set " + o + " --role replica; " + fix
			}
			add(Problem{Code: CodeDeclaredMismatch, Severity: Warning, Instance: p.Name,
				Summary:  fmt.Sprintf("%s acts as primary but the inventory declares %s", p.Name, decl),
				Evidence: []string{fmt.Sprintf("%s: %s", p.Name, how), "fix the inventory with: " + fix}})
		}
	}

	for i := range t.Nodes {
		n := &t.Nodes[i]
		if p != nil && n.Name == p.Name {
			continue
		}
		diagnoseReplica(&t, s, p, n, add)
	}
	if !failoverSupported(t.Engine) {
		add(Problem{Code: CodeUnsupported, Severity: Info,
			Summary:  fmt.Sprintf("dbfleet diagnoses %s clusters but fails over and switches over only MariaDB (GTID) and Redis", t.Engine),
			Evidence: []string{"engine: " + string(t.Engine)}})
	}

	slices.SortStableFunc(d.Problems, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.Severity.rank(), b.Severity.rank()),
			cmp.Compare(slices.Index(codeOrder, a.Code), slices.Index(codeOrder, b.Code)),
			strings.Compare(a.Instance, b.Instance))
	})
	return d
}

// findPrimary picks the node acting as primary and says why.
func findPrimary(t *Topology) (*Node, string) {
	// The node most reachable replicas follow, unless it follows someone
	// itself (an intermediate).
	count := map[string]int{}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if !n.Reachable || n.Source == nil {
			continue
		}
		if src := t.sourceOf(n); src != nil {
			count[src.Name]++
		}
	}
	var best *Node
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if count[n.Name] == 0 || (n.Reachable && n.Source != nil) {
			continue
		}
		if best == nil || count[n.Name] > count[best.Name] ||
			(count[n.Name] == count[best.Name] && n.Declared == "primary" && best.Declared != "primary") {
			best = n
		}
	}
	if best != nil {
		return best, fmt.Sprintf("%d replica(s) follow it", count[best.Name])
	}
	// Else a reachable node that follows no one and takes writes or serves
	// replicas.
	var heads []*Node
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if n.Reachable && n.Source == nil && (n.writable(t.Engine) || n.Replicas > 0) {
			heads = append(heads, n)
		}
	}
	for _, n := range heads {
		if n.Declared == "primary" {
			return n, "it follows no source and is declared primary"
		}
	}
	if len(heads) > 0 {
		slices.SortStableFunc(heads, func(a, b *Node) int { return cmp.Compare(b.Replicas, a.Replicas) })
		return heads[0], "it follows no source and accepts writes"
	}
	for i := range t.Nodes {
		if n := &t.Nodes[i]; n.Declared == "primary" {
			return n, "declared primary in the inventory"
		}
	}
	return nil, ""
}

func noPrimaryEvidence(t *Topology) []string {
	var ev []string
	declared := false
	for i := range t.Nodes {
		n := &t.Nodes[i]
		declared = declared || n.Declared == "primary"
		switch {
		case !n.Reachable:
			ev = append(ev, fmt.Sprintf("%s: unreachable (%s)", n.Name, n.Error))
		case n.Source != nil:
			ev = append(ev, fmt.Sprintf("%s: replicates from %s", n.Name, n.Source.Addr))
		default:
			ev = append(ev, fmt.Sprintf("%s: follows no source, read-only, serves no replica", n.Name))
		}
	}
	if !declared {
		ev = append(ev, "the inventory declares no primary")
	}
	return ev
}

func sourceNote(t *Topology, n *Node) string {
	if n.Source == nil {
		return ", follows no source"
	}
	if src := t.sourceOf(n); src != nil {
		return ", replica of " + src.Name
	}
	return ", replica of " + n.Source.Addr
}

// primaryDown tells dead from merely unreachable: the replicas decide.
func primaryDown(t *Topology, p *Node) Problem {
	ev := []string{fmt.Sprintf("dbfleet: %s unreachable: %s", p.Name, orUnknown(p.Error))}
	var direct, lost, seeing, unreachable []string
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if n.Name == p.Name {
			continue
		}
		if !n.Reachable {
			unreachable = append(unreachable, n.Name)
			ev = append(ev, fmt.Sprintf("%s: unreachable too (%s)", n.Name, orUnknown(n.Error)))
			continue
		}
		if n.Source == nil || t.sourceOf(n) != p {
			continue
		}
		direct = append(direct, n.Name)
		if gone, why := n.Source.lostSource(t.Engine); gone {
			lost = append(lost, n.Name)
			ev = append(ev, fmt.Sprintf("%s: lost it: %s", n.Name, why))
		} else {
			seeing = append(seeing, n.Name)
			if t.Engine == engine.Redis {
				ev = append(ev, fmt.Sprintf("%s: still replicating from it (master_link_status=up)", n.Name))
			} else {
				ev = append(ev, fmt.Sprintf("%s: still replicating from it (Slave_IO_Running=Yes, IO state %q)", n.Name, n.Source.IOState))
			}
		}
	}
	total := len(direct) + len(unreachable)
	switch {
	case len(direct) > 0 && len(seeing) == 0 && len(direct)*2 >= total:
		return Problem{Code: CodeDeadPrimary, Severity: Critical, Instance: p.Name,
			Summary:  fmt.Sprintf("primary %s is dead: dbfleet cannot reach it and every reachable replica (%s) lost it too", p.Name, strings.Join(lost, ", ")),
			Evidence: ev}
	case len(seeing) > 0:
		return Problem{Code: CodeUnreachablePrimary, Severity: Critical, Instance: p.Name,
			Summary:  fmt.Sprintf("primary %s is unreachable from dbfleet but %s still replicate(s) from it: no failover, re-probing", p.Name, strings.Join(seeing, ", ")),
			Evidence: ev}
	case len(direct) == 0:
		return Problem{Code: CodeUnreachablePrimary, Severity: Critical, Instance: p.Name,
			Summary:  fmt.Sprintf("primary %s is unreachable and no replica can be asked whether it lost it: no failover", p.Name),
			Evidence: ev}
	default:
		return Problem{Code: CodeUnreachablePrimary, Severity: Critical, Instance: p.Name,
			Summary: fmt.Sprintf("primary %s is unreachable and the %d reachable replica(s) lost it, but %d other(s) cannot be asked: not enough evidence to fail over",
				p.Name, len(direct), len(unreachable)),
			Evidence: ev}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "no answer"
	}
	return s
}

// diagnoseReplica reports on a node other than the primary.
func diagnoseReplica(t *Topology, s Settings, p, n *Node, add func(Problem)) {
	if !n.Reachable {
		add(Problem{Code: CodeReplicaUnreachable, Severity: Warning, Instance: n.Name,
			Summary:  fmt.Sprintf("%s is unreachable", n.Name),
			Evidence: []string{fmt.Sprintf("dbfleet: %s", orUnknown(n.Error))}})
		return
	}
	if n.Source == nil {
		if p == nil {
			return
		}
		add(Problem{Code: CodeNotReplicating, Severity: Warning, Instance: n.Name,
			Summary:  fmt.Sprintf("%s replicates from no one", n.Name),
			Evidence: []string{fmt.Sprintf("%s: no source configured (declared %s); attach it to %s", n.Name, orNone(n.Declared), p.Name)}})
		return
	}
	src := t.sourceOf(n)
	switch {
	case src == nil:
		add(Problem{Code: CodeForeignSource, Severity: Warning, Instance: n.Name,
			Summary:  fmt.Sprintf("%s replicates from %s, which is not an instance of the cluster", n.Name, n.Source.Addr),
			Evidence: []string{fmt.Sprintf("%s: Master_Host:Master_Port=%s, Master_Server_Id=%d", n.Name, n.Source.Addr, n.Source.ServerID)}})
	case p != nil && src.Name != p.Name:
		add(Problem{Code: CodeChained, Severity: Info, Instance: n.Name,
			Summary:  fmt.Sprintf("%s replicates from %s, itself a replica (chained replication)", n.Name, src.Name),
			Evidence: []string{fmt.Sprintf("%s: source %s (%s); a failover leaves it under %s", n.Name, src.Name, n.Source.Addr, src.Name)}})
	}
	sourceDown := src != nil && !src.Reachable
	so := n.Source
	if t.Engine == engine.Redis {
		if gone, why := so.lostSource(t.Engine); gone && !sourceDown {
			add(Problem{Code: CodeReplicaIOError, Severity: Warning, Instance: n.Name,
				Summary:  fmt.Sprintf("%s's link to its source %s is down", n.Name, nameOr(src, so.Addr)),
				Evidence: []string{fmt.Sprintf("%s: %s", n.Name, why)}})
		}
		return
	}
	if !so.SQL {
		if so.SQLErrno != 0 || so.SQLError != "" {
			add(Problem{Code: CodeReplicaSQLError, Severity: Critical, Instance: n.Name,
				Summary:  fmt.Sprintf("%s stopped applying replicated transactions on an error", n.Name),
				Evidence: []string{fmt.Sprintf("%s: Slave_SQL_Running=No, Last_SQL_Errno=%d: %s", n.Name, so.SQLErrno, shorten(so.SQLError, 200))}})
		} else {
			what := "applier (SQL thread) stopped"
			if so.IO == "No" && so.IOErrno == 0 {
				what = "replication stopped (IO and SQL threads)"
			}
			add(Problem{Code: CodeReplicaStopped, Severity: Warning, Instance: n.Name,
				Summary:  fmt.Sprintf("%s: %s", n.Name, what),
				Evidence: []string{fmt.Sprintf("%s: Slave_IO_Running=%s, Slave_SQL_Running=No, no error: someone stopped it", n.Name, so.IO)}})
		}
	}
	if !sourceDown {
		switch gone, why := so.lostSource(t.Engine); {
		case so.IO == "No" && so.IOErrno == 0:
			if so.SQL {
				add(Problem{Code: CodeReplicaStopped, Severity: Warning, Instance: n.Name,
					Summary:  fmt.Sprintf("%s: receiver (IO thread) stopped", n.Name),
					Evidence: []string{fmt.Sprintf("%s: Slave_IO_Running=No, no error: someone stopped it", n.Name)}})
			}
		case gone:
			add(Problem{Code: CodeReplicaIOError, Severity: Warning, Instance: n.Name,
				Summary:  fmt.Sprintf("%s cannot receive from its source %s", n.Name, nameOr(src, so.Addr)),
				Evidence: []string{fmt.Sprintf("%s: %s", n.Name, why)}})
		}
	}
	if so.Lag != nil && *so.Lag > s.lagWarning().Seconds() {
		add(Problem{Code: CodeReplicaLagging, Severity: Warning, Instance: n.Name,
			Summary:  fmt.Sprintf("%s lags %gs behind its source", n.Name, *so.Lag),
			Evidence: []string{fmt.Sprintf("%s: Seconds_Behind_Master=%g > %s", n.Name, *so.Lag, s.lagWarning())}})
	}
	if so.Delay > 0 {
		add(Problem{Code: CodeDelayed, Severity: Info, Instance: n.Name,
			Summary:  fmt.Sprintf("%s is a delayed replica (%ds): never a failover candidate", n.Name, so.Delay),
			Evidence: []string{fmt.Sprintf("%s: SQL_Delay=%d", n.Name, so.Delay)}})
	}
	if t.Engine != engine.Redis {
		if e := n.errant(); len(e) > 0 {
			gt := make([]string, len(e))
			for i, g := range e {
				gt[i] = g.String()
			}
			add(Problem{Code: CodeErrant, Severity: Warning, Instance: n.Name,
				Summary: fmt.Sprintf("%s has errant transactions its source never sent: %s", n.Name, strings.Join(gt, ", ")),
				Evidence: []string{fmt.Sprintf("%s: gtid_binlog_pos=%s, gtid_slave_pos=%s", n.Name, n.GTIDBinlog, n.GTIDSlave),
					"it is not a failover candidate; inspect the transactions (mariadb-binlog) and remove or replay them"}})
		}
		if strings.EqualFold(so.UsingGTID, "No") {
			add(Problem{Code: CodeNoGTID, Severity: Warning, Instance: n.Name,
				Summary:  fmt.Sprintf("%s replicates by file and position, not GTID: it cannot be repointed or promoted safely", n.Name),
				Evidence: []string{fmt.Sprintf("%s: Using_Gtid=No; fix with CHANGE MASTER TO MASTER_USE_GTID=slave_pos", n.Name)}})
		}
	}
}

func nameOr(n *Node, addr string) string {
	if n != nil {
		return n.Name
	}
	return addr
}

func orNone(s string) string {
	if s == "" {
		return "no role"
	}
	return s
}
