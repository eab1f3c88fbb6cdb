package executor

import (
	"testing"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// The service decides who sees an execution, whatever the edge: its
// requester or anyone with sql.execute; to everyone else it is not found,
// and a list is narrowed to the caller's own.
func TestVisibility(t *testing.T) {
	e := newEnv(t)
	svc := NewService(e.store, e.inv, Config{}, discard) // not running: executions stay queued
	start := func(by, script string) ID {
		t.Helper()
		id, err := svc.Start(e.ctx, Request{Instance: "m1", Database: e.db, SQL: script, RequestedBy: by})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	mine, theirs := start("dev", "UPDATE t SET a = 1 WHERE id = 1"), start("dev2", "UPDATE t SET a = 'secret' WHERE id = 2")
	dev := auth.Principal{User: "dev", Role: auth.Developer}
	viewer := auth.Principal{User: "view", Role: auth.Viewer}
	dba := auth.Principal{User: "dba", Role: auth.DBA}
	for _, tc := range []struct {
		who  auth.Principal
		id   ID
		sees bool
	}{
		{dev, mine, true},
		{dev, theirs, false},
		{viewer, mine, false},
		{auth.Principal{}, mine, false},
		{dba, mine, true},
		{dba, theirs, true},
	} {
		ex, err := svc.Get(e.ctx, tc.who, tc.id)
		_, rerr := svc.RollbackScript(e.ctx, tc.who, tc.id)
		if tc.sees {
			if err != nil || ex.ID != tc.id || ex.SQL == "" || len(ex.Statements) != 1 || rerr != nil {
				t.Errorf("%s (%s) reading execution %d: %+v %v; rollback: %v", tc.who.User, tc.who.Role, tc.id, ex, err, rerr)
			}
			continue
		}
		if !errkind.Is(err, errkind.NotFound) || ex.SQL != "" || !errkind.Is(rerr, errkind.NotFound) {
			t.Errorf("%s (%s) reading execution %d: %v (sql %q), rollback %v; want not found", tc.who.User, tc.who.Role, tc.id, err, ex.SQL, rerr)
		}
	}

	ids := func(p auth.Principal, f Filter) ([]ID, error) {
		list, err := svc.List(e.ctx, p, f)
		var out []ID
		for _, ex := range list {
			out = append(out, ex.ID)
		}
		return out, err
	}
	if got, err := ids(dev, Filter{}); err != nil || len(got) != 1 || got[0] != mine {
		t.Errorf("dev lists %v %v, want only %d", got, err, mine)
	}
	if got, err := ids(dev, Filter{RequestedBy: "dev"}); err != nil || len(got) != 1 || got[0] != mine {
		t.Errorf("dev lists their own by name: %v %v", got, err)
	}
	if _, err := ids(dev, Filter{RequestedBy: "dev2"}); !errkind.Is(err, errkind.Forbidden) {
		t.Errorf("dev lists dev2's: %v, want forbidden", err)
	}
	if got, err := ids(viewer, Filter{}); err != nil || len(got) != 0 {
		t.Errorf("viewer lists %v %v, want none", got, err)
	}
	if got, err := ids(dba, Filter{}); err != nil || len(got) != 2 {
		t.Errorf("dba lists %v %v, want both", got, err)
	}

	// The work-order engine reads rollbacks of ticket steps only.
	step, err := svc.StartTicketStep(e.ctx, TicketKey{Ticket: 3, Step: 1}, Request{Instance: "m1", Database: e.db, SQL: "UPDATE t SET a = 3 WHERE id = 3", RequestedBy: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if rb, err := svc.StepRollbackScript(e.ctx, step); err != nil || rb.Execution != step {
		t.Errorf("step rollback of a ticket step: %+v %v", rb, err)
	}
	if _, err := svc.StepRollbackScript(e.ctx, theirs); !errkind.Is(err, errkind.NotFound) {
		t.Errorf("step rollback of an execution started through the API: %v, want not found", err)
	}
}
