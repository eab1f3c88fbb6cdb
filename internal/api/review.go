package api

import (
	"net/http"
	"strings"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
)

// ReviewRequest is the body of POST /api/v1/review.
type ReviewRequest struct {
	// SQL is the script to review.
	SQL string `json:"sql"`
	// Engine: mariadb, mysql or postgres; defaults to the instance's.
	Engine string `json:"engine,omitempty"`
	// Instance, when set, enables live-schema checks against it.
	Instance string `json:"instance,omitempty"`
	// Database is the default database (PostgreSQL: schema) for names.
	Database string `json:"database,omitempty"`
	// Env and Cluster select the rule set; they default to the instance's.
	Env     string `json:"env,omitempty"`
	Cluster string `json:"cluster,omitempty"`
	// Kind is the ticket kind: ddl, dml or empty.
	Kind string `json:"kind,omitempty"`
	// Source names the script in the report (a file name).
	Source string `json:"source,omitempty"`
}

// reviewRoutes are SQL review: a script against the rules (and an
// instance's live schema), and the effective rules.
func (s *Server) reviewRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/review", tag: "review",
			summary: "Review a SQL script against the rules of its environment and cluster; with an instance, also against its live schema (catalog reads and EXPLAIN only)",
			perm:    auth.SQLReview, in: ReviewRequest{}, out: sqlreview.Report{}, handle: s.review},
		{method: "GET", path: "/api/v1/review/rules", tag: "review", summary: "The review rules with their effective levels and parameters for an environment and cluster",
			perm: auth.SQLReview, query: []string{"env", "cluster"}, out: []sqlreview.RuleInfo{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				if s.Reviewer == nil {
					return nil, errkind.New(errkind.Unavailable, "SQL review is not configured on this server")
				}
				q := r.URL.Query()
				return s.Reviewer.Rules(q.Get("env"), q.Get("cluster")), nil
			}},
	}
}

func (s *Server) review(r *http.Request, p auth.Principal) (any, error) {
	if s.Reviewer == nil {
		return nil, errkind.New(errkind.Unavailable, "SQL review is not configured on this server")
	}
	var in ReviewRequest
	if err := httpx.ReadJSON(r, &in); err != nil {
		return nil, err
	}
	ctx := r.Context()
	req := sqlreview.Request{Engine: in.Engine, SQL: in.SQL, SourceName: in.Source, Env: in.Env, Cluster: in.Cluster,
		Kind: in.Kind, Database: in.Database}
	if in.Instance != "" {
		inst, err := s.Inventory.GetInstance(ctx, in.Instance)
		if err != nil {
			return nil, err
		}
		if req.Engine == "" {
			req.Engine = string(inst.Engine)
		} else if sqlFamily(req.Engine) != sqlFamily(string(inst.Engine)) {
			return nil, errkind.New(errkind.Invalid, "instance %q runs %s, not %s", inst.Name, inst.Engine, req.Engine)
		}
		if req.Cluster == "" {
			req.Cluster = inst.Cluster
		}
		if req.Env == "" {
			req.Env = inst.Env
		}
		conn, err := s.Inventory.Connect(ctx, inst.Name, in.Database)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		req.Conn = conn
	}
	if req.Engine == "" {
		return nil, errkind.New(errkind.Invalid, "engine is required without an instance: mariadb, mysql or postgres")
	}
	rep, err := s.Reviewer.Review(ctx, req)
	if err != nil {
		return nil, err
	}
	rep.Instance = in.Instance
	return rep, nil
}

// sqlFamily groups engines that share a SQL dialect.
func sqlFamily(eng string) string {
	switch strings.ToLower(eng) {
	case "mariadb", "mysql", "tidb":
		return "mysql"
	}
	return strings.ToLower(eng)
}
