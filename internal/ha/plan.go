package ha

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// ActionKind is what the controller should do about a diagnosis.
type ActionKind string

// Actions.
const (
	ActNone     ActionKind = "none"
	ActReprobe  ActionKind = "reprobe"  // look again soon; do nothing yet
	ActNotify   ActionKind = "notify"   // tell humans; they decide
	ActFailover ActionKind = "failover" // fail over now
	ActBlocked  ActionKind = "blocked"  // would fail over, but a recent recovery blocks it
)

// Action is Decide's answer.
type Action struct {
	Kind   ActionKind `json:"kind"`
	Reason string     `json:"reason"`
}

// Decide says what to do about a diagnosis given the cluster's mode.
// blockedBy, when not empty, names the recovery that blocks an automatic
// failover (anti-flap).
func Decide(d Diagnosis, s Settings, blockedBy string) Action {
	if p := d.Has(CodeDeadPrimary); p != nil {
		switch s.Mode {
		case ModeAutomatic:
			if !failoverSupported(d.Engine) {
				return Action{ActNotify, fmt.Sprintf("primary %s is dead; dbfleet cannot fail over %s clusters: act by hand", p.Instance, d.Engine)}
			}
			if blockedBy != "" {
				return Action{ActBlocked, fmt.Sprintf("primary %s is dead but %s blocks another automatic failover (anti-flap); acknowledge it with dbfleet cluster ack, or fail over by hand with dbfleet cluster failover %s", p.Instance, blockedBy, d.Cluster)}
			}
			return Action{ActFailover, fmt.Sprintf("primary %s is dead; HA mode automatic", p.Instance)}
		case ModeNotify:
			return Action{ActNotify, fmt.Sprintf("primary %s is dead; HA mode notify: fail over by hand with dbfleet cluster failover %s", p.Instance, d.Cluster)}
		}
		return Action{ActNone, fmt.Sprintf("primary %s is dead; HA mode is off", p.Instance)}
	}
	if p := d.Has(CodeUnreachablePrimary); p != nil {
		return Action{ActReprobe, "primary unreachable but not confirmed dead by its replicas; re-probing"}
	}
	return Action{ActNone, "no failover needed"}
}

// Candidate is one replica weighed for promotion.
type Candidate struct {
	Instance string `json:"instance"`
	Rule     Rule   `json:"rule"`
	// Position is what it has received (GTID position, or Redis offset).
	Position string   `json:"position"`
	Eligible bool     `json:"eligible"`
	Reasons  []string `json:"reasons,omitempty"` // why not eligible
	// MostAdvanced: it has received everything any reachable replica has.
	MostAdvanced bool `json:"most_advanced"`
}

// Plan is how to replace a primary.
type Plan struct {
	Cluster    string      `json:"cluster"`
	Engine     engine.Kind `json:"engine"`
	Kind       string      `json:"kind"` // failover or switchover
	OldPrimary string      `json:"old_primary"`
	// Candidate is the replica to promote; empty when Refused says why
	// there is none.
	Candidate string `json:"candidate,omitempty"`
	// CatchUpFrom: the candidate is behind this replica and must first
	// replicate from it up to Target.
	CatchUpFrom string `json:"catch_up_from,omitempty"`
	// Target is the position the new primary must reach before it takes
	// writes (the most any reachable replica received; for a switchover,
	// the old primary's last position).
	Target string `json:"target,omitempty"`
	// Repoint are replicas to move under the new primary.
	Repoint []string `json:"repoint,omitempty"`
	// Keep are chained replicas left under their intermediate source.
	Keep []string `json:"keep,omitempty"`
	// Unreachable replicas of the old primary: repoint them by hand when
	// they come back.
	Unreachable []string `json:"unreachable,omitempty"`
	// Fence is the old primary, to make read-only if reachable (else the
	// fence hooks run and fencing stays pending).
	Fence string `json:"fence,omitempty"`
	// Ranking lists every replica weighed, best first.
	Ranking []Candidate `json:"ranking"`
	Refused string      `json:"refused,omitempty"`
	// Warnings do not stop the plan but a human should read them.
	Warnings []string `json:"warnings,omitempty"`
}

// PlanOptions tune the planners.
type PlanOptions struct {
	// Force overrides the refusals a human may take responsibility for: a
	// semi-synchronous replica that cannot be reached, a primary that still
	// answers (manual failover of a live primary).
	Force bool
	// To asks for a specific new primary.
	To string
}

