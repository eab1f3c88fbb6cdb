package app

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/executor"
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
		out[a.Labels["instance"]] = a.State
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
	if len(sil) != 1 || len(sil[0].Matchers) != 1 || sil[0].Matchers[0] != `instance="db1"` ||
		sil[0].EndsAt.Sub(sil[0].StartsAt) != time.Hour || sil[0].Comment != "ticket:7 step 1 runs on db1" {
		t.Fatalf("silences from %s = %+v", src, sil)
	}
	waitForState(t, svc, map[string]string{"db1": "silenced", "db2": "firing"})

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
	waitForState(t, svc, map[string]string{"db1": "firing", "db2": "firing"})
}
