package alerts

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// Sender delivers one message to one named channel (internal/notify).
type Sender interface {
	Channels() []notify.Channel
	SendTo(ctx context.Context, channel string, msg notify.Message) error
}

// Options are what the service is built from.
type Options struct {
	DB     *sqldb.DB
	Config Config
	Sender Sender
	// Key signs the links in messages (servers sharing a store share it).
	Key []byte
	// PublicURL prefixes links.
	PublicURL string
	// Topology reads the fleet's topology from the inventory.
	Topology func(ctx context.Context) (TopologyView, error)
	// Rules is the metric store the evaluator runs on; nil: no rule
	// evaluation (events only).
	Rules      RuleStorage
	Registerer prometheus.Registerer
	Log        *slog.Logger
	// Tick is the pipeline's step; zero means 1 s.
	Tick time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service runs the alert pipeline and answers the API.
type Service struct {
	o     Options
	cfg   Config
	log   *slog.Logger
	kinds map[string]notify.Kind
	ev    *Evaluator

	mu        sync.Mutex
	inbox     []Alert
	publicURL string
	wake      chan struct{}
	failing   map[string]bool // channels whose NotificationFailing fires

	deliveries *prometheus.CounterVec
	messages   *prometheus.CounterVec
}

// NewService checks the configuration against the configured channels.
func NewService(o Options) (*Service, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if _, err := Compile(o.Config); err != nil {
		return nil, errkind.Wrap(errkind.Invalid, err)
	}
	s := &Service{o: o, cfg: o.Config, log: o.Log, kinds: map[string]notify.Kind{}, publicURL: strings.TrimRight(o.PublicURL, "/"), wake: make(chan struct{}, 1)}
	if o.Sender != nil {
		for _, c := range o.Sender.Channels() {
			s.kinds[c.Name] = c.Kind
		}
	}
	for _, p := range o.Config.People {
		for _, ch := range p.Channels {
			if _, ok := s.kinds[ch]; !ok {
				return nil, errkind.New(errkind.Invalid, "alerts.people (%s): channel %q is not in notify.channels", p.Name, ch)
			}
		}
	}
	for _, r := range o.Config.Receivers {
		for _, ch := range r.Channels {
			if _, ok := s.kinds[ch]; !ok {
				return nil, errkind.New(errkind.Invalid, "alerts.receivers (%s): channel %q is not in notify.channels", r.Name, ch)
			}
		}
	}
	s.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dbfleet_alert_deliveries_total",
		Help: "Alert message delivery attempts by channel and result (sent, retry, failed)."}, []string{"channel", "result"})
	s.messages = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dbfleet_alert_messages_total",
		Help: "Alert messages produced by recipient channel kind, and their SMS segments."}, []string{"kind", "unit"})
	if o.Registerer != nil {
		o.Registerer.MustRegister(s.deliveries, s.messages)
	}
	return s, nil
}

// SetPublicURL sets the link prefix when the configuration has none.
func (s *Service) SetPublicURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.publicURL == "" {
		s.publicURL = strings.TrimRight(u, "/")
	}
}

func (s *Service) now() time.Time {
	if s.o.Now != nil {
		return s.o.Now()
	}
	return time.Now()
}

// Put hands alerts to the pipeline (the rule manager's sink). They are
// not durable: the rule manager re-sends firing alerts every evaluation.
func (s *Service) Put(alerts []Alert) {
	s.mu.Lock()
	s.inbox = append(s.inbox, alerts...)
	s.mu.Unlock()
}

// Event is a platform event raised as an alert: a failover, a health
// score below its threshold, a forecast crossing a limit, a stuck ticket.
type Event struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Resolved ends the alert (a failover finished).
	Resolved bool `json:"resolved,omitempty"`
	// For, when set, ends the alert by itself after it (a one-off event
	// such as "failover failed").
	For time.Duration `json:"for,omitempty"`
}

