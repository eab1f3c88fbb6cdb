package ha

import (
	"context"
	"fmt"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Switchover hands the primary role to a replica while the primary lives,
// losing nothing: writes stop on the old primary (read_only, its clients
// disconnected; Redis: CLIENT PAUSE WRITE), the target applies everything
// the old primary wrote, is promoted, the other replicas and the old
// primary are repointed under it. If the target does not catch up in
// time, the old primary takes writes again and nothing else changed.
func (s *Service) Switchover(ctx context.Context, cluster, to string) (Recovery, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recoveryTimeout)
	defer cancel()
	c, settings, err := s.recoverable(ctx, cluster, "switches over")
	if err != nil {
		return Recovery{}, err
	}
	topo, err := s.Snapshot(ctx, cluster)
	if err != nil {
		return Recovery{}, err
	}
	d := Diagnose(topo, settings)
	plan := PlanSwitchover(topo, d, settings, PlanOptions{To: to})
	rec := &Recovery{Cluster: cluster, Kind: KindSwitchover, Origin: OriginManual, OldPrimary: d.Primary, Diagnosis: &d, Plan: &plan,
		StartedBy: audit.ActorFrom(ctx).User, Steps: []Step{}}
	if err := s.st.begin(ctx, rec, time.Duration(settings.AntiFlap), s.holder); err != nil {
		return Recovery{}, err
	}
	r := &run{s: s, rec: rec, ops: s.opsFor(c.Engine, cluster)}
	r.switchover(ctx, topo, plan, settings)
	if err := s.st.finish(ctx, rec); err != nil {
		s.log.Error("ha: record the end of a recovery", "recovery", rec.ID, "err", err)
	}
	s.notifyRecovery(ctx, rec)
	if rec.State != StateDone {
		return *rec, errkind.New(errkind.Conflict, "switchover of %s %s: %s", cluster, rec.State, rec.Error)
	}
	return *rec, nil
}

func (r *run) switchover(ctx context.Context, topo Topology, plan Plan, settings Settings) {
	if plan.Refused != "" {
		r.skip(ctx, "plan", "", plan.Refused)
		r.fail(StateAborted, fmt.Errorf("no switchover: %s; nothing was changed", plan.Refused))
		return
	}
	old, cand := topo.node(plan.OldPrimary), topo.node(plan.Candidate)
	if err := r.hooks(ctx, settings, EventPreSwitchover, old, cand); err != nil {
		r.fail(StateAborted, fmt.Errorf("pre-switchover hook failed, nothing was changed: %w", err))
		return
	}
	var target string
	if err := r.step(ctx, "stop writes", old.Name, func(ctx context.Context) (string, error) {
		t, detail, err := r.ops.lockWrites(ctx, old)
		target = t
		return detail, err
	}); err != nil {
		r.rollback(ctx, old, err)
		return
	}
	if err := r.step(ctx, "wait for the target to apply every transaction", cand.Name, func(ctx context.Context) (string, error) {
		return r.ops.waitFor(ctx, cand, target, r.s.opt.SwitchoverTimeout)
	}); err != nil {
		r.rollback(ctx, old, err)
		return
	}
	plan.Target = target
	r.rec.Plan = &plan
	if err := r.step(ctx, "promote", cand.Name, func(ctx context.Context) (string, error) { return r.ops.promote(ctx, cand, old) }); err != nil {
		r.fail(StateFailed, err,
			fmt.Sprintf("%s is read-only and %s may be half promoted: check %s (SHOW SLAVE STATUS, @@read_only)", old.Name, cand.Name, cand.Name),
			fmt.Sprintf("to undo: SET GLOBAL read_only=OFF on %s (and START SLAVE on %s)", old.Name, cand.Name),
			fmt.Sprintf("to finish: SET GLOBAL read_only=OFF on %s and repoint the others (below)", cand.Name))
		r.addRepointSteps(plan.Repoint, topo, cand)
		return
	}
	r.rec.NewPrimary = cand.Name
	errs := r.recordAndRepoint(ctx, plan, topo, old, cand)
	if err := r.step(ctx, "attach old primary", old.Name, func(ctx context.Context) (string, error) { return r.ops.attachOld(ctx, old, cand) }); err != nil {
		errs = append(errs, err)
		r.rec.NextSteps = append(r.rec.NextSteps, fmt.Sprintf("%s is read-only and replicates from no one: %s", old.Name, r.ops.manualRepoint(old, cand)))
	}
	if err := r.hooks(ctx, settings, EventPostSwitchover, old, cand); err != nil {
		errs = append(errs, err)
	}
	r.addUnreachableSteps(plan.Unreachable, topo, cand)
	if len(errs) > 0 {
		r.fail(StateFailed, fmt.Errorf("%s is the new primary, but %v", cand.Name, joinErrs(errs)),
			fmt.Sprintf("acknowledge this recovery when the cluster is whole again: dbfleet cluster ack %d", r.rec.ID))
		return
	}
	r.rec.State = StateDone
}

// rollback lets the old primary take writes again after a failed
// switchover: nothing else was changed.
func (r *run) rollback(ctx context.Context, old *Node, cause error) {
	if err := r.step(ctx, "resume writes (rollback)", old.Name, func(ctx context.Context) (string, error) {
		return "writes allowed again", r.ops.unlockWrites(ctx, old)
	}); err != nil {
		r.fail(StateFailed, fmt.Errorf("%w; and the rollback failed", cause),
			fmt.Sprintf("%s is still read-only: SET GLOBAL read_only=OFF on it (Redis: CLIENT UNPAUSE) to resume writes", old.Name))
		return
	}
	r.fail(StateAborted, fmt.Errorf("%w; rolled back: %s takes writes again, nothing else changed", cause, old.Name))
}

func joinErrs(errs []error) string {
	s := ""
	for i, e := range errs {
		if i > 0 {
			s += "; "
		}
		s += e.Error()
	}
	return s
}
