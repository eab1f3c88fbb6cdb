package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
	"github.com/dbfleet/dbfleet/internal/testenv"
	"github.com/dbfleet/dbfleet/migrations"
)

// The services app wires into work orders serve the interfaces flows
// defines, against a real MariaDB: a live review reports findings with
// their position and explanations; an execution started for a ticket step
// is found again by its key (so a resumed step never starts a second one),
// never adopted for other SQL, and reports its statements and rollback.
func TestFlowsWiring(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "test"})
	m := testenv.StartMariaDB(t)
	m.Exec(t, "CREATE DATABASE shop")
	db, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "dbfleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := slog.New(slog.DiscardHandler)
	if err := db.Migrate(ctx, migrations.FS, log); err != nil {
		t.Fatal(err)
	}
	box, _ := secret.New(make([]byte, secret.KeySize))
	inv := inventory.NewService(db, box, Engines(), log)
	if _, err := inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: "m1", Engine: engine.MariaDB, Host: "h", Port: m.Port, User: m.User, Password: m.Password}); err != nil {
		t.Fatal(err)
	}

	rev, err := sqlreview.New(sqlreview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var r flows.Reviewer = rev
	conn, err := inv.Connect(ctx, "m1", "shop")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rep, err := r.Review(ctx, sqlreview.Request{Engine: "mariadb", SQL: "SELECT 1;\nSELEC 2", Conn: conn, Database: "shop", Env: "test"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range rep.Findings {
		if f.Level == "error" && f.Statement == 2 && f.Line == 2 {
			found = true
		}
	}
	if rep.Summary.Statements != 2 || !found || !rep.Live {
		t.Fatalf("review: %+v", rep)
	}
	// A rule finding carries the rule's explanation to the ticket.
	rep, err = r.Review(ctx, sqlreview.Request{Engine: "mariadb", SQL: "DELETE FROM orders", Env: "test"})
	if err != nil {
		t.Fatal(err)
	}
	explained := false
	for _, f := range rep.Findings {
		if f.Rule != "syntax" && rep.Explanations[f.Rule] != "" {
			explained = true
		}
	}
	if !explained {
		t.Fatalf("no finding carries its rule's explanation: %+v", rep.Findings)
	}

	exsvc := executor.NewService(db, inv, executor.Config{PollInterval: 50 * time.Millisecond}, log)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); exsvc.Run(rctx) }()
	defer func() { stop(); <-done }()
	var x flows.Executor = exsvc
	key := executor.TicketKey{Ticket: 1, Step: 3}
	req := executor.Request{RequestedBy: "dev", Instance: "m1", Database: "shop", Engine: engine.MariaDB,
		SQL: "CREATE TABLE t (id INT PRIMARY KEY);\nINSERT INTO t VALUES (1), (2)"}
	id, err := x.StartTicketStep(ctx, key, req)
	if err != nil {
		t.Fatal(err)
	}
	// The step's key finds its execution again: a resumed step never
	// starts a second one...
	if again, err := x.StartTicketStep(ctx, key, req); err != nil || again != id {
		t.Fatalf("start again with the step's key: %d %v, want %d", again, err, id)
	}
	// ...and never adopts one asked for something else.
	other := req
	other.SQL = "SELECT 1"
	var kc *executor.KeyConflictError
	if _, err := x.StartTicketStep(ctx, key, other); !errors.As(err, &kc) || !errkind.Is(err, errkind.Conflict) || kc.Execution != id {
		t.Fatalf("start with the step's key and other SQL: %v, want a key conflict naming execution %d", err, id)
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	res, err := x.Wait(wctx, id)
	if err != nil || res.State != "done" || len(res.Statements) != 2 || res.Statements[1].RowsAffected != 2 || res.Statements[1].Line != 2 {
		t.Fatalf("wait: %+v %v", res, err)
	}
	// The rollback undoes both, newest first: the rows, then the table.
	rb, err := x.StepRollbackScript(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	del, drop := strings.Index(rb.SQL, "DELETE FROM"), strings.Index(rb.SQL, "DROP TABLE")
	if res.Instance != "m1" || res.Database != "shop" || !rb.Complete || del < 0 || drop < del {
		t.Fatalf("rollback: %+v", rb)
	}
	if _, err := x.StepRollbackScript(ctx, 9999); err == nil {
		t.Fatal("rollback of a missing execution: no error")
	}
}

// newFlows wires the query console into work orders: an export ticket
// runs through it as the requester, against a real MariaDB. Without a
// grant the console refuses (its rule on the ticket), SELECT ... INTO
// OUTFILE is refused, and a granted query exports with phone masked.
func TestFlowsExportThroughQueryConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "test"})
	m := testenv.StartMariaDB(t)
	m.Exec(t, "CREATE DATABASE shop", "CREATE TABLE shop.users (id INT PRIMARY KEY, phone VARCHAR(20))",
		"INSERT INTO shop.users VALUES (1, '13812345678')")
	db := sqldbtest.SQLite(t)
	log := slog.New(slog.DiscardHandler)
	users := auth.NewService(db, log, auth.Options{BcryptCost: bcrypt.MinCost})
	var dev, dba auth.Principal
	for _, u := range []struct {
		name string
		role auth.Role
		p    *auth.Principal
	}{{"dev", auth.Developer, &dev}, {"dba", auth.DBA, &dba}} {
		nu, err := users.AddUser(ctx, u.name, u.role, "password-"+u.name)
		if err != nil {
			t.Fatal(err)
		}
		*u.p = auth.Principal{UserID: nu.ID, User: nu.Name, Role: nu.Role}
	}
	box, _ := secret.New(make([]byte, secret.KeySize))
	inv := inventory.NewService(db, box, Engines(), log)
	if _, err := inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: "m1", Engine: engine.MariaDB, Host: "h", Port: m.Port, User: m.User, Password: m.Password}); err != nil {
		t.Fatal(err)
	}
	q, err := newQuery(config.Defaults().Query, db, box, inv, Engines(), users, log)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Flows.Dir = t.TempDir()
	cfg.SecretKeyFile = filepath.Join(t.TempDir(), "secret.key")
	flow := `<flow name="x" title="X"><form><field name="target" type="database" required="true"/><field name="sql" type="sql" required="true"/></form>
<workflow><export id="x"/></workflow></flow>`
	if err := os.WriteFile(filepath.Join(cfg.Flows.Dir, "x.xml"), []byte(flow), 0o644); err != nil {
		t.Fatal(err)
	}
	rev, err := sqlreview.New(sqlreview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wo, err := newFlows(ctx, cfg, db, inv, nil, rev, executor.NewService(db, inv, executor.Config{}, log), q, users, "", log)
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&jobs.Worker{Queue: wo.queue, Handlers: wo.svc.Handlers(), OnFailure: wo.svc.FailureHandlers(), Poll: 50 * time.Millisecond}).Run(wctx)
	}()
	defer func() { stop(); <-done }()
	export := func(stmt, state string) *flows.Ticket {
		t.Helper()
		tk, err := wo.svc.Submit(ctx, dev, flows.SubmitRequest{Flow: "x", Fields: map[string]any{"target": "m1/shop", "sql": stmt}})
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if tk, err = wo.svc.Get(ctx, dba, tk.ID); err != nil {
				t.Fatal(err)
			}
			if tk.State == state {
				return tk
			}
		}
		t.Fatalf("%s: ticket %s (%s), want %s", stmt, tk.State, tk.Error, state)
		return nil
	}
	if tk := export("SELECT id, phone FROM users", flows.StateFailed); !strings.Contains(tk.Error, "the query console refused the export as dev (rule no-grant)") {
		t.Fatalf("no grant: %s", tk.Error)
	}
	if _, err := q.AddGrant(ctx, dba, query.NewGrant{User: "dev", Instance: "m1", Database: "shop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.AddMask(ctx, dba, query.MaskRule{Column: "phone", Kind: query.MaskPhone}); err != nil {
		t.Fatal(err)
	}
	if tk := export("SELECT id, phone FROM users INTO OUTFILE '/tmp/dbfleet-app-export.txt'", flows.StateFailed); !strings.Contains(tk.Error, "(rule into)") {
		t.Fatalf("outfile: %s", tk.Error)
	}
	tk := export("SELECT id, phone FROM users", flows.StateDone)
	_, body, err := wo.svc.Download(ctx, dba, tk.ID, tk.Attachments[0].ID)
	if err != nil || string(body) != "id,phone\n1,138****5678\n" {
		t.Fatalf("csv %q, %v", body, err)
	}
}

