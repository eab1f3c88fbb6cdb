package ha

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// recoveryTimeout bounds a whole recovery: every wait in it has its own,
// shorter, timeout; this only stops a recovery that hangs on a dead
// connection.
const recoveryTimeout = 5 * time.Minute

// run executes one recovery and records its steps.
type run struct {
	s   *Service
	rec *Recovery
	ops ops
}

// step runs fn as a recorded step: it is stored as running first (so a
// crash shows where the recovery was), then with its outcome and timing.
func (r *run) step(ctx context.Context, name, instance string, fn func(ctx context.Context) (string, error)) error {
	st := Step{Seq: len(r.rec.Steps) + 1, Name: name, Instance: instance, Status: StepRunning, StartedAt: time.Now()}
	if err := r.s.st.addStep(ctx, r.rec.ID, st); err != nil {
		r.s.log.Warn("ha: record step", "recovery", r.rec.ID, "step", name, "err", err)
	}
	var detail string
	var err error
	if r.s.failStep != "" && (r.s.failStep == name || r.s.failStep == name+" "+instance) {
		err = fmt.Errorf("injected failure (test)")
	} else {
		detail, err = fn(ctx)
	}
	st.Took, st.Detail = Duration(time.Since(st.StartedAt)), detail
	st.Status = StepDone
	if err != nil {
		st.Status, st.Error = StepFailed, err.Error()
	}
	if uerr := r.s.st.updateStep(ctx, r.rec.ID, st); uerr != nil {
		r.s.log.Warn("ha: record step", "recovery", r.rec.ID, "step", name, "err", uerr)
	}
	r.rec.Steps = append(r.rec.Steps, st)
	r.s.log.Info("ha: step", "recovery", r.rec.ID, "cluster", r.rec.Cluster, "step", name, "instance", instance,
		"status", st.Status, "took", time.Duration(st.Took).Round(time.Millisecond), "detail", detail, "err", st.Error)
	if err != nil {
		return fmt.Errorf("step %d (%s%s): %w", st.Seq, name, prefixed(" on ", instance), err)
	}
	return nil
}

// parallel runs fn for each instance at once, as one recorded step per
// instance; it returns the first instance that failed and the error.
func (r *run) parallel(ctx context.Context, name string, instances []string, fn func(ctx context.Context, instance string) (string, error)) (string, error) {
	steps := make([]Step, len(instances))
	for i, in := range instances {
		steps[i] = Step{Seq: len(r.rec.Steps) + 1 + i, Name: name, Instance: in, Status: StepRunning, StartedAt: time.Now()}
		if err := r.s.st.addStep(ctx, r.rec.ID, steps[i]); err != nil {
			r.s.log.Warn("ha: record step", "recovery", r.rec.ID, "step", name, "err", err)
		}
	}
	errs := make([]error, len(instances))
	var wg sync.WaitGroup
	for i, in := range instances {
		wg.Go(func() {
			st := &steps[i]
			st.StartedAt = time.Now()
			var detail string
			var err error
			if r.s.failStep != "" && (r.s.failStep == name || r.s.failStep == name+" "+in) {
				err = fmt.Errorf("injected failure (test)")
			} else {
				detail, err = fn(ctx, in)
			}
			st.Took, st.Detail, st.Status = Duration(time.Since(st.StartedAt)), detail, StepDone
			if err != nil {
				st.Status, st.Error, errs[i] = StepFailed, err.Error(), err
			}
		})
	}
	wg.Wait()
	failed, first := "", error(nil)
	for i, st := range steps {
		if err := r.s.st.updateStep(ctx, r.rec.ID, st); err != nil {
			r.s.log.Warn("ha: record step", "recovery", r.rec.ID, "step", name, "err", err)
		}
		r.rec.Steps = append(r.rec.Steps, st)
		r.s.log.Info("ha: step", "recovery", r.rec.ID, "cluster", r.rec.Cluster, "step", name, "instance", st.Instance,
			"status", st.Status, "took", time.Duration(st.Took).Round(time.Millisecond), "detail", st.Detail, "err", st.Error)
		if errs[i] != nil && first == nil {
			failed, first = st.Instance, fmt.Errorf("step %d (%s on %s): %w", st.Seq, name, st.Instance, errs[i])
		}
	}
	return failed, first
}

