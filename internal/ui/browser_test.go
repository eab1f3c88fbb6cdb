package ui

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/dbfleet/dbfleet/internal/testenv"
)

// chromium returns the path of Debian's chromium, or skips the test (fails
// it under CI, where the browser is required).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not found; install it with: apt-get install chromium"
	if testenv.Required() {
		t.Fatal(msg + " (CI is set: the browser test is required)")
	}
	t.Skip(msg)
	return ""
}

// TestBrowser drives the UI in a real headless chromium against a real
// MariaDB: log in, add a host and an instance through the forms, press
// "Check now", and see the server's own version and the instance up, with
// the overview in a second tab updating itself without a reload.
func TestBrowser(t *testing.T) {
	chrome := chromium(t)
	maria := testenv.StartMariaDB(t)
	var version string
	if err := maria.DB(t, "").QueryRow("SELECT VERSION()").Scan(&version); err != nil {
		t.Fatalf("read the version directly: %v", err)
	}
	f := newFixture(t, func(o *fixtureOptions) { o.interval = 1 })

	// A hard limit for the whole browser session: nothing below can hang.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	tab, tabCancel := chromedp.NewContext(actx)
	defer tabCancel()

	// Collect what the browser complains about: a CSP violation means an
	// inline script or style slipped into a page.
	var mu sync.Mutex
	var complaints []string
	listen := func(ctx context.Context, name string) {
		err := chromedp.Listen(ctx, func(ev any) {
			var msg string
			switch ev := ev.(type) {
			case *log.EventEntryAdded:
				if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
					msg = fmt.Sprintf("%s: console %s: %s (%s)", name, ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
				}
			case *runtime.EventExceptionThrown:
				d := ev.ExceptionDetails
				msg = fmt.Sprintf("%s: exception: %s at %s:%d", name, d.Text, d.URL, d.LineNumber+1)
				if d.Exception != nil {
					msg += ": " + d.Exception.Description
				}
			}
			if msg != "" {
				mu.Lock()
				complaints = append(complaints, msg)
				mu.Unlock()
			}
		})
		if err != nil {
			t.Fatalf("start the browser: %v", err)
		}
	}
	listen(tab, "tab 1") // starts the browser, bound to ctx

	// run runs steps with a time limit, failing the test with what it was
	// doing.
	run := func(ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// submit clicks a submit button and waits for the page it leads to.
	submit := func(ctx context.Context, what, button string) *network.Response {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		resp, err := chromedp.RunResponse(sctx, chromedp.Click(chromedp.CSS(button)))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return resp
	}
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	location := func(ctx context.Context) string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(loc, f.srv.URL)
	}

	// Not logged in: the instances page sends us to the login form, and the
	// login brings us back.
	run(tab, "open the instances page", chromedp.Navigate(f.srv.URL+"/instances"))
	if loc := location(tab); loc != "/login?next=%2Finstances" {
		t.Fatalf("logged out: at %s, want the login page", loc)
	}
	run(tab, "fill the login form",
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), adminPassword))
	submit(tab, "log in", "#login-form button[type=submit]")
	if loc := location(tab); loc != "/instances" {
		t.Fatalf("after login: at %s, want /instances", loc)
	}

	// Add the host through its form.
	run(tab, "fill the host form",
		chromedp.Navigate(f.srv.URL+"/hosts/new"),
		chromedp.WaitVisible(chromedp.ID("host-form")),
		chromedp.SendKeys(chromedp.ID("name"), "maria-host"),
		chromedp.SendKeys(chromedp.ID("address"), maria.Host),
		chromedp.SendKeys(chromedp.ID("cores"), "4"),
		chromedp.SendKeys(chromedp.ID("memory"), "16GiB"),
		chromedp.SendKeys(chromedp.ID("labels"), "dc=test"))
	if resp := submit(tab, "add the host", "#host-form button[type=submit]"); resp.Status != 200 {
		t.Fatalf("add host: status %d", resp.Status)
	}
	if got := text(tab, ".flash"); got != "Host maria-host added." {
		t.Fatalf("after adding the host: flash %q", got)
	}

	// Add the instance through its form; the engine choice fills the port
	// (static/app.js), which we then replace with the test server's.
	run(tab, "fill the instance form",
		chromedp.Navigate(f.srv.URL+"/instances/new"),
		chromedp.WaitVisible(chromedp.ID("instance-form")),
		chromedp.SendKeys(chromedp.ID("name"), "maria-1"),
		chromedp.SetValue(chromedp.ID("engine"), "mariadb"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('engine').dispatchEvent(new Event('change'))`),
	)
	if port, err := chromedp.Run(tab, chromedp.Value(chromedp.ID("port"))); err != nil || port != "3306" {
		t.Errorf("choosing mariadb set the port to %q (%v), want 3306", port, err)
	}
	run(tab, "fill the rest of the instance form",
		chromedp.SetValue(chromedp.ID("host"), "maria-host"),
		chromedp.SetValue(chromedp.ID("port"), fmt.Sprint(maria.Port)),
		chromedp.SendKeys(chromedp.ID("user"), maria.User),
		chromedp.SendKeys(chromedp.ID("password"), maria.Password))
	if resp := submit(tab, "add the instance", "#instance-form button[type=submit]"); resp.Status != 200 {
		t.Fatalf("add instance: status %d", resp.Status)
	}
	if loc := location(tab); loc != "/instances/maria-1" {
		t.Fatalf("after adding the instance: at %s", loc)
	}

	// A second tab watches the overview while the first checks.
	tab2, tab2Cancel := chromedp.NewContext(tab)
	defer tab2Cancel()
	listen(tab2, "tab 2")
	run(tab2, "open the overview",
		chromedp.Navigate(f.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#instances tr[data-instance="maria-1"][data-state="unknown"]`)),
		chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))

	// Check now: the page shows what the server itself reports.
	if resp := submit(tab, "check now", "#check-now"); resp.Status != 200 {
		body, _ := chromedp.Run(tab, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("check: status %d\n%s", resp.Status, body)
	}
	if got := text(tab, "#check-version"); got != version {
		t.Fatalf("check shows version %q, want %q (SELECT VERSION())", got, version)
	}
	if got := text(tab, "#last-status .badge"); got != "up" {
		t.Fatalf("last observed state after the check: %q, want up", got)
	}

	// The overview in the other tab turns up by itself.
	run(tab2, "wait for the live overview to show the instance up",
		chromedp.WaitVisible(chromedp.CSS(`#instances tr[data-instance="maria-1"][data-state="up"]`)))
	if still, err := chromedp.Run(tab2, chromedp.Evaluate[bool](`window.notReloaded === true`)); err != nil || !still {
		t.Fatalf("the overview was reloaded instead of refreshed in place (%v)", err)
	}

	// The instance list shows it up, with the version.
	run(tab, "open the instance list",
		chromedp.Navigate(f.srv.URL+"/instances"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-instance="maria-1"]`)))
	if got := text(tab, `tr[data-instance="maria-1"] .badge`); got != "up" {
		t.Fatalf("instance list shows maria-1 as %q, want up", got)
	}
	if got := text(tab, `tr[data-instance="maria-1"] td.version`); got != version {
		t.Fatalf("instance list shows version %q, want %q", got, version)
	}

	// No page leaked the instance password.
	html, err := chromedp.Run(tab, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, maria.Password) {
		t.Fatalf("the instance list contains the instance password")
	}

	mu.Lock()
	defer mu.Unlock()
	for _, c := range complaints {
		if strings.Contains(c, "Content Security Policy") || strings.Contains(c, "exception") {
			t.Errorf("browser: %s", c)
		} else if testing.Verbose() {
			fmt.Fprintln(os.Stderr, "browser:", c)
		}
	}
}
