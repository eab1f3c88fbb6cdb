package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestFlowBrowser drives a work order in a real headless chromium: a
// developer fills the form generated from the schema-change example flow,
// watches the ticket wait for approval without reloading, and a DBA, in a
// second browser session, approves it; the ticket runs on a real MariaDB
// and the page shows it done with its statements.
func TestFlowBrowser(t *testing.T) {
	chrome := chromium(t)
	ff := newFlowFixture(t, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	newBrowser := func() (context.Context, context.CancelFunc) {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
			chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()))
		actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
		tab, tcancel := chromedp.NewContext(actx)
		return tab, func() { tcancel(); acancel() }
	}
	var mu sync.Mutex
	var complaints []string
	watch := func(tab context.Context, name string) {
		if err := chromedp.Listen(tab, func(ev any) {
			if e, ok := ev.(*runtime.EventExceptionThrown); ok {
				mu.Lock()
				complaints = append(complaints, fmt.Sprintf("%s: exception %s", name, e.ExceptionDetails.Text))
				mu.Unlock()
			}
		}); err != nil {
			t.Fatalf("start the browser: %v", err)
		}
	}
	run := func(tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(tab, 20*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	click := func(tab context.Context, what, sel string) {
		t.Helper()
		sctx, scancel := context.WithTimeout(tab, 20*time.Second)
		defer scancel()
		if _, err := chromedp.RunResponse(sctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(tab context.Context, sel string) string {
		t.Helper()
		sctx, scancel := context.WithTimeout(tab, 10*time.Second)
		defer scancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	login := func(tab context.Context, user, password string) {
		t.Helper()
		run(tab, "open the login page", chromedp.Navigate(ff.srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("user")),
			chromedp.SendKeys(chromedp.ID("user"), user), chromedp.SendKeys(chromedp.ID("password"), password))
		click(tab, "log in as "+user, "#login-form button[type=submit]")
	}

	devTab, devDone := newBrowser()
	defer devDone()
	watch(devTab, "developer")
	login(devTab, "dev", "dev-password")
	run(devTab, "open the work orders", chromedp.Navigate(ff.srv.URL+"/flows"), chromedp.WaitVisible(chromedp.ID("new-schema-change")))
	click(devTab, "start a schema change", "#new-schema-change")
	run(devTab, "fill the generated form",
		chromedp.WaitVisible(chromedp.ID("flow-form")),
		chromedp.SetValue(chromedp.ID("f-target"), "shop-1"),
		chromedp.SendKeys(chromedp.ID("f-target-db"), "shop"),
		chromedp.SendKeys(chromedp.ID("f-sql"), "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20));\nINSERT INTO items VALUES (1, 'pen'), (2, 'ink')"),
		chromedp.SendKeys(chromedp.ID("f-reason"), "items for the shop"),
		chromedp.SetValue(chromedp.ID("f-schedule"), "asap"),
		chromedp.SendKeys(chromedp.ID("title"), "items table"))
	click(devTab, "submit", "#submit-ticket")
	if got := text(devTab, ".flash"); got != "Ticket #1 submitted." {
		t.Fatalf("after submitting: flash %q", got)
	}
	// The page refreshes itself into "waiting for approval".
	run(devTab, "mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	run(devTab, "see the ticket wait for approval", chromedp.WaitVisible(chromedp.CSS(`#ticket-state[data-state="waiting_approval"]`)))
	if still, err := chromedp.Run(devTab, chromedp.Evaluate[bool](`window.notReloaded === true`)); err != nil || !still {
		t.Fatalf("the ticket page reloaded instead of refreshing in place (%v)", err)
	}
	if n, err := chromedp.Run(devTab, chromedp.Evaluate[int](`document.querySelectorAll('#approve-form').length`)); err != nil || n != 0 {
		t.Fatalf("the requester sees an approval form (%d, %v)", n, err)
	}

	dbaTab, dbaDone := newBrowser()
	defer dbaDone()
	watch(dbaTab, "dba")
	login(dbaTab, "dba", "dba-password")
	run(dbaTab, "open the ticket", chromedp.Navigate(ff.srv.URL+"/tickets/1"), chromedp.WaitVisible(chromedp.ID("approve-form")),
		chromedp.SendKeys(chromedp.ID("comment"), "looks right"))
	click(dbaTab, "approve", "#approve-button")
	if got := text(dbaTab, ".flash"); got != "Approved step 2 of ticket #1." {
		t.Fatalf("after approving: flash %q", got)
	}
	run(dbaTab, "see the ticket done", chromedp.WaitVisible(chromedp.CSS(`#ticket-state[data-state="done"]`)))
	if got := text(dbaTab, `li[data-block="execute"] table.statements tbody`); !strings.Contains(got, "INSERT INTO items") || !strings.Contains(got, "done") {
		t.Fatalf("statements shown: %q", got)
	}
	// The developer's page follows by itself.
	run(devTab, "see it done on the developer's page", chromedp.WaitVisible(chromedp.CSS(`#ticket-state[data-state="done"]`)))
	var n int
	if err := ff.maria.DB(t, "shop").QueryRow("SELECT COUNT(*) FROM items").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows in shop.items: %d (%v)", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range complaints {
		t.Errorf("browser: %s", c)
	}
}
