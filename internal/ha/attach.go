package ha

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// AttachResult says what Attach did.
type AttachResult struct {
	Instance string `json:"instance"`
	Primary  string `json:"primary"`
	// Already: it was a running replica of the primary; nothing changed.
	Already bool     `json:"already,omitempty"`
	Steps   []string `json:"steps"`
}

// attachWait bounds how long Attach waits for the attached node's
// replication to run.
const attachWait = 15 * time.Second

// Attach makes instance (typically a fenced old primary after a failover)
// a replica of its cluster's current primary. On MariaDB it first makes the
// node read-only, then refuses a node holding transactions the primary
// lacks (errant transactions: writes that never reached the new primary),
// naming them; it points it at the primary from, per domain, the furthest
// of what it applied and what it wrote (never backwards),
// and checks that the primary accepts that position (a diverged history is
// refused by the server, error 1236: then replication is stopped again
// and the reason returned). The inventory then declares it a replica.
func (s *Service) Attach(ctx context.Context, instance string) (AttachResult, error) {
	in, err := s.inv.GetInstance(ctx, instance)
	if err != nil {
		return AttachResult{}, err
	}
	if in.Cluster == "" {
		return AttachResult{}, errkind.New(errkind.Invalid, "instance %q belongs to no cluster: nothing to attach it to", instance)
	}
	c, settings, err := s.recoverable(ctx, in.Cluster, "attaches replicas in")
	if err != nil {
		return AttachResult{}, err
	}
	topo, err := s.Snapshot(ctx, c.Name)
	if err != nil {
		return AttachResult{}, err
	}
	d := Diagnose(topo, settings)
	p, n := topo.node(d.Primary), topo.node(instance)
	switch {
	case p == nil || !p.Reachable:
		return AttachResult{}, errkind.New(errkind.Conflict, "cluster %q has no reachable primary to attach %s to", c.Name, instance)
	case p.Name == instance:
		return AttachResult{}, errkind.New(errkind.Conflict, "%s is the primary of cluster %q", instance, c.Name)
	case n == nil || !n.Reachable:
		return AttachResult{}, errkind.New(errkind.Unavailable, "%s cannot be reached: %s", instance, orDash(nodeError(n)))
	}
	res := AttachResult{Instance: instance, Primary: p.Name, Steps: []string{}}
	if n.Source != nil && topo.sourceOf(n) == p && n.Source.ioRunning() && n.Source.SQL {
		res.Already = true
		return res, s.declareReplica(ctx, in, res)
	}
	ops := s.opsFor(c.Engine, c.Name)
	if c.Engine != engine.Redis {
		// Fence first, then judge its position afresh: a write committed
		// between the snapshot and read_only=ON is in the position read now.
		detail, err := ops.fence(ctx, n, p)
		if err != nil {
			return res, fmt.Errorf("attach %s: keep it read-only: %w", instance, err)
		}
		res.Steps = append(res.Steps, "fence: "+detail)
		if err := s.reprobe(ctx, &topo, n.Name); err != nil {
			return res, err
		}
		if n = topo.node(instance); !n.Reachable {
			return res, errkind.New(errkind.Unavailable, "%s cannot be reached after fencing it: %s", instance, orDash(n.Error))
		}
		errant, err := s.errantOf(ctx, c.Name, n, p)
		if err != nil {
			return res, err
		}
		if len(errant) > 0 {
			return res, errkind.New(errkind.Conflict, "%s holds transactions %s does not have (%s): attaching it would lose or diverge them; it stays read-only; inspect them with mariadb-binlog and replay them on %s or rebuild %s from a backup (docs/ha.md, \"Re-attaching the old primary\")",
				instance, p.Name, strings.Join(errant, ", "), p.Name, instance)
		}
	}
	detail, err := ops.attachOld(ctx, n, p)
	if err != nil {
		return res, fmt.Errorf("attach %s to %s: %w", instance, p.Name, err)
	}
	res.Steps = append(res.Steps, "attach: "+detail)
	if err := s.waitReplicating(ctx, &topo, n.Name, p); err != nil {
		if c.Engine != engine.Redis {
			if m, ok := ops.(*mariadbOps); ok {
				if serr := m.exec(ctx, n, "STOP SLAVE"); serr != nil {
					err = fmt.Errorf("%w; stopping its replication again failed too: %v", err, serr)
				}
			}
		}
		return res, err
	}
	res.Steps = append(res.Steps, "replicating from "+p.Name)
	return res, s.declareReplica(ctx, in, res)
}