// PlanFailover chooses how to replace a dead primary. It is pure.
//
// Among the primary's reachable direct replicas it computes the furthest
// position any of them received (per GTID domain) and refuses when no
// replica holds all of it. Eligible candidates are reachable, not "never",
// without errant transactions, binlogging their replicated transactions
// (log_bin, log_slave_updates), not delayed, within the maximum lag. A
// "prefer" replica wins over a "neutral" one even when behind, and is then
// caught up first from the most advanced replica; among equals, the most
// advanced wins.
func PlanFailover(t Topology, d Diagnosis, s Settings, opt PlanOptions) Plan {
	t.sortNodes()
	pl := Plan{Cluster: t.Cluster, Engine: t.Engine, Kind: "failover", Ranking: []Candidate{}}
	if !failoverSupported(t.Engine) {
		pl.Refused = fmt.Sprintf("dbfleet does not fail over %s clusters", t.Engine)
		return pl
	}
	old := t.node(d.Primary)
	if old == nil {
		pl.Refused = "no primary to replace: the cluster has none (see no_primary)"
		return pl
	}
	pl.OldPrimary, pl.Fence = old.Name, old.Name
	if old.Reachable && !opt.Force {
		pl.Refused = fmt.Sprintf("primary %s answers: use a switchover (dbfleet cluster switchover %s), or --force to fail over a live primary", old.Name, t.Cluster)
		return pl
	}
	if old.Reachable && opt.Force {
		pl.Warnings = append(pl.Warnings, fmt.Sprintf("primary %s still answers; it will be fenced (read_only=ON) first", old.Name))
	}

	var direct []*Node
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if n.Name == old.Name {
			continue
		}
		if !n.Reachable {
			if n.Declared != "primary" {
				pl.Unreachable = append(pl.Unreachable, n.Name)
			}
			continue
		}
		switch src := t.sourceOf(n); {
		case src == old:
			direct = append(direct, n)
		case src != nil:
			pl.Keep = append(pl.Keep, n.Name)
		}
	}
	if len(direct) == 0 {
		pl.Refused = fmt.Sprintf("no reachable replica of %s", old.Name)
		return pl
	}
	if t.Engine == engine.Redis {
		return planRedis(&t, old, direct, s, opt, pl)
	}

	// Semi-synchronous clusters: an acknowledged transaction reached at
	// least one semi-sync replica; if one of those cannot be asked, no
	// reachable replica may have it.
	if !opt.Force {
		semi := false
		for _, n := range direct {
			semi = semi || n.SemiSyncSlave
		}
		if semi || old.SemiSyncMaster {
			for _, name := range pl.Unreachable {
				if n := t.node(name); n.SemiSyncSlave || !n.Known {
					pl.Refused = fmt.Sprintf("semi-synchronous replica %s is unreachable: it may hold acknowledged transactions no reachable replica has; bring it back, or fail over by hand with --force", name)
					return pl
				}
			}
		}
	}

	best := GTIDSet{}
	for _, n := range direct {
		best = best.Union(n.received())
	}
	pl.Target = best.String()
	for _, n := range direct {
		if n.Source != nil && n.Source.Delay > 0 && !best.Contains(n.Source.IOPos) {
			pl.Warnings = append(pl.Warnings, fmt.Sprintf("delayed replica %s received %s but has not applied it (SQL_Delay=%d): those transactions are not carried over",
				n.Name, strings.Join(best.Missing(n.Source.IOPos), ", "), n.Source.Delay))
		}
	}
	var leaders []*Node
	for _, n := range direct {
		if n.received().Contains(best) {
			leaders = append(leaders, n)
		}
	}
	if len(leaders) == 0 {
		var why []string
		for _, n := range direct {
			why = append(why, fmt.Sprintf("%s lacks %s", n.Name, strings.Join(n.received().Missing(best), ", ")))
		}
		pl.Refused = "no replica received every transaction the others did (positions diverge across GTID domains): " + strings.Join(why, "; ")
		pl.Ranking = rank(direct, best, s, &t)
		return pl
	}

	pl.Ranking = rank(direct, best, s, &t)
	chosen := choose(pl.Ranking, opt.To)
	if chosen == "" {
		pl.Refused = noCandidate(pl.Ranking, opt.To)
		return pl
	}
	cand := t.node(chosen)
	pl.Candidate = cand.Name
	if !cand.received().Contains(best) {
		// Catch up from a most advanced replica without errant
		// transactions (they would be copied along).
		var from *Node
		for _, l := range leaders {
			if len(l.errant()) == 0 && l.LogBin && l.LogSlaveUpdates {
				from = l
				break
			}
		}
		if from == nil {
			pl.Refused = fmt.Sprintf("%s is behind (%s) and no most advanced replica can serve the missing transactions without errant ones or without log_slave_updates",
				cand.Name, strings.Join(cand.received().Missing(best), ", "))
			pl.Candidate = ""
			return pl
		}
		pl.CatchUpFrom = from.Name
	}
	for _, n := range direct {
		if n.Name != cand.Name {
			pl.Repoint = append(pl.Repoint, n.Name)
		}
	}
	return pl
}

