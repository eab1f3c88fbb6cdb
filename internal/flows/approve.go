package flows

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Message is a notification (the notify package's).
type Message = notify.Message

// runApprove decides whether a step needs people: an auto policy approves
// at once; otherwise the ticket waits, and the approvers' channel gets a
// signed link to the approval page.
func (s *Service) runApprove(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*approveCfg)
	set, why := c.forEnv(r.t.Env)
	if set.auto {
		reason := "auto-approved"
		if why != "" {
			reason += " (" + why + ")"
		}
		return done(map[string]any{"summary": reason, "auto": true, "policy": why})
	}
	approved, err := s.approvedBy(ctx, s.db, r.t.ID, r.idx)
	if err != nil {
		return outcome{}, err
	}
	if len(approved) >= set.count {
		return done(map[string]any{"summary": "approved by " + strings.Join(approved, ", "), "approvers": approved, "policy": why})
	}
	if len(set.Roles) == 0 {
		others := slices.DeleteFunc(slices.Clone(set.Users), func(u string) bool { return u == r.t.Requester })
		if len(others) < set.count {
			return outcome{}, errkind.New(errkind.Invalid, "nobody can approve: the approvers named (%s) are the requester, who cannot approve their own ticket", strings.Join(set.Users, ", "))
		}
	}
	res := map[string]any{"summary": "waiting for " + waitingFor(set, toSet(approved)), "policy": why, "requested": true}
	if r.prev["requested"] == true {
		res["notified"] = r.prev["notified"]
	} else if c.notify != "" {
		if err := s.requestApproval(ctx, r, c, set, approved); err != nil {
			s.log.Warn("approval notification failed", "ticket", r.t.ID, "channel", c.notify, "err", err)
			res["notify_error"] = err.Error()
		} else {
			res["notified"] = c.notify
		}
	}
	return outcome{kind: outWaitApproval, result: res}, nil
}

// requestApproval sends the approvers' channel a message with a signed,
// single-use link to the approval page.
func (s *Service) requestApproval(ctx context.Context, r *stepRun, c *approveCfg, set approverSet, approved []string) error {
	if s.notifier == nil {
		return errkind.New(errkind.Unavailable, "no notification channels are configured")
	}
	link, err := s.newLink(ctx, r.t.ID, r.idx, c.linkTTL)
	if err != nil {
		return err
	}
	msg := Message{
		Title: fmt.Sprintf("Approval needed: ticket #%d %s", r.t.ID, r.t.Title),
		Text:  fmt.Sprintf("%s asks for %s (flow %s). Waiting for %s.", orSchedule(r.t.Requester), r.step.Title, r.t.Flow, waitingFor(set, toSet(approved))),
		Fields: []notify.Field{
			{Name: "Ticket", Value: fmt.Sprintf("#%d %s", r.t.ID, r.t.Title)},
			{Name: "Flow", Value: r.t.Flow},
			{Name: "Target", Value: targetString(r.t.Target)},
			{Name: "Environment", Value: r.t.Env},
			{Name: "Requester", Value: orSchedule(r.t.Requester)},
		},
		Link:     link,
		LinkText: fmt.Sprintf("Review and approve (link valid %s, once)", c.linkTTL),
	}
	if r.vars.Review.Ran {
		msg.Fields = append(msg.Fields, notify.Field{Name: "Review", Value: fmt.Sprintf("%s: %d error(s), %d warning(s)", r.vars.Review.Level, r.vars.Review.Errors, r.vars.Review.Warnings)})
	}
	return s.notifier.SendTo(ctx, c.notify, msg)
}

func orSchedule(requester string) string {
	if requester == "" {
		return "the schedule"
	}
	return requester
}

func targetString(t TargetVars) string {
	s := t.Instance
	if t.Database != "" {
		s += "/" + t.Database
	}
	if t.Cluster != "" {
		s += " (cluster " + t.Cluster + ")"
	}
	if s == "" {
		return "-"
	}
	return s
}

