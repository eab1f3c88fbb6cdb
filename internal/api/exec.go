package api

import (
	"net/http"
	"strconv"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// ExecRequest is the body of POST /api/v1/executions.
type ExecRequest struct {
	Instance string           `json:"instance"`
	Database string           `json:"database,omitempty"`
	SQL      string           `json:"sql"`
	Engine   engine.Kind      `json:"engine,omitempty"`
	Options  executor.Options `json:"options"`
	// Ref is an idempotency key (docs/executor.md); ticket:* is refused.
	Ref string `json:"ref,omitempty"`
}

// ExecResume is the body of POST /api/v1/executions/{id}/resume.
type ExecResume struct {
	// InDoubt decides an in-doubt statement: "done" (it committed) or
	// "rerun" (it did not); empty for a failed or cancelled execution.
	InDoubt executor.InDoubt `json:"in_doubt,omitempty"`
}

func (s *Server) execRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/executions", tag: "executions", summary: "Run a SQL script on an instance, statement by statement, with rollback (dry_run: plan only); runs in the background",
			perm: auth.SQLExecute, in: ExecRequest{}, out: executor.Execution{}, status: http.StatusCreated, handle: s.startExecution},
		{method: "GET", path: "/api/v1/executions", tag: "executions", summary: "List executions, newest first (yours only without sql.execute)",
			query: []string{"instance", "state", "ref", "requested_by", "limit"}, out: []executor.Execution{}, handle: s.listExecutions},
		{method: "GET", path: "/api/v1/executions/{id}", tag: "executions", summary: "Show an execution with its statements, their outcome, timing and rollback (sql.execute or its requester)",
			out: executor.Execution{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, id, err := s.execID(r)
				if err != nil {
					return nil, err
				}
				return svc.Get(r.Context(), p, id)
			}},
		{method: "GET", path: "/api/v1/executions/{id}/rollback", tag: "executions", summary: "The SQL that undoes an execution's committed changes, newest first (sql.execute or its requester)",
			out: executor.RollbackScript{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, id, err := s.execID(r)
				if err != nil {
					return nil, err
				}
				return svc.RollbackScript(r.Context(), p, id)
			}},
		{method: "POST", path: "/api/v1/executions/{id}/rollback", tag: "executions", summary: "Run an execution's rollback script as a new execution (dry_run in options to plan it)",
			perm: auth.SQLExecute, in: executor.RollbackRequest{}, out: executor.Execution{}, status: http.StatusCreated,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, id, err := s.execID(r)
				if err != nil {
					return nil, err
				}
				var in executor.RollbackRequest
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				in.RequestedBy = p.User
				rid, err := svc.Rollback(r.Context(), id, in)
				if err != nil {
					return nil, err
				}
				return svc.Get(r.Context(), p, rid)
			}},
		{method: "POST", path: "/api/v1/executions/{id}/cancel", tag: "executions", summary: "Cancel an execution: a queued one at once, a running one at its next statement or chunk",
			perm: auth.SQLExecute, out: executor.Execution{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, id, err := s.execID(r)
				if err != nil {
					return nil, err
				}
				if err := svc.Cancel(r.Context(), id); err != nil {
					return nil, err
				}
				return svc.Get(r.Context(), p, id)
			}},
		{method: "POST", path: "/api/v1/executions/{id}/resume", tag: "executions", summary: "Resume a failed, cancelled or in-doubt execution after its last completed statement or chunk",
			perm: auth.SQLExecute, in: ExecResume{}, out: executor.Execution{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, id, err := s.execID(r)
				if err != nil {
					return nil, err
				}
				var in ExecResume
				if r.ContentLength != 0 {
					if err := httpx.ReadJSON(r, &in); err != nil {
						return nil, err
					}
				}
				if err := svc.Resume(r.Context(), id, in.InDoubt); err != nil {
					return nil, err
				}
				return svc.Get(r.Context(), p, id)
			}},
	}
}

func (s *Server) execSvc() (*executor.Service, error) {
	if s.Executor == nil {
		return nil, errkind.New(errkind.Unavailable, "SQL execution is not available on this server")
	}
	return s.Executor, nil
}

func (s *Server) execID(r *http.Request) (*executor.Service, executor.ID, error) {
	svc, err := s.execSvc()
	if err != nil {
		return nil, 0, err
	}
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n < 1 {
		return nil, 0, errkind.New(errkind.Invalid, "invalid execution id %q", r.PathValue("id"))
	}
	return svc, executor.ID(n), nil
}

func (s *Server) startExecution(r *http.Request, p auth.Principal) (any, error) {
	svc, err := s.execSvc()
	if err != nil {
		return nil, err
	}
	var in ExecRequest
	if err := httpx.ReadJSON(r, &in); err != nil {
		return nil, err
	}
	id, err := svc.Start(r.Context(), executor.Request{Instance: in.Instance, Database: in.Database, SQL: in.SQL, Engine: in.Engine,
		Options: in.Options, RequestedBy: p.User, Ref: in.Ref})
	if err != nil {
		return nil, err
	}
	return svc.Get(r.Context(), p, id)
}

func (s *Server) listExecutions(r *http.Request, p auth.Principal) (any, error) {
	svc, err := s.execSvc()
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	f := executor.Filter{Instance: q.Get("instance"), State: q.Get("state"), Ref: q.Get("ref"), RequestedBy: q.Get("requested_by")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, errkind.New(errkind.Invalid, "invalid limit %q: want a positive integer", v)
		}
		f.Limit = n
	}
	return svc.List(r.Context(), p, f)
}