// rank weighs replicas: eligible first, then prefer over neutral, then the
// most advanced, then by name. best is the furthest GTID position any of
// them received (MariaDB); Redis replicas are compared by offset.
func rank(direct []*Node, best GTIDSet, s Settings, t *Topology) []Candidate {
	var maxOffset int64
	for _, n := range direct {
		maxOffset = max(maxOffset, n.Offset)
	}
	out := make([]Candidate, 0, len(direct))
	for _, n := range direct {
		c := Candidate{Instance: n.Name, Rule: ruleOf(n)}
		if t.Engine == engine.Redis {
			c.Position, c.MostAdvanced = strconv.FormatInt(n.Offset, 10), n.Offset >= maxOffset
		} else {
			c.Position, c.MostAdvanced = n.received().String(), n.received().Contains(best)
		}
		c.Reasons = ineligible(n, s, t)
		c.Eligible = len(c.Reasons) == 0
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b Candidate) int {
		na, nb := t.node(a.Instance), t.node(b.Instance)
		return cmp.Or(
			boolFirst(a.Eligible, b.Eligible),
			boolFirst(a.Rule == RulePrefer, b.Rule == RulePrefer),
			boolFirst(a.MostAdvanced, b.MostAdvanced),
			cmp.Compare(nb.received().transactions(), na.received().transactions()),
			cmp.Compare(nb.Offset, na.Offset),
			strings.Compare(a.Instance, b.Instance))
	})
	return out
}

