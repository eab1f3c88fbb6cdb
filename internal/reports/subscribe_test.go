package reports

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/testenv"
	"golang.org/x/crypto/bcrypt"
)

// chatReceiver is a local webhook receiver standing in for a chat
// gateway; failing makes it answer 500.
type chatReceiver struct {
	mu      sync.Mutex
	bodies  []notify.WebhookPayload
	ids     []string
	failing bool
}

func (c *chatReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failing {
		http.Error(w, "gateway down", http.StatusInternalServerError)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var p notify.WebhookPayload
	json.Unmarshal(b, &p)
	c.bodies = append(c.bodies, p)
	c.ids = append(c.ids, r.Header.Get("X-Dbfleet-Message-Id"))
}

// TestSubscriptions: a subscription delivered by e-mail to the test SMTP
// receiver (HTML body, CSV attached) and to a chat receiver (summary and
// link); skip-if-empty; a failing channel recorded as failed and the
// delivery returned as an error for the job queue to retry; checks made
// at subscribe time.
func TestSubscriptions(t *testing.T) {
	s, _ := newTestService(t, "testdata/run")
	s.cat.db = sqldbtest.SQLite(t)
	rx := testenv.StartSMTP(t)
	chat := &chatReceiver{}
	hs := httptest.NewServer(chat)
	defer hs.Close()
	sender, err := notify.New(notify.SMTP{Host: rx.Host, Port: rx.Port, From: "dbfleet@example.com", TLS: "none"},
		[]notify.Channel{{Name: "dba-mail", Kind: notify.Email, To: []string{"dba@example.com"}}, {Name: "dba-chat", Kind: notify.Webhook, URL: hs.URL}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Notifier, s.PublicURL = sender, "https://dbfleet.example"
	dba := auth.Principal{User: "dora", Role: auth.DBA}
	viewer := auth.Principal{User: "vera", Role: auth.Viewer}

	for _, tc := range []struct {
		p    auth.Principal
		req  SubscribeRequest
		kind errkind.Kind
	}{
		{viewer, SubscribeRequest{Channel: "dba-mail", Schedule: "@daily"}, errkind.Forbidden},
		{dba, SubscribeRequest{Channel: "nowhere", Schedule: "@daily"}, errkind.Invalid},
		{dba, SubscribeRequest{Channel: "dba-mail", Schedule: "sometimes"}, errkind.Invalid},
		{dba, SubscribeRequest{Channel: "dba-mail", Schedule: "@daily", Params: map[string]string{"days": "soon"}}, errkind.Invalid},
	} {
		if _, err := s.Subscribe(t.Context(), tc.p, "by-day", tc.req); errkind.Of(err) != tc.kind {
			t.Errorf("%+v: %v, want %s", tc.req, err, tc.kind)
		}
	}

	mail, err := s.Subscribe(t.Context(), dba, "by-day", SubscribeRequest{Channel: "dba-mail", Schedule: "0 8 * * *", Params: map[string]string{"region": "south"}, Attach: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(t.Context(), mail.ID, "k1"); err != nil {
		t.Fatal(err)
	}
	mails := rx.Wait(1, 10*time.Second)
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	data := mails[0].Data
	for _, want := range []string{"Subject: Report: Orders by day", "text/html", "by-day-daily.csv", "https://dbfleet.example/reports/by-day?region", "Content-Disposition: attachment; filename=\"by-day-daily.csv\""} {
		if !strings.Contains(data, want) {
			t.Errorf("the mail lacks %q:\n%s", want, data)
		}
	}

	chatSub, err := s.Subscribe(t.Context(), dba, "by-day", SubscribeRequest{Channel: "dba-chat", Schedule: "0 8 * * *", Params: map[string]string{"region": "north"}})
	if err != nil {
		t.Fatal(err)
	}
	inner, _ := json.Marshal(deliverJob{Subscription: chatSub.ID})
	payload, _ := json.Marshal(jobs.Fired{Schedule: "reports.subscription:2", At: time.Date(2026, 12, 8, 8, 0, 0, 0, time.UTC), Payload: inner})
	if err := s.Handlers()[DeliverKind](t.Context(), &jobs.Job{Kind: DeliverKind, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	if len(chat.bodies) != 1 || chat.bodies[0].Title != "Report: Orders by day" || !strings.Contains(chat.bodies[0].Link, "region=north") || chat.ids[0] == "" {
		t.Fatalf("chat got %+v %v", chat.bodies, chat.ids)
	}

	empty, err := s.Subscribe(t.Context(), dba, "by-day", SubscribeRequest{Channel: "dba-chat", Schedule: "@daily", Params: map[string]string{"days": "2020-01-01..2020-01-02"}, SkipEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(t.Context(), empty.ID, "k3"); err != nil || len(chat.bodies) != 1 {
		t.Fatalf("an empty report with skip-empty: %v, %d messages", err, len(chat.bodies))
	}

	chat.failing = true
	if err := s.Deliver(t.Context(), chatSub.ID, "k4"); err == nil {
		t.Fatal("a failed delivery reported no error (the job would not be retried)")
	}
	subs, err := s.Subscriptions(t.Context(), dba)
	if err != nil {
		t.Fatal(err)
	}
	states := map[int64]Subscription{}
	for _, sub := range subs {
		states[sub.ID] = sub
	}
	if st := states[mail.ID]; st.LastState != "sent" || st.Deliveries != 1 {
		t.Errorf("mail subscription %+v", st)
	}
	if st := states[empty.ID]; st.LastState != "skipped" || st.Deliveries != 0 {
		t.Errorf("empty subscription %+v", st)
	}
	if st := states[chatSub.ID]; st.LastState != "failed" || !strings.Contains(st.LastError, "500") || st.Deliveries != 1 {
		t.Errorf("failing subscription %+v", st)
	}
	if got := len(s.Schedules()); got != 4 { // three subscriptions and the report's snapshot
		t.Errorf("%d schedules", got)
	}
	if err := s.Unsubscribe(t.Context(), auth.Principal{User: "other", Role: auth.Developer}, mail.ID); errkind.Of(err) != errkind.NotFound {
		t.Errorf("another user unsubscribed: %v", err)
	}
}

// TestSubscriptionOwnerNow: a delivery runs as its owner's current
// account, not the role frozen at subscribe time: a demoted owner who may
// no longer subscribe, a disabled one and one with no account get nothing.
func TestSubscriptionOwnerNow(t *testing.T) {
	s, _ := newTestService(t, "testdata/run")
	db := sqldbtest.SQLite(t)
	s.cat.db = db
	users := auth.NewService(db, nil, auth.Config{BcryptCost: bcrypt.MinCost})
	s.Users = users
	chat := &chatReceiver{}
	hs := httptest.NewServer(chat)
	defer hs.Close()
	sender, err := notify.New(notify.SMTP{}, []notify.Channel{{Name: "chat", Kind: notify.Webhook, URL: hs.URL}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Notifier = sender
	admin := auth.Principal{User: "ada", Role: auth.Admin}
	for _, u := range []string{"dora", "dan", "dave"} {
		if _, err := users.AddUser(t.Context(), u, auth.DBA, "password-"+u); err != nil {
			t.Fatal(err)
		}
	}
	viewer, yes := auth.Viewer, true
	for _, c := range []struct {
		owner  string
		change *auth.UserChange
		sent   bool
	}{
		{"dora", nil, true},
		{"dan", &auth.UserChange{Role: &viewer}, false}, // a viewer may not subscribe
		{"dave", &auth.UserChange{Disabled: &yes}, false},
		{"ghost", nil, false}, // no account (any more)
	} {
		t.Run(c.owner, func(t *testing.T) {
			sub, err := s.Subscribe(t.Context(), auth.Principal{User: c.owner, Role: auth.DBA}, "by-day", SubscribeRequest{Channel: "chat", Schedule: "@daily"})
			if err != nil {
				t.Fatal(err)
			}
			if c.change != nil {
				if _, err := users.UpdateUser(t.Context(), admin, "192.0.2.1", c.owner, *c.change); err != nil {
					t.Fatal(err)
				}
			}
			before := len(chat.bodies)
			err = s.Deliver(t.Context(), sub.ID, "k-"+c.owner)
			if c.sent != (err == nil) || c.sent != (len(chat.bodies) == before+1) {
				t.Fatalf("delivered: %v (%d messages), want sent=%v", err, len(chat.bodies)-before, c.sent)
			}
			if !c.sent && !errkind.Is(err, errkind.Forbidden) {
				t.Errorf("refusal %v, want forbidden", err)
			}
		})
	}
}
