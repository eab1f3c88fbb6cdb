package ui

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/web"
)

func TestRedirectToLoginWhenLoggedOut(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	for _, tt := range []struct {
		path, location string
	}{
		{"/", "/login"},
		{"/hosts", "/login?next=%2Fhosts"},
		{"/instances?cluster=a&engine=mariadb", "/login?next=%2Finstances%3Fcluster%3Da%26engine%3Dmariadb"},
		{"/audit", "/login?next=%2Faudit"},
		{"/no/such/page", "/login?next=%2Fno%2Fsuch%2Fpage"},
	} {
		expect(t, "GET "+tt.path, b.get(tt.path), http.StatusSeeOther, tt.location)
	}
	// A live table's fetch gets 401, not a login page.
	expect(t, "fragment", b.get("/?fragment=instances"), http.StatusUnauthorized, "")
	// A POST without a session changes nothing and goes to the login page.
	expect(t, "POST /hosts", b.postRaw("/hosts", url.Values{"name": {"h1"}, "address": {"10.0.0.1"}}), http.StatusSeeOther, "/login")
	if hs, _ := f.inv.ListHosts(context.Background()); len(hs) != 0 {
		t.Fatalf("anonymous POST added hosts: %v", hs)
	}
}

func TestLoginLogout(t *testing.T) {
	f := newFixture(t)
	b := f.browser()

	// Wrong password: shown on the form, the user name kept, the password not.
	r := b.login("admin", "not-the-password")
	expect(t, "bad login", r, http.StatusUnauthorized, "")
	expectBody(t, "bad login", r, "wrong user name or password", `value="admin"`)
	if strings.Contains(r.body, "not-the-password") {
		t.Fatalf("login form re-displays the password")
	}
	if b.cookie(sessionCookie) != nil {
		t.Fatalf("failed login set a session cookie")
	}

	// Right password: a session cookie, and back to where the user was going.
	page := b.get("/login?next=" + url.QueryEscape("/hosts?x=1"))
	tok := csrfInput.FindStringSubmatch(page.body)[1]
	expectBody(t, "login page", page, `name="next" value="/hosts?x=1"`)
	r = b.postRaw("/login", url.Values{"user": {"admin"}, "password": {adminPassword}, csrfField: {tok}, "next": {"/hosts?x=1"}})
	expect(t, "login", r, http.StatusSeeOther, "/hosts?x=1")
	var session *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == sessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure (SecureCookies off)", session)
	}
	p, err := f.auth.Authenticate(context.Background(), session.Value)
	if err != nil || p.User != "admin" || p.Kind != auth.KindSession {
		t.Fatalf("session token: %+v %v", p, err)
	}
	home := b.get("/")
	expect(t, "overview", home, http.StatusOK, "")
	expectBody(t, "overview", home, "Fleet overview", ">admin</a>", "Log out")
	if cc := home.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("page Cache-Control %q, want no-store", cc)
	}
	// Already logged in: /login goes on.
	expect(t, "login again", b.get("/login"), http.StatusSeeOther, "/")

	// Logout revokes the token.
	expect(t, "logout", b.post("/logout", nil), http.StatusSeeOther, "/login")
	if _, err := f.auth.Authenticate(context.Background(), session.Value); err == nil {
		t.Fatalf("session token still valid after logout")
	}
	expect(t, "after logout", b.get("/"), http.StatusSeeOther, "/login")
	expectBody(t, "login page after logout", b.get("/login"), "You are logged out.")

	// The audit log names the user for both.
	entries, err := f.audit.List(context.Background(), audit.Filter{User: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); !strings.Contains(got, "token.revoke") || !strings.Contains(got, "auth.login") {
		t.Fatalf("audit actions of admin: %s", got)
	}
}