func toSet(names []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// waitingFor says who may approve next.
func waitingFor(set approverSet, approved map[string]bool) string {
	if set.sequence {
		for _, u := range set.Users {
			if !approved[u] {
				return fmt.Sprintf("%s (approval %d of %d, in order: %s)", u, len(approved)+1, set.count, strings.Join(set.Users, ", "))
			}
		}
		return "nobody"
	}
	need := set.count - len(approved)
	who := set.Audience.String()
	if need <= 1 {
		return "1 approval by " + who
	}
	return fmt.Sprintf("%d more approvals by %s", need, who)
}

// eligible says why p may not decide on the current step, or nil.
func (s *Service) eligible(p auth.Principal, t *ticketRow, set approverSet, approved map[string]bool) error {
	if p.User == "" {
		return errkind.New(errkind.Forbidden, "not logged in")
	}
	if p.User == t.Requester {
		return errkind.New(errkind.Forbidden, "user %q requested ticket %d and cannot approve it", p.User, t.ID)
	}
	if err := p.Require(auth.TicketApprove); err != nil {
		return err
	}
	if set.sequence {
		for _, u := range set.Users {
			if approved[u] {
				continue
			}
			if u != p.User {
				return errkind.New(errkind.Forbidden, "ticket %d waits for %s's approval first (in order: %s)", t.ID, u, strings.Join(set.Users, ", "))
			}
			return nil
		}
	}
	if !set.Includes(p.User, p.Role) {
		return errkind.New(errkind.Forbidden, "step %d of ticket %d may be approved by %s; user %q (role %s) may not", t.Step+1, t.ID, set.Audience, p.User, p.Role)
	}
	return nil
}

// Decision is the body of an approval or rejection.
type Decision struct {
	// Step is the step being decided (0-based, as the ticket shows it);
	// nil means the current one. Sending it makes a repeated click
	// harmless: it can never approve the step after.
	Step    *int   `json:"step,omitempty"`
	Comment string `json:"comment,omitempty"`
	// Link is the signed token of an approval link, when the decision
	// comes through one; it is then used up.
	Link string `json:"link,omitempty"`
}

// Approve records p's approval of the ticket's current step; when enough
// approvers agreed, the ticket goes on.
func (s *Service) Approve(ctx context.Context, p auth.Principal, id int64, d Decision) (*Ticket, error) {
	return s.decide(ctx, p, id, d, "approve")
}

// Reject records p's rejection: the ticket ends.
func (s *Service) Reject(ctx context.Context, p auth.Principal, id int64, d Decision) (*Ticket, error) {
	return s.decide(ctx, p, id, d, "reject")
}

func (s *Service) decide(ctx context.Context, p auth.Principal, id int64, d Decision, decision string) (*Ticket, error) {
	if len(d.Comment) > 2000 {
		return nil, errkind.New(errkind.Invalid, "comment: at most 2000 characters")
	}
	var fl *Flow
	var rejected bool
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		t, err := s.lockTicket(ctx, tx, id)
		if err != nil {
			return err
		}
		if fl, err = s.catalog.Version(ctx, t.VersionID); err != nil {
			return err
		}
		idx := t.Step
		if d.Step != nil && *d.Step != idx {
			return errkind.New(errkind.Conflict, "step %d of ticket %d is not waiting for a decision (the ticket is %s at step %d)", *d.Step+1, id, t.State, idx+1)
		}
		if t.State != StateWaitingApproval {
			return errkind.New(errkind.Conflict, "ticket %d is %s, not waiting for approval", id, t.State)
		}
		c, ok := fl.Steps[idx].cfg.(*approveCfg)
		if !ok {
			return errkind.New(errkind.Conflict, "step %d of ticket %d is not an approval", idx+1, id)
		}
		set, _ := c.forEnv(t.Env)
		approved, err := s.approvedBy(ctx, tx, id, idx)
		if err != nil {
			return err
		}
		var prev string
		switch prev, err = decisionOf(ctx, tx, id, idx, p.User); {
		case err == nil:
			return errkind.New(errkind.Conflict, "user %q already decided step %d of ticket %d (%s); a second decision has no effect", p.User, idx+1, id, prev)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if err := s.eligible(p, t, set, toSet(approved)); err != nil {
			return err
		}
		via := "api"
		if d.Link != "" {
			if err := s.useLink(ctx, tx, d.Link, id, idx, p.User); err != nil {
				return err
			}
			via = "link"
		}
		now := sqldb.Now()
		if err := insertApproval(ctx, tx, id, idx, Approval{Approver: p.User, Decision: decision, Comment: d.Comment, Via: via}, now); err != nil {
			if sqldb.IsUniqueViolation(err) {
				return errkind.New(errkind.Conflict, "user %q already decided step %d of ticket %d", p.User, idx+1, id)
			}
			return err
		}
		msg := d.Comment
		if decision == "reject" {
			rejected = true
			errMsg := fmt.Sprintf("rejected by %s", p.User)
			if d.Comment != "" {
				errMsg += ": " + d.Comment
			}
			if err := failStepRow(ctx, tx, id, idx, errMsg, now); err != nil {
				return err
			}
			if err := endTicket(ctx, tx, id, StateRejected, errMsg, now); err != nil {
				return err
			}
			return s.event(ctx, tx, id, intp(idx), "reject", msg, map[string]any{"via": via})
		}
		if err := s.event(ctx, tx, id, intp(idx), "approve", msg, map[string]any{"via": via}); err != nil {
			return err
		}
		approved = append(approved, p.User)
		if len(approved) < set.count {
			return nil
		}
		res, _ := json.Marshal(map[string]any{"summary": "approved by " + strings.Join(approved, ", "), "approvers": approved})
		if err := endStepRow(ctx, tx, id, idx, StepDone, string(res), now); err != nil {
			return err
		}
		if err := setTicketStep(ctx, tx, id, StateRunning, idx+1, now); err != nil {
			return err
		}
		if err := s.event(ctx, tx, id, intp(idx), "step.done", "approved by "+strings.Join(approved, ", "), nil); err != nil {
			return err
		}
		return s.enqueueAdvance(ctx, tx, id, time.Time{})
	})
	if err != nil {
		return nil, err
	}
	s.queue.Wake()
	if rejected {
		if t, err := s.loadTicket(ctx, s.db, id); err == nil {
			s.runOnFailure(systemCtx(ctx), t, fl)
		}
	}
	return s.Get(ctx, p, id)
}

