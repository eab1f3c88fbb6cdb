package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
)

// Notifier delivers subscriptions: *notify.Sender.
type Notifier interface {
	Has(channel string) bool
	SendTo(ctx context.Context, channel string, msg notify.Message) error
}

// Subscription is a user's report delivered on a schedule to a channel.
type Subscription struct {
	ID        int64             `json:"id"`
	Report    string            `json:"report"`
	Owner     string            `json:"owner"`
	Channel   string            `json:"channel"`
	Schedule  string            `json:"schedule"`
	Params    map[string]string `json:"params"`
	Attach    string            `json:"attach,omitempty"` // "", csv, xlsx
	SkipEmpty bool              `json:"skip_empty"`
	// The last delivery: "sent", "skipped" (empty), "failed" (LastError;
	// the job is retried).
	LastState  string    `json:"last_state,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	LastAt     time.Time `json:"last_at,omitzero"`
	Deliveries int       `json:"deliveries"`
	CreatedAt  time.Time `json:"created_at"`

	ownerRole auth.Role
}

// SubscribeRequest is what a user subscribes with.
type SubscribeRequest struct {
	Channel   string            `json:"channel"`
	Schedule  string            `json:"schedule"`
	Params    map[string]string `json:"params"`
	Attach    string            `json:"attach,omitempty"`
	SkipEmpty bool              `json:"skip_empty"`
}

// DeliverKind is the job kind of a subscription's delivery.
const DeliverKind = "reports.deliver"

// Subscribe records a subscription of the principal to report id. The
// parameters are checked now (as a run would), the schedule parsed and
// the channel known.
func (s *Service) Subscribe(ctx context.Context, p auth.Principal, id string, req SubscribeRequest) (*Subscription, error) {
	r, ok := s.cat.Get(id)
	if !ok {
		return nil, errkind.New(errkind.NotFound, "no report %q", id)
	}
	if err := r.require(p, PermSubscribe); err != nil {
		return nil, err
	}
	db, err := s.db()
	if err != nil {
		return nil, err
	}
	if s.Notifier == nil || !s.Notifier.Has(req.Channel) {
		return nil, errkind.New(errkind.Invalid, "no notification channel %q (notify.channels)", req.Channel)
	}
	if _, err := jobs.ParseSchedule(req.Schedule); err != nil {
		return nil, err
	}
	if req.Attach != "" && req.Attach != FormatCSV && req.Attach != FormatXLSX {
		return nil, errkind.New(errkind.Invalid, "attach %q: want csv or xlsx", req.Attach)
	}
	if _, err := r.Resolve(p, req.Params, s.now()); err != nil {
		return nil, err
	}
	if req.Params == nil {
		req.Params = map[string]string{}
	}
	params, _ := json.Marshal(req.Params)
	sub := &Subscription{Report: id, Owner: p.User, Channel: req.Channel, Schedule: req.Schedule, Params: req.Params, Attach: req.Attach,
		SkipEmpty: req.SkipEmpty, CreatedAt: s.now().UTC().Truncate(time.Millisecond), ownerRole: p.Role}
	if err := db.QueryRowContext(ctx, `INSERT INTO report_subscriptions (report, owner, owner_role, channel, schedule, params, attach, skip_empty, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, id, p.User, string(p.Role), req.Channel, req.Schedule, string(params), req.Attach, req.SkipEmpty,
		sub.CreatedAt.UnixMilli()).Scan(&sub.ID); err != nil {
		return nil, fmt.Errorf("subscribe to report %s: %w", id, err)
	}
	return sub, nil
}

const subColumns = "id, report, owner, owner_role, channel, schedule, params, attach, skip_empty, last_state, last_error, last_at, deliveries, created_at"

func scanSubscription(scan func(...any) error) (Subscription, error) {
	var sub Subscription
	var role, params string
	var last, created int64
	if err := scan(&sub.ID, &sub.Report, &sub.Owner, &role, &sub.Channel, &sub.Schedule, &params, &sub.Attach, &sub.SkipEmpty,
		&sub.LastState, &sub.LastError, &last, &sub.Deliveries, &created); err != nil {
		return sub, err
	}
	sub.ownerRole = auth.Role(role)
	if last > 0 {
		sub.LastAt = time.UnixMilli(last).UTC()
	}
	sub.CreatedAt = time.UnixMilli(created).UTC()
	if err := json.Unmarshal([]byte(params), &sub.Params); err != nil {
		return sub, fmt.Errorf("subscription %d parameters: %w", sub.ID, err)
	}
	return sub, nil
}

