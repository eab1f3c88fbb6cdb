package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// outcome is how a step run ended (when it did not fail).
type outcome struct {
	kind   int
	until  time.Time      // outWait
	result map[string]any // stored as the step's result
}

const (
	outDone         = iota
	outWaitApproval // the ticket waits for approvers
	outWait         // the ticket waits until a time
)

func done(result map[string]any) (outcome, error) { return outcome{kind: outDone, result: result}, nil }

// stepRun is what a block sees while it runs.
type stepRun struct {
	t    *ticketRow
	flow *Flow
	idx  int
	step *Step
	// attempts counts runs of this step, including this one; above 1 the
	// step is resuming after a restart or a retry.
	attempts int
	// prev is the result stored by an earlier attempt.
	prev map[string]any
	vars Vars
}

func (r *stepRun) field(name string) string {
	v, _ := r.t.Form[name].(string)
	return v
}

// stepRow is a ticket step as stored.
type stepRow struct {
	state    string
	attempts int
	result   map[string]any
	errMsg   string
}

func (s *Service) advanceJob(ctx context.Context, j *jobs.Job) error {
	var p advancePayload
	if err := j.Decode(&p); err != nil {
		return jobs.Permanent(err)
	}
	return s.advance(ctx, p.Ticket)
}

// systemCtx marks what the runner does as done by "system" in the audit
// log and timeline.
func systemCtx(ctx context.Context) context.Context {
	return audit.WithActor(ctx, audit.Actor{User: "system"})
}

// errStale means the ticket changed under the runner (cancelled,
// approved...): it stops and lets whoever changed it go on.
var errStale = errors.New("ticket changed while running")

// advance runs a ticket's steps from its current one until it waits,
// finishes or fails. It is safe to run again after a crash at any point:
// each step's state is recorded before and after it runs.
func (s *Service) advance(ctx context.Context, id int64) error {
	ctx = systemCtx(ctx)
	for {
		t, err := s.loadTicket(ctx, s.db, id)
		if errkind.Is(err, errkind.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if t.State == StateWaiting {
			// A wait step's time came: run it again.
			if err := s.transition(ctx, t, StateWaiting, StateRunning, "", nil); err != nil {
				return ignoreStale(err)
			}
			continue
		}
		if t.State != StateRunning {
			return nil
		}
		fl, err := s.catalog.Version(ctx, t.VersionID)
		if err != nil {
			return err
		}
		if t.Step >= len(fl.Steps) {
			return ignoreStale(s.finish(ctx, t))
		}
		idx := t.Step
		st := fl.Steps[idx]
		rec, err := s.loadStep(ctx, s.db, id, idx)
		if err != nil {
			return err
		}
		vars, err := s.vars(ctx, t, fl)
		if err != nil {
			return err
		}
		switch rec.state {
		case StepDone, StepSkipped:
			if err := s.moveOn(ctx, t, idx, rec.state, nil, ""); err != nil {
				return ignoreStale(err)
			}
			continue
		case StepPending:
			ok, err := st.When.Eval(vars)
			if err != nil {
				return ignoreStale(s.failStep(ctx, t, fl, idx, err))
			}
			if !ok {
				if err := s.moveOn(ctx, t, idx, StepSkipped, nil, "skipped: "+st.WhenSrc+" is false"); err != nil {
					return ignoreStale(err)
				}
				continue
			}
		}
		if err := s.startStep(ctx, t, idx, st, rec); err != nil {
			return ignoreStale(err)
		}
		def, _ := blockByName(st.Block)
		r := &stepRun{t: t, flow: fl, idx: idx, step: st, attempts: rec.attempts + 1, prev: rec.result, vars: vars}
		out, err := def.run(s, ctx, r)
		if ctx.Err() != nil {
			return ctx.Err() // stopping: the job is handed back and this step resumes
		}
		if errors.Is(err, errStale) {
			return nil
		}
		if err != nil {
			return ignoreStale(s.failStep(ctx, t, fl, idx, err))
		}
		switch out.kind {
		case outDone:
			msg, _ := out.result["summary"].(string)
			if err := s.moveOn(ctx, t, idx, StepDone, out.result, msg); err != nil {
				return ignoreStale(err)
			}
		case outWaitApproval:
			return ignoreStale(s.waitStep(ctx, t, idx, StateWaitingApproval, out, time.Time{}))
		case outWait:
			return ignoreStale(s.waitStep(ctx, t, idx, StateWaiting, out, out.until))
		}
	}
}

func ignoreStale(err error) error {
	if errors.Is(err, errStale) {
		return nil
	}
	return err
}

// startStep records that a step begins (or resumes: attempts above 1).
func (s *Service) startStep(ctx context.Context, t *ticketRow, idx int, st *Step, rec *stepRow) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		cur, err := s.lockTicket(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if cur.State != StateRunning || cur.Step != idx {
			return errStale
		}
		now := sqldb.Now()
		if err := beginStepRow(ctx, tx, t.ID, idx, now); err != nil {
			return fmt.Errorf("ticket %d: start step %d: %w", t.ID, idx, err)
		}
		switch {
		case rec.state == StepPending && rec.attempts == 0:
			return s.event(ctx, tx, t.ID, intp(idx), "step.start", st.Title, nil)
		case rec.state == StepRunning:
			return s.event(ctx, tx, t.ID, intp(idx), "step.resume", fmt.Sprintf("%s: resumed (attempt %d) after the server stopped while it ran", st.Title, rec.attempts+1), nil)
		}
		return nil
	})
}

