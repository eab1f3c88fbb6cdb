package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/health"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

// alertStates runs the pipeline of a real alerts service on SQLite and
// reads the state of each alert by its instance label.
func alertStates(t *testing.T, svc *alerts.Service) map[string]string {
	t.Helper()
	as, err := svc.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range as {
		k := a.Labels["instance"]
		if a.Labels["alertname"] != "HealthScoreLow" {
			k += "/" + a.Labels["alertname"]
		}
		out[k] = a.State
	}
	return out
}

func waitForState(t *testing.T, svc *alerts.Service, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := alertStates(t, svc)
		ok := true
		for k, v := range want {
			ok = ok && got[k] == v
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert states = %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func activeFrom(t *testing.T, svc *alerts.Service, source string) []alerts.Silence {
	t.Helper()
	all, err := svc.Silences(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	var out []alerts.Silence
	for _, s := range all {
		if s.Source == source && s.Active(time.Now()) {
			out = append(out, s)
		}
	}
	return out
}

// TestTicketExecutionSilencesItsInstance: a ticket's execution silences
// the alerts of the instance it runs on (not the others) while it runs,
// renews the silence past half its length, and ends it when the
// execution ends; an execution started outside tickets silences nothing.
func TestTicketExecutionSilencesItsInstance(t *testing.T) {
	ctx, cancel := context.WithCancel(audit.WithActor(context.Background(), audit.Actor{User: "test"}))
	defer cancel()
	c := alerts.DefaultConfig()
	c.DefaultRules = false
	svc, err := alerts.NewService(alerts.Options{DB: sqldbtest.SQLite(t), Config: c, Key: []byte("k"), Tick: 20 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for _, in := range []string{"db1", "db2"} {
		if err := svc.Raise(ctx, alerts.Event{Name: "HealthScoreLow", For: time.Hour, Labels: map[string]string{"instance": in, "severity": "warning"}}); err != nil {
			t.Fatal(err)
		}
	}
	waitForState(t, svc, map[string]string{"db1": "firing", "db2": "firing"})

	x := newExecutionSilences(svc, time.Hour, slog.New(slog.DiscardHandler))
	x.handle(ctx, executor.Event{Execution: 3, Ref: "deploy-1", Instance: "db2", State: executor.StateRunning})
	if s, _ := svc.Silences(ctx, true); len(s) != 0 {
		t.Fatalf("an execution outside tickets made silences: %+v", s)
	}

	const src = "ticket:7:step:1"
	x.handle(ctx, executor.Event{Execution: 4, Ref: src, Instance: "db1", State: executor.StateRunning})
	sil := activeFrom(t, svc, src)
	if len(sil) != 1 || len(sil[0].Matchers) != 2 || sil[0].Matchers[0] != `instance="db1"` || sil[0].Matchers[1] != `alertname!="TicketStuck"` ||
		sil[0].EndsAt.Sub(sil[0].StartsAt) != time.Hour || sil[0].Comment != "ticket:7 step 1 runs on db1" {
		t.Fatalf("silences from %s = %+v", src, sil)
	}
	waitForState(t, svc, map[string]string{"db1": "silenced", "db2": "firing"})
	// The silence leaves the ticket's own TicketStuck audible.
	if err := svc.Raise(ctx, alerts.Event{Name: "TicketStuck", For: time.Hour, Labels: map[string]string{"instance": "db1", "ticket": "7", "severity": "warning"}}); err != nil {
		t.Fatal(err)
	}
	waitForState(t, svc, map[string]string{"db1/TicketStuck": "firing", "db1": "silenced"})

	// A statement's progress is not the execution's start: no new silence.
	x.handle(ctx, executor.Event{Execution: 4, Ref: src, Instance: "db1", State: executor.StateRunning, Statement: 2})
	x.renew(ctx) // the silence is young: nothing to renew
	if n := len(activeFrom(t, svc, src)); n != 1 {
		t.Fatalf("after progress and an early renew: %d silences, want 1", n)
	}
	x.now = func() time.Time { return time.Now().Add(40 * time.Minute) }
	x.renew(ctx)
	if n := len(activeFrom(t, svc, src)); n != 2 {
		t.Fatalf("past half its length: %d silences, want 2 (renewed)", n)
	}

	x.handle(ctx, executor.Event{Execution: 4, Ref: src, Instance: "db1", State: executor.StateDone})
	if n := len(activeFrom(t, svc, src)); n != 0 {
		t.Fatalf("after the execution ended: %d active silences, want 0", n)
	}
	if len(x.running) != 0 {
		t.Fatalf("still tracked: %v", x.running)
	}
	waitForState(t, svc, map[string]string{"db1": "firing", "db2": "firing", "db1/TicketStuck": "firing"})
}

func TestHealthEvents(t *testing.T) {
	days := func(d float64) *float64 { return &d }
	scores := []health.InstanceScore{
		{Instance: "ok", Cluster: "c1", Engine: "mysql", Scored: true, Value: 90, DaysUntilFull: days(30)},
		{Instance: "low", Cluster: "c1", Engine: "mysql", Scored: true, Value: 40, Top: "replication stopped"},
		{Instance: "filling", Cluster: "c2", Engine: "postgres", Scored: true, Value: 80, DaysUntilFull: days(2.5)},
		{Instance: "both", Scored: true, Value: 10, DaysUntilFull: days(0)},
		{Instance: "unscored", Value: 0, DaysUntilFull: days(1)},
		{Instance: "busy", Cluster: "c3", Engine: "mysql", Scored: true, Value: 95, Limits: map[string]float64{"connections": 3.2}},
		{Instance: "cache", Cluster: "c4", Engine: "redis", Scored: true, Value: 95, Limits: map[string]float64{"memory": 20, "clients": 90}},
	}
	for _, tc := range []struct {
		name        string
		below, days float64
		want        []string
	}{
		{"both checks", 60, 4, []string{"HealthScoreLow low: health score 40: replication stopped", "DiskFullForecast filling: filling: the disk forecast reaches its capacity in 2.5 days",
			"HealthScoreLow both: health score 10: ", "DiskFullForecast both: both: the disk forecast reaches its capacity in 0.0 days",
			"ForecastLimit busy connections: busy: the connections forecast reaches its limit in 3.2 days"}},
		{"forecast off", 60, 0, []string{"HealthScoreLow low: health score 40: replication stopped", "HealthScoreLow both: health score 10: "}},
		{"health off, a month ahead", 0, 31, []string{"DiskFullForecast ok: ok: the disk forecast reaches its capacity in 30.0 days",
			"DiskFullForecast filling: filling: the disk forecast reaches its capacity in 2.5 days", "DiskFullForecast both: both: the disk forecast reaches its capacity in 0.0 days",
			"ForecastLimit busy connections: busy: the connections forecast reaches its limit in 3.2 days",
			"ForecastLimit cache memory: cache: the memory forecast reaches its limit in 20.0 days"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, ev := range healthEvents(scores, tc.below, tc.days) {
				if ev.For != 3*time.Minute || ev.Labels["severity"] != "warning" {
					t.Errorf("%s: for %s, labels %v", ev.Name, ev.For, ev.Labels)
				}
				got = append(got, strings.TrimSpace(ev.Name+" "+ev.Labels["instance"]+" "+ev.Labels["limit"])+": "+ev.Annotations["summary"])
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestTicketStuckCarriesInventoryLabels: a ticket waiting for approval or
// running one step too long raises TicketStuck; through the real pipeline
// the alert gets its target instance's host, rack and role.
func TestTicketStuckCarriesInventoryLabels(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ts := []flows.Summary{
		{ID: 1, Flow: "ddl", Title: "add index", State: flows.StateWaitingApproval, UpdatedAt: now.Add(-25 * time.Hour), Target: flows.TargetVars{Instance: "db1", Cluster: "orders"}},
		{ID: 2, Flow: "ddl", Title: "young", State: flows.StateWaitingApproval, UpdatedAt: now.Add(-time.Hour)},
		{ID: 3, Flow: "dml", Title: "purge", State: flows.StateRunning, Step: "Execute", UpdatedAt: now.Add(-7 * time.Hour), Target: flows.TargetVars{Cluster: "orders"}},
		{ID: 4, Flow: "dml", Title: "short", State: flows.StateRunning, UpdatedAt: now.Add(-5 * time.Hour)},
		{ID: 5, Flow: "ddl", Title: "window", State: flows.StateWaiting, UpdatedAt: now.Add(-72 * time.Hour)},
	}
	for _, tc := range []struct {
		name              string
		approval, running time.Duration
		want              []string
	}{
		{"defaults", 24 * time.Hour, 6 * time.Hour, []string{`1: ticket 1 "add index": waiting for approval for 25h0m0s`, `3: ticket 3 "purge": running step "Execute" for 7h0m0s`}},
		{"approval off", 0, 4 * time.Hour, []string{`3: ticket 3 "purge": running step "Execute" for 7h0m0s`, `4: ticket 4 "short": running for 5h0m0s`}},
		{"both off", 0, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, ev := range ticketEvents(ts, now, tc.approval, tc.running) {
				got = append(got, ev.Labels["ticket"]+": "+ev.Annotations["summary"])
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}

	ctx, cancel := context.WithCancel(audit.WithActor(context.Background(), audit.Actor{User: "test"}))
	defer cancel()
	c := alerts.DefaultConfig()
	c.DefaultRules = false
	topo := func(context.Context) (alerts.TopologyView, error) {
		return alerts.TopologyView{"db1": {Host: "h1", Cluster: "orders", Rack: "r7", Role: "primary"}}, nil
	}
	svc, err := alerts.NewService(alerts.Options{DB: sqldbtest.SQLite(t), Config: c, Key: []byte("k"), Topology: topo, Tick: 20 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	raiseAll(ctx, svc, ticketEvents(ts[:1], now, 24*time.Hour, 0), slog.New(slog.DiscardHandler))
	waitForState(t, svc, map[string]string{"db1/TicketStuck": "firing"})
	as, err := svc.List(ctx)
	if err != nil || len(as) != 1 {
		t.Fatalf("alerts %v, %v", as, err)
	}
	l := as[0].Labels
	if l["host"] != "h1" || l["rack"] != "r7" || l["role"] != "primary" || l["cluster"] != "orders" || l["ticket"] != "1" || l["flow"] != "ddl" {
		t.Fatalf("TicketStuck labels = %v, want the inventory's host, rack, role and the ticket's", l)
	}
}

// TestTicketExecutionSilenceEndToEnd: a ticket's execute step on a real
// MariaDB, run by the flow worker and the executor as app wires them,
// leaves a silence of m1 from its execution's key that ended when the
// execution did.
func TestTicketExecutionSilenceEndToEnd(t *testing.T) {
	w := newWorkOrdersWorld(t, `<execute id="run"/>`)
	ctx, cancel := context.WithCancel(w.ctx)
	c := alerts.DefaultConfig()
	c.DefaultRules = false
	svc, err := alerts.NewService(alerts.Options{DB: sqldbtest.SQLite(t), Config: c, Key: []byte("k"), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	run := newExecutionSilences(svc, time.Hour, slog.New(slog.DiscardHandler)).follow(w.exec)
	done := make(chan struct{})
	go func() { run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	tk := w.wait(t, w.submit(t, "CREATE TABLE t (id INT PRIMARY KEY);\nDO SLEEP(1)").ID, flows.StateDone)
	src := fmt.Sprintf("ticket:%d:step:1", tk.ID)
	var sil []alerts.Silence
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		all, err := svc.Silences(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		sil = sil[:0]
		for _, s := range all {
			if s.Source == src {
				sil = append(sil, s)
			}
		}
		if len(sil) == 1 && !sil[0].Active(time.Now()) {
			break
		}
	}
	if len(sil) != 1 || sil[0].Matchers[0] != `instance="m1"` || sil[0].Active(time.Now()) ||
		sil[0].EndsAt.Sub(sil[0].StartsAt) < time.Second || sil[0].EndsAt.Sub(sil[0].StartsAt) > time.Minute {
		t.Fatalf("silences from %s = %+v, want one of m1 that lasted the execution (about a second) and has ended", src, sil)
	}
}