// Raise records a platform event durably; the pipeline (on whichever
// server holds its lease) picks it up on its next step.
func (s *Service) Raise(ctx context.Context, ev Event) error {
	if ev.Name == "" {
		return errkind.New(errkind.Invalid, "alert event: a name is required")
	}
	l := map[string]string{}
	for k, v := range ev.Labels {
		l[k] = v
	}
	l["alertname"] = ev.Name
	now := s.now()
	a := Alert{Labels: l, Annotations: ev.Annotations, StartsAt: now, Source: "event"}
	switch {
	case ev.Resolved:
		a.EndsAt = now
	case ev.For > 0:
		a.EndsAt = now.Add(ev.For)
	}
	return s.PostAlerts(ctx, []Alert{a})
}

// PostAlerts records alerts from outside (the API, like Alertmanager's).
func (s *Service) PostAlerts(ctx context.Context, as []Alert) error {
	return s.o.DB.InTx(ctx, func(tx *sqldb.Tx) error {
		for i, a := range as {
			if a.Labels["alertname"] == "" {
				return errkind.New(errkind.Invalid, "alert %d: the alertname label is required", i)
			}
			if a.Source == "" {
				a.Source = "api"
			}
			b, err := json.Marshal(a)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO alert_events (body, created_at) VALUES (?, ?)", string(b), sqldb.Now()); err != nil {
				return fmt.Errorf("record alert event: %w", err)
			}
		}
		return nil
	})
}

// Run is the singleton loop (run under a lease): rule evaluation, the
// pipeline, delivery.
func (s *Service) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if s.o.Rules != nil {
		ev := NewEvaluator(ctx, s.cfg, s.o.Rules, nil, s.Put, s.log)
		if err := ev.Load(); err != nil {
			s.log.Error("alert rules", "err", err)
		}
		s.mu.Lock()
		s.ev = ev
		s.mu.Unlock()
		wg.Go(func() { ev.Run(ctx) })
		defer func() {
			s.mu.Lock()
			s.ev = nil
			s.mu.Unlock()
		}()
	}
	wg.Go(func() {
		if err := s.deliver(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("alert delivery stopped", "err", err)
		}
	})
	err := s.pipeline(ctx)
	cancel()
	wg.Wait()
	return err
}

// ReloadRules re-reads the rule files on the server evaluating them.
func (s *Service) ReloadRules() error {
	s.mu.Lock()
	ev := s.ev
	s.mu.Unlock()
	if ev == nil {
		return errkind.New(errkind.Unavailable, "rules are evaluated by the server holding the alerts lease; this one does not")
	}
	return ev.Load()
}

// Rules lists the loaded rules with their state (on the evaluating
// server), or checks the configured files offline elsewhere.
func (s *Service) Rules() ([]RuleState, error) {
	s.mu.Lock()
	ev := s.ev
	s.mu.Unlock()
	if ev != nil {
		return ev.Rules()
	}
	files, err := ExpandRuleFiles(s.cfg)
	if err != nil {
		return nil, err
	}
	var out []RuleState
	var errs []error
	for _, f := range files {
		rgs, fe := (ruleLoader{parser: newParser(), log: s.log}).Load(f, false, validation)
		errs = append(errs, fe...)
		if rgs == nil {
			continue
		}
		for _, g := range rgs.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				rs := RuleState{Group: g.Name, File: f, Name: r.Alert, Expr: r.Expr, Labels: r.Labels, State: "unknown", Health: "unknown"}
				if r.For != 0 {
					rs.For = r.For.String()
				}
				out = append(out, rs)
			}
		}
	}
	return out, errors.Join(errs...)
}

func (s *Service) loadState(ctx context.Context) (*State, error) {
	var body string
	err := s.o.DB.QueryRowContext(ctx, "SELECT body FROM alert_state WHERE id = 1").Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load alert state: %w", err)
	}
	var st State
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		return nil, fmt.Errorf("load alert state: %w", err)
	}
	return &st, nil
}

// engineAt builds an engine from the saved state with the current
// silences and acks.
func (s *Service) engineAt(ctx context.Context, now time.Time) (*Engine, error) {
	st, err := s.loadState(ctx)
	if err != nil {
		return nil, err
	}
	e, err := NewEngine(s.cfg, st)
	if err != nil {
		return nil, err
	}
	if err := s.refresh(ctx, e, now); err != nil {
		return nil, err
	}
	return e, nil
}