// moveOn records a step as done or skipped and makes the next one current.
func (s *Service) moveOn(ctx context.Context, t *ticketRow, idx int, state string, result map[string]any, msg string) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		cur, err := s.lockTicket(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if cur.State != StateRunning || cur.Step != idx {
			return errStale
		}
		now := sqldb.Now()
		if result != nil {
			raw, err := json.Marshal(result)
			if err != nil {
				return err
			}
			if err := endStepRow(ctx, tx, t.ID, idx, state, string(raw), now); err != nil {
				return fmt.Errorf("ticket %d: finish step %d: %w", t.ID, idx, err)
			}
		} else if err := skipStepRow(ctx, tx, t.ID, idx, state, now); err != nil {
			return fmt.Errorf("ticket %d: finish step %d: %w", t.ID, idx, err)
		}
		if err := setTicketStep(ctx, tx, t.ID, StateRunning, idx+1, now); err != nil {
			return fmt.Errorf("ticket %d: next step: %w", t.ID, err)
		}
		kind := "step.done"
		if state == StepSkipped {
			kind = "step.skip"
		}
		return s.event(ctx, tx, t.ID, intp(idx), kind, msg, nil)
	})
}

// waitStep records that the ticket waits for approvers or a time.
func (s *Service) waitStep(ctx context.Context, t *ticketRow, idx int, state string, out outcome, until time.Time) error {
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		cur, err := s.lockTicket(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if cur.State != StateRunning || cur.Step != idx {
			return errStale
		}
		raw, _ := json.Marshal(out.result)
		if err := waitStepRow(ctx, tx, t.ID, idx, string(raw)); err != nil {
			return err
		}
		if err := setTicketState(ctx, tx, t.ID, state, sqldb.Now()); err != nil {
			return err
		}
		msg, _ := out.result["summary"].(string)
		kind := "approval.request"
		if state == StateWaiting {
			kind = "wait"
			if err := s.enqueueAdvance(ctx, tx, t.ID, until); err != nil {
				return err
			}
		}
		return s.event(ctx, tx, t.ID, intp(idx), kind, msg, nil)
	})
	if err == nil {
		s.queue.Wake()
	}
	return err
}

// transition moves a ticket from one state to another.
func (s *Service) transition(ctx context.Context, t *ticketRow, from, to, kind string, step *int) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		cur, err := s.lockTicket(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if cur.State != from {
			return errStale
		}
		if err := setTicketState(ctx, tx, t.ID, to, sqldb.Now()); err != nil {
			return err
		}
		if kind == "" {
			return nil
		}
		return s.event(ctx, tx, t.ID, step, kind, "", nil)
	})
}

// finish marks a ticket done.
func (s *Service) finish(ctx context.Context, t *ticketRow) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		cur, err := s.lockTicket(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if cur.State != StateRunning {
			return errStale
		}
		now := sqldb.Now()
		if err := endTicket(ctx, tx, t.ID, StateDone, "", now); err != nil {
			return err
		}
		took := time.Duration(now-t.CreatedAt) * time.Millisecond
		return s.event(ctx, tx, t.ID, nil, "done", fmt.Sprintf("done in %s", took.Round(time.Second)), nil)
	})
}

