package executor

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// runMyDDL runs a MariaDB/MySQL DDL statement: the strongest online
// algorithm the server accepts for it, or pt-online-schema-change.
func (r *runner) runMyDDL(st *stmtRow, p *stmt) error {
	ctx := r.hard
	plan, err := planMySQLDDL(ctx, r.sess, r.ex.Engine, p, r.opts.OSC, int64(r.s.cfg.OSCMinBytes), r.s.cfg.OSCPath != "")
	if err != nil {
		return err
	}
	st.Plan = Plan{Verb: p.Verb, Table: plan.table, Algorithm: plan.predicted, Lock: plan.lock, TableBytes: plan.bytes,
		Rollback: rollbackText(plan.rollback, plan.why, false)}
	st.Rollback = st.Plan.Rollback
	if err := r.s.st.stmtStart(ctx, st); err != nil {
		return err
	}
	if lt := r.opts.LockTimeout.D(); lt > 0 && r.ex.Engine != "tidb" {
		secs := max(1, int(lt/time.Second))
		if _, err := r.sess.Exec(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", secs)); err != nil {
			return fmt.Errorf("set lock_wait_timeout: %w", err)
		}
		defer r.sess.Exec(ctx, "SET SESSION lock_wait_timeout = DEFAULT")
	}
	used := ""
	var tried []string
	for i, a := range plan.attempts {
		_, err := r.exec(a.sql)
		if err == nil {
			used = a.algorithm
			break
		}
		more := i < len(plan.attempts)-1 || plan.osc
		if !more || !notSupported(err, a.algorithm) {
			return err
		}
		tried = append(tried, a.algorithm)
	}
	switch {
	case used == "" && plan.osc:
		if err := r.runOSC(st, plan); err != nil {
			return err
		}
		st.Note = "ran with pt-online-schema-change"
		st.Plan.Algorithm = "pt-online-schema-change"
	case used == "DEFAULT" && len(tried) > 0:
		st.Note = fmt.Sprintf("ran with the server's default algorithm (%s not supported for this operation)", strings.Join(tried, ", "))
		st.Plan.Algorithm = "server default (may block writes)"
	case used == "DEFAULT":
		st.Note = "ran as written"
		st.Plan.Algorithm = strings.TrimSuffix(plan.predicted, " (as written)") + " (as written)"
	default:
		st.Note = "ran with ALGORITHM=" + used
		st.Plan.Algorithm = used
	}
	if plan.alter != nil && plan.before != nil {
		if after, err := showCreateTable(ctx, r.sess, plan.schema, plan.table); err == nil && after != nil {
			plan.finishMyRollback(after)
		}
	}
	st.rollback = strings.Join(plan.rollback, ";\n")
	st.Rollback = rollbackText(plan.rollback, plan.why, false)
	st.Plan.Rollback = st.Rollback
	return r.s.st.stmtEnd(ctx, st, StateDone)
}

