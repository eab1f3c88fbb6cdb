package ui

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/mysql"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/platform/secret"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { os.Exit(sqldbtest.Main(m)) }

// adminPassword is the bootstrap admin's password in every fixture.
const adminPassword = "admin-password-1"

// fixture is a UI over real services on a migrated SQLite store, served by
// an httptest server.
type fixture struct {
	t     *testing.T
	db    *sqldb.DB
	auth  *auth.Service
	inv   *inventory.Service
	audit *audit.Log
	srv   *httptest.Server
}

type fixtureOptions struct {
	maxFailures int
	interval    int // live table refresh, seconds
}

func newFixture(t *testing.T, opts ...func(*fixtureOptions)) *fixture {
	t.Helper()
	var o fixtureOptions
	for _, fn := range opts {
		fn(&o)
	}
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	authSvc := auth.NewService(db, log, auth.Config{BcryptCost: bcrypt.MinCost, MaxFailures: o.maxFailures, FailureWindow: time.Minute})
	if _, _, err := authSvc.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	key := make([]byte, secret.KeySize)
	rand.Read(key)
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	engines := engine.NewRegistry(mysql.New())
	inv := inventory.NewService(db, box, engines, log)
	inv.CheckTimeout = 5 * time.Second
	f := &fixture{t: t, db: db, auth: authSvc, inv: inv, audit: audit.NewLog(db)}
	u, err := newSite(&Server{Auth: authSvc, Inventory: inv, Audit: f.audit, Engines: engines, Log: log, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if o.interval > 0 {
		u.interval = o.interval
	}
	// The CSP and other headers dbfleet serve sets around every handler.
	f.srv = httptest.NewServer(httpx.SecurityHeaders(u.routes()))
	t.Cleanup(f.srv.Close)
	return f
}

// addUser creates a user directly through the auth service.
func (f *fixture) addUser(name string, role auth.Role) {
	f.t.Helper()
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin"})
	if _, err := f.auth.AddUser(ctx, name, role, name+"-password"); err != nil {
		f.t.Fatalf("add user %s: %v", name, err)
	}
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests see every 303.
type browser struct {
	t      *testing.T
	f      *fixture
	client *http.Client
	// pages collects every body served, to check none leaks a secret.
	pages []string
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: f.t, f: f, client: &http.Client{
		Jar:           jar,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	status   int
	location string
	header   http.Header
	body     string
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	b.pages = append(b.pages, string(body))
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"), header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.f.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// postRaw posts the form as is.
func (b *browser) postRaw(path string, form url.Values) response {
	b.t.Helper()
	req, err := http.NewRequest("POST", b.f.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// post posts the form with the CSRF token of the session, as a page's form
// would.
func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set(csrfField, b.csrf())
	return b.postRaw(path, form)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page, as a browser would have it.
func (b *browser) csrf() string {
	b.t.Helper()
	r := b.get("/account")
	m := csrfInput.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		b.t.Fatalf("no CSRF token on /account (status %d)", r.status)
	}
	return m[1]
}

// login logs in through the login form.
func (b *browser) login(user, password string) response {
	b.t.Helper()
	page := b.get("/login")
	m := csrfInput.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		b.t.Fatalf("login page: status %d, csrf found %v", page.status, m != nil)
	}
	return b.postRaw("/login", url.Values{"user": {user}, "password": {password}, csrfField: {m[1]}, "next": {"/"}})
}

// mustLogin logs in and fails the test unless a session starts.
func (b *browser) mustLogin(user, password string) {
	b.t.Helper()
	if r := b.login(user, password); r.status != http.StatusSeeOther {
		b.t.Fatalf("login as %s: status %d, want 303\n%s", user, r.status, r.body)
	}
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.f.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// expect fails unless r has the status, and, for redirects, the location.
func expect(t *testing.T, what string, r response, status int, location string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
	}
	if location != "" && r.location != location {
		t.Fatalf("%s: redirected to %q, want %q", what, r.location, location)
	}
}

func expectBody(t *testing.T, what string, r response, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(r.body, w) {
			t.Errorf("%s: page lacks %q\n%s", what, w, r.body)
		}
	}
}

func httptestRecorder(h http.Handler, method, path string, body io.Reader) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, body))
	return rec
}

func findCookie(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}
