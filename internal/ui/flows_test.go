package ui

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	examples "github.com/dbfleet/dbfleet/flows"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// flowFixture is a UI with work orders: the example flows, a worker, and
// an inventory naming a real MariaDB as shop-1 (cluster shop, env
// staging), with users dev (developer), dba (dba) and vic (viewer).
type flowFixture struct {
	*fixture
	flows *flows.Service
	maria *testenv.MariaDB
}

func newFlowFixture(t *testing.T, interval int) *flowFixture {
	t.Helper()
	maria := testenv.StartMariaDB(t)
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin"})
	db := sqldbtest.SQLite(t)
	log := slog.New(slog.DiscardHandler)
	authSvc := auth.NewService(db, log, auth.Config{BcryptCost: bcrypt.MinCost})
	if _, _, err := authSvc.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, secret.KeySize)
	rand.Read(key)
	box, _ := secret.New(key)
	engines := engine.NewRegistry(mysql.New())
	inv := inventory.NewService(db, box, engines, log)
	f := &fixture{t: t, db: db, auth: authSvc, inv: inv, audit: audit.NewLog(db)}
	for _, u := range []struct {
		name string
		role auth.Role
	}{{"dev", auth.Developer}, {"dba", auth.DBA}, {"vic", auth.Viewer}} {
		f.addUser(u.name, u.role)
	}
	if _, err := inv.AddHost(ctx, inventory.Host{Name: "h1", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddCluster(ctx, inventory.Cluster{Name: "shop", Engine: engine.MariaDB, Env: "staging"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: "shop-1", Engine: engine.MariaDB, Host: "h1", Port: maria.Port,
		User: maria.User, Password: maria.Password, Cluster: "shop", Role: "primary"}); err != nil {
		t.Fatal(err)
	}
	maria.Exec(t, "CREATE DATABASE shop")

	dir := filepath.Join(t.TempDir(), "flows")
	if _, err := flows.InstallExamples(dir, examples.Examples); err != nil {
		t.Fatal(err)
	}
	cat := flows.NewCatalog(dir, db, log)
	if err := cat.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	queue := jobs.NewQueue(db, log)
	// Work orders run through the real services: the review engine, the
	// executor and the query console.
	rev, err := sqlreview.New(sqlreview.Config{})
	if err != nil {
		t.Fatal(err)
	}
	exsvc := executor.NewService(db, inv, executor.Config{PollInterval: 50 * time.Millisecond}, log)
	qsvc, err := query.NewService(db, box, inv, engines, authSvc, log, query.Config{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := flows.NewService(flows.Options{DB: db, Log: log, Catalog: cat, Queue: queue, Inventory: inv, Key: key, PublicURL: "http://dbfleet.test",
		Reviewer: rev, Executor: exsvc, Provisioner: exsvc, Exporter: qsvc, Users: authSvc})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		(&jobs.Worker{Queue: queue, Handlers: svc.Handlers(), Poll: 100 * time.Millisecond}).Run(wctx)
	}()
	go func() {
		defer wg.Done()
		exsvc.Run(wctx)
	}()
	t.Cleanup(func() { stop(); wg.Wait() })

	u, err := newSite(&Server{Auth: authSvc, Inventory: inv, Audit: f.audit, Engines: engines, Log: log, Version: "test", Flows: svc})
	if err != nil {
		t.Fatal(err)
	}
	u.interval = interval
	f.srv = httptest.NewServer(httpx.SecurityHeaders(u.routes()))
	t.Cleanup(f.srv.Close)
	return &flowFixture{fixture: f, flows: svc, maria: maria}
}

// waitState polls a ticket through the service.
func (ff *flowFixture) waitState(id int64, state string) *flows.Ticket {
	ff.t.Helper()
	p := auth.Principal{User: "admin", Role: auth.Admin}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		tk, err := ff.flows.Get(context.Background(), p, id)
		if err != nil {
			ff.t.Fatal(err)
		}
		if tk.State == state {
			return tk
		}
		time.Sleep(50 * time.Millisecond)
	}
	ff.t.Fatalf("ticket %d never became %s", id, state)
	return nil
}

var ticketLocation = regexp.MustCompile(`^/tickets/(\d+)$`)

func TestFlowPages(t *testing.T) {
	ff := newFlowFixture(t, 10)
	dev := ff.browser()
	dev.mustLogin("dev", "dev-password")

	r := dev.get("/flows")
	expect(t, "flows", r, 200, "")
	expectBody(t, "flows", r, "Schema change", `href="/flows/schema-change"`, `id="flow-stats"`, `data-flow="nightly-check"`)
	if strings.Contains(r.body, `id="new-nightly-check"`) {
		t.Error("a developer is offered to run the DBAs' task")
	}

	// The form is generated from the XML.
	r = dev.get("/flows/schema-change")
	expect(t, "form", r, 200, "")
	expectBody(t, "form", r, `name="target.instance"`, `<option value="shop-1">shop-1</option>`, `name="target.db"`,
		`<textarea id="f-sql" name="sql" class="sql mono"`, `<option value="window">In the maintenance window (02:00-05:00 UTC)</option>`,
		`One or more statements separated by semicolons.`)

	// Bad input: 400, each field's message next to it, values kept.
	r = dev.post("/flows/schema-change", url.Values{"target.instance": {"shop-1"}, "target.db": {"shop"}, "reason": {"short"}, "schedule": {"asap"}})
	expect(t, "bad form", r, 400, "")
	expectBody(t, "bad form", r, "2 field(s) need attention.", "Say why in at least 10 characters: reviewers need it.", "is required", `value="shop"`)

	r = dev.post("/flows/schema-change", url.Values{"target.instance": {"shop-1"}, "target.db": {"shop"}, "reason": {"a table for orders"},
		"schedule": {"asap"}, "sql": {"CREATE TABLE o (id INT PRIMARY KEY);\nINSERT INTO o VALUES (1)"}, "title": {"orders table"}})
	expect(t, "submit", r, 303, "")
	m := ticketLocation.FindStringSubmatch(r.location)
	if m == nil {
		t.Fatalf("submit redirected to %q", r.location)
	}
	ff.waitState(1, flows.StateWaitingApproval)
	r = dev.get("/tickets/1")
	expectBody(t, "ticket as requester", r, "orders table", `data-state="waiting_approval"`, "waiting for 1 approval by role dba", "CREATE TABLE o")
	if strings.Contains(r.body, `id="approve-form"`) {
		t.Error("the requester is offered to approve")
	}
	expect(t, "requester approves", dev.post("/tickets/1/approve", url.Values{"step": {"1"}}), 403, "")

	// A viewer sees the ticket, not its SQL.
	vic := ff.browser()
	vic.mustLogin("vic", "vic-password")
	r = vic.get("/tickets/1")
	expect(t, "viewer", r, 200, "")
	if strings.Contains(r.body, "CREATE TABLE") || !strings.Contains(r.body, "(hidden)") {
		t.Errorf("a viewer sees the SQL:\n%s", r.body)
	}

	dba := ff.browser()
	dba.mustLogin("dba", "dba-password")
	r = dba.get("/tickets/1")
	expectBody(t, "ticket as dba", r, `id="approve-form"`, `name="step" value="1"`)
	expect(t, "approve", dba.post("/tickets/1/approve", url.Values{"step": {"1"}, "comment": {"fine"}}), 303, "/tickets/1")
	expect(t, "approve twice", dba.post("/tickets/1/approve", url.Values{"step": {"1"}}), 409, "")
	ff.waitState(1, flows.StateDone)
	r = dev.get("/tickets/1")
	expectBody(t, "done ticket", r, `data-state="done"`, `<td class="mono">INSERT INTO o VALUES (1)</td>`, "dba", "approve", "fine")
	// The executor kept the before-images: the ticket offers its rollback,
	// and the page shows the SQL that undoes it.
	if !strings.Contains(r.body, `id="rollback-box"`) {
		t.Fatal("a ticket run by the executor offers no rollback")
	}
	r = dev.get("/tickets/1/rollback")
	expect(t, "rollback", r, 200, "")
	expectBody(t, "rollback", r, "DROP TABLE")
	r = dev.get("/tickets?mine=true")
	expectBody(t, "list", r, `data-ticket="1" data-state="done"`)

	// The page a chat's signed link opens: the decision uses the link up.
	r = dev.post("/flows/data-fix", url.Values{"target.instance": {"shop-1"}, "target.db": {"shop"}, "rows": {"1"}, "reason": {"fix the first row"},
		"sql": {"UPDATE o SET id = 2 WHERE id = 1"}})
	expect(t, "submit data fix", r, 303, "/tickets/2")
	ff.waitState(2, flows.StateWaitingApproval)
	tok, err := ff.flows.NewLinkToken(context.Background(), 2, 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	linkPath := "/tickets/2/approve?link=" + url.QueryEscape(tok)
	anon := ff.browser()
	expect(t, "link, logged out", anon.get(linkPath), 303, "/login?next="+url.QueryEscape(linkPath))
	r = dba.get(linkPath)
	expect(t, "link page", r, 200, "")
	expectBody(t, "link page", r, "signed approval link", `name="link" value="`+tok+`"`)
	expect(t, "approve by link", dba.post("/tickets/2/approve", url.Values{"step": {"1"}, "link": {tok}}), 303, "/tickets/2")
	r = dba.get(linkPath)
	expect(t, "used link", r, 409, "")
	ff.waitState(2, flows.StateDone)
	expect(t, "bad link", dba.get("/tickets/2/approve?link=x.y"), 403, "")

	// Measures on the flows page.
	r = dev.get("/flows")
	if !regexp.MustCompile(`data-flow="schema-change"><td><a [^>]*>Schema change</a></td><td class="num">1</td><td class="share">100% \(1 of 1\)</td>`).MatchString(r.body) {
		t.Errorf("measures:\n%s", r.body)
	}
	for _, page := range append(dev.pages, dba.pages...) {
		if strings.Contains(page, ff.maria.Password) {
			t.Fatal("a page shows the instance password")
		}
	}
}
