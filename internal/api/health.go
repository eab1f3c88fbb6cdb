package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/health"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// healthRoutes are the health score: the fleet's latest scores, one
// instance's score with its deductions and metric bands, and the
// effective rules.
func (s *Server) healthRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/health", tag: "health", summary: "Latest health score of every instance (window now or daily)", perm: auth.MetricsRead,
			query: []string{"window"}, out: []health.InstanceScore{},
			handle: withSvc(s.healthService, func(r *http.Request, p auth.Principal, svc *health.Service) (any, error) {
				w, err := health.ParseWindow(r.URL.Query().Get("window"))
				if err != nil {
					return nil, errkind.Wrap(errkind.Invalid, err)
				}
				return svc.List(r.Context(), w)
			})},
		{method: "GET", path: "/api/v1/instances/{name}/health", tag: "health",
			summary: "An instance's health score with its deductions (causes), score history and key metrics against their forecast bands",
			perm:    auth.MetricsRead, query: []string{"window", "hours"}, out: health.Report{},
			handle: withSvc(s.healthService, func(r *http.Request, p auth.Principal, svc *health.Service) (any, error) {
				q := r.URL.Query()
				w, err := health.ParseWindow(q.Get("window"))
				if err != nil {
					return nil, errkind.Wrap(errkind.Invalid, err)
				}
				hours := 6
				if v := q.Get("hours"); v != "" {
					if hours, err = strconv.Atoi(v); err != nil || hours < 0 || hours > 24*14 {
						return nil, errkind.New(errkind.Invalid, "hours %q: want 0 to 336", v)
					}
				}
				return svc.Report(r.Context(), r.PathValue("name"), w, time.Duration(hours)*time.Hour)
			})},
		{method: "GET", path: "/api/v1/health/rules", tag: "health", summary: "The effective health rules (built-in, the rules file, and a cluster's overrides with ?cluster=)",
			perm: auth.MetricsRead, query: []string{"cluster"}, out: []health.Rule{},
			handle: withSvc(s.healthService, func(r *http.Request, p auth.Principal, svc *health.Service) (any, error) {
				return svc.Rules().AllRules(r.URL.Query().Get("cluster")), nil
			})},
	}
}

func (s *Server) healthService() (*health.Service, error) {
	if s.Health == nil {
		return nil, errkind.New(errkind.Unavailable, "the health score is not running on this server (no metric store)")
	}
	return s.Health, nil
}
