package ui

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// TestQueryConsole drives the query page against a real MariaDB: the
// schema browser shows only what is granted, results come back masked,
// refusals are shown with their reason, and the CSV download works.
func TestQueryConsole(t *testing.T) {
	m := testenv.StartMariaDB(t)
	m.Exec(t,
		"CREATE DATABASE shop",
		"CREATE TABLE shop.users (id INT PRIMARY KEY, name VARCHAR(20), phone VARCHAR(20))",
		"INSERT INTO shop.users VALUES (1, 'Ann', '13812345678'), (2, 'Bo', NULL)",
		"CREATE TABLE shop.secrets (id INT PRIMARY KEY, s VARCHAR(20))",
		"CREATE DATABASE other",
	)
	f := newFixture(t)
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin"})
	if _, err := f.inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.inv.AddInstance(ctx, inventory.NewInstance{Name: "m1", Engine: engine.MariaDB, Host: "h", Port: m.Port, User: m.User, Password: m.Password}); err != nil {
		t.Fatal(err)
	}
	box, _ := secret.New(make([]byte, secret.KeySize))
	log := slog.New(slog.DiscardHandler)
	svc, err := query.NewService(f.db, box, f.inv, engine.NewRegistry(mysql.New()), f.auth, log, query.Config{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := newSite(&Server{Auth: f.auth, Inventory: f.inv, Audit: f.audit, Engines: engine.NewRegistry(mysql.New()), Log: log, Version: "test", Query: svc})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	f.srv = httptest.NewServer(httpx.SecurityHeaders(u.routes()))
	t.Cleanup(f.srv.Close)

	f.addUser("dev", auth.Developer)
	f.addUser("vic", auth.Viewer)
	dba := auth.Principal{User: "admin", Role: auth.Admin}
	if _, err := svc.AddMask(ctx, dba, query.MaskRule{Column: "phone", Kind: query.MaskPhone}); err != nil {
		t.Fatal(err)
	}

	vic := f.browser()
	vic.mustLogin("vic", "vic-password")
	expect(t, "viewer", vic.get("/query"), http.StatusForbidden, "")
	if strings.Contains(vic.get("/").body, `href="/query"`) {
		t.Error("the viewer's menu offers the query console")
	}

	b := f.browser()
	b.mustLogin("dev", "dev-password")
	r := b.get("/query")
	expect(t, "no grant", r, http.StatusOK, "")
	expectBody(t, "no grant", r, "You have no query grant yet", `href="/query"`)

	if _, err := svc.AddGrant(ctx, dba, query.NewGrant{User: "dev", Instance: "m1", Database: "shop", Table: "users", Expires: "24h"}); err != nil {
		t.Fatal(err)
	}
	r = b.get("/query?instance=m1&db=shop&table=users")
	expect(t, "schema", r, http.StatusOK, "")
	expectBody(t, "schema", r, `data-instance="m1"`, `data-db="shop"`, `data-table="users"`, `data-column="phone"`, "masked: phone", "m1/shop/users", "SELECT * FROM users LIMIT 100")
	for _, hidden := range []string{`data-db="other"`, `data-table="secrets"`, `data-db="mysql"`} {
		if strings.Contains(r.body, hidden) {
			t.Errorf("the schema browser shows %s", hidden)
		}
	}

	run := url.Values{"instance": {"m1"}, "database": {"shop"}, "statement": {"SELECT id, name, phone AS p FROM users ORDER BY id"}}
	r = b.post("/query", run)
	expect(t, "run", r, http.StatusOK, "")
	expectBody(t, "run", r, `id="results"`, "138****5678", `<span class="badge warn">phone</span>`, "2 row(s)", "1 column(s) masked", ">NULL<")
	if strings.Contains(r.body, "13812345678") {
		t.Error("the page shows the unmasked phone number")
	}

	for _, tc := range []struct{ stmt, want string }{
		{"DELETE FROM users", "DELETE statements are not allowed"},
		{"SELECT * FROM secrets", "table shop.secrets is not granted to user dev on instance m1"},
		{"SELECT SLEEP(10)", "function SLEEP() is not on the console"},
	} {
		r = b.post("/query", url.Values{"instance": {"m1"}, "database": {"shop"}, "statement": {tc.stmt}})
		expect(t, tc.stmt, r, http.StatusForbidden, "")
		expectBody(t, tc.stmt, r, `id="query-refused"`, "<strong>Refused</strong>", tc.want)
	}
	r = b.post("/query", url.Values{"instance": {"m1"}, "database": {"shop"}, "statement": {"SELECT id FROM users WHERE nosuch = 1"}})
	expectBody(t, "failure", r, `id="query-error"`, "The query failed", "nosuch")
	r = b.post("/query", url.Values{"instance": {"m1"}, "statement": {"SELECT 1"}, "limit": {"lots"}})
	expect(t, "bad limit", r, http.StatusBadRequest, "")
	expectBody(t, "bad limit", r, "A positive number of rows")

	r = b.post("/query/csv", run)
	expect(t, "csv", r, http.StatusOK, "")
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.Contains(r.header.Get("Content-Disposition"), `filename="m1-shop.csv"`) {
		t.Errorf("csv headers: %v", r.header)
	}
	if r.body != "id,name,p\n1,Ann,138****5678\n2,Bo,\n" {
		t.Errorf("csv body %q", r.body)
	}
	r = b.post("/query/csv", url.Values{"instance": {"m1"}, "database": {"shop"}, "statement": {"DROP TABLE users"}})
	expect(t, "csv refused", r, http.StatusForbidden, "")
	expectBody(t, "csv refused", r, "<strong>Refused</strong>", "DROP TABLE statements are not allowed")

	// Without the form's token, nothing runs.
	noToken := url.Values{"instance": {"m1"}, "database": {"shop"}, "statement": {"SELECT 1"}}
	expect(t, "no csrf", b.postRaw("/query", noToken), http.StatusForbidden, "")

	es, err := f.audit.List(context.Background(), audit.Filter{User: "dev", Action: "query."})
	if err != nil || len(es) != 7 {
		t.Fatalf("audit: %d entries, %v", len(es), err)
	}
	if es[0].Action != "query.refused" || es[len(es)-1].Action != "query.run" || es[len(es)-1].Detail["statement"] != run.Get("statement") {
		t.Errorf("audit: %+v ... %+v", es[0], es[len(es)-1])
	}

	// The instance page's check shows the account queries log in as.
	f.inv.ExtraChecks = []inventory.ExtraCheck{svc}
	r = b.post("/instances/m1/check", nil)
	expect(t, "check", r, http.StatusOK, "")
	expectBody(t, "check", r, `data-check="reader"`, `<span class="badge up">ok</span> managed account dbfleet_ro_m1@127.0.0.1: SELECT on `+"`shop`.*")
	expectBody(t, "check", r, "Query read-all account (DBAs)", `data-check="reader-all"`)
}
