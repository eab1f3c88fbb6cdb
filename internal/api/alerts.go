package api

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// AlertAckRequest is the body of POST /api/v1/alerts/ack: a message ("m42")
// or an alert fingerprint.
type AlertAckRequest struct {
	Target string `json:"target"`
}

// AlertDetail is one alert with the messages that covered it.
type AlertDetail struct {
	alerts.AlertStatus
	Messages []alerts.Message `json:"messages"`
}

// alertRoutes are alerts, their rules, silences, acknowledgements, the
// message history and who is on call.
func (s *Server) alertRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/alerts", tag: "alerts", summary: "Every known alert: firing, pending, inhibited (and by what), silenced, resolving, resolved",
			perm: auth.AlertRead, query: []string{"state"}, out: []alerts.AlertStatus{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				all, err := svc.List(r.Context())
				if err != nil {
					return nil, err
				}
				if st := r.URL.Query().Get("state"); st != "" {
					var out []alerts.AlertStatus
					for _, a := range all {
						if a.State == st {
							out = append(out, a)
						}
					}
					return out, nil
				}
				return all, nil
			}},
		{method: "POST", path: "/api/v1/alerts", tag: "alerts", summary: "Post alerts (labels, annotations, starts_at, ends_at), as to Alertmanager",
			perm: auth.AlertManage, in: []alerts.Alert{}, status: http.StatusAccepted,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				var in []alerts.Alert
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return nil, svc.PostAlerts(r.Context(), in)
			}},
		{method: "GET", path: "/api/v1/alerts/{fingerprint}", tag: "alerts", summary: "One alert (fingerprint or a unique prefix) with the messages that covered it",
			perm: auth.AlertRead, out: AlertDetail{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				a, err := svc.Get(r.Context(), r.PathValue("fingerprint"))
				if err != nil {
					return nil, err
				}
				ms, err := svc.Messages(r.Context(), alerts.MessageFilter{Limit: 1000})
				if err != nil {
					return nil, err
				}
				d := AlertDetail{AlertStatus: a, Messages: []alerts.Message{}}
				for _, m := range ms {
					if m.Digest != nil && slices.Contains(m.Digest.Covered, a.Fingerprint) {
						d.Messages = append(d.Messages, m)
					}
				}
				return d, nil
			}},
		{method: "POST", path: "/api/v1/alerts/ack", tag: "alerts", summary: "Acknowledge a message (m42) or an alert: its groups stop repeating and escalating",
			perm: auth.AlertAck, in: AlertAckRequest{}, out: alerts.AckResult{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				var in AlertAckRequest
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return svc.Ack(r.Context(), p.User, "api", in.Target)
			}},
		{method: "GET", path: "/api/v1/alert-rules", tag: "alerts", summary: "Alert rules with their state, and the last reload error",
			perm: auth.AlertRead, out: []alerts.RuleState{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				rs, rerr := svc.Rules()
				if rs == nil && rerr != nil {
					return nil, rerr
				}
				return rs, nil
			}},
		{method: "POST", path: "/api/v1/alert-rules/reload", tag: "alerts", summary: "Re-read the rule files; on an error the previous rules stay active",
			perm: auth.AlertManage,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				return nil, svc.ReloadRules()
			}},
		{method: "GET", path: "/api/v1/silences", tag: "alerts", summary: "Active and pending silences (all with ?all=true)",
			perm: auth.AlertRead, query: []string{"all"}, out: []alerts.Silence{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				return svc.Silences(r.Context(), r.URL.Query().Get("all") == "true")
			}},
		{method: "POST", path: "/api/v1/silences", tag: "alerts", summary: "Silence alerts matching all matchers, with a comment, until ends_at or for a duration",
			perm: auth.AlertManage, in: alerts.NewSilence{}, out: alerts.Silence{}, status: http.StatusCreated,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				var in alerts.NewSilence
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				in.Source = ""
				return svc.AddSilence(r.Context(), p.User, in)
			}},
		{method: "DELETE", path: "/api/v1/silences/{id}", tag: "alerts", summary: "Expire a silence now",
			perm: auth.AlertManage,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
				if err != nil {
					return nil, errkind.New(errkind.Invalid, "invalid silence id %q", r.PathValue("id"))
				}
				return nil, svc.ExpireSilence(r.Context(), id)
			}},
		{method: "GET", path: "/api/v1/alert-messages", tag: "alerts", summary: "Message history, newest first: per recipient, state (pending, sent, failed, undeliverable)",
			perm: auth.AlertRead, query: []string{"recipient", "state", "limit"}, out: []alerts.Message{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				q := r.URL.Query()
				f := alerts.MessageFilter{Recipient: q.Get("recipient"), State: q.Get("state")}
				if v := q.Get("limit"); v != "" {
					if f.Limit, err = strconv.Atoi(v); err != nil {
						return nil, errkind.New(errkind.Invalid, "limit %q: want a number", v)
					}
				}
				return svc.Messages(r.Context(), f)
			}},
		{method: "GET", path: "/api/v1/oncall", tag: "alerts", summary: "Who each team has on call (at ?at=RFC3339, default now), then the escalation order",
			perm: auth.AlertRead, query: []string{"at"}, out: []alerts.OnCall{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				at := time.Now()
				if v := r.URL.Query().Get("at"); v != "" {
					if at, err = time.Parse(time.RFC3339, v); err != nil {
						return nil, errkind.New(errkind.Invalid, "at %q: want RFC 3339", v)
					}
				}
				return svc.OnCallAt(r.Context(), at)
			}},
		{method: "GET", path: "/api/v1/oncall/overrides", tag: "alerts", summary: "On-call overrides added at run time that have not ended (all with ?all=true), newest first",
			perm: auth.AlertRead, query: []string{"all"}, out: []alerts.OnCallOverride{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				return svc.Overrides(r.Context(), r.URL.Query().Get("all") == "true")
			}},
		{method: "POST", path: "/api/v1/oncall/overrides", tag: "alerts", summary: "Put a person on call for a team from start (default now) until end or for a duration; wins over the configured rotation",
			perm: auth.AlertManage, in: alerts.NewOverride{}, out: alerts.OnCallOverride{}, status: http.StatusCreated,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				var in alerts.NewOverride
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return svc.AddOverride(r.Context(), p.User, in)
			}},
		{method: "DELETE", path: "/api/v1/oncall/overrides/{id}", tag: "alerts", summary: "Remove an on-call override",
			perm: auth.AlertManage,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				svc, err := s.alertService()
				if err != nil {
					return nil, err
				}
				id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
				if err != nil {
					return nil, errkind.New(errkind.Invalid, "invalid override id %q", r.PathValue("id"))
				}
				return nil, svc.RemoveOverride(r.Context(), id)
			}},
	}
}

func (s *Server) alertService() (*alerts.Service, error) {
	if s.Alerts == nil {
		return nil, errkind.New(errkind.Unavailable, "alerting is off on this server (alerts.enabled: false)")
	}
	return s.Alerts, nil
}
