package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Alert pages: every alert by state (with what inhibits or silences it),
// silences, rules with their state, the message history per recipient,
// and the page a message's signed link opens, with its acknowledge
// button.

func (u *site) alertRoutes(mux *http.ServeMux) {
	mux.Handle("GET /alerts", u.page(auth.AlertRead, u.alertsPage))
	mux.Handle("POST /alerts/silences", u.action(auth.AlertManage, u.alertSilence))
	mux.Handle("POST /alerts/silences/{id}/expire", u.action(auth.AlertManage, u.alertUnsilence))
	mux.Handle("POST /alerts/oncall/overrides", u.action(auth.AlertManage, u.alertOverride))
	mux.Handle("POST /alerts/oncall/overrides/{id}/remove", u.action(auth.AlertManage, u.alertUnoverride))
	mux.Handle("GET /a/{token}", u.page(auth.AlertRead, u.alertMessagePage))
	mux.Handle("POST /a/{token}/ack", u.action(auth.AlertAck, u.alertAckLink))
}

var errNoAlerts = errkind.New(errkind.Unavailable, "alerting is off on this server (alerts.enabled: false)")

type alertsData struct {
	Sections  []alertSection
	Names     map[string]string // fingerprint -> "subject alertname", for "inhibited by"
	Silences  []alerts.Silence
	Rules     []alerts.RuleState
	RulesErr  string
	Messages  []alerts.Message
	Recipient string
	OnCall    []alerts.OnCall
	Overrides []alerts.OnCallOverride
}

type alertSection struct {
	State  string
	Alerts []alerts.AlertStatus
}

func (u *site) alertsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Alerts == nil {
		return errNoAlerts
	}
	ctx := r.Context()
	all, err := u.Alerts.List(ctx)
	if err != nil {
		return err
	}
	d := alertsData{Names: map[string]string{}, Recipient: r.URL.Query().Get("recipient")}
	by := map[string][]alerts.AlertStatus{}
	for _, a := range all {
		by[a.State] = append(by[a.State], a)
		d.Names[a.Fingerprint] = strings.TrimSpace(alerts.Subject(a.Labels) + " " + a.Labels["alertname"])
	}
	for _, st := range []string{"firing", "pending", "inhibited", "silenced", "resolving", "resolved"} {
		d.Sections = append(d.Sections, alertSection{State: st, Alerts: by[st]})
	}
	if d.Silences, err = u.Alerts.Silences(ctx, false); err != nil {
		return err
	}
	rs, rerr := u.Alerts.Rules()
	d.Rules = rs
	if rerr != nil {
		d.RulesErr = rerr.Error()
	}
	if d.Messages, err = u.Alerts.Messages(ctx, alerts.MessageFilter{Recipient: d.Recipient, Limit: 50}); err != nil {
		return err
	}
	if d.OnCall, err = u.Alerts.OnCallAt(ctx, u.now()); err != nil {
		return err
	}
	if d.Overrides, err = u.Alerts.Overrides(ctx, false); err != nil {
		return err
	}
	v := u.view(rq, "Alerts", "alerts")
	v.Data = d
	u.render(w, r, http.StatusOK, "alerts.html", v)
	return nil
}

func (u *site) alertSilence(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Alerts == nil {
		return errNoAlerts
	}
	var ms []string
	for _, m := range strings.Split(r.PostFormValue("matchers"), ",") {
		if m = strings.TrimSpace(m); m != "" {
			ms = append(ms, m)
		}
	}
	s, err := u.Alerts.AddSilence(r.Context(), rq.p.User, alerts.NewSilence{Matchers: ms, Duration: r.PostFormValue("duration"), Comment: r.PostFormValue("comment")})
	if err != nil {
		return err
	}
	return u.redirect(w, r, "/alerts", fmt.Sprintf("Silence %d added until %s.", s.ID, when(s.EndsAt)))
}

func (u *site) alertUnsilence(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Alerts == nil {
		return errNoAlerts
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errkind.New(errkind.Invalid, "invalid silence id %q", r.PathValue("id"))
	}
	if err := u.Alerts.ExpireSilence(r.Context(), id); err != nil {
		return err
	}
	return u.redirect(w, r, "/alerts", fmt.Sprintf("Silence %d expired.", id))
}

func (u *site) alertOverride(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Alerts == nil {
		return errNoAlerts
	}
	o, err := u.Alerts.AddOverride(r.Context(), rq.p.User, alerts.NewOverride{Team: r.PostFormValue("team"), Person: r.PostFormValue("person"),
		Duration: r.PostFormValue("duration"), Comment: r.PostFormValue("comment")})
	if err != nil {
		return err
	}
	return u.redirect(w, r, "/alerts", fmt.Sprintf("%s is on call for %s until %s.", o.Person, o.Team, when(o.End)))
}

func (u *site) alertUnoverride(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Alerts == nil {
		return errNoAlerts
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errkind.New(errkind.Invalid, "invalid override id %q", r.PathValue("id"))
	}
	if err := u.Alerts.RemoveOverride(r.Context(), id); err != nil {
		return err
	}
	return u.redirect(w, r, "/alerts", fmt.Sprintf("On-call override %d removed.", id))
}

type alertMessageData struct {
	Token    string
	Message  alerts.Message
	Channels []alerts.Message
}

// alertMessagePage is where a message's signed link leads: every alert
// the message covers, and the acknowledge button.
func (u *site) alertMessagePage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Alerts == nil {
		return errNoAlerts
	}
	tok := r.PathValue("token")
	t, err := u.Alerts.VerifyLink(tok)
	if err != nil {
		return err
	}
	ms, err := u.Alerts.Messages(r.Context(), alerts.MessageFilter{Seq: t.Seq, Limit: 20})
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return errkind.New(errkind.NotFound, "no message %d", t.Seq)
	}
	v := u.view(rq, fmt.Sprintf("Message %d to %s", t.Seq, t.Recipient), "alerts")
	v.Data = alertMessageData{Token: tok, Message: ms[0], Channels: ms}
	u.render(w, r, http.StatusOK, "alert_message.html", v)
	return nil
}

func (u *site) alertAckLink(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Alerts == nil {
		return errNoAlerts
	}
	t, err := u.Alerts.VerifyLink(r.PathValue("token"))
	if err != nil {
		return err
	}
	res, err := u.Alerts.Ack(r.Context(), rq.p.User, "link", "m"+strconv.FormatInt(t.Seq, 10))
	if err != nil {
		return err
	}
	return u.redirect(w, r, "/a/"+r.PathValue("token"), fmt.Sprintf("Acknowledged %d group(s): no repeats or escalation until something new fires.", len(res.Groups)))
}