func TestSecureCookies(t *testing.T) {
	f := newFixture(t)
	ui := &Server{Auth: f.auth, Inventory: f.inv, Audit: f.audit, SecureCookies: true}
	h := ui.Handler()
	rec := httptestRecorder(h, "GET", "/login", nil)
	if c := findCookie(rec.Result().Cookies(), loginCSRFCookie); c == nil || !c.Secure {
		t.Fatalf("login CSRF cookie %+v: want Secure", c)
	}
}

func TestLoginRateLimit(t *testing.T) {
	f := newFixture(t, func(o *fixtureOptions) { o.maxFailures = 2 })
	b := f.browser()
	for range 2 {
		expect(t, "bad login", b.login("admin", "wrong-password"), http.StatusUnauthorized, "")
	}
	r := b.login("admin", adminPassword)
	expect(t, "locked out", r, http.StatusTooManyRequests, "")
	expectBody(t, "locked out", r, "too many failed logins")
}

func TestSafeNext(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/hosts", "/hosts"},
		{"/instances?cluster=a&engine=b", "/instances?cluster=a&engine=b"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"hosts", "/"},
		{"/login?next=/x", "/"},
		{"/logout", "/"},
		{"/a\r\nLocation: x", "/"},
	} {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOpenRedirectRefused(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	page := b.get("/login?next=" + url.QueryEscape("//evil.example/"))
	tok := csrfInput.FindStringSubmatch(page.body)[1]
	r := b.postRaw("/login", url.Values{"user": {"admin"}, "password": {adminPassword}, csrfField: {tok}, "next": {"https://evil.example/"}})
	expect(t, "login with external next", r, http.StatusSeeOther, "/")
}

func TestLoginCSRF(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name   string
		cookie bool   // fetch the login page first (sets the cookie)
		token  string // "" = none, "page" = the page's token
	}{
		{"no cookie, no token", false, ""},
		{"no cookie, forged token", false, "forged"},
		{"cookie, no token", true, ""},
		{"cookie, other token", true, "forged"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := f.browser()
			if tt.cookie {
				b.get("/login")
			}
			form := url.Values{"user": {"admin"}, "password": {adminPassword}}
			if tt.token != "" {
				form.Set(csrfField, tt.token)
			}
			r := b.postRaw("/login", form)
			expect(t, "login", r, http.StatusForbidden, "")
			expectBody(t, "login", r, "login form expired")
			if b.cookie(sessionCookie) != nil {
				t.Fatalf("a login without a valid CSRF token started a session")
			}
		})
	}
	toks, err := f.auth.ListTokens(context.Background(), "admin")
	if err != nil || len(toks) != 0 {
		t.Fatalf("tokens issued: %v %v", toks, err)
	}
}

