package ui

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/health"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/proxy"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/reports"
	"github.com/dbfleet/dbfleet/internal/slowlog"
)

// Server serves the web UI. Build it as a struct literal and mount
// Handler() at "/".
type Server struct {
	Auth      *auth.Service
	Inventory *inventory.Service
	Audit     *audit.Log
	Engines   *engine.Registry
	Log       *slog.Logger
	Version   string
	// SecureCookies marks the session cookie Secure (serve over HTTPS).
	SecureCookies bool
	// Metrics and Targets feed the dashboards (nil: "not running");
	// HealthScore, when set, gives an instance's current health score.
	Metrics     MetricsSource
	Targets     ScrapeTargets
	HealthScore func(ctx context.Context, instance string) (float64, bool)
	// Health serves the health pages (nil: "not running").
	Health *health.Service
	// HA serves the cluster pages' high-availability panel and actions
	// (nil: not shown).
	HA *ha.Service
	// Query serves the query console (nil: "not available").
	Query *query.Service
	// Flows serves work orders (nil: "not enabled").
	Flows *flows.Service
	// Reports serves XML-declared reports (nil: "not enabled").
	Reports *reports.Service
	// Slowlog serves the slow-query pages (nil: "not enabled").
	Slowlog *slowlog.Service
	// Alerts serves the alerts pages (nil: "alerting is off").
	Alerts *alerts.Service
	// Proxy serves the proxy page (nil: "not enabled").
	Proxy *proxy.Service
}

// site is a Server with its parsed templates and static files.
type site struct {
	*Server
	log    *slog.Logger
	pages  map[string]*pageTemplate
	static map[string]staticFile
	now    func() time.Time
	// interval is how often live tables refresh, in seconds.
	interval int
}

// Handler returns the UI's routes. It parses the embedded templates once;
// they are part of the binary, so a parse error is a build defect (the
// package's tests catch it) and panics.
func (s *Server) Handler() http.Handler {
	u, err := newSite(s)
	if err != nil {
		panic(fmt.Sprintf("ui: %v", err))
	}
	return u.routes()
}

func newSite(s *Server) (*site, error) {
	u := &site{Server: s, log: s.Log, now: time.Now, interval: liveInterval}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if u.static, err = loadStatic(); err != nil {
		return nil, err
	}
	if u.pages, err = parseTemplates(u.funcs()); err != nil {
		return nil, err
	}
	return u, nil
}