// ---- signed approval links ----

type linkClaims struct {
	Ticket int64  `json:"t"`
	Step   int    `json:"s"`
	Nonce  string `json:"n"`
	Exp    int64  `json:"e"`
}

// linkSigner signs approval links under the server key (the purpose string
// keeps links issued before it valid).
func (s *Service) linkSigner() secret.Signer {
	return secret.NewSigner(s.key, "dbfleet flows approval links v1")
}

// newLink records a single-use nonce and returns the signed URL of the
// approval page.
func (s *Service) newLink(ctx context.Context, id int64, idx int, ttl time.Duration) (string, error) {
	tok, err := s.NewLinkToken(ctx, id, idx, ttl)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/tickets/%d/approve?link=%s", s.publicURL, id, tok), nil
}

// NewLinkToken makes a signed, single-use approval token for a ticket step,
// valid for ttl.
func (s *Service) NewLinkToken(ctx context.Context, id int64, idx int, ttl time.Duration) (string, error) {
	if len(s.key) == 0 {
		return "", errkind.New(errkind.Unavailable, "approval links need the server key")
	}
	c := linkClaims{Ticket: id, Step: idx, Nonce: rand.Text(), Exp: s.now().Add(ttl).UnixMilli()}
	if err := insertLink(ctx, s.db, c); err != nil {
		return "", fmt.Errorf("ticket %d: record link: %w", id, err)
	}
	payload, _ := json.Marshal(c)
	return s.linkSigner().Sign(payload), nil
}

// LinkInfo is what a valid approval link points at.
type LinkInfo struct {
	Ticket  int64
	Step    int
	Expires time.Time
}

// CheckLink verifies an approval link's signature, expiry and that it was
// not used, without using it up.
func (s *Service) CheckLink(ctx context.Context, token string) (LinkInfo, error) {
	return s.checkLink(ctx, s.db, token)
}

func (s *Service) checkLink(ctx context.Context, q sqldb.Querier, token string) (LinkInfo, error) {
	bad := errkind.New(errkind.Forbidden, "this approval link is not valid (altered or from another server)")
	payload, ok := s.linkSigner().Open(token)
	if !ok {
		return LinkInfo{}, bad
	}
	var c linkClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return LinkInfo{}, bad
	}
	info := LinkInfo{Ticket: c.Ticket, Step: c.Step, Expires: time.UnixMilli(c.Exp).UTC()}
	if s.now().UnixMilli() > c.Exp {
		return info, errkind.New(errkind.Forbidden, "this approval link expired at %s; open ticket %d in dbfleet instead", info.Expires.Format(time.RFC3339), c.Ticket)
	}
	used, by, found, err := linkUse(ctx, q, c)
	if err != nil {
		return info, err
	}
	if !found {
		return info, bad
	}
	if !used.IsZero() {
		return info, errkind.New(errkind.Conflict, "this approval link was already used by %s at %s; it works once", by, used.Format(time.RFC3339))
	}
	return info, nil
}

// useLink checks a link for ticket id's step idx and uses it up, in tx.
func (s *Service) useLink(ctx context.Context, tx *sqldb.Tx, token string, id int64, idx int, user string) error {
	info, err := s.checkLink(ctx, tx, token)
	if err != nil {
		return err
	}
	if info.Ticket != id || info.Step != idx {
		return errkind.New(errkind.Conflict, "this approval link is for step %d of ticket %d, which is no longer waiting", info.Step+1, info.Ticket)
	}
	p64, _, _ := strings.Cut(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(p64)
	var c linkClaims
	json.Unmarshal(payload, &c)
	ok, err := useLinkRow(ctx, tx, c.Nonce, user)
	if err != nil {
		return err
	}
	if !ok {
		return errkind.New(errkind.Conflict, "this approval link was already used; it works once")
	}
	return nil
}
