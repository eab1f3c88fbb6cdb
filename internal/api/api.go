// Package api is dbfleet's JSON HTTP API under /api/v1. Every route is
// declared once in the route table (routes.go) with the permission it needs
// and its request and response types; the same table serves requests and
// generates the OpenAPI document, so the two cannot drift apart.
//
// Callers authenticate with "Authorization: Bearer TOKEN" (a token from
// POST /api/v1/login or an API token). The API does not accept the web UI's
// session cookie, so it needs no CSRF protection.
package api

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/health"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/metrics"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/proxy"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/reports"
	"github.com/dbfleet/dbfleet/internal/slowlog"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
	"github.com/dbfleet/dbfleet/internal/verify"
)

// Server serves the API.
type Server struct {
	Auth      *auth.Service
	Inventory *inventory.Service
	Audit     *audit.Log
	Engines   *engine.Registry
	Log       *slog.Logger
	Version   string
	// Metrics and Scraper serve the Prometheus query API; nil answers 503.
	Metrics *metrics.Store
	Scraper *metrics.Scraper
	// Health serves the health score; nil answers 503.
	Health *health.Service
	// HA serves topology, failover and switchover; nil answers 503.
	HA *ha.Service
	// Query serves the query console; nil answers 503.
	Query *query.Service
	// Flows serves work-order flows and tickets.
	Flows *flows.Service
	// Reviewer serves SQL review; nil answers 503.
	Reviewer *sqlreview.Reviewer
	// Executor runs SQL scripts with rollback; nil answers 503.
	Executor *executor.Service
	// Slowlog serves slow-query digests; nil answers 503.
	Slowlog *slowlog.Service
	// Verify runs replica consistency checks; nil answers 503.
	Verify *verify.Service
	// Alerts serves alerts, silences and on-call; nil answers 503.
	Alerts *alerts.Service
	// Proxy serves the read/write-splitting proxy's listeners; nil
	// answers 503.
	Proxy *proxy.Service
	// Reports serves XML-declared reports; nil answers 503.
	Reports *reports.Service
}

// route is one API operation.
type route struct {
	method, path string
	summary      string
	tag          string
	// perm is required of the caller; "" means any authenticated caller.
	perm auth.Permission
	// public routes need no authentication.
	public bool
	// in and out are zero values of the request and response types (nil
	// when there is no body); query lists query parameters.
	in, out any
	query   []string
	status  int
	handle  func(r *http.Request, p auth.Principal) (any, error)
	// raw, when set, writes the response itself instead of handle (for
	// wire formats that are not dbfleet's, such as the Prometheus API's
	// envelope); authentication and perm still apply, and out documents
	// the body in OpenAPI.
	raw func(w http.ResponseWriter, r *http.Request, p auth.Principal)
}

// withSvc is the handle of a route served by a domain service that may be
// absent on this server: get answers the service or its Unavailable error,
// then fn runs with it.
func withSvc[S any](get func() (S, error), fn func(r *http.Request, p auth.Principal, svc S) (any, error)) func(*http.Request, auth.Principal) (any, error) {
	return func(r *http.Request, p auth.Principal) (any, error) {
		svc, err := get()
		if err != nil {
			return nil, err
		}
		return fn(r, p, svc)
	}
}

// withBody is withSvc for a route with a JSON body: once the service is
// there, the body is decoded into an In (httpx.ReadJSON) and handed to fn.
func withBody[S, In any](get func() (S, error), fn func(r *http.Request, p auth.Principal, svc S, in In) (any, error)) func(*http.Request, auth.Principal) (any, error) {
	return withSvc(get, func(r *http.Request, p auth.Principal, svc S) (any, error) {
		var in In
		if err := httpx.ReadJSON(r, &in); err != nil {
			return nil, err
		}
		return fn(r, p, svc, in)
	})
}

// Handler returns the API's routes on a mux, to be mounted at /.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, r, s.Log, http.StatusOK, s.OpenAPI())
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteError(w, r, s.Log, errkind.New(errkind.NotFound, "no API route %s %s (see /api/v1/openapi.json)", r.Method, r.URL.Path))
	})
	return mux
}

func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p auth.Principal
		if !rt.public {
			var err error
			p, err = s.authenticate(r)
			if err != nil {
				httpx.WriteError(w, r, s.Log, err)
				return
			}
			if rt.perm != "" {
				if err := p.Require(rt.perm); err != nil {
					httpx.WriteError(w, r, s.Log, err)
					return
				}
			}
		}
		ctx := audit.WithActor(r.Context(), audit.Actor{User: p.User, Addr: httpx.ClientAddr(r)})
		if rt.raw != nil {
			rt.raw(w, r.WithContext(ctx), p)
			return
		}
		out, err := rt.handle(r.WithContext(ctx), p)
		if err != nil {
			httpx.WriteError(w, r, s.Log, err)
			return
		}
		status := rt.status
		if status == 0 {
			status = http.StatusOK
		}
		if out == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		httpx.WriteJSON(w, r, s.Log, status, out)
	})
}

func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	h := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || raw == "" {
		return auth.Principal{}, errkind.New(errkind.Unauthorized, "authentication required: send Authorization: Bearer TOKEN (get one with dbfleet login)")
	}
	return s.Auth.Authenticate(r.Context(), strings.TrimSpace(raw))
}
