package ui

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// flowRoutes adds the work-order pages.
func (u *site) flowRoutes(mux *http.ServeMux) {
	mux.Handle("GET /flows", u.page(auth.FlowRead, u.flowsPage))
	mux.Handle("GET /flows/{name}", u.page(auth.FlowSubmit, u.flowForm))
	mux.Handle("POST /flows/{name}", u.action(auth.FlowSubmit, u.submitFlow))
	mux.Handle("GET /tickets", u.page(auth.FlowRead, u.ticketsPage))
	mux.Handle("GET /tickets/{id}", u.page(auth.FlowRead, u.ticketPage))
	mux.Handle("GET /tickets/{id}/approve", u.page(auth.FlowRead, u.approvalPage))
	mux.Handle("POST /tickets/{id}/approve", u.action(auth.TicketApprove, u.decideTicket(true)))
	mux.Handle("POST /tickets/{id}/reject", u.action(auth.TicketApprove, u.decideTicket(false)))
	mux.Handle("POST /tickets/{id}/cancel", u.action(auth.FlowSubmit, u.cancelTicket))
	mux.Handle("POST /tickets/{id}/retry", u.action(auth.TicketManage, u.retryTicket))
	mux.Handle("POST /tickets/{id}/password", u.action(auth.FlowSubmit, u.revealPassword))
	mux.Handle("GET /tickets/{id}/attachments/{att}", u.page(auth.FlowRead, u.downloadAttachment))
	mux.Handle("GET /tickets/{id}/rollback", u.page(auth.FlowRead, u.rollbackPage))
	mux.Handle("POST /tickets/{id}/rollback", u.action(auth.FlowSubmit, u.submitRollback))
}

var errNoFlows = errkind.New(errkind.Unavailable, "work orders are not enabled on this server")

// ---- flows ----

type flowCard struct {
	Name, Title, Description, Kind string
	Version                        int
	Steps                          string
	SubmitBy                       string
	CanSubmit                      bool
	Schedule                       string
	NextRun                        time.Time
}

type statRow struct {
	flows.FlowStats
	Share, Median string
}

type flowsData struct {
	Flows    []flowCard
	Stats    []statRow
	Problems []flows.Problem
	Dir      string
}

func (u *site) flowsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Flows == nil {
		return errNoFlows
	}
	cat := u.Flows.Catalog()
	next := u.Flows.NextRuns(time.Now())
	var d flowsData
	for _, fl := range cat.List() {
		var steps []string
		for _, st := range fl.Steps {
			steps = append(steps, st.Block)
		}
		d.Flows = append(d.Flows, flowCard{Name: fl.Name, Title: fl.Title, Description: fl.Description, Kind: fl.Kind, Version: fl.Version,
			Steps: strings.Join(steps, " → "), SubmitBy: fl.Submit.String(), Schedule: fl.Schedule, NextRun: next[fl.Name],
			CanSubmit: rq.p.Can(auth.FlowSubmit) && (fl.Submit.Includes(rq.p.User, rq.p.Role) || rq.p.Can(auth.FlowManage))})
	}
	stats, err := u.Flows.Stats(r.Context())
	if err != nil {
		return err
	}
	for _, s := range stats {
		sr := statRow{FlowStats: s, Share: "-", Median: "-"}
		if s.Done > 0 {
			sr.Share = fmt.Sprintf("%.0f%% (%d of %d)", 100*s.AutomaticShare, s.Automatic, s.Done)
		}
		if s.MedianDone > 0 {
			sr.Median = roundDuration(s.MedianDone)
		}
		d.Stats = append(d.Stats, sr)
	}
	if rq.p.Can(auth.FlowManage) {
		d.Problems, d.Dir = cat.Problems(), cat.Dir()
	}
	v := u.view(rq, "Work orders", "tickets")
	v.Data = d
	u.render(w, r, http.StatusOK, "flows.html", v)
	return nil
}

func roundDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

// formField is one generated input.
type formField struct {
	Name, Label, Type, Help, Placeholder string
	Required                             bool
	Multiple                             bool
	// Input is the HTML input type of single-line inputs.
	Input    string
	Value    string
	Selected map[string]bool
	Options  []flows.Option
	// Choices are inventory names for cluster, instance and database
	// pickers; DBName is a database field's database part.
	Choices  []string
	DBName   string
	Min, Max string
	Err      string
}

type flowFormData struct {
	Flow   *flows.Flow
	Fields []formField
	Title  string
	Error  string
}