func (u *site) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/{file...}", u.serveStatic)

	mux.HandleFunc("GET /login", u.loginPage)
	mux.HandleFunc("POST /login", u.login)
	mux.Handle("POST /logout", u.action("", u.logout))

	mux.Handle("GET /{$}", u.page(auth.InventoryRead, u.overview))

	mux.Handle("GET /hosts", u.page(auth.InventoryRead, u.hosts))
	mux.Handle("GET /hosts/new", u.page(auth.InventoryWrite, u.newHost))
	mux.Handle("POST /hosts", u.action(auth.InventoryWrite, u.addHost))
	mux.Handle("GET /hosts/{name}", u.page(auth.InventoryRead, u.host))
	mux.Handle("GET /hosts/{name}/remove", u.page(auth.InventoryDelete, u.confirmRemoveHost))
	mux.Handle("POST /hosts/{name}/remove", u.action(auth.InventoryDelete, u.removeHost))

	mux.Handle("GET /clusters", u.page(auth.InventoryRead, u.clusters))
	mux.Handle("GET /clusters/new", u.page(auth.InventoryWrite, u.newCluster))
	mux.Handle("POST /clusters", u.action(auth.InventoryWrite, u.addCluster))
	mux.Handle("GET /clusters/{name}", u.page(auth.InventoryRead, u.cluster))
	mux.Handle("POST /clusters/{name}/edit", u.action(auth.InventoryWrite, u.editCluster))
	mux.Handle("GET /clusters/{name}/remove", u.page(auth.InventoryDelete, u.confirmRemoveCluster))
	mux.Handle("POST /clusters/{name}/remove", u.action(auth.InventoryDelete, u.removeCluster))
	mux.Handle("GET /clusters/{name}/ha", u.page(auth.HARead, u.haFragment))
	mux.Handle("POST /clusters/{name}/ha/settings", u.action(auth.HAManage, u.haSettings))
	mux.Handle("POST /clusters/{name}/switchover", u.action(auth.HAManage, u.haSwitchover))
	mux.Handle("POST /clusters/{name}/failover", u.action(auth.HAManage, u.haFailover))
	mux.Handle("GET /recoveries/{id}", u.page(auth.HARead, u.recoveryPage))
	mux.Handle("POST /recoveries/{id}/ack", u.action(auth.HAManage, u.haAck))

	mux.Handle("GET /instances", u.page(auth.InventoryRead, u.instances))
	mux.Handle("GET /instances/new", u.page(auth.InventoryWrite, u.newInstance))
	mux.Handle("POST /instances", u.action(auth.InventoryWrite, u.addInstance))
	mux.Handle("GET /instances/{name}", u.page(auth.InventoryRead, u.instance))
	mux.Handle("POST /instances/{name}/edit", u.action(auth.InventoryWrite, u.editInstance))
	mux.Handle("POST /instances/{name}/check", u.action(auth.InstanceCheck, u.checkInstance))
	mux.Handle("GET /instances/{name}/remove", u.page(auth.InventoryDelete, u.confirmRemoveInstance))
	mux.Handle("POST /instances/{name}/remove", u.action(auth.InventoryDelete, u.removeInstance))

	mux.Handle("GET /groups", u.page(auth.InventoryRead, u.groups))
	mux.Handle("GET /groups/new", u.page(auth.InventoryWrite, u.newGroup))
	mux.Handle("POST /groups", u.action(auth.InventoryWrite, u.addGroup))
	mux.Handle("GET /groups/{name}", u.page(auth.InventoryRead, u.group))
	mux.Handle("GET /groups/{name}/remove", u.page(auth.InventoryDelete, u.confirmRemoveGroup))
	mux.Handle("POST /groups/{name}/remove", u.action(auth.InventoryDelete, u.removeGroup))

	mux.Handle("GET /shards", u.page(auth.InventoryRead, u.shardMaps))
	mux.Handle("GET /shards/new", u.page(auth.InventoryWrite, u.newShardMap))
	mux.Handle("POST /shards", u.action(auth.InventoryWrite, u.addShardMap))
	mux.Handle("GET /shards/{name}", u.page(auth.InventoryRead, u.shardMap))
	mux.Handle("GET /shards/{name}/remove", u.page(auth.InventoryDelete, u.confirmRemoveShardMap))
	mux.Handle("POST /shards/{name}/remove", u.action(auth.InventoryDelete, u.removeShardMap))

	mux.Handle("GET /users", u.page(auth.UserManage, u.users))
	mux.Handle("POST /users", u.action(auth.UserManage, u.addUser))
	mux.Handle("POST /users/{name}/role", u.action(auth.UserManage, u.setRole))
	mux.Handle("POST /users/{name}/disable", u.action(auth.UserManage, u.disableUser))
	mux.Handle("POST /users/{name}/enable", u.action(auth.UserManage, u.enableUser))
	mux.Handle("POST /users/{name}/password", u.action(auth.UserManage, u.resetPassword))

	mux.Handle("GET /account", u.page("", u.account))
	mux.Handle("POST /account/password", u.action("", u.changePassword))
	mux.Handle("POST /account/tokens", u.action("", u.createToken))
	mux.Handle("POST /account/tokens/{id}/revoke", u.action("", u.revokeToken))
	mux.Handle("GET /tokens", http.RedirectHandler("/account#tokens", http.StatusSeeOther))

	mux.Handle("GET /audit", u.page(auth.AuditRead, u.auditLog))
	u.queryRoutes(mux)
	u.flowRoutes(mux)
	u.reportRoutes(mux)
	u.slowlogRoutes(mux)
	u.alertRoutes(mux)

	mux.Handle("GET /dashboards", u.page(auth.MetricsRead, u.dashboards))
	mux.Handle("GET /dashboards/instances/{name}", u.page(auth.MetricsRead, u.instanceDashboard))
	mux.Handle("GET /dashboards/instances/{name}/charts/{chart}", u.page(auth.MetricsRead, u.instanceChart))

	mux.Handle("GET /proxy", u.page(auth.InventoryRead, u.proxyList))

	mux.Handle("GET /health", u.page(auth.MetricsRead, u.healthList))
	mux.Handle("GET /health/{name}", u.page(auth.MetricsRead, u.healthInstance))

	mux.Handle("/", u.page("", u.notFound))

	// Defence in depth on top of the CSRF tokens: refuse cross-origin
	// browser POSTs outright (Sec-Fetch-Site / Origin).
	return http.NewCrossOriginProtection().Handler(mux)
}

// handler is a page or action body. A returned error is shown as an error
// page with the status httpx.Status maps it to.
type handler func(w http.ResponseWriter, r *http.Request, rq *request) error

// request is what every authenticated handler knows of its caller.
type request struct {
	p    auth.Principal
	csrf string // the CSRF token forms of this session carry
}

// page serves a GET page to a logged-in user with permission perm ("" for
// any logged-in user). Anonymous callers are sent to the login page (or get
// 401 for fragments fetched by script).
func (u *site) page(perm auth.Permission, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq, ok := u.session(w, r)
		if !ok {
			return
		}
		if perm != "" {
			if err := rq.p.Require(perm); err != nil {
				u.fail(w, r, rq, err)
				return
			}
		}
		if err := h(w, r, rq); err != nil {
			u.fail(w, r, rq, err)
		}
	})
}

// action serves a POST that changes something: it needs a session, a valid
// CSRF token and permission perm, and runs with the user as audit actor.
func (u *site) action(perm auth.Permission, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, httpx.MaxBody)
		rq, ok := u.session(w, r)
		if !ok {
			return
		}
		if !validCSRF(rq.csrf, r.PostFormValue(csrfField)) {
			u.log.Warn("refused a POST without a valid CSRF token", "path", r.URL.Path, "user", rq.p.User, "addr", httpx.ClientAddr(r))
			u.fail(w, r, rq, errkind.New(errkind.Forbidden, "the form's security token is missing or stale; reload the page and try again"))
			return
		}
		if perm != "" {
			if err := rq.p.Require(perm); err != nil {
				u.fail(w, r, rq, err)
				return
			}
		}
		ctx := audit.WithActor(r.Context(), audit.Actor{User: rq.p.User, Addr: httpx.ClientAddr(r)})
		if err := h(w, r.WithContext(ctx), rq); err != nil {
			u.fail(w, r, rq, err)
		}
	})
}

func (u *site) notFound(w http.ResponseWriter, r *http.Request, rq *request) error {
	return errkind.New(errkind.NotFound, "no page at %s", r.URL.Path)
}
