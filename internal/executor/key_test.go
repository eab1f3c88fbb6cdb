package executor

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

// A key names one execution: starting again with an identical request
// returns it, anything else with the same key is a typed conflict, the
// work orders' namespace is refused to every other caller, and two
// callers racing with one key get one execution. On both metadata stores
// (the unique index is partial: executions without a key are many).
func TestKeyedExecutions(t *testing.T) {
	for name, store := range map[string]func(testing.TB) *sqldb.DB{"sqlite": sqldbtest.SQLite, "postgres": pgStore} {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, store(t))
			svc := NewService(e.store, e.inv, Config{}, discard) // not running: executions stay queued
			req := Request{Instance: "m1", Database: e.db, SQL: "CREATE TABLE k (id INT PRIMARY KEY)", Ref: "deploy-42", RequestedBy: "tester"}
			id, err := svc.Start(e.ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := svc.Start(e.ctx, req); err != nil || again != id {
				t.Fatalf("same request, same key: %d %v, want %d", again, err, id)
			}
			// An option spelled out as the server's default is the same request.
			withDefault := req
			withDefault.Options.ChunkSize = svc.cfg.ChunkSize
			if again, err := svc.Start(e.ctx, withDefault); err != nil || again != id {
				t.Fatalf("same request with the default chunk size spelled out: %d %v, want %d", again, err, id)
			}
			for _, tc := range []struct {
				differs string
				change  func(*Request)
			}{
				{"sql", func(r *Request) { r.SQL = "SELECT 1" }},
				{"instance", func(r *Request) { r.Instance = "pg1"; r.SQL = "CREATE TABLE k (id INT PRIMARY KEY)" }},
				{"database", func(r *Request) { r.Database = "other" }},
				{"dry_run", func(r *Request) { r.Options.DryRun = true }},
				{"chunk_size", func(r *Request) { r.Options.ChunkSize = 7 }},
				{"continue_on_error", func(r *Request) { r.Options.ContinueOnError = true }},
				{"rollback", func(r *Request) { r.Options.Rollback = RollbackNone }},
			} {
				other := req
				tc.change(&other)
				_, err := svc.Start(e.ctx, other)
				var kc *KeyConflictError
				if !errors.As(err, &kc) || !errkind.Is(err, errkind.Conflict) || kc.Execution != id || !slices.Contains(kc.Differs, tc.differs) {
					t.Errorf("key of execution %d with another %s: %v, want a key conflict naming it", id, tc.differs, err)
				}
			}
			// Options compare as resolved: one set before and left out now
			// (the server's default) is another request.
			chunky := Request{Instance: "m1", Database: e.db, SQL: "SELECT 5", Ref: "chunky", Options: Options{ChunkSize: 500}}
			if _, err := svc.Start(e.ctx, chunky); err != nil {
				t.Fatal(err)
			}
			chunky.Options.ChunkSize = 0
			var kc *KeyConflictError
			if _, err := svc.Start(e.ctx, chunky); !errors.As(err, &kc) || !slices.Equal(kc.Differs, []string{"chunk_size"}) {
				t.Errorf("key with the chunk size left to the default: %v, want a conflict on chunk_size", err)
			}
			// The work orders' namespace is theirs alone.
			for _, ref := range []string{"ticket:7:step:2", "ticket:"} {
				r := req
				r.Ref = ref
				if _, err := svc.Start(e.ctx, r); !errkind.Is(err, errkind.Invalid) || !strings.Contains(err.Error(), "reserved for work orders") {
					t.Errorf("start with ref %q: %v, want it refused as reserved", ref, err)
				}
			}
			tk := TicketKey{Ticket: 7, Step: 2}
			tid, err := svc.StartTicketStep(e.ctx, tk, Request{Instance: "m1", Database: e.db, SQL: "SELECT 1"})
			if err != nil {
				t.Fatal(err)
			}
			if ex, err := svc.st.get(e.ctx, tid); err != nil || ex.Ref != "ticket:7:step:2" {
				t.Fatalf("ticket step execution: %+v %v", ex, err)
			}
			if _, err := svc.StartTicketStep(e.ctx, tk, Request{Instance: "m1", Database: e.db, SQL: "SELECT 2"}); !errkind.Is(err, errkind.Conflict) {
				t.Fatalf("ticket step key with other SQL: %v, want a conflict", err)
			}
			// Without a key, as many as asked.
			a, err1 := svc.Start(e.ctx, Request{Instance: "m1", Database: e.db, SQL: "SELECT 1"})
			b, err2 := svc.Start(e.ctx, Request{Instance: "m1", Database: e.db, SQL: "SELECT 1"})
			if err1 != nil || err2 != nil || a == b {
				t.Fatalf("two executions without a key: %d %v, %d %v", a, err1, b, err2)
			}
			// Racing callers with one new key get one execution.
			race := Request{Instance: "m1", Database: e.db, SQL: "SELECT 3", Ref: "race"}
			ids := make([]ID, 8)
			errs := make([]error, 8)
			var wg sync.WaitGroup
			for i := range ids {
				wg.Go(func() { ids[i], errs[i] = svc.Start(e.ctx, race) })
			}
			wg.Wait()
			for i := range ids {
				if errs[i] != nil || ids[i] != ids[0] {
					t.Fatalf("racing starts with one key: %v %v", ids, errs)
				}
			}
		})
	}
}

// A work-order step's execution is stored held: it runs only once
// released, and cancelled while held it never runs.
func TestTicketStepHeldUntilReleased(t *testing.T) {
	e := newEnv(t)
	svc, _ := e.service(Config{})
	e.exec(e.my, "CREATE TABLE h (id INT PRIMARY KEY)")
	req := Request{Instance: "m1", Database: e.db, SQL: "INSERT INTO h VALUES (1)"}
	held, err := svc.StartTicketStep(e.ctx, TicketKey{Ticket: 1, Step: 1}, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Cancel(e.ctx, held); err != nil {
		t.Fatal(err)
	}
	if ex, err := svc.Get(e.ctx, tester, held); err != nil || ex.State != StateCancelled || ex.Statements[0].State != StatePending {
		t.Fatalf("cancelled while held: %+v %v", ex, err)
	}
	if err := svc.Release(e.ctx, held); err != nil { // too late: nothing happens
		t.Fatal(err)
	}
	id, err := svc.StartTicketStep(e.ctx, TicketKey{Ticket: 2, Step: 1}, req)
	if err != nil {
		t.Fatal(err)
	}
	if ex, err := svc.Get(e.ctx, tester, id); err != nil || ex.State != StateHeld {
		t.Fatalf("stored: %+v %v", ex, err)
	}
	if err := svc.Release(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	e.done(e.wait(svc, id))
	if got := e.scalar(e.my, "SELECT COUNT(*) FROM h"); got != "1" {
		t.Fatalf("rows %s, want 1 (the cancelled one must not have run)", got)
	}
}
