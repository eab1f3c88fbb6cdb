package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// SwitchoverRequest is the body of POST /api/v1/clusters/{name}/switchover.
type SwitchoverRequest struct {
	// To names the replica to promote; empty lets dbfleet choose.
	To string `json:"to,omitempty"`
}

// AckRequest is the body of POST /api/v1/recoveries/{id}/ack.
type AckRequest struct {
	Comment string `json:"comment,omitempty"`
}

// PromotionRequest is the body of PUT /api/v1/instances/{name}/promotion.
type PromotionRequest struct {
	Rule ha.Rule `json:"rule"`
}

// haRoutes are high availability: settings, live topology and diagnosis,
// failover, switchover, recoveries. Failover and switchover answer 200 with
// the recovery record whatever its outcome (see its state); an error
// status means no recovery was started.
func (s *Server) haRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/clusters/{name}/ha", tag: "ha", summary: "A cluster's HA settings (mode, maximum candidate lag, anti-flap period, hooks)",
			perm: auth.HARead, out: ha.Settings{},
			handle: withSvc(s.haService, func(r *http.Request, p auth.Principal, svc *ha.Service) (any, error) {
				return svc.Settings(r.Context(), r.PathValue("name"))
			})},
		{method: "PATCH", path: "/api/v1/clusters/{name}/ha", tag: "ha", summary: "Change a cluster's HA settings",
			perm: auth.HAManage, in: ha.SettingsPatch{}, out: ha.Settings{},
			handle: withBody(s.haService, func(r *http.Request, p auth.Principal, svc *ha.Service, in ha.SettingsPatch) (any, error) {
				return svc.SetSettings(r.Context(), r.PathValue("name"), in)
			})},
		{method: "GET", path: "/api/v1/clusters/{name}/topology", tag: "ha",
			summary: "Probe every instance of a cluster now: the replication tree, the diagnoses with their evidence, and what the HA controller would do",
			perm:    auth.HARead, out: ha.Status{},
			handle: withSvc(s.haService, func(r *http.Request, p auth.Principal, svc *ha.Service) (any, error) {
				return svc.Status(r.Context(), r.PathValue("name"))
			})},
		{method: "POST", path: "/api/v1/clusters/{name}/switchover", tag: "ha",
			summary: "Planned, lossless change of primary: stop writes on the old primary, let the target catch up, promote it, repoint the others and the old primary",
			perm:    auth.HAManage, in: SwitchoverRequest{}, out: ha.Recovery{},
			handle: withBody(s.haService, func(r *http.Request, p auth.Principal, svc *ha.Service, in SwitchoverRequest) (any, error) {
				if s.Alerts != nil {
					name := r.PathValue("name")
					s.Alerts.Maintenance(r.Context(), p.User, "switchover:"+name, []string{fmt.Sprintf("cluster=%q", name)}, alerts.SwitchoverSilence,
						"planned switchover of "+name)
				}
				return recoveryAnswer(svc.Switchover(r.Context(), r.PathValue("name"), in.To))
			})},
		{method: "POST", path: "/api/v1/clusters/{name}/failover", tag: "ha",
			summary: "Fail over a dead primary now (force: also a primary not confirmed dead)",
			perm:    auth.HAManage, in: ha.FailoverOptions{}, out: ha.Recovery{},
			handle: withBody(s.haService, func(r *http.Request, p auth.Principal, svc *ha.Service, in ha.FailoverOptions) (any, error) {
				return recoveryAnswer(svc.Failover(r.Context(), r.PathValue("name"), in))
			})},
		{method: "POST", path: "/api/v1/instances/{name}/attach", tag: "ha",
			summary: "Make an instance (a fenced old primary) a replica of its cluster's primary: refused with the transactions it holds that the primary lacks",
			perm:    auth.HAManage, out: ha.AttachResult{},
			handle: withSvc(s.haService, func(r *http.Request, p auth.Principal, svc *ha.Service) (any, error) {
				return svc.Attach(r.Context(), r.PathValue("name"))
			})},
		{method: "GET", path: "/api/v1/clusters/{name}/recoveries", tag: "ha", summary: "A cluster's failovers and switchovers, newest first",
			perm: auth.HARead, query: []string{"limit"}, out: []ha.Recovery{},
			handle: withSvc(s.haService, func(r *http.Request, p auth.Principal, svc *ha.Service) (any, error) {
				limit := 50
				if v := r.URL.Query().Get("limit"); v != "" {
					n, err := strconv.Atoi(v)
					if err != nil || n < 1 || n > 1000 {
						return nil, errkind.New(errkind.Invalid, "invalid limit %q: want 1 to 1000", v)
					}
					limit = n
				}
				return svc.Recoveries(r.Context(), r.PathValue("name"), limit)
			})},
		{method: "GET", path: "/api/v1/recoveries/{id}", tag: "ha", summary: "One recovery with every step, its timing, and the next steps",
			perm: auth.HARead, out: ha.Recovery{},
			handle: withSvc(s.haService, func(r *http.Request, p auth.Principal, svc *ha.Service) (any, error) {
				id, err := recoveryID(r)
				if err != nil {
					return nil, err
				}
				return svc.Recovery(r.Context(), id)
			})},
		{method: "POST", path: "/api/v1/recoveries/{id}/ack", tag: "ha",
			summary: "Acknowledge a recovery: it no longer blocks the next automatic failover of its cluster",
			perm:    auth.HAManage, in: AckRequest{}, out: ha.Recovery{},
			handle: withSvc(s.haService, func(r *http.Request, p auth.Principal, svc *ha.Service) (any, error) {
				id, err := recoveryID(r)
				if err != nil {
					return nil, err
				}
				var in AckRequest
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return svc.Ack(r.Context(), id, in.Comment)
			})},
		{method: "GET", path: "/api/v1/instances/{name}/promotion", tag: "ha", summary: "An instance's promotion rule (prefer, neutral, never)",
			perm: auth.HARead, out: ha.Promotion{},
			handle: withSvc(s.haService, func(r *http.Request, p auth.Principal, svc *ha.Service) (any, error) {
				return svc.Promotion(r.Context(), r.PathValue("name"))
			})},
		{method: "PUT", path: "/api/v1/instances/{name}/promotion", tag: "ha", summary: "Set an instance's promotion rule (prefer, neutral, never)",
			perm: auth.HAManage, in: PromotionRequest{}, out: ha.Promotion{},
			handle: withBody(s.haService, func(r *http.Request, p auth.Principal, svc *ha.Service, in PromotionRequest) (any, error) {
				return svc.SetPromotion(r.Context(), r.PathValue("name"), in.Rule)
			})},
	}
}

// recoveryAnswer returns the recovery when one was recorded, whatever its
// outcome; the error only when none was started.
func recoveryAnswer(rec ha.Recovery, err error) (any, error) {
	if rec.ID != 0 {
		return rec, nil
	}
	return nil, err
}

func recoveryID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, errkind.New(errkind.Invalid, "invalid recovery id %q", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) haService() (*ha.Service, error) {
	if s.HA == nil {
		return nil, errkind.New(errkind.Unavailable, "high availability is not running on this server")
	}
	return s.HA, nil
}