func TestCSRFRejected(t *testing.T) {
	f := newFixture(t)
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin"})
	if _, err := f.inv.AddHost(ctx, inventory.Host{Name: "keep", Address: "10.0.0.9"}); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.mustLogin("admin", adminPassword)
	// Another session's token is as bad as none.
	other := f.browser()
	other.mustLogin("admin", adminPassword)
	foreign := other.csrf()

	posts := []struct {
		path string
		form url.Values
	}{
		{"/hosts", url.Values{"name": {"h1"}, "address": {"10.0.0.1"}}},
		{"/hosts/keep/remove", nil},
		{"/clusters", url.Values{"name": {"c1"}, "engine": {"mariadb"}}},
		{"/users", url.Values{"name": {"mallory"}, "role": {"admin"}, "password": {"mallory-password"}}},
		{"/users/admin/password", url.Values{"password": {"hijacked-password"}}},
		{"/account/tokens", url.Values{"name": {"stolen"}}},
		{"/logout", nil},
	}
	for _, p := range posts {
		for _, tok := range []string{"", "not-a-token", foreign} {
			form := url.Values{}
			for k, v := range p.form {
				form[k] = v
			}
			if tok != "" {
				form.Set(csrfField, tok)
			}
			r := b.postRaw(p.path, form)
			expect(t, fmt.Sprintf("POST %s with csrf %q", p.path, tok), r, http.StatusForbidden, "")
			expectBody(t, "POST "+p.path, r, "security token")
		}
	}
	// Nothing changed: still one host, no cluster, one user, admin's
	// password unchanged, the session alive.
	hs, _ := f.inv.ListHosts(context.Background())
	cs, _ := f.inv.ListClusters(context.Background())
	us, _ := f.auth.ListUsers(context.Background())
	if len(hs) != 1 || len(cs) != 0 || len(us) != 1 {
		t.Fatalf("refused POSTs changed things: %d hosts, %d clusters, %d users", len(hs), len(cs), len(us))
	}
	expect(t, "still logged in", b.get("/"), http.StatusOK, "")
	toks, _ := f.auth.ListTokens(context.Background(), "admin")
	for _, tk := range toks {
		if tk.Kind == auth.KindAPI {
			t.Fatalf("refused POST created token %+v", tk)
		}
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.mustLogin("admin", adminPassword)
	form := url.Values{"name": {"h1"}, "address": {"10.0.0.1"}, csrfField: {b.csrf()}}
	req, _ := http.NewRequest("POST", f.srv.URL+"/hosts", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	expect(t, "cross-site POST", b.do(req), http.StatusForbidden, "")
	if hs, _ := f.inv.ListHosts(context.Background()); len(hs) != 0 {
		t.Fatalf("cross-site POST added a host")
	}
}

// TestPermissions checks that the server enforces each role's permissions
// (a refused action changes nothing) and that pages hide what a role
// cannot do.
func TestPermissions(t *testing.T) {
	type action struct {
		name   string
		method string
		path   string
		form   url.Values
		perm   auth.Permission
		ok     int // status when allowed
	}
	actions := []action{
		{"view overview", "GET", "/", nil, auth.InventoryRead, http.StatusOK},
		{"view hosts", "GET", "/hosts", nil, auth.InventoryRead, http.StatusOK},
		{"view instance", "GET", "/instances/db1", nil, auth.InventoryRead, http.StatusOK},
		{"add host form", "GET", "/hosts/new", nil, auth.InventoryWrite, http.StatusOK},
		{"add host", "POST", "/hosts", url.Values{"name": {"new-host"}, "address": {"10.0.0.2"}}, auth.InventoryWrite, http.StatusSeeOther},
		{"edit cluster", "POST", "/clusters/c1/edit", url.Values{"env": {"test"}, "business": {"b"}}, auth.InventoryWrite, http.StatusSeeOther},
		{"check instance", "POST", "/instances/db1/check", nil, auth.InstanceCheck, http.StatusServiceUnavailable},
		{"remove confirm page", "GET", "/groups/g1/remove", nil, auth.InventoryDelete, http.StatusOK},
		{"remove group", "POST", "/groups/g1/remove", nil, auth.InventoryDelete, http.StatusSeeOther},
		{"audit log", "GET", "/audit", nil, auth.AuditRead, http.StatusOK},
		{"users", "GET", "/users", nil, auth.UserManage, http.StatusOK},
		{"add user", "POST", "/users", url.Values{"name": {"newbie"}, "role": {"viewer"}, "password": {"newbie-password"}}, auth.UserManage, http.StatusSeeOther},
		{"own account", "GET", "/account", nil, "", http.StatusOK},
		{"own token", "POST", "/account/tokens", url.Values{"name": {"ci"}, "ttl": {"720h"}}, "", http.StatusCreated},
	}
	for _, role := range auth.Roles {
		t.Run(string(role), func(t *testing.T) {
			f := newFixture(t)
			f.seed()
			f.addUser("u", role)
			b := f.browser()
			b.mustLogin("u", "u-password")
			for _, a := range actions {
				before := f.snapshot()
				var r response
				if a.method == "GET" {
					r = b.get(a.path)
				} else {
					r = b.post(a.path, a.form)
				}
				allowed := a.perm == "" || auth.Can(role, a.perm)
				if !allowed {
					expect(t, a.name, r, http.StatusForbidden, "")
					expectBody(t, a.name, r, "lacks permission "+string(a.perm))
					if after := f.snapshot(); after != before {
						t.Errorf("%s refused, yet the store changed:\n%s\n%s", a.name, before, after)
					}
					continue
				}
				expect(t, a.name, r, a.ok, "")
			}
			// What the role cannot do is not offered.
			hosts := b.get("/hosts").body
			if got, want := strings.Contains(hosts, `href="/hosts/new"`), auth.Can(role, auth.InventoryWrite); got != want {
				t.Errorf("hosts page offers Add host: %v, want %v", got, want)
			}
			inst := b.get("/instances/db1").body
			if got, want := strings.Contains(inst, `id="check-now"`), auth.Can(role, auth.InstanceCheck); got != want {
				t.Errorf("instance page offers Check now: %v, want %v", got, want)
			}
			if got, want := strings.Contains(inst, `/instances/db1/remove`), auth.Can(role, auth.InventoryDelete); got != want {
				t.Errorf("instance page offers Remove: %v, want %v", got, want)
			}
			if got, want := strings.Contains(inst, `id="instance-edit"`), auth.Can(role, auth.InventoryWrite); got != want {
				t.Errorf("instance page offers the edit form: %v, want %v", got, want)
			}
			home := b.get("/").body
			if got, want := strings.Contains(home, `href="/users"`), auth.Can(role, auth.UserManage); got != want {
				t.Errorf("nav shows Users: %v, want %v", got, want)
			}
			if got, want := strings.Contains(home, `href="/audit"`), auth.Can(role, auth.AuditRead); got != want {
				t.Errorf("nav shows Audit log: %v, want %v", got, want)
			}
		})
	}
}

// seed adds a host, a cluster, an instance on a closed port and a group.
func (f *fixture) seed() {
	f.t.Helper()
	ctx := audit.WithActor(context.Background(), audit.Actor{User: "admin"})
	if _, err := f.inv.AddHost(ctx, inventory.Host{Name: "h1", Address: "127.0.0.1"}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.inv.AddCluster(ctx, inventory.Cluster{Name: "c1", Engine: "mariadb", Env: "prod"}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.inv.AddInstance(ctx, inventory.NewInstance{Name: "db1", Engine: "mariadb", Host: "h1", Port: closedPort(f.t),
		User: "root", Password: "seed-password", Cluster: "c1", Role: inventory.RolePrimary}); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.inv.AddGroup(ctx, inventory.Group{Name: "g1", Members: []string{"db1"}}); err != nil {
		f.t.Fatal(err)
	}
}

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// snapshot summarises what the store holds, to detect changes.
func (f *fixture) snapshot() string {
	ctx := context.Background()
	hs, _ := f.inv.ListHosts(ctx)
	cs, _ := f.inv.ListClusters(ctx)
	gs, _ := f.inv.ListGroups(ctx)
	us, _ := f.auth.ListUsers(ctx)
	ins, _ := f.inv.ListInstances(ctx, inventory.InstanceFilter{})
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "host %s|", h.Name)
	}
	for _, c := range cs {
		fmt.Fprintf(&b, "cluster %s %s %s|", c.Name, c.Env, c.Business)
	}
	for _, g := range gs {
		fmt.Fprintf(&b, "group %s|", g.Name)
	}
	for _, u := range us {
		fmt.Fprintf(&b, "user %s %s|", u.Name, u.Role)
	}
	for _, in := range ins {
		fmt.Fprintf(&b, "instance %s checked=%v|", in.Name, in.Status != nil)
	}
	return b.String()
}

// TestInventoryThroughForms adds a host, a cluster and an instance the way a
// DBA would, and checks the pages, the audit log's actor, and that the
// instance password never reaches a page.
func TestInventoryThroughForms(t *testing.T) {
	const password = "Instance-Secret-8d2f"
	f := newFixture(t)
	b := f.browser()
	b.mustLogin("admin", adminPassword)

	expectBody(t, "add host form", b.get("/hosts/new"), `action="/hosts"`, `name="memory"`)
	r := b.post("/hosts", url.Values{"name": {"db-host-1"}, "address": {"127.0.0.1"}, "rack": {"r1"}, "zone": {"z1"},
		"cores": {"16"}, "memory": {"64GiB"}, "disk": {"2TiB"}, "labels": {"dc=ams1, owner=dba"}})
	expect(t, "add host", r, http.StatusSeeOther, "/hosts/db-host-1")
	h, err := f.inv.GetHost(context.Background(), "db-host-1")
	if err != nil || h.MemoryBytes != 64<<30 || h.DiskBytes != 2<<40 || h.Cores != 16 || h.Labels["dc"] != "ams1" || h.Labels["owner"] != "dba" {
		t.Fatalf("host as stored: %+v %v", h, err)
	}
	page := b.get("/hosts/db-host-1")
	expectBody(t, "host page", page, "Host db-host-1 added.", "64GiB", "2TiB", "dc=ams1, owner=dba")

	expect(t, "add cluster", b.post("/clusters", url.Values{"name": {"orders"}, "engine": {"mariadb"}, "env": {"prod"}, "business": {"shop"}, "labels": {"tier=1"}}),
		http.StatusSeeOther, "/clusters/orders")

	// A bad port: 400, values kept, the password not sent back.
	r = b.post("/instances", url.Values{"name": {"orders-1"}, "engine": {"mariadb"}, "host": {"db-host-1"}, "port": {"99999"},
		"user": {"monitor"}, "password": {password}, "cluster": {"orders"}, "role": {"primary"}})
	expect(t, "bad port", r, http.StatusBadRequest, "")
	expectBody(t, "bad port", r, "Enter a port between 1 and 65535.", `value="orders-1"`, `value="monitor"`, `<option value="orders" selected>`)

	port := closedPort(t)
	r = b.post("/instances", url.Values{"name": {"orders-1"}, "engine": {"mariadb"}, "host": {"db-host-1"}, "port": {strconv.Itoa(port)},
		"user": {"monitor"}, "password": {password}, "cluster": {"orders"}, "role": {"primary"}, "labels": {"backup=daily"}})
	expect(t, "add instance", r, http.StatusSeeOther, "/instances/orders-1")
	expectBody(t, "instance page", b.get("/instances/orders-1"), "Instance orders-1 added.", "monitor", "orders", "primary", "Not checked yet.")
	target, err := f.inv.Target(context.Background(), "orders-1")
	if err != nil || target.Password != password || target.User != "monitor" || target.Port != port {
		t.Fatalf("instance as stored: %v %v", target, err)
	}

	// A duplicate: the service's conflict, values kept, status 409.
	r = b.post("/instances", url.Values{"name": {"orders-1"}, "engine": {"mariadb"}, "host": {"db-host-1"}, "port": {strconv.Itoa(port + 1)},
		"user": {"monitor"}, "password": {password}})
	expect(t, "duplicate instance", r, http.StatusConflict, "")
	expectBody(t, "duplicate instance", r, "already exists", `value="orders-1"`)

	// The pages show it; the cluster page lists it with its role.
	expectBody(t, "cluster page", b.get("/clusters/orders"), `data-instance="orders-1"`, "shop", "tier=1")
	expectBody(t, "instances list", b.get("/instances?cluster=orders"), `data-instance="orders-1"`)
	expectBody(t, "instances list, other engine", b.get("/instances?engine=postgres"), "No instance matches the filter.")
	frag := b.get("/?fragment=instances")
	expectBody(t, "fragment", frag, `data-instance="orders-1"`, `<table class="list instances">`)
	if strings.Contains(frag.body, "<html") {
		t.Errorf("fragment is a whole page")
	}

	// Check now against a closed port: the failure, in words.
	r = b.post("/instances/orders-1/check", nil)
	expect(t, "check", r, http.StatusServiceUnavailable, "")
	expectBody(t, "check", r, "Unreachable", `id="check-error"`)
	expectBody(t, "overview after check", b.get("/"), `data-state="down"`)

	// Edit the cluster, then the instance (a new password too).
	expect(t, "edit cluster", b.post("/clusters/orders/edit", url.Values{"env": {"staging"}, "business": {"shop"}, "labels": {"tier=2, team=orders"}}),
		http.StatusSeeOther, "/clusters/orders")
	c, _ := f.inv.GetCluster(context.Background(), "orders")
	if c.Env != "staging" || c.Labels["tier"] != "2" || c.Labels["team"] != "orders" {
		t.Fatalf("cluster after edit: %+v", c)
	}
	r = b.post("/instances/orders-1/edit", url.Values{"user": {"monitor"}, "password": {password + "-2"}, "cluster": {""}, "role": {"primary"}})
	expect(t, "edit instance: role without cluster", r, http.StatusBadRequest, "")
	expectBody(t, "edit instance", r, "A role needs a cluster")
	expect(t, "edit instance", b.post("/instances/orders-1/edit", url.Values{"user": {"monitor2"}, "password": {password + "-2"}, "cluster": {"orders"}, "role": {"replica"}}),
		http.StatusSeeOther, "/instances/orders-1")
	if tg, _ := f.inv.Target(context.Background(), "orders-1"); tg.User != "monitor2" || tg.Password != password+"-2" {
		t.Fatalf("instance after edit: user %q, password changed %v", tg.User, tg.Password == password+"-2")
	}

	// Groups and shard maps.
	expect(t, "add group", b.post("/groups", url.Values{"name": {"prod-maria"}, "members": {"orders-1"}, "selector": {"engine=mariadb"}}),
		http.StatusSeeOther, "/groups/prod-maria")
	expectBody(t, "group page", b.get("/groups/prod-maria"), `data-instance="orders-1"`, "engine=mariadb")
	expect(t, "add shard map", b.post("/shards", url.Values{"name": {"orders-shards"}, "database": {"orders"}, "strategy": {"hash"}, "shards": {"orders-1/orders_00\norders-1/orders_01"}}),
		http.StatusSeeOther, "/shards/orders-shards")
	expectBody(t, "shard map page", b.get("/shards/orders-shards"), "orders_00", "orders_01")

	// The host cannot go while it has an instance: the reason is shown.
	r = b.post("/hosts/db-host-1/remove", nil)
	expect(t, "remove busy host", r, http.StatusConflict, "")
	expectBody(t, "remove busy host", r, "still has 1 instance")

	// Remove everything again, through the confirmation pages.
	for _, what := range []string{"/shards/orders-shards", "/groups/prod-maria", "/instances/orders-1", "/clusters/orders", "/hosts/db-host-1"} {
		expectBody(t, "confirm "+what, b.get(what+"/remove"), `action="`+what+`/remove"`, "Cancel")
		r := b.post(what+"/remove", nil)
		expect(t, "remove "+what, r, http.StatusSeeOther, "")
	}
	if f.snapshot() != "user admin admin|" {
		t.Fatalf("left after removal: %s", f.snapshot())
	}

	// The audit log records the UI user as the actor of every change.
	entries, err := f.audit.List(context.Background(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Action == "auth.login" || e.Action == "user.add" { // the login itself; the bootstrap admin
			continue
		}
		seen[e.Action] = true
		if e.User != "admin" || e.Addr != "127.0.0.1" {
			t.Errorf("audit %s %s by %q from %q, want admin from 127.0.0.1", e.Action, e.Target, e.User, e.Addr)
		}
	}
	for _, a := range []string{"host.add", "cluster.add", "instance.add", "cluster.set", "instance.set", "group.add", "shardmap.add",
		"shardmap.remove", "group.remove", "instance.remove", "cluster.remove", "host.remove"} {
		if !seen[a] {
			t.Errorf("audit log lacks %s", a)
		}
	}
	audited := b.get("/audit?action=instance.")
	expectBody(t, "audit page", audited, "instance.add", "instance.set", "instance.remove")
	if strings.Contains(audited.body, "host.add") {
		t.Errorf("audit filter by action prefix shows host.add")
	}

	// No page ever showed the instance password.
	for i, body := range b.pages {
		if strings.Contains(body, password) {
			t.Fatalf("page %d contains the instance password:\n%s", i, body)
		}
	}
}

func TestUsersAndTokens(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.mustLogin("admin", adminPassword)

	r := b.post("/users", url.Values{"name": {"dana"}, "role": {"dba"}, "password": {"short"}})
	expect(t, "short password", r, http.StatusBadRequest, "")
	expectBody(t, "short password", r, "password too short", `value="dana"`)
	expect(t, "add user", b.post("/users", url.Values{"name": {"dana"}, "role": {"dba"}, "password": {"dana-password"}}), http.StatusSeeOther, "/users")
	expectBody(t, "users page", b.get("/users"), `data-user="dana"`, "User dana added with role dba.")

	expect(t, "set role", b.post("/users/dana/role", url.Values{"role": {"developer"}}), http.StatusSeeOther, "/users")
	if u, _ := f.auth.GetUser(context.Background(), "dana"); u.Role != auth.Developer {
		t.Fatalf("role after change: %s", u.Role)
	}
	// The last admin stays: the service's reason is shown.
	r = b.post("/users/admin/role", url.Values{"role": {"viewer"}})
	expect(t, "demote last admin", r, http.StatusConflict, "")
	expectBody(t, "demote last admin", r, "last enabled admin")

	dana := f.browser()
	dana.mustLogin("dana", "dana-password")
	expect(t, "disable", b.post("/users/dana/disable", nil), http.StatusSeeOther, "/users")
	expect(t, "disabled user's session", dana.get("/"), http.StatusSeeOther, "/login")
	expect(t, "disabled user logs in", dana.login("dana", "dana-password"), http.StatusUnauthorized, "")
	expect(t, "enable", b.post("/users/dana/enable", nil), http.StatusSeeOther, "/users")
	expect(t, "reset password", b.post("/users/dana/password", url.Values{"password": {"new-dana-password"}}), http.StatusSeeOther, "/users")
	dana.mustLogin("dana", "new-dana-password")

	// Tokens: the secret is shown once, then only its description.
	r = dana.post("/account/tokens", url.Values{"name": {"ci-deploy"}, "ttl": {"720h"}})
	expect(t, "create token", r, http.StatusCreated, "")
	m := regexp.MustCompile(`<code class="secret">(dbf_[^<]+)</code>`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("token secret not shown:\n%s", r.body)
	}
	p, err := f.auth.Authenticate(context.Background(), m[1])
	if err != nil || p.User != "dana" || p.Kind != auth.KindAPI {
		t.Fatalf("created token: %+v %v", p, err)
	}
	acct := dana.get("/account")
	if strings.Contains(acct.body, m[1]) {
		t.Fatalf("token secret shown again")
	}
	expectBody(t, "account", acct, "ci-deploy", "(this session)")
	expect(t, "revoke", dana.post(fmt.Sprintf("/account/tokens/%d/revoke", p.TokenID), nil), http.StatusSeeOther, "/account#tokens")
	if _, err := f.auth.Authenticate(context.Background(), m[1]); err == nil {
		t.Fatalf("revoked token still works")
	}
	// Someone else's token looks like a missing one.
	adminToks, _ := f.auth.ListTokens(context.Background(), "admin")
	expect(t, "revoke other's token", dana.post(fmt.Sprintf("/account/tokens/%d/revoke", adminToks[0].ID), nil), http.StatusNotFound, "")

	// Own password.
	r = dana.post("/account/password", url.Values{"current": {"new-dana-password"}, "password": {"another-password"}, "password2": {"different"}})
	expect(t, "password mismatch", r, http.StatusBadRequest, "")
	expectBody(t, "password mismatch", r, "The two passwords differ.")
	r = dana.post("/account/password", url.Values{"current": {"not-my-password"}, "password": {"another-password"}, "password2": {"another-password"}})
	expect(t, "wrong current password", r, http.StatusForbidden, "")
	expectBody(t, "wrong current password", r, "That is not your current password.")
	r = dana.post("/account/password", url.Values{"current": {"new-dana-password"}, "password": {"another-password"}, "password2": {"another-password"}})
	expect(t, "change password", r,
		http.StatusSeeOther, "/account")
	f.browser().mustLogin("dana", "another-password")

	// Filter the audit log by user.
	audited := b.get("/audit?user=dana")
	expectBody(t, "audit by dana", audited, "token.create", "token.revoke", "user.set-password")
	if strings.Contains(audited.body, "user.add") {
		t.Errorf("audit filtered by user dana shows admin's user.add")
	}
}

func TestStaticFiles(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	u, _ := newSite(&Server{})
	css := u.static["app.css"]

	r := b.get("/static/app.css?v=" + css.hash)
	expect(t, "css", r, http.StatusOK, "")
	if ct, cc := r.header.Get("Content-Type"), r.header.Get("Cache-Control"); !strings.HasPrefix(ct, "text/css") || !strings.Contains(cc, "immutable") {
		t.Errorf("versioned css: Content-Type %q Cache-Control %q", ct, cc)
	}
	if cc := b.get("/static/app.js").header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("unversioned js: Cache-Control %q", cc)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/static/app.css", nil)
	req.Header.Set("If-None-Match", `"`+css.hash+`"`)
	expect(t, "revalidate", b.do(req), http.StatusNotModified, "")
	expect(t, "missing", b.get("/static/nope.js"), http.StatusNotFound, "")

	// The login page links the versioned assets.
	expectBody(t, "login page", b.get("/login"), "/static/app.css?v="+css.hash, "/static/app.js?v=")
}

// TestTemplatesFollowCSP checks the rules the Content-Security-Policy
// enforces in browsers: no inline scripts, event handlers or styles.
func TestTemplatesFollowCSP(t *testing.T) {
	bad := regexp.MustCompile(`(?i)<script>|<script\s+[^>]*>[^<]|\son[a-z]+\s*=|\sstyle\s*=|<style|javascript:`)
	can := regexp.MustCompile(`\.Can "([^"]+)"`)
	known := map[string]bool{}
	for _, p := range auth.PermissionsOf(auth.Admin) {
		known[string(p)] = true
	}
	files, _ := fs.Glob(web.FS, "templates/*.html")
	for _, name := range files {
		b, _ := fs.ReadFile(web.FS, name)
		if m := bad.FindString(string(b)); m != "" {
			t.Errorf("%s: %q breaks the CSP (script-src/style-src 'self')", name, m)
		}
		for _, m := range can.FindAllStringSubmatch(string(b), -1) {
			if !known[m[1]] {
				t.Errorf("%s: .Can %q names no permission", name, m[1])
			}
		}
	}
}

func TestNotFound(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.mustLogin("admin", adminPassword)
	for _, p := range []string{"/hosts/nope", "/clusters/nope", "/instances/nope", "/groups/nope", "/shards/nope", "/no/such/page"} {
		r := b.get(p)
		expect(t, p, r, http.StatusNotFound, "")
		expectBody(t, p, r, "Not found")
	}
}