// skip records a step that was not needed or not possible.
func (r *run) skip(ctx context.Context, name, instance, why string) {
	st := Step{Seq: len(r.rec.Steps) + 1, Name: name, Instance: instance, Status: StepSkipped, Detail: why, StartedAt: time.Now()}
	if err := r.s.st.addStep(ctx, r.rec.ID, st); err != nil {
		r.s.log.Warn("ha: record step", "recovery", r.rec.ID, "step", name, "err", err)
	}
	r.rec.Steps = append(r.rec.Steps, st)
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// hooks runs the hooks a cluster names for event; the first failure stops
// them and is returned.
func (r *run) hooks(ctx context.Context, st Settings, event string, old, cand *Node) error {
	p := HookPayload{Event: event, Cluster: r.rec.Cluster, RecoveryID: r.rec.ID}
	if old != nil {
		p.OldPrimary, p.OldPrimaryAddr = old.Name, old.Addr
	}
	if cand != nil {
		p.NewPrimary, p.NewPrimaryAddr = cand.Name, cand.Addr
	}
	for _, name := range st.Hooks[event] {
		h, ok := r.s.hooks[name]
		if !ok {
			err := fmt.Errorf("hook %q is named by the cluster but no longer defined in the server configuration", name)
			r.skip(ctx, event+" hook "+name, "", err.Error())
			return err
		}
		if err := r.step(ctx, event+" hook "+name, "", func(ctx context.Context) (string, error) { return h.Run(ctx, p) }); err != nil {
			return err
		}
	}
	return nil
}

// FailoverOptions are what a human may ask of a manual failover.
type FailoverOptions struct {
	// To names the replica to promote (it must be eligible).
	To string `json:"to,omitempty"`
	// Force fails over although the primary is not confirmed dead, or a
	// semi-synchronous replica cannot be asked.
	Force bool `json:"force,omitempty"`
}

// Failover replaces the primary of a cluster by hand.
func (s *Service) Failover(ctx context.Context, cluster string, o FailoverOptions) (Recovery, error) {
	return s.failover(ctx, cluster, OriginManual, o, nil)
}

// recoverable reads what a failover or a switchover of cluster starts
// from: the cluster, which must be of an engine dbfleet recovers (what,
// "fails over" or "switches over", names the recovery in the refusal), and
// its HA settings.
func (s *Service) recoverable(ctx context.Context, cluster, what string) (inventory.Cluster, Settings, error) {
	c, err := s.inv.GetCluster(ctx, cluster)
	if err != nil {
		return inventory.Cluster{}, Settings{}, err
	}
	if !failoverSupported(c.Engine) {
		return inventory.Cluster{}, Settings{}, errkind.New(errkind.Invalid, "cluster %q is %s: dbfleet %s only MariaDB and Redis clusters", cluster, c.Engine, what)
	}
	settings, _, err := s.st.settings(ctx, s.db, cluster)
	if err != nil {
		return inventory.Cluster{}, Settings{}, err
	}
	return c, settings, nil
}

// failover is the whole failover, automatic or manual. The controller
// passes the snapshot in which it has just confirmed the dead primary;
// otherwise the cluster is probed first. It returns the recovery record;
// the error is set when it did not end done.
func (s *Service) failover(ctx context.Context, cluster, origin string, o FailoverOptions, confirmed *Topology) (Recovery, error) {
	// A recovery must not stop halfway because a request or a lease ended.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recoveryTimeout)
	defer cancel()
	c, settings, err := s.recoverable(ctx, cluster, "fails over")
	if err != nil {
		return Recovery{}, err
	}
	var topo Topology
	if confirmed != nil {
		topo = *confirmed
	} else if topo, err = s.Snapshot(ctx, cluster); err != nil {
		return Recovery{}, err
	}
	d := Diagnose(topo, settings)
	rec := &Recovery{Cluster: cluster, Kind: KindFailover, Origin: origin, OldPrimary: d.Primary, Diagnosis: &d,
		StartedBy: audit.ActorFrom(ctx).User, Steps: []Step{}}
	if err := s.st.begin(ctx, rec, time.Duration(settings.AntiFlap), s.holder); err != nil {
		return Recovery{}, err
	}
	r := &run{s: s, rec: rec, ops: s.opsFor(c.Engine, cluster)}
	r.failover(ctx, topo, d, settings, o)
	if err := s.st.finish(ctx, rec); err != nil {
		s.log.Error("ha: record the end of a recovery", "recovery", rec.ID, "err", err)
	}
	s.notifyRecovery(ctx, rec)
	if rec.State != StateDone {
		return *rec, errkind.New(errkind.Conflict, "%s failover of %s %s: %s", origin, cluster, rec.State, rec.Error)
	}
	return *rec, nil
}

// fail ends the recovery in state st with err and the next steps.
func (r *run) fail(st State, err error, next ...string) {
	r.rec.State, r.rec.Error = st, err.Error()
	r.rec.NextSteps = append(r.rec.NextSteps, next...)
}

func (r *run) failover(ctx context.Context, topo Topology, d Diagnosis, settings Settings, o FailoverOptions) {
	dead := d.Has(CodeDeadPrimary) != nil
	if !dead {
		if r.rec.Origin == OriginAutomatic {
			r.skip(ctx, "re-check", d.Primary, "the primary is no longer confirmed dead")
			r.fail(StateAborted, fmt.Errorf("re-check: the primary is not confirmed dead any more; nothing was changed"))
			return
		}
		if !o.Force {
			why := "no primary"
			if p := d.Problems; len(p) > 0 {
				why = fmt.Sprintf("%s (%s)", p[0].Code, p[0].Summary)
			}
			if d.Primary != "" && d.Has(CodeUnreachablePrimary) == nil {
				why = fmt.Sprintf("primary %s answers", d.Primary)
			}
			r.fail(StateAborted, fmt.Errorf("the primary is not confirmed dead: %s; nothing was changed. Use a switchover for a live primary, or --force if you are sure", why))
			return
		}
	}
	// Refused before any change: an automatic failover ends failed, so
	// that it blocks the next attempts until a human looked (no retry
	// loop); a manual one is only aborted.
	refused := StateAborted
	var ackStep []string
	if r.rec.Origin == OriginAutomatic {
		refused = StateFailed
		ackStep = []string{fmt.Sprintf("acknowledge this recovery when done (it blocks automatic failovers of %s): dbfleet cluster ack %d", r.rec.Cluster, r.rec.ID)}
	}
	plan := PlanFailover(topo, d, settings, PlanOptions{Force: o.Force, To: o.To})
	r.rec.Plan = &plan
	if plan.Refused != "" {
		r.skip(ctx, "plan", "", plan.Refused)
		r.fail(refused, fmt.Errorf("no failover: %s; nothing was changed", plan.Refused),
			append([]string{"fix what the refusal names, then fail over by hand: dbfleet cluster failover " + r.rec.Cluster + " (--to INSTANCE, --force)"}, ackStep...)...)
		return
	}
	old := topo.node(plan.OldPrimary)
	if err := r.hooks(ctx, settings, EventPreFailover, old, topo.node(plan.Candidate)); err != nil {
		r.fail(refused, fmt.Errorf("pre-failover hook failed, nothing was changed: %w", err),
			append([]string{"fix the hook or the cluster, then fail over by hand: dbfleet cluster failover " + r.rec.Cluster}, ackStep...)...)
		return
	}

	fenced := false
	if old.Reachable {
		// A forced failover of a live primary: fence it before anything.
		if err := r.step(ctx, "fence old primary", old.Name, func(ctx context.Context) (string, error) { return r.ops.fence(ctx, old, nil) }); err != nil {
			r.fail(StateFailed, err, "the old primary could not be fenced; nothing else was changed: make it read-only by hand, then retry")
			return
		}
		// Redis pauses the old primary's writes now and makes it a replica
		// of the new one after the promotion.
		fenced = topo.Engine != engine.Redis
	}

	// Stop every direct replica receiving, and let each apply what it has
	// (all at once: a semi-synchronous replica's STOP SLAVE waits for its
	// hung source).
	frozen := append([]string{plan.Candidate}, plan.Repoint...)
	if failed, err := r.parallel(ctx, r.ops.freezeStep(), frozen, func(ctx context.Context, name string) (string, error) {
		return r.ops.freeze(ctx, topo.node(name))
	}); err != nil {
		r.fail(StateFailed, err, "nothing was promoted",
			fmt.Sprintf("replication receivers were stopped on %s: if the old primary is back and healthy, restart them (START SLAVE IO_THREAD)", strings.Join(frozen, ", ")),
			"fix the replica or exclude it (dbfleet instance set "+failed+" --promotion never), then: dbfleet cluster failover "+r.rec.Cluster)
		return
	}

	// Positions after the freeze decide.
	if err := r.step(ctx, "re-read positions and plan", "", func(ctx context.Context) (string, error) {
		if err := r.s.reprobe(ctx, &topo, frozen...); err != nil {
			return "", err
		}
		plan = PlanFailover(topo, d, settings, PlanOptions{Force: o.Force || old.Reachable, To: o.To})
		r.rec.Plan = &plan
		if plan.Refused != "" {
			return "", errors.New(plan.Refused)
		}
		detail := fmt.Sprintf("promote %s", plan.Candidate)
		if plan.CatchUpFrom != "" {
			detail += fmt.Sprintf(" after catching up from %s to %s", plan.CatchUpFrom, plan.Target)
		}
		return detail + "; target " + orDash(plan.Target), nil
	}); err != nil {
		r.fail(StateFailed, err, "nothing was promoted",
			fmt.Sprintf("replication receivers were stopped on %s: restart them (START SLAVE IO_THREAD) if the old primary is back", strings.Join(frozen, ", ")),
			"fix what the error names, then: dbfleet cluster failover "+r.rec.Cluster+" (--to INSTANCE, --force)")
		return
	}
	cand := topo.node(plan.Candidate)

	if plan.CatchUpFrom != "" {
		from := topo.node(plan.CatchUpFrom)
		if err := r.step(ctx, "catch up", cand.Name, func(ctx context.Context) (string, error) {
			return r.ops.catchUp(ctx, cand, from, plan.Target)
		}); err != nil {
			r.fail(StateFailed, err, "nothing was promoted",
				fmt.Sprintf("%s was replicating from %s to catch up; check it (SHOW SLAVE STATUS)", cand.Name, from.Name),
				fmt.Sprintf("either let %s catch up and fail over again with --to %s, or fail over to %s: dbfleet cluster failover %s --to %s",
					cand.Name, cand.Name, from.Name, r.rec.Cluster, from.Name))
			return
		}
	}

	if err := r.step(ctx, "promote", cand.Name, func(ctx context.Context) (string, error) { return r.ops.promote(ctx, cand, old) }); err != nil {
		r.fail(StateFailed, err,
			fmt.Sprintf("check %s: if RESET SLAVE ALL ran, finish with SET GLOBAL read_only=OFF on it, then repoint the other replicas (see below)", cand.Name),
			fmt.Sprintf("replication receivers were stopped on %s", strings.Join(frozen, ", ")))
		r.addRepointSteps(plan.Repoint, topo, cand)
		return
	}
	r.rec.NewPrimary = cand.Name

	r.finishFailover(ctx, plan, topo, settings, old, cand, fenced)
}

// finishFailover runs what follows a promotion: inventory, repointing,
// fencing, hooks. From here on the new primary takes writes, so a failure
// does not stop the remaining steps that do not depend on it.
func (r *run) finishFailover(ctx context.Context, plan Plan, topo Topology, settings Settings, old, cand *Node, fenced bool) {
	errs := r.recordAndRepoint(ctx, plan, topo, old, cand)

	if !fenced {
		if err := r.step(ctx, "fence old primary", old.Name, func(ctx context.Context) (string, error) {
			t := Topology{Cluster: topo.Cluster, Engine: topo.Engine, Nodes: []Node{*old}}
			if err := r.s.reprobe(ctx, &t, old.Name); err != nil {
				return "", err
			}
			if o := t.node(old.Name); !o.Reachable {
				return "", fmt.Errorf("unreachable (%s): fence pending", o.Error)
			}
			return r.ops.fence(ctx, old, cand)
		}); err != nil {
			r.rec.FencePending = true
			r.rec.NextSteps = append(r.rec.NextSteps, r.ops.manualFence(old))
			if herr := r.hooks(ctx, settings, EventFence, old, cand); herr != nil {
				errs = append(errs, herr)
			}
		}
	}
	if err := r.hooks(ctx, settings, EventPostFailover, old, cand); err != nil {
		errs = append(errs, err)
	}
	r.addUnreachableSteps(plan.Unreachable, topo, cand)
	r.rec.NextSteps = append(r.rec.NextSteps, r.ops.reattach(old, cand))
	if len(errs) > 0 {
		r.fail(StateFailed, fmt.Errorf("%s is the new primary, but %w", cand.Name, errors.Join(errs...)),
			fmt.Sprintf("acknowledge this recovery when the cluster is whole again: dbfleet cluster ack %d", r.rec.ID))
		return
	}
	r.rec.State = StateDone
	if r.rec.Origin == OriginAutomatic {
		r.rec.NextSteps = append(r.rec.NextSteps, fmt.Sprintf("acknowledge it (it blocks another automatic failover of %s for %s): dbfleet cluster ack %d", r.rec.Cluster, settings.AntiFlap, r.rec.ID))
	}
}

// recordAndRepoint is what follows a promotion in a failover and a
// switchover alike: the inventory records the new roles, then each replica
// of plan.Repoint is repointed at cand. What fails is returned, with its
// manual command added to the next steps.
func (r *run) recordAndRepoint(ctx context.Context, plan Plan, topo Topology, old, cand *Node) []error {
	var errs []error
	if err := r.updateInventory(ctx, old, cand); err != nil {
		errs = append(errs, err)
		r.rec.NextSteps = append(r.rec.NextSteps, fmt.Sprintf("update the inventory: dbfleet instance set %s --role replica; dbfleet instance set %s --role primary", old.Name, cand.Name))
	}
	var failed []string
	for _, name := range plan.Repoint {
		n := topo.node(name)
		if err := r.step(ctx, "repoint", name, func(ctx context.Context) (string, error) { return r.ops.repoint(ctx, n, cand) }); err != nil {
			errs = append(errs, err)
			failed = append(failed, name)
		}
	}
	r.addRepointSteps(failed, topo, cand)
	return errs
}

// addUnreachableSteps adds the manual commands for the replicas that were
// unreachable during the recovery.
func (r *run) addUnreachableSteps(names []string, topo Topology, cand *Node) {
	for _, name := range names {
		if n := topo.node(name); n != nil {
			r.rec.NextSteps = append(r.rec.NextSteps, "unreachable replica, repoint it when it is back: "+r.ops.manualRepoint(n, cand))
		}
	}
}

// addRepointSteps adds the manual commands for replicas not repointed.
func (r *run) addRepointSteps(names []string, topo Topology, cand *Node) {
	for _, name := range names {
		if n := topo.node(name); n != nil {
			r.rec.NextSteps = append(r.rec.NextSteps, r.ops.manualRepoint(n, cand))
		}
	}
}

// updateInventory records the new roles: the old primary becomes a
// replica (to be re-attached), the candidate the primary.
func (r *run) updateInventory(ctx context.Context, old, cand *Node) error {
	return r.step(ctx, "update inventory", cand.Name, func(ctx context.Context) (string, error) {
		replica, primary := inventory.RoleReplica, inventory.RolePrimary
		if old != nil && old.Name != cand.Name {
			if _, err := r.s.inv.UpdateInstance(ctx, old.Name, inventory.InstancePatch{Role: &replica}); err != nil {
				return "", err
			}
		}
		if _, err := r.s.inv.UpdateInstance(ctx, cand.Name, inventory.InstancePatch{Role: &primary}); err != nil {
			return "", err
		}
		if old == nil {
			return cand.Name + " declared primary", nil
		}
		return fmt.Sprintf("%s declared primary, %s replica", cand.Name, old.Name), nil
	})
}

func (s *Service) notifyRecovery(ctx context.Context, r *Recovery) {
	sev := Info
	switch r.State {
	case StateFailed:
		sev = Critical
	case StateDone:
		if r.Kind == KindFailover {
			sev = Warning
		}
	case StateAborted:
		if r.Origin == OriginManual {
			return // the human who asked saw the answer
		}
	}
	title := fmt.Sprintf("%s %s of %s %s", r.Origin, r.Kind, r.Cluster, r.State)
	if r.NewPrimary != "" {
		title += fmt.Sprintf(": %s replaces %s", r.NewPrimary, r.OldPrimary)
	}
	s.notify(ctx, Event{Kind: r.Kind, Severity: sev, Cluster: r.Cluster, Title: title, Text: r.Text(), Recovery: r})
}
