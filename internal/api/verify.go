package api

import (
	"net/http"
	"strconv"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/verify"
)

// Replica consistency checks: every replica of a cluster compared with its
// primary at the same GTID, chunk by chunk, then row by row.

// VerifyRequest is the body of POST /api/v1/verify.
type VerifyRequest struct {
	Cluster string         `json:"cluster"`
	Options verify.Options `json:"options"`
}

func (s *Server) verifyRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/verify", tag: "verify",
			summary: "Check a cluster's replicas against its primary (options: database, table, chunk_size, repair primary|replica, max_lag, max_threads_running); runs in the background",
			perm:    auth.VerifyRun, in: VerifyRequest{}, out: verify.Run{}, status: http.StatusCreated,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.verifySvc()
				if err != nil {
					return nil, err
				}
				var in VerifyRequest
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				if in.Cluster == "" {
					return nil, errkind.New(errkind.Invalid, "cluster is required")
				}
				return svc.Start(r.Context(), verify.Request{Cluster: in.Cluster, Options: in.Options, RequestedBy: p.User})
			}},
		{method: "GET", path: "/api/v1/verify", tag: "verify", summary: "List consistency checks, newest first, with their progress",
			perm: auth.VerifyRead, query: []string{"cluster", "limit"}, out: []verify.Run{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.verifySvc()
				if err != nil {
					return nil, err
				}
				f := verify.Filter{Cluster: r.URL.Query().Get("cluster")}
				if l := r.URL.Query().Get("limit"); l != "" {
					if f.Limit, err = strconv.Atoi(l); err != nil || f.Limit < 1 {
						return nil, errkind.New(errkind.Invalid, "limit %q: want a positive number", l)
					}
				}
				return svc.List(r.Context(), f)
			}},
		{method: "GET", path: "/api/v1/verify/{id}", tag: "verify",
			summary: "Show a consistency check: progress, each table, each differing chunk and each differing row by primary key, what was repaired and the re-check",
			perm:    auth.VerifyRead, out: verify.Run{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.verifySvc()
				if err != nil {
					return nil, err
				}
				id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
				if err != nil {
					return nil, errkind.New(errkind.Invalid, "verify run id %q: want a number", r.PathValue("id"))
				}
				return svc.Get(r.Context(), id)
			}},
	}
}

func (s *Server) verifySvc() (*verify.Service, error) {
	if s.Verify == nil {
		return nil, errkind.New(errkind.Unavailable, "consistency checks are not enabled on this server")
	}
	return s.Verify, nil
}
