package executor

import (
	"errors"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// Account names are written with internal/sql's plain-string quoting: a
// value whose reading depends on the server's sql_mode (a backslash under
// NO_BACKSLASH_ESCAPES) is refused, never escaped one way or the other.
func TestMySQLAccount(t *testing.T) {
	tests := []struct {
		user, host string
		want       string
		bad        bool
	}{
		{"app_reader", "%", "'app_reader'@'%'", false},
		{"app", "10.0.%", "'app'@'10.0.%'", false},
		{"o'brien", "%", "'o''brien'@'%'", false},
		{`a\b`, "%", "", true},
		{"app", "host\n", "", true},
	}
	for _, tt := range tests {
		got, err := mysqlAccount(sql.MariaDB, tt.user, tt.host)
		if tt.bad {
			if err == nil || errkind.Of(err) != errkind.Invalid {
				t.Errorf("%q@%q: %q, %v; want an Invalid error", tt.user, tt.host, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q@%q: %q, %v; want %q", tt.user, tt.host, got, err, tt.want)
		}
	}
}

// Provisioning is a keyed, recorded execution: the same request under the
// same key returns it, another is a conflict, an interrupted one completes
// when asked again (what it created counts as its own), and an existing
// database is never taken over by a new key.
func TestProvisionKeyed(t *testing.T) {
	e := newEnv(t)
	svc := NewService(e.store, e.inv, Config{}, discard)
	name := e.db + "_p"
	t.Cleanup(func() { e.exec(e.my, "DROP DATABASE IF EXISTS "+name) })
	key := TicketKey{Ticket: 9, Step: 2}
	req := CreateDatabase{Instance: "m1", Name: name, Charset: "utf8mb4", RequestedBy: "dev"}
	ex, err := svc.CreateDatabase(e.ctx, key, req)
	if err != nil || ex.Kind != KindCreateDatabase || ex.State != StateDone || ex.Ref != "ticket:9:step:2" || len(ex.Statements) != 1 ||
		ex.Statements[0].SQL != "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4" || ex.Statements[0].State != StateDone {
		t.Fatalf("create: %+v %v", ex, err)
	}
	if again, err := svc.CreateDatabase(e.ctx, key, req); err != nil || again.ID != ex.ID {
		t.Fatalf("again: %+v %v", again, err)
	}
	other := req
	other.Name = name + "x"
	var kc *KeyConflictError
	if _, err := svc.CreateDatabase(e.ctx, key, other); !errors.As(err, &kc) || kc.Execution != ex.ID {
		t.Fatalf("other request, same key: %v", err)
	}
	if _, err := svc.CreateDatabase(e.ctx, TicketKey{Ticket: 10, Step: 1}, req); !errkind.Is(err, errkind.Conflict) || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("an existing database under a new key: %v", err)
	}
	// Interrupted after the database was created: asked again, it completes.
	if _, err := e.store.ExecContext(e.ctx, "UPDATE exec_executions SET state = 'running' WHERE id = ?", ex.ID); err != nil {
		t.Fatal(err)
	}
	if again, err := svc.CreateDatabase(e.ctx, key, req); err != nil || again.ID != ex.ID || again.State != StateDone {
		t.Fatalf("resumed: %+v %v", again, err)
	}
	// Never queued, never resumed or rolled back as a script.
	if err := svc.Resume(e.ctx, ex.ID, ""); err == nil {
		t.Fatal("resume of a provisioning: no error")
	}
	if rb, err := svc.RollbackScript(e.ctx, tester, ex.ID); err != nil || rb.SQL != "" || rb.Complete {
		t.Fatalf("rollback of a provisioning: %+v %v", rb, err)
	}
	// A password never shows, not even in an error.
	_, err = svc.CreateAccount(e.ctx, TicketKey{Ticket: 9, Step: 3}, CreateAccount{Instance: "m1", User: "acct_x", Host: "%", Database: name,
		Privileges: []string{"SELECT", "FLY"}, Password: "s3cretPassw0rd"})
	if !errkind.Is(err, errkind.Invalid) || !strings.Contains(err.Error(), "privilege FLY cannot be granted") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("bad privilege: %v", err)
	}
}
