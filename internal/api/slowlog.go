package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/slowlog"
)

// Slow-query digests: per-class aggregates of an instance's slow queries,
// from uploaded slow logs or collected from the server itself.

func (s *Server) slowlogRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/slowlog", tag: "slowlog", summary: "Every instance with how many slow-query classes are known and how its collection stands",
			perm: auth.SlowlogRead, out: []slowlog.InstanceSummary{},
			handle: withSvc(s.slowlogSvc, func(r *http.Request, p auth.Principal, svc *slowlog.Service) (any, error) {
				return svc.Summaries(r.Context())
			})},
		{method: "POST", path: "/api/v1/instances/{name}/slowlog", tag: "slowlog",
			summary: "Upload a MariaDB/MySQL slow log of the instance (the raw file, plain or gzip, as the request body, streamed); it is digested into per-class hourly aggregates",
			perm:    auth.SlowlogWrite, out: slowlog.UploadResult{}, status: http.StatusCreated,
			handle: withSvc(s.slowlogSvc, func(r *http.Request, p auth.Principal, svc *slowlog.Service) (any, error) {
				return svc.Upload(r.Context(), r.PathValue("name"), r.Body)
			})},
		{method: "POST", path: "/api/v1/instances/{name}/slowlog/collect", tag: "slowlog",
			summary: "Collect new slow queries from the instance's server now (mysql.slow_log, performance_schema, pg_stat_statements or SLOWLOG) and report each source's status",
			perm:    auth.SlowlogWrite, out: []slowlog.SourceStatus{},
			handle: withSvc(s.slowlogSvc, func(r *http.Request, p auth.Principal, svc *slowlog.Service) (any, error) {
				return svc.Collect(r.Context(), r.PathValue("name"))
			})},
		{method: "GET", path: "/api/v1/instances/{name}/slowlog/sources", tag: "slowlog", summary: "Where each way of collecting the instance's slow queries stands",
			perm: auth.SlowlogRead, out: []slowlog.SourceStatus{},
			handle: withSvc(s.slowlogSvc, func(r *http.Request, p auth.Principal, svc *slowlog.Service) (any, error) {
				return svc.Sources(r.Context(), r.PathValue("name"))
			})},
		{method: "GET", path: "/api/v1/instances/{name}/slowlog/top", tag: "slowlog",
			summary: "The instance's top slow-query classes over a time range (since/until: a duration ago, a date or RFC 3339; default the last 24h), ranked by order_by sum|count|max|p95",
			perm:    auth.SlowlogRead, query: []string{"since", "until", "order_by", "limit"}, out: slowlog.TopResult{},
			handle: withSvc(s.slowlogSvc, func(r *http.Request, p auth.Principal, svc *slowlog.Service) (any, error) {
				f, err := slowlogFilter(r)
				if err != nil {
					return nil, err
				}
				return svc.Top(r.Context(), p, r.PathValue("name"), f)
			})},
		{method: "GET", path: "/api/v1/instances/{name}/slowlog/classes/{id}", tag: "slowlog",
			summary: "One class over a time range: totals, trend per hour, Query_time distribution, the worst example as the caller may see it (example_access: full with a query grant on the instance and no masking rule, normalized with every literal hidden under masking rules, none without a grant) and whether it can be explained",
			perm:    auth.SlowlogRead, query: []string{"since", "until"}, out: slowlog.ClassDetail{},
			handle: withSvc(s.slowlogSvc, func(r *http.Request, p auth.Principal, svc *slowlog.Service) (any, error) {
				f, err := slowlogFilter(r)
				if err != nil {
					return nil, err
				}
				return svc.Class(r.Context(), p, r.PathValue("name"), r.PathValue("id"), f)
			})},
		{method: "POST", path: "/api/v1/instances/{name}/slowlog/classes/{id}/explain", tag: "slowlog",
			summary: "Run EXPLAIN of the class's example through the query console, as the caller: the console's checks, grants, masking, statement timeout and account apply, and it audits the run (403 with the console's rule without a query grant on the instance; refused under masking rules)",
			perm:    auth.SlowlogRead, out: slowlog.ExplainResult{},
			handle: withSvc(s.slowlogSvc, func(r *http.Request, p auth.Principal, svc *slowlog.Service) (any, error) {
				return svc.Explain(r.Context(), p, r.PathValue("name"), r.PathValue("id"))
			})},
	}
}

func (s *Server) slowlogSvc() (*slowlog.Service, error) {
	if s.Slowlog == nil {
		return nil, errkind.New(errkind.Unavailable, "slow-query digests are not enabled on this server")
	}
	return s.Slowlog, nil
}

// slowlogFilter reads since, until, order_by and limit.
func slowlogFilter(r *http.Request) (slowlog.Filter, error) {
	q := r.URL.Query()
	var f slowlog.Filter
	now := time.Now()
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := parseSince(v, now)
			if err != nil {
				return f, errkind.New(errkind.Invalid, "invalid %s %q: want a duration ago (24h), a date (2026-01-31) or an RFC 3339 time", p.name, v)
			}
			*p.t = t
		}
	}
	order, ok := slowlog.ParseOrderBy(q.Get("order_by"))
	if !ok {
		return f, errkind.New(errkind.Invalid, "invalid order_by %q: want sum, count, max or p95", q.Get("order_by"))
	}
	f.OrderBy = order
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return f, errkind.New(errkind.Invalid, "invalid limit %q: want 1 to 10000", v)
		}
		f.Limit = n
	}
	return f, nil
}
