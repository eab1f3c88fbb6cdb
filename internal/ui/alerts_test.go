package ui

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/notify"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// TestAlertPages: the alerts page shows an inhibited alert with its root
// cause, a silence can be added and expired, and a message's signed link
// opens its page, whose button acknowledges it.
func TestAlertPages(t *testing.T) {
	f := newFixture(t)
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer gw.Close()
	snd, err := notify.New(notify.SMTP{}, []notify.Channel{{Name: "sms", Kind: notify.SMS, URL: gw.URL, To: []string{"+1"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := alerts.DefaultConfig()
	c.DefaultRules = false
	c.People = []alerts.Person{{Name: "alice", Channels: []string{"sms"}}, {Name: "bob", Channels: []string{"sms"}}}
	c.Teams = []alerts.Team{{Name: "dba", Rotation: []string{"alice"}, Handoff: time.Now().Add(-time.Hour)}}
	c.Receivers = []alerts.Receiver{{Name: "oncall", People: []string{"alice"}}}
	zero := time.Duration(0)
	c.Route = alerts.Route{Receiver: "oncall", GroupBy: []string{"alertname"}, GroupWait: &zero}
	svc, err := alerts.NewService(alerts.Options{DB: f.db, Config: c, Sender: snd, Key: []byte("k"), Tick: 20 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go svc.Run(ctx)
	svc.Raise(ctx, alerts.Event{Name: "HostDown", Labels: map[string]string{"host": "h1", "severity": "critical"}})
	svc.Raise(ctx, alerts.Event{Name: "MySQLDown", Labels: map[string]string{"host": "h1", "instance": "db1", "severity": "critical"}})
	var link string
	for deadline := time.Now().Add(20 * time.Second); link == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		ms, _ := svc.Messages(ctx, alerts.MessageFilter{State: "sent"})
		if len(ms) > 0 {
			link = ms[0].Body[strings.Index(ms[0].Body, "/a/"):]
		}
	}
	if link == "" {
		t.Fatal("no message sent")
	}

	u, err := newSite(&Server{Auth: f.auth, Inventory: f.inv, Audit: f.audit, Engines: engine.NewRegistry(mysql.New()), Log: slog.New(slog.DiscardHandler), Version: "test", Alerts: svc})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	f.srv = httptest.NewServer(httpx.SecurityHeaders(u.routes()))
	t.Cleanup(f.srv.Close)
	b := f.browser()
	b.mustLogin("admin", adminPassword)
	r := b.get("/alerts")
	expect(t, "alerts page", r, http.StatusOK, "")
	expectBody(t, "alerts page", r, `id="alerts-inhibited"`, "inhibited by h1 HostDown", "topology:host_down", "[P1] 2 alerts: h1 HostDown(1 symptoms)")

	r = b.post("/alerts/silences", url.Values{"matchers": {`instance="db9"`}, "duration": {"1h"}, "comment": {"disk swap"}})
	expect(t, "silence", r, http.StatusSeeOther, "/alerts")
	expectBody(t, "after silencing", b.get("/alerts"), "disk swap", `instance=&#34;db9&#34;`)
	r = b.post("/alerts/silences/1/expire", nil)
	expect(t, "expire", r, http.StatusSeeOther, "/alerts")
	if ss, _ := svc.Silences(ctx, false); len(ss) != 0 {
		t.Errorf("silences after expiry: %+v", ss)
	}

	// An on-call override from the page puts bob first; removing it gives
	// the rotation back.
	r = b.post("/alerts/oncall/overrides", url.Values{"team": {"dba"}, "person": {"bob"}, "duration": {"8h"}, "comment": {"alice off sick"}})
	expect(t, "override", r, http.StatusSeeOther, "/alerts")
	expectBody(t, "after the override", b.get("/alerts"), `id="oncall-overrides"`, "alice off sick", "bob → alice")
	r = b.post("/alerts/oncall/overrides", url.Values{"team": {"dba"}, "person": {"mallory"}, "duration": {"8h"}})
	expect(t, "override of someone unknown", r, http.StatusBadRequest, "")
	r = b.post("/alerts/oncall/overrides/1/remove", nil)
	expect(t, "remove override", r, http.StatusSeeOther, "/alerts")
	if oc, _ := svc.OnCallAt(ctx, time.Now()); len(oc) != 1 || strings.Join(oc[0].Order, ",") != "alice" {
		t.Errorf("on call after removing the override: %+v", oc)
	}

	r = b.get(link)
	expect(t, "message page", r, http.StatusOK, "")
	expectBody(t, "message page", r, `id="message-lines"`, "HostDown", "1 symptoms", "Acknowledge")
	r = b.post(link+"/ack", nil)
	expect(t, "ack", r, http.StatusSeeOther, link)
	expectBody(t, "after ack", b.get(link), "Acknowledged 1 group")
	expect(t, "tampered link", b.get(link+"x"), http.StatusForbidden, "")
}