func (u *site) flowForm(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Flows == nil {
		return errNoFlows
	}
	fl, ok := u.Flows.Catalog().Get(r.PathValue("name"))
	if !ok {
		return errkind.New(errkind.NotFound, "no flow %q", r.PathValue("name"))
	}
	d, err := u.formData(r, fl, nil, nil)
	if err != nil {
		return err
	}
	u.renderForm(w, r, rq, http.StatusOK, d)
	return nil
}

func (u *site) renderForm(w http.ResponseWriter, r *http.Request, rq *request, status int, d *flowFormData) {
	v := u.view(rq, "New ticket: "+d.Flow.Title, "tickets")
	v.Data = d
	u.render(w, r, status, "flow_form.html", v)
}

// formData builds the inputs of a flow's form, with what was entered (nil
// for the defaults) and the errors.
func (u *site) formData(r *http.Request, fl *flows.Flow, entered map[string][]string, fe *flows.FormError) (*flowFormData, error) {
	d := &flowFormData{Flow: fl}
	var instances []inventory.Instance
	var clusters []inventory.Cluster
	for _, f := range fl.Fields {
		ff := formField{Name: f.Name, Label: f.Label, Type: f.Type, Help: f.Help, Placeholder: f.Placeholder, Required: f.Required,
			Multiple: f.Multiple, Options: f.Options, Selected: map[string]bool{}}
		if f.Min != nil {
			ff.Min = strconv.FormatFloat(*f.Min, 'f', -1, 64)
		}
		if f.Max != nil {
			ff.Max = strconv.FormatFloat(*f.Max, 'f', -1, 64)
		}
		vals := entered[f.Name]
		if entered == nil && f.Default != "" {
			vals = []string{f.Default}
			if f.Multiple {
				vals = strings.Split(f.Default, ",")
			}
		}
		for _, v := range vals {
			ff.Selected[strings.TrimSpace(v)] = true
		}
		if len(vals) > 0 {
			ff.Value = vals[0]
		}
		switch f.Type {
		case flows.TypeText:
			ff.Input = "text"
		case flows.TypeNumber:
			ff.Input = "number"
		case flows.TypeDate:
			ff.Input = "date"
		case flows.TypeTime:
			ff.Input = "time"
		case flows.TypeDatetime:
			ff.Input = "datetime-local"
			if t, err := flows.ParseDatetime(ff.Value); err == nil {
				ff.Value = t.UTC().Format("2006-01-02T15:04")
			}
		case flows.TypeInstance, flows.TypeDatabase:
			if instances == nil {
				var err error
				if instances, err = u.Inventory.ListInstances(r.Context(), inventory.InstanceFilter{}); err != nil {
					return nil, err
				}
			}
			for _, in := range instances {
				if len(f.Engines) == 0 || slices.Contains(f.Engines, in.Engine) {
					ff.Choices = append(ff.Choices, in.Name)
				}
			}
			if f.Type == flows.TypeDatabase {
				inst, db, _ := strings.Cut(ff.Value, "/")
				ff.Value, ff.DBName = inst, db
				if entered != nil {
					ff.Value, ff.DBName = first(entered[f.Name+".instance"]), first(entered[f.Name+".db"])
				}
			}
		case flows.TypeCluster:
			if clusters == nil {
				var err error
				if clusters, err = u.Inventory.ListClusters(r.Context()); err != nil {
					return nil, err
				}
			}
			for _, c := range clusters {
				if len(f.Engines) == 0 || slices.Contains(f.Engines, c.Engine) {
					ff.Choices = append(ff.Choices, c.Name)
				}
			}
		}
		if fe != nil {
			ff.Err = fe.For(f.Name)
		}
		d.Fields = append(d.Fields, ff)
	}
	return d, nil
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

func (u *site) submitFlow(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Flows == nil {
		return errNoFlows
	}
	fl, ok := u.Flows.Catalog().Get(r.PathValue("name"))
	if !ok {
		return errkind.New(errkind.NotFound, "no flow %q", r.PathValue("name"))
	}
	r.ParseForm()
	entered := map[string][]string{}
	fields := map[string]any{}
	for _, f := range fl.Fields {
		switch {
		case f.Type == flows.TypeDatabase:
			inst, db := strings.TrimSpace(r.PostForm.Get(f.Name+".instance")), strings.TrimSpace(r.PostForm.Get(f.Name+".db"))
			entered[f.Name+".instance"], entered[f.Name+".db"] = []string{inst}, []string{db}
			switch {
			case inst != "" && db != "":
				fields[f.Name] = inst + "/" + db
			case inst != "" || db != "":
				fields[f.Name] = inst + "/" + db // refused with the expected format
			}
		case f.Multiple:
			entered[f.Name] = r.PostForm[f.Name]
			fields[f.Name] = r.PostForm[f.Name]
		default:
			if vs, ok := r.PostForm[f.Name]; ok {
				entered[f.Name] = vs
				fields[f.Name] = first(vs)
			}
		}
	}
	t, err := u.Flows.Submit(r.Context(), rq.p, flows.SubmitRequest{Flow: fl.Name, Title: r.PostForm.Get("title"), Fields: fields})
	if err != nil {
		var fe *flows.FormError
		if !errors.As(err, &fe) {
			fe = nil
		}
		d, derr := u.formData(r, fl, entered, fe)
		if derr != nil {
			return derr
		}
		d.Title = r.PostForm.Get("title")
		if fe == nil {
			d.Error = u.message(r, err)
		} else {
			d.Error = fmt.Sprintf("%d field(s) need attention.", len(fe.Fields))
		}
		u.renderForm(w, r, rq, httpx.Status(err), d)
		return nil
	}
	return u.redirect(w, r, fmt.Sprintf("/tickets/%d", t.ID), fmt.Sprintf("Ticket #%d submitted.", t.ID))
}

// ---- tickets ----

type ticketsData struct {
	Rows   []flows.Summary
	Mine   bool
	State  string
	States []string
}

func (u *site) ticketsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Flows == nil {
		return errNoFlows
	}
	q := r.URL.Query()
	d := ticketsData{Mine: q.Get("mine") == "true", State: q.Get("state"),
		States: []string{"open", flows.StateRunning, flows.StateWaitingApproval, flows.StateWaiting, flows.StateDone, flows.StateFailed, flows.StateRejected, flows.StateCancelled}}
	f := flows.Filter{State: d.State, Flow: q.Get("flow")}
	if d.Mine {
		f.Requester = rq.p.User
	}
	rows, err := u.Flows.List(r.Context(), f)
	if err != nil {
		return err
	}
	d.Rows = rows
	v := u.view(rq, "Tickets", "tickets")
	v.Data = d
	u.render(w, r, http.StatusOK, "tickets.html", v)
	return nil
}