func (s *Service) refresh(ctx context.Context, e *Engine, now time.Time) error {
	ss, err := s.silences(ctx, now.Add(-time.Minute), false)
	if err != nil {
		return err
	}
	if err := e.SetSilences(ss); err != nil {
		return err
	}
	acks, err := s.acks(ctx)
	if err != nil {
		return err
	}
	e.SetAcks(acks)
	ovs, err := s.overridesByTeam(ctx, now)
	if err != nil {
		return err
	}
	e.SetOverrides(ovs)
	return nil
}

func (s *Service) pipeline(ctx context.Context) error {
	e, err := s.engineAt(ctx, s.now())
	if err != nil {
		return err
	}
	var topoAt, pruneAt time.Time
	// saved is the state last written: an idle tick (no change, no
	// message, no event) writes nothing.
	var saved string
	t := time.NewTicker(s.o.Tick)
	defer t.Stop()
	for {
		now := s.now()
		if s.o.Topology != nil && now.Sub(topoAt) >= 30*time.Second {
			if topo, err := s.o.Topology(ctx); err != nil {
				s.log.Warn("alerts: read topology", "err", err)
			} else {
				e.SetTopology(topo)
				topoAt = now
			}
		}
		if now.Sub(pruneAt) >= time.Hour {
			if err := s.Prune(ctx, HistoryRetention); err != nil {
				s.log.Warn("alerts: prune history", "err", err)
			}
			pruneAt = now
		}
		if err := s.step(ctx, e, now, &saved); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			saved = ""
			s.log.Warn("alerts: pipeline step failed; reloading the saved state", "err", err)
			topo := e.topo
			if e, err = s.engineAt(ctx, now); err != nil {
				return err
			}
			e.SetTopology(topo)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// step runs one tick and saves the state with the messages it made in
// one transaction: either both are stored or neither, so after a crash
// the pipeline resumes from a state that matches the outbox. A tick that
// changed nothing since *saved (the state last written) writes nothing.
func (s *Service) step(ctx context.Context, e *Engine, now time.Time, saved *string) error {
	if err := s.refresh(ctx, e, now); err != nil {
		return err
	}
	s.mu.Lock()
	in := s.inbox
	s.inbox = nil
	s.mu.Unlock()
	rows, err := s.o.DB.QueryContext(ctx, "SELECT id, body FROM alert_events ORDER BY id LIMIT 1000")
	if err != nil {
		return fmt.Errorf("read alert events: %w", err)
	}
	var lastEvent int64
	for rows.Next() {
		var body string
		if err := rows.Scan(&lastEvent, &body); err != nil {
			rows.Close()
			return err
		}
		var a Alert
		if err := json.Unmarshal([]byte(body), &a); err == nil {
			in = append(in, a)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(s.cfg.Alertmanagers) > 0 {
		// Alertmanager does the routing: hand it every alert.
		if len(in) > 0 {
			if err := s.forward(ctx, in); err != nil {
				return err
			}
		}
		if lastEvent > 0 {
			_, err := s.o.DB.ExecContext(ctx, "DELETE FROM alert_events WHERE id <= ?", lastEvent)
			return err
		}
		return nil
	}
	e.Put(now, in...)
	digests := e.Tick(now)
	state, err := json.Marshal(e.State())
	if err != nil {
		return err
	}
	msgs := s.messagesFor(digests, now)
	if len(msgs) == 0 && lastEvent == 0 && string(state) == *saved {
		return nil
	}
	err = s.o.DB.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM alert_state WHERE id = 1"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO alert_state (id, body, updated_at) VALUES (1, ?, ?)", string(state), now.UnixMilli()); err != nil {
			return err
		}
		if lastEvent > 0 {
			if _, err := tx.ExecContext(ctx, "DELETE FROM alert_events WHERE id <= ?", lastEvent); err != nil {
				return err
			}
		}
		for _, m := range msgs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_messages (dedup_key, seq, recipient, channel, priority, title, body, segments, digest, state, next_attempt_at, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.DedupKey, m.Seq, m.Recipient, m.Channel, m.Priority, m.Title, m.Body, m.Segments, m.digest, m.State, now.UnixMilli(), now.UnixMilli()); err != nil {
				return fmt.Errorf("record message: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save alert state: %w", err)
	}
	*saved = string(state)
	if len(msgs) > 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// forward posts alerts to every configured Alertmanager (API v2), as
// Prometheus does; one that accepts is enough.
func (s *Service) forward(ctx context.Context, as []Alert) error {
	type amAlert struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations,omitempty"`
		StartsAt    time.Time         `json:"startsAt,omitzero"`
		EndsAt      time.Time         `json:"endsAt,omitzero"`
	}
	body := make([]amAlert, 0, len(as))
	for _, a := range as {
		body = append(body, amAlert{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt, EndsAt: a.EndsAt})
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range s.cfg.Alertmanagers {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(u, "/")+"/api/v2/alerts", bytes.NewReader(raw))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			errs = append(errs, fmt.Errorf("alertmanager %s: %w", u, err))
			continue
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			errs = append(errs, fmt.Errorf("alertmanager %s: HTTP %d", u, resp.StatusCode))
			continue
		}
		return nil
	}
	return errors.Join(errs...)
}

// HistoryRetention is how long messages, ended silences and
// acknowledgements are kept.
const HistoryRetention = 30 * 24 * time.Hour

// Prune deletes delivered (or given up) messages, silences that ended and
// acknowledgements older than keep.
func (s *Service) Prune(ctx context.Context, keep time.Duration) error {
	before := s.now().Add(-keep).UnixMilli()
	for _, q := range []string{
		"DELETE FROM alert_messages WHERE state <> 'pending' AND created_at < ?",
		"DELETE FROM alert_silences WHERE ends_at < ?",
		"DELETE FROM alert_acks WHERE acked_at < ?",
	} {
		if _, err := s.o.DB.ExecContext(ctx, q, before); err != nil {
			return fmt.Errorf("prune alert history: %w", err)
		}
	}
	return nil
}

// Message is one message to one recipient on one channel: the outbox and
// the history.
type Message struct {
	ID        int64     `json:"id"`
	DedupKey  string    `json:"dedup_key"`
	Seq       int64     `json:"seq"`
	Recipient string    `json:"recipient"`
	Channel   string    `json:"channel"`
	Priority  string    `json:"priority"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Segments  int       `json:"segments,omitempty"`
	State     string    `json:"state"` // pending, sent, failed, undeliverable
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	Digest    *Digest   `json:"digest,omitempty"`
	digest    string
}

// messagesFor renders digests for each of their recipient's channels.
func (s *Service) messagesFor(ds []Digest, now time.Time) []Message {
	var out []Message
	for _, d := range ds {
		raw, _ := json.Marshal(d)
		link := s.link(d.Seq, d.Recipient, now)
		var chans []string
		if name, ok := strings.CutPrefix(d.Recipient, "#"); ok {
			for _, r := range s.cfg.Receivers {
				if r.Name == name {
					chans = r.Channels
				}
			}
		} else {
			for _, p := range s.cfg.People {
				if p.Name == d.Recipient {
					chans = p.Channels
				}
			}
		}
		m := Message{Seq: d.Seq, Recipient: d.Recipient, Priority: d.Priority.String(), digest: string(raw), State: "pending"}
		if len(chans) == 0 {
			m.DedupKey = fmt.Sprintf("%d/%s/", d.Seq, d.Recipient)
			m.Title, m.Body, m.State = d.Title(), d.Body()+"\n"+link, "undeliverable"
			out = append(out, m)
			continue
		}
		for _, ch := range chans {
			m := m
			m.Channel = ch
			m.DedupKey = fmt.Sprintf("%d/%s/%s", d.Seq, d.Recipient, ch)
			if s.kinds[ch] == notify.SMS {
				m.Body = SMSText(d, link, s.cfg.Merge.SMSSegments)
				m.Segments = SMSSegments(m.Body)
				m.Title = d.Title()
				s.messages.WithLabelValues("sms", "segments").Add(float64(m.Segments))
			} else {
				m.Title, m.Body = d.Title(), d.Body()+"\n\n"+link
			}
			s.messages.WithLabelValues(string(s.kinds[ch]), "messages").Inc()
			out = append(out, m)
		}
	}
	return out
}

// deliver sends due messages, retrying with backoff; a message still
// failing after MaxAttempts is marked failed (visible in the history, the
// dbfleet_alert_deliveries_total metric and a NotificationFailing alert).
func (s *Service) deliver(ctx context.Context) error {
	t := time.NewTicker(s.o.Tick)
	defer t.Stop()
	for {
		if err := s.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("alerts: delivery", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
		}
	}
}

// MaxAttempts is how often a message is tried before it is marked failed.
const MaxAttempts = 10

func backoff(attempts int) time.Duration {
	d := 5 * time.Second << min(attempts-1, 7)
	return min(d, 10*time.Minute)
}

// DeliverDue sends every message due now once.
func (s *Service) DeliverDue(ctx context.Context) error {
	rows, err := s.o.DB.QueryContext(ctx, `SELECT id, dedup_key, recipient, channel, title, body, attempts FROM alert_messages
		WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT 100`, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("read outbox: %w", err)
	}
	var due []Message
	for rows.Next() {
		var m Message
		if err := rows.Scan(&m.ID, &m.DedupKey, &m.Recipient, &m.Channel, &m.Title, &m.Body, &m.Attempts); err != nil {
			rows.Close()
			return err
		}
		due = append(due, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	failing := map[string]bool{}
	for _, m := range due {
		msg := notify.Message{Title: m.Title, Text: m.Body, ID: "dbfleet-" + m.DedupKey}
		if p := s.person(m.Recipient); p != nil {
			switch s.kinds[m.Channel] {
			case notify.SMS:
				if p.Phone != "" {
					msg.To = []string{p.Phone}
				}
			case notify.Email:
				if p.Email != "" {
					msg.To = []string{p.Email}
				}
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := s.o.Sender.SendTo(sctx, m.Channel, msg)
		cancel()
		now := s.now().UnixMilli()
		m.Attempts++
		if err == nil {
			s.deliveries.WithLabelValues(m.Channel, "sent").Inc()
			if _, uerr := s.o.DB.ExecContext(ctx, "UPDATE alert_messages SET state = 'sent', attempts = ?, sent_at = ?, last_error = '' WHERE id = ?", m.Attempts, now, m.ID); uerr != nil {
				return uerr
			}
			if _, ok := failing[m.Channel]; !ok {
				failing[m.Channel] = false
			}
			continue
		}
		state, next := "pending", now+backoff(m.Attempts).Milliseconds()
		result := "retry"
		if m.Attempts >= MaxAttempts {
			state, result = "failed", "failed"
		}
		s.deliveries.WithLabelValues(m.Channel, result).Inc()
		s.log.Warn("alerts: delivery failed", "channel", m.Channel, "recipient", m.Recipient, "attempt", m.Attempts, "err", err)
		if _, uerr := s.o.DB.ExecContext(ctx, "UPDATE alert_messages SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
			state, m.Attempts, next, truncate(err.Error(), 500), m.ID); uerr != nil {
			return uerr
		}
		if m.Attempts >= 3 {
			failing[m.Channel] = true
		}
	}
	// A dead channel is itself an alert (it reaches people through their
	// other channels).
	var evs []Alert
	s.mu.Lock()
	if s.failing == nil {
		s.failing = map[string]bool{}
	}
	for ch, bad := range failing {
		if bad == s.failing[ch] {
			delete(failing, ch)
			continue
		}
		s.failing[ch] = bad
	}
	s.mu.Unlock()
	for ch, bad := range failing {
		a := Alert{Labels: map[string]string{"alertname": "NotificationFailing", "channel": ch, "severity": "warning"},
			Annotations: map[string]string{"summary": "notify channel " + ch + " keeps failing"}, Source: "event"}
		if !bad {
			a.EndsAt = s.now()
		}
		evs = append(evs, a)
	}
	if len(evs) > 0 {
		s.Put(evs)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (s *Service) person(name string) *Person {
	for i := range s.cfg.People {
		if s.cfg.People[i].Name == name {
			return &s.cfg.People[i]
		}
	}
	return nil
}

// ---- signed links ----

// linkSigner signs message links under the server key.
func (s *Service) linkSigner() secret.Signer {
	return secret.NewSigner(s.o.Key, "dbfleet alert links v1")
}

// link is the signed address of a message's page (every alert it covers,
// and an acknowledge button).
func (s *Service) link(seq int64, recipient string, now time.Time) string {
	payload := fmt.Sprintf("%d.%s.%d", seq, recipient, now.Add(s.cfg.Ack.LinkTTL).Unix())
	tok := s.linkSigner().Sign([]byte(payload))
	s.mu.Lock()
	base := s.publicURL
	s.mu.Unlock()
	return base + "/a/" + tok
}

// LinkTarget is what a valid link token names.
type LinkTarget struct {
	Seq       int64
	Recipient string
}

// VerifyLink checks a link token's signature and expiry.
func (s *Service) VerifyLink(tok string) (LinkTarget, error) {
	bad := errkind.New(errkind.Forbidden, "invalid or expired alert link")
	raw, ok := s.linkSigner().Open(tok)
	if !ok {
		return LinkTarget{}, bad
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) < 3 {
		return LinkTarget{}, bad
	}
	seq, err1 := strconv.ParseInt(parts[0], 10, 64)
	exp, err2 := strconv.ParseInt(parts[len(parts)-1], 10, 64)
	if err1 != nil || err2 != nil || s.now().Unix() > exp {
		return LinkTarget{}, bad
	}
	return LinkTarget{Seq: seq, Recipient: strings.Join(parts[1:len(parts)-1], ".")}, nil
}

// ---- queries and actions for the API, CLI and UI ----

// List returns every known alert with its state (firing, pending,
// inhibited with what inhibits it, silenced, resolving, resolved),
// from the saved pipeline state.
func (s *Service) List(ctx context.Context) ([]AlertStatus, error) {
	now := s.now()
	e, err := s.engineAt(ctx, now)
	if err != nil {
		return nil, err
	}
	if s.o.Topology != nil {
		if topo, err := s.o.Topology(ctx); err == nil {
			e.SetTopology(topo)
		}
	}
	return e.Alerts(now), nil
}

// Get returns one alert by fingerprint (or a unique prefix).
func (s *Service) Get(ctx context.Context, fp string) (AlertStatus, error) {
	all, err := s.List(ctx)
	if err != nil {
		return AlertStatus{}, err
	}
	var hit []AlertStatus
	for _, a := range all {
		if strings.HasPrefix(a.Fingerprint, fp) {
			hit = append(hit, a)
		}
	}
	switch len(hit) {
	case 0:
		return AlertStatus{}, errkind.New(errkind.NotFound, "no alert %q", fp)
	case 1:
		return hit[0], nil
	}
	return AlertStatus{}, errkind.New(errkind.Invalid, "alert %q is ambiguous: %d alerts start with it", fp, len(hit))
}

// MessageFilter narrows the message history.
type MessageFilter struct {
	Recipient string
	Seq       int64
	State     string
	Limit     int
}

// Messages lists the message history, newest first.
func (s *Service) Messages(ctx context.Context, f MessageFilter) ([]Message, error) {
	q := `SELECT id, dedup_key, seq, recipient, channel, priority, title, body, segments, digest, state, attempts, last_error, created_at, sent_at FROM alert_messages WHERE 1 = 1`
	var args []any
	if f.Recipient != "" {
		q += " AND recipient = ?"
		args = append(args, f.Recipient)
	}
	if f.Seq > 0 {
		q += " AND seq = ?"
		args = append(args, f.Seq)
	}
	if f.State != "" {
		q += " AND state = ?"
		args = append(args, f.State)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q += " ORDER BY id DESC LIMIT " + strconv.Itoa(f.Limit)
	rows, err := s.o.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list alert messages: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var created int64
		var sent sql.NullInt64
		if err := rows.Scan(&m.ID, &m.DedupKey, &m.Seq, &m.Recipient, &m.Channel, &m.Priority, &m.Title, &m.Body, &m.Segments, &m.digest, &m.State, &m.Attempts, &m.LastError, &created, &sent); err != nil {
			return nil, err
		}
		m.CreatedAt, m.SentAt = sqldb.Time(created), sqldb.NullTime(sent)
		var d Digest
		if json.Unmarshal([]byte(m.digest), &d) == nil {
			m.Digest = &d
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// NewSilence is what AddSilence needs.
type NewSilence struct {
	Matchers []string  `json:"matchers"`
	StartsAt time.Time `json:"starts_at,omitzero"`
	EndsAt   time.Time `json:"ends_at,omitzero"`
	// Duration, when EndsAt is zero: how long from StartsAt.
	Duration string `json:"duration,omitempty"`
	Comment  string `json:"comment"`
	Source   string `json:"source,omitempty"`
}

// AddSilence records a silence by author.
func (s *Service) AddSilence(ctx context.Context, author string, n NewSilence) (Silence, error) {
	if len(n.Matchers) == 0 {
		return Silence{}, errkind.New(errkind.Invalid, "a silence needs at least one matcher")
	}
	if _, err := ParseMatchers(n.Matchers); err != nil {
		return Silence{}, errkind.Wrap(errkind.Invalid, err)
	}
	if strings.TrimSpace(n.Comment) == "" {
		return Silence{}, errkind.New(errkind.Invalid, "a silence needs a comment (why)")
	}
	now := s.now()
	if n.StartsAt.IsZero() {
		n.StartsAt = now
	}
	if n.EndsAt.IsZero() {
		d, err := time.ParseDuration(n.Duration)
		if err != nil || d <= 0 {
			return Silence{}, errkind.New(errkind.Invalid, "silence duration %q: want a positive duration such as 2h, or ends_at", n.Duration)
		}
		n.EndsAt = n.StartsAt.Add(d)
	}
	if !n.EndsAt.After(n.StartsAt) || !n.EndsAt.After(now) {
		return Silence{}, errkind.New(errkind.Invalid, "a silence must end after it starts and in the future")
	}
	if n.Source == "" {
		n.Source = "user"
	}
	m, _ := json.Marshal(n.Matchers)
	sil := Silence{Matchers: n.Matchers, StartsAt: n.StartsAt, EndsAt: n.EndsAt, CreatedBy: author, Comment: n.Comment, Source: n.Source, CreatedAt: now}
	err := s.o.DB.InTx(ctx, func(tx *sqldb.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO alert_silences (matchers, starts_at, ends_at, created_by, comment, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			string(m), n.StartsAt.UnixMilli(), n.EndsAt.UnixMilli(), author, n.Comment, n.Source, now.UnixMilli()).Scan(&sil.ID)
		if err != nil {
			return fmt.Errorf("add silence: %w", err)
		}
		return audit.Record(ctx, tx, "alert.silence", strconv.FormatInt(sil.ID, 10), map[string]any{"matchers": n.Matchers, "ends_at": n.EndsAt, "comment": n.Comment, "source": n.Source})
	})
	return sil, err
}

// Maintenance silences what a planned change will disturb (a switchover,
// a ticket's execution window) for d, recorded with its source and the
// user who started it; the silence expires by itself. Errors are logged,
// never in the way of the change.
func (s *Service) Maintenance(ctx context.Context, who, source string, matchers []string, d time.Duration, comment string) {
	if _, err := s.AddSilence(ctx, who, NewSilence{Matchers: matchers, Duration: d.String(), Comment: comment, Source: source}); err != nil {
		s.log.Warn("alerts: maintenance silence", "source", source, "err", err)
	}
}

// ExpireSilence ends a silence now (unsilence).
func (s *Service) ExpireSilence(ctx context.Context, id int64) error {
	return s.o.DB.InTx(ctx, func(tx *sqldb.Tx) error {
		now := s.now().UnixMilli()
		res, err := tx.ExecContext(ctx, "UPDATE alert_silences SET ends_at = ? WHERE id = ? AND ends_at > ?", now, id, now)
		if err != nil {
			return fmt.Errorf("expire silence %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errkind.New(errkind.NotFound, "no active silence %d", id)
		}
		return audit.Record(ctx, tx, "alert.unsilence", strconv.FormatInt(id, 10), nil)
	})
}

// ExpireSilencesFrom ends every silence a source made (a ticket whose
// window closed early).
func (s *Service) ExpireSilencesFrom(ctx context.Context, source string) error {
	now := s.now().UnixMilli()
	_, err := s.o.DB.ExecContext(ctx, "UPDATE alert_silences SET ends_at = ? WHERE source = ? AND ends_at > ?", now, source, now)
	return err
}

// Silences lists silences ending after since (all=true: every one).
func (s *Service) Silences(ctx context.Context, all bool) ([]Silence, error) {
	return s.silences(ctx, s.now(), all)
}

func (s *Service) silences(ctx context.Context, since time.Time, all bool) ([]Silence, error) {
	q := "SELECT id, matchers, starts_at, ends_at, created_by, comment, source, created_at FROM alert_silences"
	var args []any
	if !all {
		q += " WHERE ends_at > ?"
		args = append(args, since.UnixMilli())
	}
	rows, err := s.o.DB.QueryContext(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	defer rows.Close()
	var out []Silence
	for rows.Next() {
		var sil Silence
		var m string
		var st, en, cr int64
		if err := rows.Scan(&sil.ID, &m, &st, &en, &sil.CreatedBy, &sil.Comment, &sil.Source, &cr); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(m), &sil.Matchers)
		sil.StartsAt, sil.EndsAt, sil.CreatedAt = sqldb.Time(st), sqldb.Time(en), sqldb.Time(cr)
		out = append(out, sil)
	}
	return out, rows.Err()
}

func (s *Service) acks(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.o.DB.QueryContext(ctx, "SELECT group_key, acked_at FROM alert_acks")
	if err != nil {
		return nil, fmt.Errorf("read acks: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var k string
		var at int64
		if err := rows.Scan(&k, &at); err != nil {
			return nil, err
		}
		out[k] = sqldb.Time(at)
	}
	return out, rows.Err()
}

// AckResult says what an acknowledgement covered.
type AckResult struct {
	Groups []string `json:"groups"`
}

// Ack acknowledges what target names: a message sequence number ("m42"
// or "42"), or an alert fingerprint (every group it is in). Repeats and
// escalation of those groups stop until something new fires in them.
func (s *Service) Ack(ctx context.Context, who, via, target string) (AckResult, error) {
	var groups []string
	if seq, err := strconv.ParseInt(strings.TrimPrefix(target, "m"), 10, 64); err == nil && (strings.HasPrefix(target, "m") || len(target) < 8) {
		ms, err := s.Messages(ctx, MessageFilter{Seq: seq, Limit: 1})
		if err != nil {
			return AckResult{}, err
		}
		if len(ms) == 0 || ms[0].Digest == nil {
			return AckResult{}, errkind.New(errkind.NotFound, "no message %d", seq)
		}
		groups = ms[0].Digest.Groups
	} else {
		a, err := s.Get(ctx, target)
		if err != nil {
			return AckResult{}, err
		}
		groups = a.Groups
	}
	if len(groups) == 0 {
		return AckResult{}, errkind.New(errkind.Conflict, "%s is in no notification group (nothing to acknowledge)", target)
	}
	return s.ackGroups(ctx, who, via, groups)
}

// AckLink acknowledges the message a signed link names.
func (s *Service) AckLink(ctx context.Context, tok string) (AckResult, error) {
	t, err := s.VerifyLink(tok)
	if err != nil {
		return AckResult{}, err
	}
	ms, err := s.Messages(ctx, MessageFilter{Seq: t.Seq, Limit: 1})
	if err != nil {
		return AckResult{}, err
	}
	if len(ms) == 0 || ms[0].Digest == nil {
		return AckResult{}, errkind.New(errkind.NotFound, "no message %d", t.Seq)
	}
	return s.ackGroups(audit.WithActor(ctx, audit.Actor{User: t.Recipient}), t.Recipient, "link", ms[0].Digest.Groups)
}

func (s *Service) ackGroups(ctx context.Context, who, via string, groups []string) (AckResult, error) {
	slices.Sort(groups)
	groups = slices.Compact(groups)
	now := s.now().UnixMilli()
	err := s.o.DB.InTx(ctx, func(tx *sqldb.Tx) error {
		for _, g := range groups {
			if _, err := tx.ExecContext(ctx, "DELETE FROM alert_acks WHERE group_key = ?", g); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO alert_acks (group_key, acked_by, acked_at, via) VALUES (?, ?, ?, ?)", g, who, now, via); err != nil {
				return fmt.Errorf("ack: %w", err)
			}
		}
		return audit.Record(ctx, tx, "alert.ack", strings.Join(groups, " "), map[string]any{"by": who, "via": via})
	})
	return AckResult{Groups: groups}, err
}
