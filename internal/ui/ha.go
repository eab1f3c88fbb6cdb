package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/alerts"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/ha"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// haPanel is the high-availability section of a cluster page: settings,
// the live replication tree, the diagnoses with their evidence, and the
// latest recoveries.
type haPanel struct {
	Cluster   string
	Status    *ha.Status
	Error     string // the probe failed
	CanManage bool
	CSRF      string
	Refresh   string
	Interval  int
	Modes     []ha.Mode
	Engine    string
}

// haInterval: the HA panel refreshes faster than the instance table.
const haInterval = 5

// haPanelFor probes a cluster for its page; nil when HA is not wired.
func (u *site) haPanelFor(r *http.Request, rq *request, cluster string) *haPanel {
	if u.HA == nil {
		return nil
	}
	p := &haPanel{Cluster: cluster, Refresh: "/clusters/" + url.PathEscape(cluster) + "/ha?fragment=panel", Interval: haInterval,
		Modes: []ha.Mode{ha.ModeOff, ha.ModeNotify, ha.ModeAutomatic}}
	if rq != nil {
		p.CanManage, p.CSRF = rq.p.Can(auth.HAManage), rq.csrf
		if !rq.p.Can(auth.HARead) {
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	st, err := u.HA.Status(ctx, cluster)
	if err != nil {
		p.Error = u.message(r, err)
		return p
	}
	p.Status, p.Engine = &st, string(st.Topology.Engine)
	return p
}

// haFragment serves the live HA panel of a cluster page.
func (u *site) haFragment(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.HA == nil {
		return errkind.New(errkind.NotFound, "high availability is not running on this server")
	}
	u.fragment(w, "cluster.html", "ha_panel", u.haPanelFor(r, rq, r.PathValue("name")))
	return nil
}

func (u *site) clusterURL(name string) string { return "/clusters/" + url.PathEscape(name) + "#ha" }

// haSettings changes a cluster's HA mode, maximum lag and anti-flap period.
func (u *site) haSettings(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.HA == nil {
		return errkind.New(errkind.NotFound, "high availability is not running on this server")
	}
	name := r.PathValue("name")
	var p ha.SettingsPatch
	mode, err := ha.ParseMode(r.PostFormValue("mode"))
	if err != nil {
		return err
	}
	p.Mode = &mode
	for field, dst := range map[string]**ha.Duration{"max_lag": &p.MaxLag, "anti_flap": &p.AntiFlap} {
		v := strings.TrimSpace(r.PostFormValue(field))
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errkind.New(errkind.Invalid, "%s %q: want a duration such as 30s or 1h", strings.ReplaceAll(field, "_", " "), v)
		}
		hd := ha.Duration(d)
		*dst = &hd
	}
	if _, err := u.HA.SetSettings(r.Context(), name, p); err != nil {
		return err
	}
	return u.redirect(w, r, u.clusterURL(name), "HA settings of "+name+" saved.")
}

// haSwitchover and haFailover run a recovery and show it.
func (u *site) haSwitchover(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.HA == nil {
		return errkind.New(errkind.NotFound, "high availability is not running on this server")
	}
	if u.Alerts != nil {
		name := r.PathValue("name")
		u.Alerts.Maintenance(r.Context(), rq.p.User, "switchover:"+name, []string{fmt.Sprintf("cluster=%q", name)}, alerts.SwitchoverSilence,
			"planned switchover of "+name)
	}
	rec, err := u.HA.Switchover(r.Context(), r.PathValue("name"), r.PostFormValue("to"))
	return u.afterRecovery(w, r, rec, err)
}

func (u *site) haFailover(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.HA == nil {
		return errkind.New(errkind.NotFound, "high availability is not running on this server")
	}
	rec, err := u.HA.Failover(r.Context(), r.PathValue("name"), ha.FailoverOptions{To: r.PostFormValue("to"), Force: r.PostFormValue("force") == "on"})
	return u.afterRecovery(w, r, rec, err)
}

func (u *site) afterRecovery(w http.ResponseWriter, r *http.Request, rec ha.Recovery, err error) error {
	if rec.ID == 0 {
		return err
	}
	to := "/recoveries/" + strconv.FormatInt(rec.ID, 10)
	if rec.State == ha.StateDone {
		return u.redirect(w, r, to, fmt.Sprintf("%s done: %s is the primary.", rec.Kind, rec.NewPrimary))
	}
	u.setFlash(w, "error", fmt.Sprintf("%s %s: %s", rec.Kind, rec.State, rec.Error))
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// recoveryPage shows one recovery with its steps.
func (u *site) recoveryPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.HA == nil {
		return errkind.New(errkind.NotFound, "high availability is not running on this server")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errkind.New(errkind.NotFound, "no recovery %q", r.PathValue("id"))
	}
	rec, err := u.HA.Recovery(r.Context(), id)
	if err != nil {
		return err
	}
	v := u.view(rq, fmt.Sprintf("Recovery #%d", rec.ID), "clusters")
	v.Data = rec
	u.render(w, r, http.StatusOK, "recovery.html", v)
	return nil
}

// haAck acknowledges a recovery.
func (u *site) haAck(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.HA == nil {
		return errkind.New(errkind.NotFound, "high availability is not running on this server")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errkind.New(errkind.NotFound, "no recovery %q", r.PathValue("id"))
	}
	rec, err := u.HA.Ack(r.Context(), id, strings.TrimSpace(r.PostFormValue("comment")))
	if err != nil {
		return err
	}
	return u.redirect(w, r, "/recoveries/"+strconv.FormatInt(id, 10), fmt.Sprintf("Recovery #%d acknowledged.", rec.ID))
}