func pathTicket(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errkind.New(errkind.NotFound, "no ticket %q", r.PathValue("id"))
	}
	return id, nil
}

type ticketData struct {
	T *flows.Ticket
	// Link is the approval link's token when the page was opened from one.
	Link     string
	Terminal bool
	Live     bool
	Refresh  string
	Interval int
	// Credential is a password being shown once.
	Credential *flows.Credential
}

func (u *site) ticketData(r *http.Request, rq *request, id int64) (*ticketData, error) {
	t, err := u.Flows.Get(r.Context(), rq.p, id)
	if err != nil {
		return nil, err
	}
	d := &ticketData{T: t, Terminal: flows.Terminal(t.State), Interval: u.interval,
		Refresh: fmt.Sprintf("/tickets/%d?fragment=ticket", id)}
	d.Live = !d.Terminal
	return d, nil
}

func (u *site) ticketPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Flows == nil {
		return errNoFlows
	}
	id, err := pathTicket(r)
	if err != nil {
		return err
	}
	d, err := u.ticketData(r, rq, id)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("fragment") == "ticket" {
		v := u.view(rq, "", "")
		v.Data = d
		u.fragment(w, "ticket.html", "ticket_body", v)
		return nil
	}
	v := u.view(rq, fmt.Sprintf("Ticket #%d", id), "tickets")
	v.Data = d
	u.render(w, r, http.StatusOK, "ticket.html", v)
	return nil
}

// approvalPage is where a signed link from a chat message leads: the
// ticket and its approve/reject form, which uses the link up.
func (u *site) approvalPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Flows == nil {
		return errNoFlows
	}
	id, err := pathTicket(r)
	if err != nil {
		return err
	}
	token := r.URL.Query().Get("link")
	info, err := u.Flows.CheckLink(r.Context(), token)
	if err != nil {
		return err
	}
	if info.Ticket != id {
		return errkind.New(errkind.Forbidden, "this approval link is for ticket %d", info.Ticket)
	}
	d, err := u.ticketData(r, rq, id)
	if err != nil {
		return err
	}
	if d.T.State != flows.StateWaitingApproval || d.T.Step != info.Step {
		return errkind.New(errkind.Conflict, "ticket %d is %s: step %d no longer waits for approval", id, d.T.State, info.Step+1)
	}
	d.Link = token
	v := u.view(rq, fmt.Sprintf("Approve ticket #%d", id), "tickets")
	v.Data = d
	u.render(w, r, http.StatusOK, "ticket.html", v)
	return nil
}

