package api

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/query"
)

// The query console's routes live under /api/v1/console (/api/v1/query is
// the Prometheus query API's).

func (s *Server) queryRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/console/run", tag: "query", summary: "Run one read-only statement (or Redis command) within your grants; results are limited and masked, and the run is audited",
			perm: auth.QueryRun, in: query.Request{}, out: query.Result{}, handle: s.runQuery},
		{method: "POST", path: "/api/v1/console/csv", tag: "query", summary: "Run like /api/v1/console/run and download the result as CSV (text/csv)",
			perm: auth.QueryRun, in: query.Request{}, out: "", raw: s.queryCSV},
		{method: "GET", path: "/api/v1/console/instances", tag: "query", summary: "Instances you may query, with what your grants cover",
			perm: auth.QueryRun, out: []query.QueryInstance{},
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				return svc.Instances(r.Context(), p)
			})},
		{method: "GET", path: "/api/v1/console/schema/{instance}", tag: "query", summary: "Schema browser: the databases of an instance you are granted",
			perm: auth.QueryRun, out: []string{},
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				return svc.Databases(r.Context(), p, r.PathValue("instance"))
			})},
		{method: "GET", path: "/api/v1/console/schema/{instance}/{database}", tag: "query", summary: "Schema browser: the tables of a database you are granted",
			perm: auth.QueryRun, out: []query.SchemaTable{},
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				return svc.Tables(r.Context(), p, r.PathValue("instance"), r.PathValue("database"))
			})},
		{method: "GET", path: "/api/v1/console/schema/{instance}/{database}/{table}", tag: "query", summary: "Schema browser: the columns of a table you are granted, with the mask you would see",
			perm: auth.QueryRun, out: []query.SchemaColumn{},
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				return svc.Columns(r.Context(), p, r.PathValue("instance"), r.PathValue("database"), r.PathValue("table"))
			})},

		{method: "GET", path: "/api/v1/console/grants", tag: "query", summary: "Query grants: yours, or anyone's (?user=) with query.grant; ?all=true includes expired ones",
			perm: auth.QueryRun, query: []string{"user", "instance", "all"}, out: []query.Grant{},
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				q := r.URL.Query()
				return svc.ListGrants(r.Context(), p, query.GrantFilter{User: q.Get("user"), Instance: q.Get("instance"), All: q.Get("all") == "true"})
			})},
		{method: "POST", path: "/api/v1/console/grants", tag: "query", summary: "Grant a user or a role query access to an instance, a database or a table, optionally until an expiry (granting the same scope again renews it)",
			perm: auth.QueryGrant, in: query.NewGrant{}, out: query.Grant{}, status: http.StatusCreated,
			handle: withBody(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service, in query.NewGrant) (any, error) {
				return svc.AddGrant(r.Context(), p, in)
			})},
		{method: "DELETE", path: "/api/v1/console/grants/{id}", tag: "query", summary: "Revoke a query grant",
			perm: auth.QueryGrant,
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				id, err := queryPathID(r, "id")
				if err != nil {
					return nil, err
				}
				return nil, svc.RevokeGrant(r.Context(), p, id)
			})},

		{method: "GET", path: "/api/v1/console/masks", tag: "query", summary: "Masking rules",
			perm: auth.QueryRun, out: []query.MaskRule{},
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				return svc.ListMasks(r.Context())
			})},
		{method: "POST", path: "/api/v1/console/masks", tag: "query", summary: "Add a masking rule (column globs, or an explicit database.table.column; kinds phone, email, id_card, bank_card, full, custom)",
			perm: auth.QueryGrant, in: query.MaskRule{}, out: query.MaskRule{}, status: http.StatusCreated,
			handle: withBody(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service, in query.MaskRule) (any, error) {
				return svc.AddMask(r.Context(), p, in)
			})},
		{method: "DELETE", path: "/api/v1/console/masks/{id}", tag: "query", summary: "Remove a masking rule",
			perm: auth.QueryGrant,
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				id, err := queryPathID(r, "id")
				if err != nil {
					return nil, err
				}
				return nil, svc.RemoveMask(r.Context(), p, id)
			})},

		{method: "GET", path: "/api/v1/console/credentials", tag: "query", summary: "Instances with a read-only query account of their own (passwords are never returned)",
			perm: auth.QueryGrant, out: []query.Credential{},
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				return svc.ListCredentials(r.Context())
			})},
		{method: "PUT", path: "/api/v1/console/credentials/{instance}", tag: "query", summary: "Set the read-only account the console uses on an instance (checked by logging in; stored encrypted)",
			perm: auth.QueryGrant, in: query.NewCredential{}, out: query.Credential{},
			handle: withBody(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service, in query.NewCredential) (any, error) {
				return svc.SetCredential(r.Context(), p, r.PathValue("instance"), in)
			})},
		{method: "DELETE", path: "/api/v1/console/credentials/{instance}", tag: "query", summary: "Remove an instance's DBA-set query account (its managed reader is used again)",
			perm: auth.QueryGrant,
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				return nil, svc.RemoveCredential(r.Context(), p, r.PathValue("instance"))
			})},

		{method: "GET", path: "/api/v1/console/readers", tag: "query", summary: "Managed reader accounts, two per instance (kind grants: what the query grants name; kind all: every non-system database, for DBAs): where each lives, which instances use it, what it may read, when it was synchronised and rotated (never a password)",
			perm: auth.QueryGrant, out: []query.Reader{},
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				return svc.ListReaders(r.Context(), p)
			})},
		{method: "GET", path: "/api/v1/console/readers/{instance}", tag: "query", summary: "The reader accounts queries on an instance log in as (the grant reader, then the read-all reader), each with what the server reports of it now (ok, missing, too powerful)",
			perm: auth.QueryGrant, out: []query.Reader{},
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				return svc.ShowReader(r.Context(), p, r.PathValue("instance"))
			})},
		{method: "POST", path: "/api/v1/console/readers/{instance}/sync", tag: "query", summary: "Create the instance's reader accounts if missing and give each exactly what it needs now (the grant reader what the query grants name, the read-all reader every non-system database)",
			perm: auth.QueryGrant, out: []query.Reader{},
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				return svc.SyncReader(r.Context(), p, r.PathValue("instance"))
			})},
		{method: "POST", path: "/api/v1/console/readers/{instance}/rotate", tag: "query", summary: "Give the instance's reader accounts new passwords (sessions already open go on)",
			perm: auth.QueryGrant, out: []query.Reader{},
			handle: withSvc(s.querySvc, func(r *http.Request, p auth.Principal, svc *query.Service) (any, error) {
				return svc.RotateReader(r.Context(), p, r.PathValue("instance"))
			})},
	}
}

func (s *Server) querySvc() (*query.Service, error) {
	if s.Query == nil {
		return nil, errkind.New(errkind.Unavailable, "the query console is not available on this server")
	}
	return s.Query, nil
}

func queryPathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id < 1 {
		return 0, errkind.New(errkind.Invalid, "invalid %s %q: want a positive integer", name, r.PathValue(name))
	}
	return id, nil
}

func (s *Server) runQuery(r *http.Request, p auth.Principal) (any, error) {
	svc, err := s.querySvc()
	if err != nil {
		return nil, err
	}
	var in query.Request
	if err := httpx.ReadJSON(r, &in); err != nil {
		return nil, err
	}
	return svc.Run(r.Context(), p, in)
}

func (s *Server) queryCSV(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	res, err := s.runQuery(r, p)
	if err != nil {
		httpx.WriteError(w, r, s.Log, err)
		return
	}
	var buf bytes.Buffer
	if err := res.(*query.Result).WriteCSV(&buf); err != nil {
		httpx.WriteError(w, r, s.Log, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="query.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}