// runPGDDL runs a PostgreSQL DDL statement in its own transaction under
// lock_timeout, retrying when the lock was not granted in time; what
// cannot run in a transaction runs alone.
func (r *runner) runPGDDL(st *stmtRow, p *stmt) error {
	ctx := r.hard
	plan, err := planPGDDL(ctx, r.sess, p)
	if err != nil {
		return err
	}
	st.Plan = Plan{Verb: p.Verb, Algorithm: plan.algorithm, Lock: plan.lock, Rollback: rollbackText(plan.rollback, plan.why, plan.finish != nil)}
	st.Rollback = st.Plan.Rollback
	lt := r.opts.LockTimeout.D()
	if p.class.NonTx {
		if err := r.s.st.stmtStart(ctx, st); err != nil {
			return err
		}
		if lt > 0 {
			if _, err := r.sess.Exec(ctx, fmt.Sprintf("SET lock_timeout = '%dms'", lt.Milliseconds())); err != nil {
				return err
			}
			defer r.sess.Exec(ctx, "RESET lock_timeout")
		}
		if _, err := r.exec(st.SQL); err != nil {
			return err
		}
		if plan.finish != nil {
			if err := plan.finish(ctx, r.sess); err != nil {
				return err
			}
		}
		st.Note = "ran outside a transaction"
		st.rollback = strings.Join(plan.rollback, ";\n")
		st.Rollback = rollbackText(plan.rollback, plan.why, false)
		st.Plan.Rollback = st.Rollback
		return r.s.st.stmtEnd(ctx, st, StateDone)
	}
	done, err := r.recoverUnits(st)
	if err != nil {
		return err
	}
	if len(done) > 0 { // committed before a restart
		st.rollback = done[0].rollbackSQL
		st.Rollback = "see the rollback SQL"
		st.Note = "completed before a restart"
		return r.s.st.stmtEnd(ctx, st, StateDone)
	}
	if err := r.s.st.stmtStart(ctx, st); err != nil {
		return err
	}
	retries := r.s.cfg.DDLRetries
	for attempt := 0; ; attempt++ {
		err := r.pgDDLUnit(st, plan, lt)
		if err == nil {
			break
		}
		if pgState(err) != "55P03" || attempt >= retries {
			if pgState(err) == "55P03" {
				return fmt.Errorf("the table lock was not granted within lock_timeout %s after %d attempt(s): %w", lt, attempt+1, err)
			}
			return err
		}
		r.log.Info("DDL lock timeout; retrying", "statement", st.Seq, "attempt", attempt+1)
		select {
		case <-r.soft.Done():
			return errStopped
		case <-time.After(time.Duration(attempt+1) * time.Second):
		}
	}
	if lt > 0 {
		st.Note = fmt.Sprintf("ran in a transaction with lock_timeout %s", lt)
	} else {
		st.Note = "ran in a transaction"
	}
	st.Rollback = rollbackText(plan.rollback, plan.why, false)
	st.Plan.Rollback = st.Rollback
	st.rollback = strings.Join(plan.rollback, ";\n")
	return r.s.st.stmtEnd(ctx, st, StateDone)
}

// pgDDLUnit is one attempt: BEGIN; SET LOCAL lock_timeout; DDL; COMMIT.
func (r *runner) pgDDLUnit(st *stmtRow, plan *pgDDL, lt time.Duration) error {
	ctx := r.hard
	if _, err := r.sess.Exec(ctx, "BEGIN"); err != nil {
		return err
	}
	finished := false
	var unitID int64
	defer func() {
		if !finished {
			r.sess.Exec(ctx, "ROLLBACK")
			if unitID != 0 {
				r.s.st.unitDelete(ctx, unitID)
			}
		}
	}()
	if lt > 0 {
		if _, err := r.sess.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = '%dms'", lt.Milliseconds())); err != nil {
			return err
		}
	}
	var err error
	if unitID, err = r.s.st.unitStart(ctx, st.id, 1, "", ""); err != nil {
		return err
	}
	if _, err := r.exec(st.SQL); err != nil {
		return err
	}
	if plan.finish != nil {
		if err := plan.finish(ctx, r.sess); err != nil {
			return err
		}
	}
	if err := r.s.st.unitCommitting(ctx, unitID, 0, 0, strings.Join(plan.rollback, ";\n")); err != nil {
		return err
	}
	if _, err := r.sess.Exec(ctx, "COMMIT"); err != nil {
		finished = true
		r.s.st.unitState(ctx, unitID, unitInDoubt)
		st.Error = fmt.Sprintf("COMMIT failed and may or may not have taken effect: %v", err)
		r.s.st.stmtEnd(ctx, st, StateInDoubt)
		return fmt.Errorf("%w: %s", errInDoubt, st.Error)
	}
	finished = true
	return r.s.st.unitState(context.WithoutCancel(ctx), unitID, unitDone)
}
