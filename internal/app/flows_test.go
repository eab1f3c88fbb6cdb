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
	"sync"
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

	rev, err := sqlreview.New(sqlreview.Config{})
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
	if err := x.Release(ctx, id); err != nil {
		t.Fatal(err)
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

// workOrdersWorld is newFlows wired as app.Run wires it (the review
// engine, the executor, the query console), over a SQLite store and a
// real MariaDB (instance m1, database shop), with users dev and dba, one
// flow "x", and the flow worker and the executor running.
type workOrdersWorld struct {
	ctx      context.Context
	m        *testenv.MariaDB
	dev, dba auth.Principal
	q        *query.Service
	exec     *executor.Service
	wo       *workOrders
}

func newWorkOrdersWorld(t *testing.T, workflow string, setup ...string) *workOrdersWorld {
	t.Helper()
	if testing.Short() {
		t.Skip("starts MariaDB")
	}
	w := &workOrdersWorld{ctx: audit.WithActor(context.Background(), audit.Actor{User: "test"})}
	ctx := w.ctx
	w.m = testenv.StartMariaDB(t)
	w.m.Exec(t, append([]string{"CREATE DATABASE shop"}, setup...)...)
	db := sqldbtest.SQLite(t)
	log := slog.New(slog.DiscardHandler)
	users := auth.NewService(db, log, auth.Config{BcryptCost: bcrypt.MinCost})
	for _, u := range []struct {
		name string
		role auth.Role
		p    *auth.Principal
	}{{"dev", auth.Developer, &w.dev}, {"dba", auth.DBA, &w.dba}} {
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
	if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: "m1", Engine: engine.MariaDB, Host: "h", Port: w.m.Port, User: w.m.User, Password: w.m.Password}); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.q, err = query.NewService(db, box, inv, Engines(), users, log, config.Defaults().Query); err != nil {
		t.Fatal(err)
	}
	rev, err := sqlreview.New(sqlreview.Config{})
	if err != nil {
		t.Fatal(err)
	}
	w.exec = executor.NewService(db, inv, executor.Config{PollInterval: 50 * time.Millisecond}, log)
	cfg := config.Defaults()
	cfg.Flows.Dir = t.TempDir()
	cfg.SecretKeyFile = filepath.Join(t.TempDir(), "secret.key")
	flow := `<flow name="x" title="X"><form><field name="target" type="database" required="true"/><field name="sql" type="sql" required="true"/></form>
<workflow>` + workflow + `</workflow></flow>`
	if err := os.WriteFile(filepath.Join(cfg.Flows.Dir, "x.xml"), []byte(flow), 0o644); err != nil {
		t.Fatal(err)
	}
	if w.wo, err = newFlows(ctx, cfg, db, inv, nil, rev, w.exec, w.q, users, "", log); err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		(&jobs.Worker{Queue: w.wo.queue, Handlers: w.wo.svc.Handlers(), OnFailure: w.wo.svc.FailureHandlers(), Poll: 50 * time.Millisecond}).Run(wctx)
	})
	wg.Go(func() { w.exec.Run(wctx) })
	t.Cleanup(func() { stop(); wg.Wait() })
	return w
}

// submit submits a ticket of flow x on m1/shop as dev.
func (w *workOrdersWorld) submit(t *testing.T, stmt string) *flows.Ticket {
	t.Helper()
	tk, err := w.wo.svc.Submit(w.ctx, w.dev, flows.SubmitRequest{Flow: "x", Fields: map[string]any{"target": "m1/shop", "sql": stmt}})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// wait polls ticket id until it is in one of states.
func (w *workOrdersWorld) wait(t *testing.T, id int64, states ...string) *flows.Ticket {
	t.Helper()
	var tk *flows.Ticket
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if tk, err = w.wo.svc.Get(w.ctx, w.dba, id); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(states, tk.State) {
			return tk
		}
	}
	t.Fatalf("ticket %d is %s (%s), want %v", id, tk.State, tk.Error, states)
	return nil
}