// The code review's problem 1: a dry run of SELECT 1 started through the
// API path with the ref of a ticket's execute step ("ticket:N:step:2", as
// `dbfleet exec --ref` would) must not be adopted by that step once the
// ticket is approved: the ticket runs its own, approved SQL.
func TestTicketNeverAdoptsAForeignExecution(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "test"})
	m := testenv.StartMariaDB(t)
	m.Exec(t, "CREATE DATABASE shop")
	db := sqldbtest.SQLite(t)
	log := slog.New(slog.DiscardHandler)
	users := auth.NewService(db, log, auth.Options{BcryptCost: bcrypt.MinCost})
	var dev, dba auth.Principal
	for _, u := range []struct {
		name string
		role auth.Role
		p    *auth.Principal
	}{{"dev", auth.Developer, &dev}, {"dba", auth.DBA, &dba}} {
		nu, err := users.AddUser(ctx, u.name, u.role, "password-"+u.name)
		if err != nil {
			t.Fatal(err)
		}
		*u.p = auth.Principal{UserID: nu.ID, User: nu.Name, Role: nu.Role}
	}
	box, _ := secret.New(make([]byte, secret.KeySize))
	inv := inventory.NewService(db, box, Engines(), log)
	if _, err := inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: "m1", Engine: engine.MariaDB, Host: "h", Port: m.Port, User: m.User, Password: m.Password}); err != nil {
		t.Fatal(err)
	}
	exsvc := executor.NewService(db, inv, executor.Config{PollInterval: 50 * time.Millisecond}, log)
	rev, err := sqlreview.New(sqlreview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Flows.Dir = t.TempDir()
	cfg.SecretKeyFile = filepath.Join(t.TempDir(), "secret.key")
	flow := `<flow name="x" title="X"><form><field name="target" type="database" required="true"/><field name="sql" type="sql" required="true"/></form>
<workflow><approve id="dba" roles="dba"/><execute id="run"/></workflow></flow>`
	if err := os.WriteFile(filepath.Join(cfg.Flows.Dir, "x.xml"), []byte(flow), 0o644); err != nil {
		t.Fatal(err)
	}
	q, err := newQuery(config.Defaults().Query, db, box, inv, Engines(), users, log)
	if err != nil {
		t.Fatal(err)
	}
	wo, err := newFlows(ctx, cfg, db, inv, nil, rev, exsvc, q, users, "", log)
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		(&jobs.Worker{Queue: wo.queue, Handlers: wo.svc.Handlers(), OnFailure: wo.svc.FailureHandlers(), Poll: 50 * time.Millisecond}).Run(wctx)
	}()
	go func() { defer func() { done <- struct{}{} }(); exsvc.Run(wctx) }()
	defer func() { stop(); <-done; <-done }()
	waitFor := func(id int64, states ...string) *flows.Ticket {
		t.Helper()
		var tk *flows.Ticket
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if tk, err = wo.svc.Get(ctx, dba, id); err != nil {
				t.Fatal(err)
			}
			if slices.Contains(states, tk.State) {
				return tk
			}
		}
		t.Fatalf("ticket %d is %s (%s), want %v", id, tk.State, tk.Error, states)
		return nil
	}

	tk, err := wo.svc.Submit(ctx, dev, flows.SubmitRequest{Flow: "x", Fields: map[string]any{"target": "m1/shop", "sql": "CREATE TABLE approved (id INT PRIMARY KEY)"}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(tk.ID, flows.StateWaitingApproval)

	// What the API handler (POST /api/v1/executions) does for a caller
	// with sql.execute who set ref to the ticket's execute step.
	ref := fmt.Sprintf("ticket:%d:step:2", tk.ID)
	dry, startErr := exsvc.Start(audit.WithActor(ctx, audit.Actor{User: "dba"}), executor.Request{Instance: "m1", Database: "shop", SQL: "SELECT 1",
		Options: executor.Options{DryRun: true}, RequestedBy: "dba", Ref: ref})
	if startErr == nil {
		t.Errorf("a dry run was started with the ref %q of a ticket step (execution %d): the work orders' namespace must be refused", ref, dry)
	}

	if _, err := wo.svc.Approve(audit.WithActor(ctx, audit.Actor{User: "dba"}), dba, tk.ID, flows.Decision{}); err != nil {
		t.Fatal(err)
	}
	tk = waitFor(tk.ID, flows.StateDone, flows.StateFailed)
	run := tk.Steps[1]
	if startErr == nil && run.Result["execution"] == strconv.FormatInt(int64(dry), 10) {
		t.Errorf("the approved ticket adopted the dry run %d of SELECT 1 as its execution", dry)
	}
	if tk.State != flows.StateDone {
		t.Fatalf("ticket %s: %s", tk.State, tk.Error)
	}
	var n int
	if err := m.DB(t, "shop").QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'approved'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the ticket ended %s but its approved SQL never ran (table approved: %d, %v)", tk.State, n, err)
	}
}
