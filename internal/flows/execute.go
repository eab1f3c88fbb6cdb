package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// The execute block runs a step's SQL through the Executor, which records
// each statement's outcome itself and survives restarts. What the ticket
// keeps is the execution's id and, once it ended, its statements' states
// (the step result's statementsKey, which the ticket view shows).

// statementsKey holds, in an execute step's result, the statements of its
// execution as they ended (migration 00018 moved there the statements of
// tickets run before, from the table ticket_statements).
const statementsKey = "statement_states"

// Statement states shown on a ticket: the executor's, plus "committing"
// and "unknown" in tickets run by the executor that work orders had before
// (migration 00018).
const (
	StmtPending = "pending"
	StmtRunning = "running"
	StmtDone    = "done"
	StmtFailed  = "failed"
	StmtUnknown = "unknown"
)

// stepTarget resolves a step's target field now (a cluster's primary may
// have changed since the ticket was submitted).
func (s *Service) stepTarget(ctx context.Context, r *stepRun, field string) (TargetVars, error) {
	f := r.flow.Field(field)
	v := r.field(field)
	if f == nil || v == "" {
		return TargetVars{}, errkind.New(errkind.Invalid, "the form has no target in field %q", field)
	}
	return s.resolve(ctx, f, v)
}

// execID is the execution recorded in a step's result ("" for none).
func execID(res map[string]any) (executor.ID, bool, error) {
	v, _ := res["execution"].(string)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("execution id %q: %w", v, err)
	}
	return executor.ID(n), true, nil
}

// ranBuiltIn reports whether a step's statements were run by the executor
// work orders had before (migration 00018): it kept no execution, so the
// step cannot resume.
func ranBuiltIn(res map[string]any) bool {
	if _, ok := res["execution"]; ok {
		return false
	}
	for _, st := range stepStatements(res) {
		if st.State != StmtPending {
			return true
		}
	}
	return false
}

// destroyConfirmed reports whether the requester confirmed, in the field a
// review of this SQL names (confirm-destroy), that what the script
// destroys is backed up: the executor then runs DROP and TRUNCATE, which
// it refuses otherwise. The confirmation is in the ticket's form.
func destroyConfirmed(r *stepRun, sqlField string) bool {
	for _, st := range r.flow.Steps {
		if c, ok := st.cfg.(*reviewCfg); ok && c.sql == sqlField && c.confirm != "" {
			if v, _ := r.t.Form[c.confirm].(bool); v {
				return true
			}
		}
	}
	return false
}

// declaredRows is the row count the requester declared, in the field a
// review of this SQL names (declared-rows): the executor stops the data
// changes that go past it (plus executor.declared_rows_margin). 0: none
// declared.
func declaredRows(r *stepRun, sqlField string) int64 {
	for _, st := range r.flow.Steps {
		if c, ok := st.cfg.(*reviewCfg); ok && c.sql == sqlField && c.rows != "" {
			if v, ok := r.t.Form[c.rows].(float64); ok && v >= 1 {
				return int64(math.Ceil(v))
			}
		}
	}
	return 0
}

func (s *Service) runExecute(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*executeCfg)
	tgt, err := s.stepTarget(ctx, r, c.target)
	if err != nil {
		return outcome{}, err
	}
	if ranBuiltIn(r.prev) {
		return outcome{}, errkind.New(errkind.Conflict, "step %d ran before this server's upgrade, with the executor work orders had then, which cannot resume it: its statements' outcome is on the ticket; check the target and submit a new ticket for what did not run", r.idx+1)
	}
	id, ok, err := execID(r.prev)
	if err != nil {
		return outcome{}, err
	}
	if !ok {
		key := executor.TicketKey{Ticket: r.t.ID, Step: r.idx + 1}
		if err := s.registerExecution(ctx, r, key, tgt); err != nil {
			return outcome{}, err
		}
		if id, err = s.executor.StartTicketStep(ctx, key, executor.Request{Instance: tgt.Instance, Database: tgt.Database,
			Engine: engine.Kind(tgt.Engine), SQL: r.field(c.sql), RequestedBy: r.t.Requester,
			Options: executor.Options{BackupDone: destroyConfirmed(r, c.sql), DeclaredRows: declaredRows(r, c.sql)}}); err != nil {
			return outcome{}, err
		}
		if err := s.recordExecution(ctx, r, id, tgt); errors.Is(err, errStale) {
			// Cancelled while the execution was being stored: Cancel
			// could not see it, so it is cancelled here, still held: it
			// never ran.
			if err := s.executor.Cancel(ctx, id); err != nil && !errkind.Is(err, errkind.Conflict) {
				s.log.Warn("cancel execution", "ticket", r.t.ID, "execution", id, "err", err)
			}
			return outcome{}, errStale
		} else if err != nil {
			return outcome{}, err
		}
		if err := s.executor.Release(ctx, id); err != nil {
			return outcome{}, err
		}
	} else if err := s.executor.Release(ctx, id); err != nil {
		// Recorded but not released when the server stopped.
		return outcome{}, err
	} else if resume, ok := r.prev["resume"].(string); ok {
		// A DBA retried: the execution goes on where it stopped.
		if err := s.executor.Resume(ctx, id, executor.InDoubt(resume)); err != nil {
			return outcome{}, err
		}
		if err := s.storeResult(ctx, r, map[string]any{"execution": id.String(), "instance": tgt.Instance, "database": tgt.Database}); err != nil {
			return outcome{}, err
		}
	}
	ex, err := s.executor.Wait(ctx, id)
	if err != nil {
		return outcome{}, err
	}
	stmts := make([]StatementState, len(ex.Statements))
	for i, st := range ex.Statements {
		stmts[i] = StatementState{Index: i, Line: st.Line, SQL: st.SQL, State: st.State, RowsAffected: st.RowsAffected,
			StartedAt: st.StartedAt, FinishedAt: st.FinishedAt, Error: st.Error}
	}
	res := map[string]any{"execution": id.String(), "instance": ex.Instance, "database": ex.Database, statementsKey: stmts}
	if ex.State != executor.StateDone {
		res["state"] = ex.State
		if err := s.storeResult(ctx, r, res); err != nil {
			return outcome{}, err
		}
	}
	switch ex.State {
	case executor.StateDone:
		res["summary"] = fmt.Sprintf("%s on %s, %d row(s) affected (execution %d)", plural(len(ex.Statements), "statement", "statements"), targetString(tgt), ex.RowsAffected, id)
		res["statements"], res["rows"] = len(ex.Statements), ex.RowsAffected
		return done(res)
	case executor.StateInDoubt:
		return outcome{}, fmt.Errorf("execution %d: a statement may or may not have committed: %s; check the target, then retry with resolve=done (it did) or resolve=rerun", id, ex.Error)
	case executor.StateCancelled:
		return outcome{}, fmt.Errorf("execution %d was cancelled", id)
	default:
		return outcome{}, fmt.Errorf("execution %d %s: %s", id, ex.State, ex.Error)
	}
}

// stepStatements reads the statements an execute step's result holds.
func stepStatements(res map[string]any) []StatementState {
	v, ok := res[statementsKey]
	if !ok {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out []StatementState
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	return out
}

// firstWords shortens a statement for messages.
func firstWords(sqlText string) string {
	s := strings.Join(strings.Fields(sqlText), " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