// waitReplicating reprobes name until it replicates from p with both
// threads running, or its receiver fails (the server's reason returned).
func (s *Service) waitReplicating(ctx context.Context, t *Topology, name string, p *Node) error {
	deadline := time.Now().Add(attachWait)
	for {
		if err := s.reprobe(ctx, t, name); err != nil {
			return err
		}
		n := t.node(name)
		if src := n.Source; src != nil {
			if src.ioRunning() && src.SQL {
				return nil
			}
			if src.IOErrno != 0 || src.SQLErrno != 0 {
				return errkind.New(errkind.Conflict, "%s does not replicate from %s: %s (the primary's binary log lacks its last transaction or it diverged: see docs/ha.md, \"Re-attaching the old primary\")",
					name, p.Name, strings.TrimSpace(src.IOError+" "+src.SQLError))
			}
		}
		if time.Now().After(deadline) {
			return errkind.New(errkind.Unavailable, "%s does not replicate from %s after %s", name, p.Name, attachWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// declareReplica records the attach: the inventory declares the instance
// a replica, and the audit log says who attached what to which primary.
func (s *Service) declareReplica(ctx context.Context, in inventory.Instance, res AttachResult) error {
	if in.Role != inventory.RoleReplica {
		role := inventory.RoleReplica
		if _, err := s.inv.UpdateInstance(ctx, in.Name, inventory.InstancePatch{Role: &role}); err != nil {
			return fmt.Errorf("attach %s: declare it a replica: %w", in.Name, err)
		}
	}
	if res.Already {
		return nil
	}
	return audit.Record(ctx, s.db, "cluster.attach", in.Cluster, map[string]any{"instance": in.Name, "primary": res.Primary, "steps": res.Steps})
}

// errantOf lists the transactions of n that the primary p lacks. The
// server does not tell (without gtid_strict_mode a master serves a replica
// whose position it never had from the next higher sequence number), so
// they are found from the positions:
//   - beyond p's binary log, or the same sequence number from another
//     server;
//   - for an old primary of a recorded failover or switchover, its own
//     writes beyond the position its successor had received when it was
//     promoted (the plan's target): writes that never reached it, or came
//     after;
//   - otherwise, what n wrote itself beyond what it applied from a source
//     (its binary log ahead of gtid_slave_pos).
func (s *Service) errantOf(ctx context.Context, cluster string, n, p *Node) ([]string, error) {
	out := missingFrom(p.GTIDBinlog, n.GTIDBinlog)
	recs, err := s.st.recoveries(ctx, cluster, 50)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.OldPrimary != n.Name || r.NewPrimary == "" || r.Plan == nil || r.Plan.Target == "" {
			continue
		}
		target, err := ParseGTIDSet(r.Plan.Target)
		if err != nil {
			return nil, fmt.Errorf("recovery #%d target %q: %w", r.ID, r.Plan.Target, err)
		}
		// Only its own writes count here: what it received later from
		// another server (replicating after the recovery) is judged against
		// p's binary log above.
		own := GTIDSet{}
		for d, g := range n.GTIDBinlog {
			if g.Server == n.ServerID {
				own[d] = g
			}
		}
		return append(out, missingFrom(target, own)...), nil
	}
	for _, g := range errantGTIDs(n.GTIDBinlog, n.GTIDSlave, 0) {
		out = append(out, g.String()+" (written on it, not received)")
	}
	return out, nil
}

// missingFrom lists, per domain, the transactions of have that p lacks:
// a sequence number beyond p's, or the same one written by another
// server (a diverged history).
func missingFrom(p, have GTIDSet) []string {
	var out []string
	for _, d := range have.Domains() {
		h, pg := have[d], p[d]
		switch {
		case h.Seq > pg.Seq:
			out = append(out, p.Missing(GTIDSet{d: h})...)
		case h.Seq == pg.Seq && h.Server != pg.Server:
			out = append(out, fmt.Sprintf("%s (the primary has %s)", h, pg))
		}
	}
	return out
}

func nodeError(n *Node) string {
	if n == nil {
		return "not in the cluster's topology"
	}
	return n.Error
}