// failStep stops the ticket with the step's error, then runs the flow's
// on-failure steps.
func (s *Service) failStep(ctx context.Context, t *ticketRow, fl *Flow, idx int, cause error) error {
	msg := cause.Error()
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		cur, err := s.lockTicket(ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if cur.State != StateRunning || cur.Step != idx {
			return errStale
		}
		now := sqldb.Now()
		if err := failStepRow(ctx, tx, t.ID, idx, msg, now); err != nil {
			return err
		}
		if err := failTicket(ctx, tx, t.ID, fmt.Sprintf("step %d (%s): %s", idx+1, fl.Steps[idx].Title, msg), now); err != nil {
			return err
		}
		return s.event(ctx, tx, t.ID, intp(idx), "step.fail", msg, nil)
	})
	if err != nil {
		return err
	}
	s.log.Warn("ticket step failed", "ticket", t.ID, "flow", t.Flow, "step", idx, "err", msg)
	t.State, t.Error = StateFailed, msg
	s.runOnFailure(ctx, t, fl)
	return nil
}

// runOnFailure sends a flow's on-failure notifications; they are best
// effort and recorded on the timeline.
func (s *Service) runOnFailure(ctx context.Context, t *ticketRow, fl *Flow) {
	if len(fl.OnFailure) == 0 {
		return
	}
	cur, err := s.loadTicket(ctx, s.db, t.ID)
	if err != nil {
		return
	}
	vars, err := s.vars(ctx, cur, fl)
	if err != nil {
		return
	}
	for _, st := range fl.OnFailure {
		if ok, err := st.When.Eval(vars); err != nil || !ok {
			continue
		}
		c := st.cfg.(*notifyCfg)
		summary, err := s.send(ctx, c, vars)
		kind := "notify"
		if err != nil {
			kind, summary = "notify.fail", err.Error()
		}
		s.db.InTx(ctx, func(tx *sqldb.Tx) error { return s.event(ctx, tx, t.ID, nil, kind, summary, nil) })
	}
}

// vars builds what expressions see for a ticket.
func (s *Service) vars(ctx context.Context, t *ticketRow, fl *Flow) (Vars, error) {
	v := Vars{
		Form: t.Form, Env: t.Env, Engine: t.Target.Engine, Target: t.Target,
		Requester: RequesterVars{Name: t.Requester, Role: string(t.RequesterRole)},
		Ticket:    TicketVars{ID: t.ID, Title: t.Title, Flow: t.Flow, State: t.State, Link: s.ticketURL(t.ID), Error: t.Error},
		Steps:     map[string]StepVars{},
		Scheduled: t.Scheduled,
		Now:       s.now().UTC(),
	}
	if v.Form == nil {
		v.Form = map[string]any{}
	}
	for _, f := range fl.Fields {
		if _, ok := v.Form[f.Name]; !ok {
			switch {
			case f.Multiple:
				v.Form[f.Name] = []string{}
			case f.Type == TypeNumber:
				v.Form[f.Name] = 0.0
			case f.Type == TypeBool:
				v.Form[f.Name] = false
			default:
				v.Form[f.Name] = ""
			}
		}
	}
	stored, err := stepResults(ctx, s.db, t.ID)
	if err != nil {
		return v, err
	}
	for _, st := range stored {
		id, block, state, res := st.id, st.block, st.state, st.result
		sv := StepVars{State: state}
		sv.Rows = int64(num(res["rows"]))
		sv.Statements = int(num(res["statements"]))
		sv.Attachment, _ = res["attachment"].(string)
		sv.Summary, _ = res["summary"].(string)
		sv.Preview, _ = res["preview"].(string)
		v.Steps[id] = sv
		if block == "review" && state == StepDone {
			var rv struct {
				Review ReviewVars `json:"review"`
			}
			json.Unmarshal([]byte(st.raw), &rv)
			v.Review = rv.Review
		}
	}
	return v, nil
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return 0
}

// ticketURL is the ticket's page.
func (s *Service) ticketURL(id int64) string {
	return fmt.Sprintf("%s/tickets/%d", s.publicURL, id)
}

// describe is a short, single-line rendering of an error for the timeline.
func describe(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
