package ui

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/reports"
	"github.com/dbfleet/dbfleet/internal/reports/merge"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// inventoryQuerier runs a report's statement on the inventory's
// connection to the instance (a real MariaDB): the console's own checks
// are query's to test.
type inventoryQuerier struct{ inv *inventory.Service }

func (q inventoryQuerier) Stream(ctx context.Context, p auth.Principal, req query.ReportRequest) (merge.Stream, error) {
	conn, err := q.inv.Connect(ctx, req.Instance, req.Database)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	rows, _, err := conn.Query(ctx, req.MaxRows, req.SQL, req.Args...)
	if err != nil {
		return nil, err
	}
	return &rowsStream{rows: rows, i: -1}, nil
}

type rowsStream struct {
	rows *engine.Rows
	i    int
}

func (s *rowsStream) Columns() []string { return s.rows.Columns }
func (s *rowsStream) Next() bool        { s.i++; return s.i < len(s.rows.Values) }
func (s *rowsStream) Row() []any        { return s.rows.Values[s.i] }
func (s *rowsStream) Err() error        { return nil }
func (s *rowsStream) Close() error      { return nil }

const salesReport = `<report id="sales">
  <title>Sales per region</title>
  <param name="region" type="enum" default="north"><option value="north"/><option value="south"/></param>
  <param name="min" type="number" default="0" label="Smallest sale"/>
  <datasource instance="shop-1" database="shop"/>
  <dataset name="per_day">
    <sql>SELECT day, SUM(amount) AS total FROM sales WHERE region = :region AND amount &gt;= :min GROUP BY day ORDER BY day</sql>
  </dataset>
  <table dataset="per_day">
    <column field="day" format="date" drill="report:sale-lines?region=${region}&amp;day=${row.day}"/>
    <column field="total" format="number" total="sum"><color when="&gt; 100" color="red"/></column>
  </table>
  <acl><grant role="dba" perm="view,run"/><grant role="developer" perm="view,run" lock-params="region=north"/></acl>
</report>`

const linesReport = `<report id="sale-lines">
  <title>Sales of one day</title>
  <param name="region" type="text" required="true"/>
  <param name="day" type="date" required="true"/>
  <datasource instance="shop-1" database="shop"/>
  <dataset name="lines"><sql>SELECT id, amount FROM sales WHERE region = :region AND day = :day ORDER BY id</sql></dataset>
  <table dataset="lines"/>
  <acl><grant role="developer" perm="view,run"/></acl>
</report>`

// TestReportBrowser runs a report in headless chromium: a developer opens
// the report list, fills the parameter form generated from the XML (the
// locked region shown disabled), runs it on a real MariaDB, sees the
// table with its total and colours, and follows a drill link to the
// detail report run with the clicked day.
func TestReportBrowser(t *testing.T) {
	chrome := chromium(t)
	maria := testenv.StartMariaDB(t)
	maria.Exec(t, "CREATE DATABASE shop",
		"CREATE TABLE shop.sales (id INT PRIMARY KEY, region VARCHAR(10), day DATE, amount INT)",
		"INSERT INTO shop.sales VALUES (1,'north','2026-12-01',50),(2,'north','2026-12-01',70),(3,'north','2026-12-02',30),(4,'south','2026-12-01',500),(5,'north','2026-12-02',5)")
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
	f.addUser("dev", auth.Developer)
	if _, err := inv.AddHost(ctx, inventory.Host{Name: "h1", Address: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.AddInstance(ctx, inventory.NewInstance{Name: "shop-1", Engine: engine.MariaDB, Host: "h1", Port: maria.Port,
		User: maria.User, Password: maria.Password}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, src := range map[string]string{"sales.xml": salesReport, "lines.xml": linesReport} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cat := reports.NewCatalog(dir, db, log)
	if err := cat.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if ps := cat.Problems(); len(ps) > 0 {
		t.Fatal(ps)
	}
	rsvc := reports.NewService(cat, inventoryQuerier{inv}, inv, reports.DefaultConfig(), log)
	u, err := newSite(&Server{Auth: authSvc, Inventory: inv, Audit: f.audit, Engines: engines, Log: log, Version: "test", Reports: rsvc})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(httpx.SecurityHeaders(u.routes()))
	t.Cleanup(f.srv.Close)

	bctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()))
	actx, acancel := chromedp.NewExecAllocator(bctx, opts...)
	defer acancel()
	tab, tcancel := chromedp.NewContext(actx)
	defer tcancel()
	// Listening first starts the browser on tab's context (a first action
	// under a shorter context would tie the browser's life to it).
	var exceptions []string
	if err := chromedp.Listen(tab, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			exceptions = append(exceptions, e.ExceptionDetails.Text)
		}
	}); err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(tab, 20*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	click := func(what, sel string) {
		t.Helper()
		sctx, scancel := context.WithTimeout(tab, 20*time.Second)
		defer scancel()
		if _, err := chromedp.RunResponse(sctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		sctx, scancel := context.WithTimeout(tab, 10*time.Second)
		defer scancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	run("open the login page", chromedp.Navigate(f.srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "dev"), chromedp.SendKeys(chromedp.ID("password"), "dev-password"))
	click("log in", "#login-form button[type=submit]")
	run("open the reports", chromedp.Navigate(f.srv.URL+"/reports"), chromedp.WaitVisible(chromedp.CSS(`[data-report="sales"] a`)))
	click("open the sales report", `[data-report="sales"] a`)
	run("see the generated form", chromedp.WaitVisible(chromedp.ID("report-form")))
	if dis, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.getElementById('p-region').disabled`)); err != nil || !dis {
		t.Fatalf("the locked region is editable (%v)", err)
	}
	run("fill the smallest sale", chromedp.SetValue(chromedp.ID("p-min"), "10"))
	click("run", "#run-report")
	run("see the result", chromedp.WaitVisible(chromedp.CSS("#report-result table.report-table")))
	if got := text("#report-result tbody"); !strings.Contains(got, "2026-12-01") || !strings.Contains(got, "120") || !strings.Contains(got, "30") || strings.Contains(got, "500") {
		t.Fatalf("table: %q", got)
	}
	if got := text("#report-result tfoot"); got != "150" {
		t.Fatalf("total: %q", got)
	}
	if c, err := chromedp.Run(tab, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('#report-result tbody tr td:nth-child(2)')).fontWeight`)); err != nil || c != "600" {
		t.Fatalf("the 120 cell is not painted (font-weight %q, %v)", c, err)
	}
	click("drill into 2026-12-01", `#report-result tbody tr:first-child td:first-child a`)
	run("see the detail report", chromedp.WaitVisible(chromedp.CSS("#report-result table.report-table")))
	if got := text("h1"); got != "Sales of one day" {
		t.Fatalf("drilled to %q", got)
	}
	if got := text("#report-result tbody"); !strings.Contains(got, "50") || !strings.Contains(got, "70") || strings.Contains(got, "30") {
		t.Fatalf("detail rows: %q", got)
	}
	for _, e := range exceptions {
		t.Errorf("browser exception: %s", e)
	}
}