func (s *Service) subscriptions(ctx context.Context, where string, args ...any) ([]Subscription, error) {
	db, err := s.db()
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, "SELECT "+subColumns+" FROM report_subscriptions "+where+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("list report subscriptions: %w", err)
	}
	defer rows.Close()
	out := []Subscription{}
	for rows.Next() {
		sub, err := scanSubscription(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("read report subscription: %w", err)
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// Subscriptions lists the principal's subscriptions (every one for
// report.manage), with their last delivery.
func (s *Service) Subscriptions(ctx context.Context, p auth.Principal) ([]Subscription, error) {
	if p.Can(auth.ReportManage) {
		return s.subscriptions(ctx, "")
	}
	return s.subscriptions(ctx, "WHERE owner = ?", p.User)
}

// Unsubscribe removes a subscription of the principal's (any, for
// report.manage).
func (s *Service) Unsubscribe(ctx context.Context, p auth.Principal, subID int64) error {
	subs, err := s.subscriptions(ctx, "WHERE id = ?", subID)
	if err != nil {
		return err
	}
	if len(subs) == 0 || (subs[0].Owner != p.User && !p.Can(auth.ReportManage)) {
		return errkind.New(errkind.NotFound, "no report subscription %d", subID)
	}
	db, _ := s.db()
	if _, err := db.ExecContext(ctx, "DELETE FROM report_subscriptions WHERE id = ?", subID); err != nil {
		return fmt.Errorf("unsubscribe %d: %w", subID, err)
	}
	return nil
}

// subscriptionSchedules are the subscriptions' firings for the job
// scheduler; read from the store at each call, so every server sees
// every subscription.
func (s *Service) subscriptionSchedules() []jobs.Schedule {
	if s.cat.db == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	subs, err := s.subscriptions(ctx, "")
	if err != nil {
		s.log.Warn("read report subscriptions", "err", err)
		return nil
	}
	out := make([]jobs.Schedule, 0, len(subs))
	for _, sub := range subs {
		out = append(out, jobs.Schedule{Name: "reports.subscription:" + strconv.FormatInt(sub.ID, 10), Spec: sub.Schedule,
			Job: jobs.NewJob{Kind: DeliverKind, Payload: deliverJob{Subscription: sub.ID}, LockKey: "reports.subscription:" + strconv.FormatInt(sub.ID, 10)}})
	}
	return out
}

type deliverJob struct {
	Subscription int64 `json:"subscription"`
}

// deliver runs a subscription's report as its owner and sends it. A
// failure is recorded on the subscription and returned, so the job is
// retried (platform/jobs backs off and, after its attempts, fails it).
func (s *Service) deliver(ctx context.Context, j *jobs.Job) error {
	var f jobs.Fired
	if err := json.Unmarshal(j.Payload, &f); err != nil {
		return fmt.Errorf("delivery payload: %w", err)
	}
	var dj deliverJob
	if err := json.Unmarshal(f.Payload, &dj); err != nil {
		return fmt.Errorf("delivery payload: %w", err)
	}
	return s.Deliver(ctx, dj.Subscription, fmt.Sprintf("%s@%d", f.Schedule, f.At.UnixMilli()))
}

// Deliver sends subscription subID now; key identifies the delivery
// across retries (chat receivers get it as the message id).
func (s *Service) Deliver(ctx context.Context, subID int64, key string) error {
	subs, err := s.subscriptions(ctx, "WHERE id = ?", subID)
	if err != nil {
		return err
	}
	if len(subs) == 0 {
		return nil // unsubscribed since
	}
	sub := subs[0]
	state, sendErr := s.send(ctx, sub, key)
	msg := ""
	if sendErr != nil {
		state, msg = "failed", sendErr.Error()
	}
	db, _ := s.db()
	if _, err := db.ExecContext(ctx, "UPDATE report_subscriptions SET last_state = ?, last_error = ?, last_at = ?, deliveries = deliveries + ? WHERE id = ?",
		state, msg, s.now().UnixMilli(), map[bool]int{true: 1}[state == "sent"], subID); err != nil {
		return errors.Join(sendErr, fmt.Errorf("record delivery of subscription %d: %w", subID, err))
	}
	if sendErr != nil {
		s.log.Warn("report subscription not delivered; retried", "subscription", subID, "report", sub.Report, "err", sendErr)
	}
	return sendErr
}

func (s *Service) send(ctx context.Context, sub Subscription, key string) (string, error) {
	r, ok := s.cat.Get(sub.Report)
	if !ok {
		return "", errkind.New(errkind.NotFound, "report %s is not loaded", sub.Report)
	}
	owner, err := s.owner(ctx, sub)
	if err != nil {
		return "", err
	}
	if !r.Can(owner, PermSubscribe) {
		return "", errkind.New(errkind.Forbidden, "user %s may no longer subscribe to report %s", sub.Owner, sub.Report)
	}
	res, err := s.run(ctx, owner, r, sub.Params, 0)
	if err != nil {
		return "", err
	}
	rows := 0
	for _, d := range res.Data {
		rows += len(d.Rows)
	}
	if rows == 0 && sub.SkipEmpty {
		return "skipped", nil
	}
	if s.Notifier == nil {
		return "", errkind.New(errkind.Unavailable, "notifications are not configured")
	}
	msg := notify.Message{Title: "Report: " + res.Title, ID: "report-subscription:" + key,
		Text: fmt.Sprintf("%s, run %s UTC with your subscription's parameters.", res.Title, res.RanAt.Format("2006-01-02 15:04"))}
	for _, d := range res.Data {
		v := fmt.Sprintf("%d row(s)", len(d.Rows))
		if len(d.Failed) > 0 {
			v += fmt.Sprintf(", partial: %d of %d sources failed", len(d.Failed), d.Sources)
		}
		msg.Fields = append(msg.Fields, notify.Field{Name: d.Name, Value: v})
	}
	for _, b := range res.Blocks {
		if b.Kind == "number" && b.Value != "" {
			msg.Fields = append(msg.Fields, notify.Field{Name: firstNonEmpty(b.Title, b.Dataset), Value: b.Value})
		}
	}
	if s.PublicURL != "" {
		q := url.Values{}
		for k, v := range sub.Params {
			q.Set(k, v)
		}
		q.Set("run", "1")
		msg.Link, msg.LinkText = strings.TrimRight(s.PublicURL, "/")+"/reports/"+url.PathEscape(r.ID)+"?"+q.Encode(), "Open the report"
	}
	switch sub.Attach {
	case FormatCSV:
		for _, d := range res.Data {
			var b bytes.Buffer
			if err := d.WriteCSV(&b); err != nil {
				return "", err
			}
			msg.Attachments = append(msg.Attachments, notify.Attachment{Name: r.ID + "-" + d.Name + ".csv", Data: b.Bytes()})
		}
	case FormatXLSX:
		var b bytes.Buffer
		if err := res.WriteXLSX(&b); err != nil {
			return "", err
		}
		msg.Attachments = append(msg.Attachments, notify.Attachment{Name: r.ID + ".xlsx", Data: b.Bytes()})
	}
	if err := s.Notifier.SendTo(ctx, sub.Channel, msg); err != nil {
		return "", err
	}
	return "sent", nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Users looks up a subscription owner's current account: *auth.Service,
// wired by app.
type Users interface {
	GetUser(ctx context.Context, name string) (auth.User, error)
}

// owner is the principal a delivery runs as: the owner's current role,
// not the one at subscribe time. A deleted or disabled owner gets
// nothing. Without Users (a service not wired to accounts) the role
// stored at subscribe time is used.
func (s *Service) owner(ctx context.Context, sub Subscription) (auth.Principal, error) {
	if s.Users == nil {
		return auth.Principal{User: sub.Owner, Role: sub.ownerRole}, nil
	}
	u, err := s.Users.GetUser(ctx, sub.Owner)
	if errkind.Is(err, errkind.NotFound) {
		return auth.Principal{}, errkind.New(errkind.Forbidden, "user %s no longer exists; report %s is not delivered", sub.Owner, sub.Report)
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("subscription owner %s: %w", sub.Owner, err)
	}
	if u.Disabled {
		return auth.Principal{}, errkind.New(errkind.Forbidden, "user %s is disabled; report %s is not delivered", sub.Owner, sub.Report)
	}
	return auth.Principal{User: u.Name, Role: u.Role}, nil
}