// newFlows wires the query console into work orders: an export ticket
// runs through it as the requester, against a real MariaDB. Without a
// grant the console refuses (its rule on the ticket), SELECT ... INTO
// OUTFILE is refused, and a granted query exports with phone masked.
func TestFlowsExportThroughQueryConsole(t *testing.T) {
	w := newWorkOrdersWorld(t, `<export id="x"/>`, "CREATE TABLE shop.users (id INT PRIMARY KEY, phone VARCHAR(20))",
		"INSERT INTO shop.users VALUES (1, '13812345678')")
	ctx, dba := w.ctx, w.dba
	export := func(stmt, state string) *flows.Ticket {
		t.Helper()
		return w.wait(t, w.submit(t, stmt).ID, state)
	}
	if tk := export("SELECT id, phone FROM users", flows.StateFailed); !strings.Contains(tk.Error, "the query console refused the export as dev (rule no-grant)") {
		t.Fatalf("no grant: %s", tk.Error)
	}
	if _, err := w.q.AddGrant(ctx, dba, query.NewGrant{User: "dev", Instance: "m1", Database: "shop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.q.AddMask(ctx, dba, query.MaskRule{Column: "phone", Kind: query.MaskPhone}); err != nil {
		t.Fatal(err)
	}
	if tk := export("SELECT id, phone FROM users INTO OUTFILE '/tmp/dbfleet-app-export.txt'", flows.StateFailed); !strings.Contains(tk.Error, "(rule into)") {
		t.Fatalf("outfile: %s", tk.Error)
	}
	tk := export("SELECT id, phone FROM users", flows.StateDone)
	_, body, err := w.wo.svc.Download(ctx, dba, tk.ID, tk.Attachments[0].ID)
	if err != nil || string(body) != "id,phone\n1,138****5678\n" {
		t.Fatalf("csv %q, %v", body, err)
	}
}

// The code review's problem 1: a dry run of SELECT 1 started through the
// API path with the ref of a ticket's execute step ("ticket:N:step:2", as
// `dbfleet exec --ref` would) must not be adopted by that step once the
// ticket is approved: the ticket runs its own, approved SQL.
func TestTicketNeverAdoptsAForeignExecution(t *testing.T) {
	w := newWorkOrdersWorld(t, `<approve id="dba" roles="dba"/><execute id="run"/>`)
	tk := w.submit(t, "CREATE TABLE approved (id INT PRIMARY KEY)")
	w.wait(t, tk.ID, flows.StateWaitingApproval)

	// What the API handler (POST /api/v1/executions) does for a caller
	// with sql.execute who set ref to the ticket's execute step.
	asDBA := audit.WithActor(w.ctx, audit.Actor{User: "dba"})
	ref := fmt.Sprintf("ticket:%d:step:2", tk.ID)
	dry, startErr := w.exec.Start(asDBA, executor.Request{Instance: "m1", Database: "shop", SQL: "SELECT 1",
		Options: executor.Options{DryRun: true}, RequestedBy: "dba", Ref: ref})
	if startErr == nil {
		t.Errorf("a dry run was started with the ref %q of a ticket step (execution %d): the work orders' namespace must be refused", ref, dry)
	}

	if _, err := w.wo.svc.Approve(asDBA, w.dba, tk.ID, flows.Decision{}); err != nil {
		t.Fatal(err)
	}
	tk = w.wait(t, tk.ID, flows.StateDone, flows.StateFailed)
	run := tk.Steps[1]
	if startErr == nil && run.Result["execution"] == strconv.FormatInt(int64(dry), 10) {
		t.Errorf("the approved ticket adopted the dry run %d of SELECT 1 as its execution", dry)
	}
	if tk.State != flows.StateDone {
		t.Fatalf("ticket %s: %s", tk.State, tk.Error)
	}
	var n int
	if err := w.m.DB(t, "shop").QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'approved'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the ticket ended %s but its approved SQL never ran (table approved: %d, %v)", tk.State, n, err)
	}
}