func boolFirst(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

func ruleOf(n *Node) Rule {
	if n.Rule == "" {
		return RuleNeutral
	}
	return n.Rule
}

// ineligible lists why a replica may not be promoted.
func ineligible(n *Node, s Settings, t *Topology) []string {
	var why []string
	if ruleOf(n) == RuleNever {
		why = append(why, "promotion rule never")
	}
	if n.Source != nil && n.Source.Delay > 0 {
		why = append(why, fmt.Sprintf("delayed replica (SQL_Delay=%d)", n.Source.Delay))
	}
	if s.MaxLag > 0 && n.Source != nil && n.Source.Lag != nil && *n.Source.Lag > time.Duration(s.MaxLag).Seconds() {
		why = append(why, fmt.Sprintf("lag %gs exceeds the maximum %s", *n.Source.Lag, time.Duration(s.MaxLag)))
	}
	if t.Engine == engine.Redis {
		return why
	}
	if e := n.errant(); len(e) > 0 {
		gt := make([]string, len(e))
		for i, g := range e {
			gt[i] = g.String()
		}
		why = append(why, "errant transactions "+strings.Join(gt, ","))
	}
	if !n.LogBin {
		why = append(why, "binary log off (log_bin=OFF)")
	} else if !n.LogSlaveUpdates {
		why = append(why, "log_slave_updates=OFF: the other replicas could not continue from it")
	}
	if n.Source != nil && strings.EqualFold(n.Source.UsingGTID, "No") {
		why = append(why, "replicates without GTID (Using_Gtid=No)")
	}
	if n.Source != nil && !n.Source.SQL && (n.Source.SQLErrno != 0 || n.Source.SQLError != "") {
		why = append(why, fmt.Sprintf("applier failed (Last_SQL_Errno=%d)", n.Source.SQLErrno))
	}
	return why
}

// choose picks the first eligible candidate, or the one asked for.
func choose(r []Candidate, to string) string {
	for _, c := range r {
		if c.Eligible && (to == "" || c.Instance == to) {
			return c.Instance
		}
	}
	return ""
}

func noCandidate(r []Candidate, to string) string {
	var why []string
	for _, c := range r {
		if to != "" && c.Instance != to {
			continue
		}
		why = append(why, c.Instance+": "+strings.Join(c.Reasons, "; "))
	}
	if to != "" && len(why) == 0 {
		return fmt.Sprintf("%s is not a reachable direct replica of the primary", to)
	}
	return "no eligible replica: " + strings.Join(why, "; ")
}

// planRedis ranks Redis replicas by the replication offset they reached.
func planRedis(t *Topology, old *Node, direct []*Node, s Settings, opt PlanOptions, pl Plan) Plan {
	var best int64
	for _, n := range direct {
		best = max(best, n.Offset)
	}
	pl.Target = strconv.FormatInt(best, 10)
	pl.Ranking = rank(direct, nil, s, t)
	for i := range pl.Ranking {
		c := &pl.Ranking[i]
		if n := t.node(c.Instance); old.ReplID != "" && n.ReplID != "" && n.ReplID != old.ReplID {
			c.Reasons = append(c.Reasons, fmt.Sprintf("replication id %s differs from the primary's %s", n.ReplID, old.ReplID))
			c.Eligible = false
		}
	}
	slices.SortStableFunc(pl.Ranking, func(a, b Candidate) int { return boolFirst(a.Eligible, b.Eligible) })
	chosen := choose(pl.Ranking, opt.To)
	if chosen == "" {
		pl.Refused = noCandidate(pl.Ranking, opt.To)
		return pl
	}
	cand := t.node(chosen)
	pl.Candidate = cand.Name
	if cand.Offset < best {
		for _, c := range pl.Ranking {
			if c.MostAdvanced {
				pl.CatchUpFrom = c.Instance
				break
			}
		}
	}
	for _, n := range direct {
		if n.Name != cand.Name {
			pl.Repoint = append(pl.Repoint, n.Name)
		}
	}
	return pl
}

// PlanSwitchover chooses how to hand the primary role to a replica while
// the primary lives: the target (given, or the best eligible replica) must
// replicate from the primary with both threads running.
func PlanSwitchover(t Topology, d Diagnosis, s Settings, opt PlanOptions) Plan {
	t.sortNodes()
	pl := Plan{Cluster: t.Cluster, Engine: t.Engine, Kind: "switchover", Ranking: []Candidate{}}
	if !failoverSupported(t.Engine) {
		pl.Refused = fmt.Sprintf("dbfleet does not switch over %s clusters", t.Engine)
		return pl
	}
	old := t.node(d.Primary)
	switch {
	case old == nil:
		pl.Refused = "the cluster has no primary to switch over from"
		return pl
	case !old.Reachable:
		pl.Refused = fmt.Sprintf("primary %s is unreachable: a switchover needs a live primary (fail over instead: dbfleet cluster failover %s)", old.Name, t.Cluster)
		return pl
	}
	pl.OldPrimary = old.Name
	if t.Engine == engine.Redis {
		pl.Target = strconv.FormatInt(old.Offset, 10)
	} else {
		pl.Target = old.GTIDBinlog.String()
	}
	var direct []*Node
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if n.Name == old.Name {
			continue
		}
		if !n.Reachable {
			pl.Unreachable = append(pl.Unreachable, n.Name)
			continue
		}
		switch src := t.sourceOf(n); {
		case src == old:
			direct = append(direct, n)
		case src != nil:
			pl.Keep = append(pl.Keep, n.Name)
		}
	}
	best := GTIDSet{}
	for _, n := range direct {
		best = best.Union(n.received())
	}
	pl.Ranking = rank(direct, best, s, &t)
	for i := range pl.Ranking {
		c := &pl.Ranking[i]
		n := t.node(c.Instance)
		switch {
		case t.Engine == engine.Redis && !n.Source.ioRunning():
			c.Reasons = append(c.Reasons, "link to the primary down")
			c.Eligible = false
		case t.Engine != engine.Redis && (!n.Source.ioRunning() || !n.Source.SQL):
			c.Reasons = append(c.Reasons, fmt.Sprintf("replication not running (IO=%s, SQL=%s)", n.Source.IO, yesNo(n.Source.SQL)))
			c.Eligible = false
		}
		if t.Engine == engine.Redis && n.ReplID != "" && old.ReplID != "" && n.ReplID != old.ReplID {
			c.Reasons = append(c.Reasons, "replication id differs from the primary's")
			c.Eligible = false
		}
	}
	slices.SortStableFunc(pl.Ranking, func(a, b Candidate) int { return boolFirst(a.Eligible, b.Eligible) })
	chosen := choose(pl.Ranking, opt.To)
	if chosen == "" {
		pl.Refused = noCandidate(pl.Ranking, opt.To)
		return pl
	}
	pl.Candidate = chosen
	for _, n := range direct {
		if n.Name != chosen {
			pl.Repoint = append(pl.Repoint, n.Name)
		}
	}
	return pl
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}