func (u *site) decideTicket(approve bool) handler {
	return func(w http.ResponseWriter, r *http.Request, rq *request) error {
		if u.Flows == nil {
			return errNoFlows
		}
		id, err := pathTicket(r)
		if err != nil {
			return err
		}
		d := flows.Decision{Comment: strings.TrimSpace(r.PostFormValue("comment")), Link: r.PostFormValue("link")}
		if s := r.PostFormValue("step"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return errkind.New(errkind.Invalid, "invalid step %q", s)
			}
			d.Step = &n
		}
		verb := "Approved"
		if approve {
			_, err = u.Flows.Approve(r.Context(), rq.p, id, d)
		} else {
			verb = "Rejected"
			_, err = u.Flows.Reject(r.Context(), rq.p, id, d)
		}
		if err != nil {
			return err
		}
		step := ""
		if d.Step != nil {
			step = fmt.Sprintf(" step %d of", *d.Step+1)
		}
		return u.redirect(w, r, fmt.Sprintf("/tickets/%d", id), fmt.Sprintf("%s%s ticket #%d.", verb, step, id))
	}
}

func (u *site) cancelTicket(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Flows == nil {
		return errNoFlows
	}
	id, err := pathTicket(r)
	if err != nil {
		return err
	}
	if _, err := u.Flows.Cancel(r.Context(), rq.p, id, strings.TrimSpace(r.PostFormValue("comment"))); err != nil {
		return err
	}
	return u.redirect(w, r, fmt.Sprintf("/tickets/%d", id), fmt.Sprintf("Ticket #%d cancelled.", id))
}

func (u *site) retryTicket(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Flows == nil {
		return errNoFlows
	}
	id, err := pathTicket(r)
	if err != nil {
		return err
	}
	req := flows.RetryRequest{Resolve: r.PostFormValue("resolve"), Comment: strings.TrimSpace(r.PostFormValue("comment"))}
	if _, err := u.Flows.Retry(r.Context(), rq.p, id, req); err != nil {
		return err
	}
	return u.redirect(w, r, fmt.Sprintf("/tickets/%d", id), fmt.Sprintf("Ticket #%d runs its failed step again.", id))
}

// revealPassword shows a generated password on a page of its own, once.
func (u *site) revealPassword(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Flows == nil {
		return errNoFlows
	}
	id, err := pathTicket(r)
	if err != nil {
		return err
	}
	step, err := strconv.Atoi(r.PostFormValue("step"))
	if err != nil {
		return errkind.New(errkind.Invalid, "invalid step %q", r.PostFormValue("step"))
	}
	cred, err := u.Flows.RevealPassword(r.Context(), rq.p, id, step)
	if err != nil {
		return err
	}
	d, err := u.ticketData(r, rq, id)
	if err != nil {
		return err
	}
	d.Credential = cred
	v := u.view(rq, fmt.Sprintf("Ticket #%d: password", id), "tickets")
	v.Data = d
	u.render(w, r, http.StatusOK, "ticket_password.html", v)
	return nil
}

func (u *site) downloadAttachment(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Flows == nil {
		return errNoFlows
	}
	id, err := pathTicket(r)
	if err != nil {
		return err
	}
	att, err := strconv.ParseInt(r.PathValue("att"), 10, 64)
	if err != nil {
		return errkind.New(errkind.NotFound, "no attachment %q", r.PathValue("att"))
	}
	a, body, err := u.Flows.Download(r.Context(), rq.p, id, att)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
	h.Set("Cache-Control", "no-store")
	w.Write(body)
	return nil
}

// rollbackPage shows the SQL that undoes a ticket's executions, with a
// button that submits it as a new ticket.
func (u *site) rollbackPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Flows == nil {
		return errNoFlows
	}
	id, err := pathTicket(r)
	if err != nil {
		return err
	}
	rb, err := u.Flows.RollbackSQL(r.Context(), rq.p, id)
	if err != nil {
		return err
	}
	v := u.view(rq, fmt.Sprintf("Ticket #%d: rollback SQL", id), "tickets")
	v.Data = rb
	u.render(w, r, http.StatusOK, "ticket_rollback.html", v)
	return nil
}

func (u *site) submitRollback(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Flows == nil {
		return errNoFlows
	}
	id, err := pathTicket(r)
	if err != nil {
		return err
	}
	t, err := u.Flows.SubmitRollback(r.Context(), rq.p, id)
	if err != nil {
		return err
	}
	return u.redirect(w, r, fmt.Sprintf("/tickets/%d", t.ID), fmt.Sprintf("Ticket #%d submitted: the rollback of ticket #%d.", t.ID, id))
}
