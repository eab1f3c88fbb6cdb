package ui

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
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
	"github.com/dbfleet/dbfleet/internal/slowlog"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// upload posts a multipart form as the upload page's form would: the CSRF
// token first, then the file.
func (b *browser) upload(path, csrf, content string) response {
	b.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if csrf != "" {
		w.WriteField(csrfField, csrf)
	}
	fw, _ := w.CreateFormFile("file", "slow.log")
	fw.Write([]byte(content))
	w.Close()
	req, err := http.NewRequest("POST", b.f.srv.URL+path, &body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

// slowlogConsole is the query console as app wires it for the slow-query
// service (internal/app/slowlog.go).
type slowlogConsole struct{ q *query.Service }

func (c slowlogConsole) ExampleAccess(ctx context.Context, p auth.Principal, instance string) (slowlog.Access, error) {
	a, err := c.q.StatementAccess(ctx, p, instance)
	switch {
	case err != nil:
		return slowlog.AccessNone, err
	case a == query.ExampleFull:
		return slowlog.AccessFull, nil
	case a == query.ExampleNormalized:
		return slowlog.AccessNormalized, nil
	}
	return slowlog.AccessNone, nil
}

func (c slowlogConsole) Explain(ctx context.Context, p auth.Principal, req slowlog.ExplainRequest) (slowlog.ExplainOutput, error) {
	r := query.Request{Instance: req.Instance, Database: req.Database, Statement: req.Statement}
	if req.Timeout > 0 {
		r.Timeout = req.Timeout.String()
	}
	res, err := c.q.Explain(ctx, p, r)
	if err != nil {
		return slowlog.ExplainOutput{}, err
	}
	out := slowlog.ExplainOutput{RanOn: res.RanOn, Rows: res.Rows, Notes: res.Notes, Took: res.Took}
	for _, col := range res.Columns {
		out.Columns = append(out.Columns, col.Name)
	}
	return out, nil
}

// TestSlowlogPages drives the slow-query pages against a real MariaDB: a
// DBA uploads a slow log and collects; a developer reads the top classes
// and a class with its trend chart, sees no example until granted a query
// on the instance, then the example (credentials redacted), runs EXPLAIN
// on a SELECT and is told why an UPDATE cannot be explained, and under a
// masking rule sees the example's literals hidden; a viewer sees nothing.
func TestSlowlogPages(t *testing.T) {
	m := testenv.StartMariaDB(t)
	m.Exec(t, "CREATE DATABASE shop", "CREATE TABLE shop.t (id INT PRIMARY KEY, v INT)")
	f := newFixture(t)
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin"})
	if _, err := f.inv.AddHost(ctx, inventory.Host{Name: "h", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.inv.AddInstance(ctx, inventory.NewInstance{Name: "m1", Engine: engine.MariaDB, Host: "h", Port: m.Port, User: m.User, Password: m.Password}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	box, _ := secret.New(make([]byte, secret.KeySize))
	qs, err := query.NewService(f.db, box, f.inv, engine.NewRegistry(mysql.New()), f.auth, log, query.Config{})
	if err != nil {
		t.Fatal(err)
	}
	svc := slowlog.NewService(f.db, f.inv, log)
	svc.Examples, svc.Explainer = slowlogConsole{qs}, slowlogConsole{qs}
	u, err := newSite(&Server{Auth: f.auth, Inventory: f.inv, Audit: f.audit, Engines: engine.NewRegistry(mysql.New()), Log: log, Version: "test", Slowlog: svc})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	f.srv = httptest.NewServer(httpx.SecurityHeaders(u.routes()))
	t.Cleanup(f.srv.Close)
	f.addUser("dev", auth.Developer)
	f.addUser("vic", auth.Viewer)

	// A slow log of the last hour: two classes on shop.t.
	now := u.now().Unix()
	var lg strings.Builder
	for i := 0; i < 6; i++ {
		fmt.Fprintf(&lg, "# Time: 260101 00:00:00\n# User@Host: app[app] @  [10.0.0.1]\n# Thread_id: 8  Schema: shop  QC_hit: No\n"+
			"# Query_time: 0.%06d  Lock_time: 0.000010  Rows_sent: 1  Rows_examined: 1\n# Rows_affected: 0  Bytes_sent: 60\nSET timestamp=%d;\nSELECT v FROM t WHERE id = %d;\n",
			1000+i*100, now-60, i)
		fmt.Fprintf(&lg, "# User@Host: app[app] @  [10.0.0.1]\n# Thread_id: 8  Schema: shop  QC_hit: No\n"+
			"# Query_time: 0.002000  Lock_time: 0.000010  Rows_sent: 0  Rows_examined: 1\n# Rows_affected: 1  Bytes_sent: 11\nSET timestamp=%d;\nUPDATE t SET v = %d WHERE id = 1;\n",
			now-30, i)
	}
	fmt.Fprintf(&lg, "# User@Host: app[app] @  [10.0.0.1]\n# Thread_id: 8  Schema: shop  QC_hit: No\n"+
		"# Query_time: 0.003000  Lock_time: 0.000010  Rows_sent: 0  Rows_examined: 1\n# Rows_affected: 1  Bytes_sent: 11\nSET timestamp=%d;\n"+
		"UPDATE users SET password_hash = SHA2('Hunter2-PlainText',256), pwd = 'Hunter3-Plain' WHERE id = 1;\n", now-20)

	dba := f.browser()
	dba.mustLogin("admin", adminPassword)
	page := dba.get("/slowlog/m1")
	expect(t, "instance page", page, http.StatusOK, "")
	expectBody(t, "instance page", page, `id="slowlog-upload"`, "Collect now", "No slow queries in this range")
	csrf := csrfInput.FindStringSubmatch(page.body)[1]
	expect(t, "upload without token", dba.upload("/slowlog/m1/upload", "", lg.String()), http.StatusForbidden, "")
	expect(t, "upload", dba.upload("/slowlog/m1/upload", csrf, lg.String()), http.StatusSeeOther, "/slowlog/m1?range=30d")
	r := dba.post("/slowlog/m1/collect", nil)
	expect(t, "collect", r, http.StatusSeeOther, "/slowlog/m1")

	dev := f.browser()
	dev.mustLogin("dev", "dev-password")
	expect(t, "developer may not upload", dev.upload("/slowlog/m1/upload", csrfInput.FindStringSubmatch(dev.get("/slowlog/m1").body)[1], lg.String()), http.StatusForbidden, "")
	list := dev.get("/slowlog")
	expect(t, "list", list, http.StatusOK, "")
	expectBody(t, "list", list, `href="/slowlog/m1"`, "unavailable")
	top := dev.get("/slowlog/m1?range=1h")
	expect(t, "top", top, http.StatusOK, "")
	sel := slowlog.QueryID("select v from t where id = ?")
	upd := slowlog.QueryID("update t set v = ? where id = ?")
	expectBody(t, "top", top, "0x"+slowlog.ShortQueryID(sel), "0x"+slowlog.ShortQueryID(upd), "select v from t where id = ?",
		"slow_query_log=OFF", "performance_schema=OFF")
	if strings.Contains(top.body, `id="slowlog-upload"`) {
		t.Error("a developer sees the upload form")
	}
	if p := dev.get("/slowlog/m1?range=2y"); p.status != http.StatusBadRequest {
		t.Errorf("bad range: status %d", p.status)
	}

	// No query grant on m1: the class, but no example and no EXPLAIN.
	cls := dev.get("/slowlog/m1/classes/" + sel + "?range=1h")
	expect(t, "class without a grant", cls, http.StatusOK, "")
	expectBody(t, "class without a grant", cls, "<svg", `id="slowlog-example-note"`, "has no query grant on instance m1", "select v from t where id = ?")
	if strings.Contains(cls.body, `id="slowlog-example"`) || strings.Contains(cls.body, "WHERE id = 5") || strings.Contains(cls.body, `id="explain-form"`) {
		t.Errorf("a developer without a grant sees the example or the EXPLAIN form")
	}
	if r := dev.post("/slowlog/m1/classes/"+sel+"/explain?range=1h", nil); r.status != http.StatusForbidden || !strings.Contains(r.body, "no query grant") {
		t.Errorf("explain without a grant: %d", r.status)
	}
	admin := auth.Principal{User: "admin", Role: auth.Admin}
	if _, err := qs.AddGrant(ctx, admin, query.NewGrant{User: "dev", Instance: "m1", Database: "shop"}); err != nil {
		t.Fatal(err)
	}
	cls = dev.get("/slowlog/m1/classes/" + sel + "?range=1h")
	expect(t, "class", cls, http.StatusOK, "")
	expectBody(t, "class", cls, "<svg", `id="slowlog-example"`, "SELECT v FROM t WHERE id = 5", `id="explain-form"`)
	pw := dev.get("/slowlog/m1/classes/" + slowlog.QueryID(slowlog.Fingerprint("UPDATE users SET password_hash = SHA2('x',256), pwd = 'y' WHERE id = 1")) + "?range=1h")
	expectBody(t, "class of a password update", pw, "SHA2(&#39;***&#39;,256), pwd = &#39;***&#39;")
	if strings.Contains(pw.body, "Hunter") {
		t.Errorf("the class page shows a plaintext password")
	}
	if !regexp.MustCompile(`Calls</th><td>6 over`).MatchString(cls.body) {
		t.Errorf("class page lacks 6 calls")
	}
	ex := dev.post("/slowlog/m1/classes/"+sel+"/explain?range=1h", nil)
	expect(t, "explain", ex, http.StatusOK, "")
	expectBody(t, "explain", ex, `id="explain-result"`, "select_type", "EXPLAIN SELECT v FROM t WHERE id = 5")
	u2 := dev.get("/slowlog/m1/classes/" + upd + "?range=1h")
	expectBody(t, "update class", u2, `id="explain-unavailable"`, "refuse EXPLAIN of a write")
	if r := dev.post("/slowlog/m1/classes/"+upd+"/explain", nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, "refuse EXPLAIN of a write") {
		t.Errorf("explain of an UPDATE: %d", r.status)
	}

	// Under a masking rule: the example's literals hidden, no EXPLAIN.
	if _, err := qs.AddMask(ctx, admin, query.MaskRule{Instance: "m1", Column: "v", Kind: query.MaskFull}); err != nil {
		t.Fatal(err)
	}
	cls = dev.get("/slowlog/m1/classes/" + sel + "?range=1h")
	expectBody(t, "class under a mask", cls, "SELECT v FROM t WHERE id = ?", "masking rules apply to you (dev) on instance m1")
	if strings.Contains(cls.body, "WHERE id = 5") || strings.Contains(cls.body, `id="explain-form"`) {
		t.Errorf("a masked developer sees the literals or the EXPLAIN form")
	}
	if r := dev.post("/slowlog/m1/classes/"+sel+"/explain?range=1h", nil); r.status != http.StatusForbidden {
		t.Errorf("explain under a mask: %d", r.status)
	}

	vic := f.browser()
	vic.mustLogin("vic", "vic-password")
	if r := vic.get("/slowlog/m1"); r.status != http.StatusForbidden {
		t.Errorf("viewer: status %d", r.status)
	}
	if strings.Contains(vic.get("/").body, `href="/slowlog"`) {
		t.Error("a viewer sees the Slow queries link")
	}
}
