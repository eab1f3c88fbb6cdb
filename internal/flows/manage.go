package flows

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// ---- notify ----

func (s *Service) runNotify(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*notifyCfg)
	summary, err := s.send(ctx, c, r.vars)
	if err != nil && c.optional {
		return done(map[string]any{"summary": "not sent (optional): " + describe(err), "channel": c.channel})
	}
	if err != nil {
		return outcome{}, err
	}
	return done(map[string]any{"summary": summary, "channel": c.channel})
}

// send renders and sends a notify block's message.
func (s *Service) send(ctx context.Context, c *notifyCfg, v Vars) (string, error) {
	if s.notifier == nil {
		return "", errkind.New(errkind.Unavailable, "cannot notify channel %q: no notification channels are configured (notify.channels)", c.channel)
	}
	msg := Message{
		Title:    c.title.Render(v),
		Text:     c.text.Render(v),
		Link:     v.Ticket.Link,
		LinkText: fmt.Sprintf("Ticket #%d", v.Ticket.ID),
		Fields: []notify.Field{
			{Name: "Flow", Value: v.Ticket.Flow},
			{Name: "State", Value: v.Ticket.State},
		},
	}
	if v.Target.Instance != "" {
		msg.Fields = append(msg.Fields, notify.Field{Name: "Target", Value: targetString(v.Target)})
	}
	if v.Requester.Name != "" {
		msg.Fields = append(msg.Fields, notify.Field{Name: "Requester", Value: v.Requester.Name})
	}
	if err := s.notifier.SendTo(ctx, c.channel, msg); err != nil {
		return "", err
	}
	return "sent to " + c.channel, nil
}

// ---- wait ----

func (s *Service) runWait(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*waitCfg)
	var until time.Time
	if c.until != "" {
		if v := r.field(c.until); v != "" {
			t, err := ParseDatetime(v)
			if err != nil {
				return outcome{}, errkind.New(errkind.Invalid, "field %s: %v", c.until, err)
			}
			until = t
		}
	}
	now := s.now()
	next := c.next(now, until)
	if !next.After(now) {
		return done(map[string]any{"summary": "window open at " + now.In(c.loc).Format("2006-01-02 15:04 MST")})
	}
	return outcome{kind: outWait, until: next, result: map[string]any{
		"summary": "waiting until " + next.In(c.loc).Format("2006-01-02 15:04 MST"), "until": next.UTC()}}, nil
}

// ---- cancel, retry ----

// Cancel ends a ticket that has not finished. The requester may cancel
// their own; ticket.manage cancels any. A statement running when it is
// cancelled finishes; no further statement starts.
func (s *Service) Cancel(ctx context.Context, p auth.Principal, id int64, comment string) (*Ticket, error) {
	var execRun executor.ID
	var hasExec bool
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		t, err := s.lockTicket(ctx, tx, id)
		if err != nil {
			return err
		}
		if p.User != t.Requester && !p.Can(auth.TicketManage) {
			return errkind.New(errkind.Forbidden, "user %q may not cancel ticket %d: it is %s's (ticket.manage cancels any)", p.User, id, orSchedule(t.Requester))
		}
		if Terminal(t.State) {
			return errkind.New(errkind.Conflict, "ticket %d is already %s", id, t.State)
		}
		now := sqldb.Now()
		if err := cancelStepRow(ctx, tx, id, t.Step, now); err != nil {
			return err
		}
		if err := endTicket(ctx, tx, id, StateCancelled, t.Error, now); err != nil {
			return err
		}
		if err := jobs.Cancel(ctx, tx, "ticket:"+strconv.FormatInt(id, 10)); err != nil {
			return err
		}
		if rec, err := s.loadStep(ctx, tx, id, t.Step); err == nil {
			execRun, hasExec, _ = execID(rec.result)
		}
		return s.event(ctx, tx, id, intp(t.Step), "cancel", comment, nil)
	})
	if err != nil {
		return nil, err
	}
	if hasExec {
		if err := s.executor.Cancel(ctx, execRun); err != nil {
			s.log.Warn("cancel execution", "ticket", id, "execution", execRun, "err", err)
		}
	}
	return s.Get(ctx, p, id)
}

// RetryRequest is the body of a retry.
type RetryRequest struct {
	// Resolve settles a statement whose outcome is unknown (the server
	// stopped while it ran): "done" when a DBA checked it took effect,
	// "rerun" to run it again.
	Resolve string `json:"resolve,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// Retry runs a failed ticket's failed step again (ticket.manage). An
// execute step goes on from the statement that failed; statements that
// ran are not run again.
func (s *Service) Retry(ctx context.Context, p auth.Principal, id int64, req RetryRequest) (*Ticket, error) {
	if err := p.Require(auth.TicketManage); err != nil {
		return nil, err
	}
	switch req.Resolve {
	case "", "done", "rerun":
	default:
		return nil, errkind.New(errkind.Invalid, "resolve %q: want done or rerun", req.Resolve)
	}
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		t, err := s.lockTicket(ctx, tx, id)
		if err != nil {
			return err
		}
		if t.State != StateFailed {
			return errkind.New(errkind.Conflict, "ticket %d is %s; only a failed ticket can be retried", id, t.State)
		}
		msg := "retry"
		switch req.Resolve {
		case "", string(executor.InDoubtDone), string(executor.InDoubtRerun):
		default:
			return errkind.New(errkind.Invalid, "resolve %q: want done (the statement in doubt committed) or rerun", req.Resolve)
		}
		rec, err := s.loadStep(ctx, tx, id, t.Step)
		if err != nil {
			return err
		}
		if ranBuiltIn(rec.result) {
			return errkind.New(errkind.Conflict, "step %d of ticket %d ran before this server's upgrade, with the executor work orders had then, which cannot resume it: its statements' outcome is on the ticket; check the target and submit a new ticket for what did not run", t.Step+1, id)
		}
		if rec.result["state"] == executor.StateInDoubt && req.Resolve == "" {
			return errkind.New(errkind.Conflict, "a statement of ticket %d may or may not have run; check the target, then retry with resolve=done (it ran) or resolve=rerun", id)
		}
		if exid, _ := rec.result["execution"].(string); exid != "" {
			// The wired executor resumes its execution where it stopped.
			rec.result["resume"] = req.Resolve
			raw, _ := json.Marshal(rec.result)
			if err := setStepResult(ctx, tx, id, t.Step, string(raw)); err != nil {
				return err
			}
			if req.Resolve != "" {
				msg = "retry; the statement in doubt resolved as " + req.Resolve
			}
		}
		if req.Comment != "" {
			msg += ": " + req.Comment
		}
		now := sqldb.Now()
		if err := retryRows(ctx, tx, id, t.Step, now); err != nil {
			return err
		}
		if err := s.event(ctx, tx, id, intp(t.Step), "retry", msg, map[string]any{"resolve": req.Resolve}); err != nil {
			return err
		}
		return s.enqueueAdvance(ctx, tx, id, time.Time{})
	})
	if err != nil {
		return nil, err
	}
	s.queue.Wake()
	return s.Get(ctx, p, id)
}
