package alerts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/lease"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

// smsGateway is a local SMS gateway: it counts messages, segments and
// message ids, and can be made to fail.
type smsGateway struct {
	*httptest.Server
	mu       sync.Mutex
	texts    []string
	ids      map[string]int
	segments int
	fail     atomic.Bool
}

func newGateway(t *testing.T) *smsGateway {
	g := &smsGateway{ids: map[string]int{}}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.fail.Load() {
			http.Error(w, "gateway down", http.StatusBadGateway)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var req struct {
			To   []string `json:"to"`
			Text string   `json:"text"`
		}
		json.Unmarshal(b, &req)
		g.mu.Lock()
		g.texts = append(g.texts, req.Text)
		g.ids[r.Header.Get("X-Dbfleet-Message-Id")]++
		g.segments += alerts.SMSSegments(req.Text)
		g.mu.Unlock()
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *smsGateway) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.texts)
}

func newService(t *testing.T, db *sqldb.DB, g *smsGateway, now func() time.Time) *alerts.Service {
	t.Helper()
	return newServiceWith(t, db, g, func(c *alerts.Config) {}, now)
}

func newServiceWith(t *testing.T, db *sqldb.DB, g *smsGateway, edit func(*alerts.Config), now ...func() time.Time) *alerts.Service {
	t.Helper()
	var clock func() time.Time
	if len(now) > 0 {
		clock = now[0]
	}
	snd, err := notify.New(notify.SMTP{}, []notify.Channel{{Name: "sms", Kind: notify.SMS, URL: g.URL}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := alerts.DefaultConfig()
	c.DefaultRules = false
	c.People = []alerts.Person{{Name: "alice", Channels: []string{"sms"}, Phone: "+100"}}
	c.Receivers = []alerts.Receiver{{Name: "oncall", People: []string{"alice"}}}
	c.Route = alerts.Route{Receiver: "oncall", GroupBy: []string{"alertname"}, GroupWait: new(time.Duration(0)), GroupInterval: new(time.Minute), RepeatInterval: new(time.Hour)}
	c.Merge.Interval = 0
	edit(&c)
	s, err := alerts.NewService(alerts.Options{DB: db, Config: c, Sender: snd, Key: []byte("k"), PublicURL: "https://dbfleet.test",
		Tick: 20 * time.Millisecond, Now: clock, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRestartNeitherResendsNorLoses: messages are recorded with the
// state that produced them; a server stopped right after (before
// delivering) delivers them after restart exactly once, and a restart
// never repeats what was sent.
func TestRestartNeitherResendsNorLoses(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		g := newGateway(t)
		g.fail.Store(true) // nothing gets out before the "crash"
		s1 := newService(t, db, g, nil)
		for _, inst := range []string{"db1", "db2", "db3"} {
			if err := s1.Raise(ctx, alerts.Event{Name: "MySQLDown", Labels: map[string]string{"instance": inst, "severity": "critical"}}); err != nil {
				t.Fatal(err)
			}
		}
		run1, stop1 := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { s1.Run(run1); close(done) }()
		waitFor(t, "the message recorded", func() bool {
			ms, _ := s1.Messages(ctx, alerts.MessageFilter{})
			return len(ms) == 1 && ms[0].Attempts > 0
		})
		stop1()
		<-done
		ms, _ := s1.Messages(ctx, alerts.MessageFilter{})
		if ms[0].State != "pending" || !strings.Contains(ms[0].LastError, "502") {
			t.Fatalf("after a failed attempt: %+v, want pending with the gateway's error", ms[0])
		}

		// Restart with the gateway back, 10 s later (past the first backoff).
		g.fail.Store(false)
		s2 := newService(t, db, g, func() time.Time { return time.Now().Add(10 * time.Second) })
		run2, stop2 := context.WithCancel(ctx)
		done = make(chan struct{})
		go func() { s2.Run(run2); close(done) }()
		waitFor(t, "delivery after restart", func() bool { return g.count() == 1 })
		time.Sleep(300 * time.Millisecond) // a dozen more ticks: nothing new
		stop2()
		<-done
		if g.count() != 1 {
			t.Fatalf("gateway got %d messages, want 1: %q", g.count(), g.texts)
		}
		if !strings.HasPrefix(g.texts[0], "[P1] 3 alerts/3 inst: db1 MySQLDown(+2)") || !strings.Contains(g.texts[0], "https://dbfleet.test/a/") {
			t.Errorf("sms %q", g.texts[0])
		}

		// Another restart: the group is already notified, nothing is sent.
		s3 := newService(t, db, g, nil)
		run3, stop3 := context.WithCancel(ctx)
		done = make(chan struct{})
		go func() { s3.Run(run3); close(done) }()
		time.Sleep(300 * time.Millisecond)
		if err := s3.Raise(ctx, alerts.Event{Name: "MySQLReplicationIOStopped", Labels: map[string]string{"instance": "db4", "severity": "critical"}}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the new alert's message", func() bool { return g.count() == 2 })
		time.Sleep(200 * time.Millisecond)
		stop3()
		<-done
		if g.count() != 2 {
			t.Errorf("gateway got %d messages, want 2", g.count())
		}
		for id, n := range g.ids {
			if n != 1 {
				t.Errorf("message %s delivered %d times", id, n)
			}
		}
		st, err := s3.List(ctx)
		if err != nil || len(st) != 4 {
			t.Errorf("list: %d alerts, %v; want 4", len(st), err)
		}

		// The link in the SMS acknowledges the group.
		link := g.texts[0][strings.Index(g.texts[0], "/a/")+3:]
		res, err := s3.AckLink(ctx, link)
		if err != nil || len(res.Groups) != 1 {
			t.Errorf("ack by link: %+v, %v", res, err)
		}
		if _, err := s3.AckLink(ctx, link+"x"); err == nil {
			t.Errorf("a tampered link was accepted")
		}
	})
}

// TestDeadChannelIsRetriedAndVisible: a failing gateway is retried with
// backoff, the message shows its error, and after three failures the
// channel's failure is itself an alert.
func TestDeadChannelIsRetriedAndVisible(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	g := newGateway(t)
	g.fail.Store(true)
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s := newService(t, db, g, now)
	s.Raise(ctx, alerts.Event{Name: "MySQLDown", Labels: map[string]string{"instance": "db1", "severity": "critical"}})
	run, stop := context.WithCancel(ctx)
	defer stop()
	go s.Run(run)
	for i := 1; i <= 3; i++ {
		waitFor(t, "attempt", func() bool {
			ms, _ := s.Messages(ctx, alerts.MessageFilter{})
			return len(ms) > 0 && ms[len(ms)-1].Attempts >= i
		})
		time.Sleep(100 * time.Millisecond)
		ms, _ := s.Messages(ctx, alerts.MessageFilter{})
		if ms[len(ms)-1].Attempts != i {
			t.Fatalf("attempts %d before the backoff passed, want %d", ms[len(ms)-1].Attempts, i)
		}
		mu.Lock()
		clock = clock.Add(time.Duration(5<<(i-1)) * time.Second)
		mu.Unlock()
	}
	waitFor(t, "NotificationFailing", func() bool {
		st, _ := s.List(ctx)
		for _, a := range st {
			if a.Labels["alertname"] == "NotificationFailing" && a.Labels["channel"] == "sms" {
				return true
			}
		}
		return false
	})
}

// TestTwoServersSendOnce: two servers on one store, each running the
// pipeline under the same lease, send every message once.
func TestTwoServersSendOnce(t *testing.T) {
	db := sqldbtest.Postgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g := newGateway(t)
	var wg sync.WaitGroup
	for range 2 {
		s := newService(t, db, g, nil)
		lm := lease.NewManager(db, slog.New(slog.DiscardHandler))
		lm.TTL = 3 * time.Second
		wg.Go(func() { lm.Run(ctx, "alerts", s.Run) })
		if err := s.Raise(ctx, alerts.Event{Name: "PostgreSQLDown", Labels: map[string]string{"instance": "pg" + lm.Holder(), "severity": "critical"}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a message", func() bool { return g.count() >= 1 })
	time.Sleep(2 * time.Second)
	cancel()
	wg.Wait()
	if g.count() != 1 {
		t.Errorf("gateway got %d messages, want 1 (both alerts in one group): %q", g.count(), g.texts)
	}
}

// TestMaintenanceSilence: a planned change silences its cluster's alerts
// for a while, and the silence ends by itself.
func TestMaintenanceSilence(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	g := newGateway(t)
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s := newService(t, db, g, now)
	s.Maintenance(ctx, "alice", "switchover:c1", []string{`cluster="c1"`}, alerts.SwitchoverSilence, "planned switchover of c1")
	ss, err := s.Silences(ctx, false)
	if err != nil || len(ss) != 1 || ss[0].Source != "switchover:c1" || ss[0].CreatedBy != "alice" || !ss[0].EndsAt.Equal(clock.Add(15*time.Minute).Truncate(time.Millisecond)) {
		t.Fatalf("silences %+v, %v", ss, err)
	}
	s.Raise(ctx, alerts.Event{Name: "MySQLReplicationLag", Labels: map[string]string{"instance": "db2", "cluster": "c1", "severity": "warning"}})
	run, stop := context.WithCancel(ctx)
	defer stop()
	go s.Run(run)
	waitFor(t, "the lag silenced", func() bool {
		st, _ := s.List(ctx)
		return len(st) == 1 && st[0].State == "silenced"
	})
	mu.Lock()
	clock = clock.Add(16 * time.Minute)
	mu.Unlock()
	if ss, _ := s.Silences(ctx, false); len(ss) != 0 {
		t.Errorf("silence still active after its window: %+v", ss)
	}
	// Still lagging (an event without an end resolves after
	// resolve_timeout, so the source repeats it).
	s.Raise(ctx, alerts.Event{Name: "MySQLReplicationLag", Labels: map[string]string{"instance": "db2", "cluster": "c1", "severity": "warning"}})
	waitFor(t, "the lag paged after the window", func() bool { return g.count() == 1 })
}

// TestPrune: old history goes, pending messages and live silences stay.
func TestPrune(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	g := newGateway(t)
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s := newService(t, db, g, now)
	old := clock.Add(-40 * 24 * time.Hour).UnixMilli()
	for i, st := range []string{"sent", "failed", "pending"} {
		if _, err := db.ExecContext(ctx, `INSERT INTO alert_messages (dedup_key, seq, recipient, channel, priority, title, body, digest, state, next_attempt_at, created_at)
			VALUES (?, ?, 'alice', 'sms', 'P1', 't', 'b', '{}', ?, ?, ?)`, fmt.Sprint(i), i, st, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddSilence(ctx, "alice", alerts.NewSilence{Matchers: []string{"instance=db1"}, Duration: "1h", Comment: "live"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Prune(ctx, alerts.HistoryRetention); err != nil {
		t.Fatal(err)
	}
	ms, _ := s.Messages(ctx, alerts.MessageFilter{})
	if len(ms) != 1 || ms[0].State != "pending" {
		t.Errorf("after pruning: %+v, want only the pending message", ms)
	}
	if ss, _ := s.Silences(ctx, false); len(ss) != 1 {
		t.Errorf("the live silence was pruned")
	}
}
