package api

import (
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// FlowInfo describes an active flow.
type FlowInfo struct {
	Name        string    `json:"name"`
	Title       string    `json:"title"`
	Kind        string    `json:"kind"`
	Description string    `json:"description,omitempty"`
	Version     int       `json:"version"`
	File        string    `json:"file"`
	Schedule    string    `json:"schedule,omitempty"`
	NextRun     time.Time `json:"next_run,omitzero"`
	SubmitBy    string    `json:"submit_by"`
	CanSubmit   bool      `json:"can_submit"`
	Steps       []string  `json:"steps"`
}

// FlowList is the catalog: active flows, and the problems of files that
// do not load (shown to flow.manage).
type FlowList struct {
	Dir      string          `json:"dir,omitempty"`
	Flows    []FlowInfo      `json:"flows"`
	Problems []flows.Problem `json:"problems,omitempty"`
}

// FlowDetail is one flow with its form, steps and stored versions.
type FlowDetail struct {
	FlowInfo
	Target   string              `json:"target,omitempty"`
	Fields   []*flows.Field      `json:"fields"`
	Workflow []*flows.Step       `json:"workflow"`
	Versions []flows.VersionInfo `json:"versions"`
	Source   string              `json:"source"`
}

// PasswordRequest asks for the password an account step generated.
type PasswordRequest struct {
	Step int `json:"step"`
}

func (s *Server) flowInfo(fl *flows.Flow, p auth.Principal, next map[string]time.Time) FlowInfo {
	fi := FlowInfo{Name: fl.Name, Title: fl.Title, Kind: fl.Kind, Description: fl.Description, Version: fl.Version, File: fl.File,
		Schedule: fl.Schedule, NextRun: next[fl.Name], SubmitBy: fl.Submit.String(),
		CanSubmit: p.Can(auth.FlowSubmit) && (fl.Submit.Includes(p.User, p.Role) || p.Can(auth.FlowManage))}
	for _, st := range fl.Steps {
		fi.Steps = append(fi.Steps, st.Block)
	}
	return fi
}

func (s *Server) flowList(p auth.Principal) FlowList {
	cat := s.Flows.Catalog()
	next := s.Flows.NextRuns(time.Now())
	out := FlowList{Flows: []FlowInfo{}}
	for _, fl := range cat.List() {
		out.Flows = append(out.Flows, s.flowInfo(fl, p, next))
	}
	if p.Can(auth.FlowManage) {
		out.Dir, out.Problems = cat.Dir(), cat.Problems()
	}
	return out
}

func ticketID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errkind.New(errkind.Invalid, "invalid ticket id %q", r.PathValue("id"))
	}
	return id, nil
}

// onTicket is the handle of a /tickets/{id}/... route: the ticket id is
// read from the path (or refused) before fn runs.
func onTicket(fn func(r *http.Request, p auth.Principal, id int64) (any, error)) func(*http.Request, auth.Principal) (any, error) {
	return func(r *http.Request, p auth.Principal) (any, error) {
		id, err := ticketID(r)
		if err != nil {
			return nil, err
		}
		return fn(r, p, id)
	}
}

// onTicketBody is onTicket for a route with a JSON body, decoded into an In
// after the id is read.
func onTicketBody[In any](fn func(r *http.Request, p auth.Principal, id int64, in In) (any, error)) func(*http.Request, auth.Principal) (any, error) {
	return onTicket(func(r *http.Request, p auth.Principal, id int64) (any, error) {
		var in In
		if err := httpx.ReadJSON(r, &in); err != nil {
			return nil, err
		}
		return fn(r, p, id, in)
	})
}

// rawFile is a download: the route table's wrapper serves it as is.
type rawFile struct {
	name, ctype string
	body        []byte
}

func (f rawFile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.name}))
	w.Header().Set("Content-Length", strconv.Itoa(len(f.body)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(f.body)
}

func (s *Server) flowRoutes() []route {
	decide := func(approve bool) func(r *http.Request, p auth.Principal) (any, error) {
		return onTicketBody(func(r *http.Request, p auth.Principal, id int64, d flows.Decision) (any, error) {
			if approve {
				return s.Flows.Approve(r.Context(), p, id, d)
			}
			return s.Flows.Reject(r.Context(), p, id, d)
		})
	}
	routes := []route{
		{method: "GET", path: "/api/v1/flows", tag: "flows", summary: "List the work-order flows (and, for flow.manage, the files that do not load)", perm: auth.FlowRead, out: FlowList{},
			handle: func(r *http.Request, p auth.Principal) (any, error) { return s.flowList(p), nil }},
		{method: "POST", path: "/api/v1/flows/reload", tag: "flows", summary: "Read the flow directory now instead of at the next poll", perm: auth.FlowManage, out: FlowList{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				if err := s.Flows.Catalog().Reload(r.Context()); err != nil {
					return nil, err
				}
				return s.flowList(p), nil
			}},
		{method: "GET", path: "/api/v1/flows/stats", tag: "flows", summary: "Per flow: tickets done without a manual DBA step, median time to done, current queue", perm: auth.FlowRead, out: []flows.FlowStats{},
			handle: func(r *http.Request, p auth.Principal) (any, error) { return s.Flows.Stats(r.Context()) }},
		{method: "GET", path: "/api/v1/flows/{name}", tag: "flows", summary: "Show a flow: its form, workflow and versions", perm: auth.FlowRead, out: FlowDetail{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				fl, ok := s.Flows.Catalog().Get(r.PathValue("name"))
				if !ok {
					return nil, errkind.New(errkind.NotFound, "no flow %q", r.PathValue("name"))
				}
				versions, err := s.Flows.Catalog().Versions(r.Context(), fl.Name)
				if err != nil {
					return nil, err
				}
				return FlowDetail{FlowInfo: s.flowInfo(fl, p, s.Flows.NextRuns(time.Now())), Target: fl.Target, Fields: fl.Fields, Workflow: fl.Steps,
					Versions: versions, Source: string(fl.Source)}, nil
			}},

		{method: "POST", path: "/api/v1/tickets", tag: "tickets", summary: "Submit a ticket: a flow's form values; 400 names each field that fails validation",
			perm: auth.FlowSubmit, in: flows.SubmitRequest{}, out: flows.Ticket{}, status: http.StatusCreated,
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				var in flows.SubmitRequest
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return s.Flows.Submit(r.Context(), p, in)
			}},
		{method: "GET", path: "/api/v1/tickets", tag: "tickets", summary: "List tickets, newest first (state: a state or open; mine=true: yours)", perm: auth.FlowRead,
			query: []string{"mine", "state", "flow", "limit"}, out: []flows.Summary{},
			handle: func(r *http.Request, p auth.Principal) (any, error) {
				q := r.URL.Query()
				f := flows.Filter{State: q.Get("state"), Flow: q.Get("flow")}
				if q.Get("mine") == "true" {
					f.Requester = p.User
				}
				if v := q.Get("limit"); v != "" {
					n, err := strconv.Atoi(v)
					if err != nil || n < 1 {
						return nil, errkind.New(errkind.Invalid, "invalid limit %q: want a positive integer", v)
					}
					f.Limit = n
				}
				return s.Flows.List(r.Context(), f)
			}},
		{method: "GET", path: "/api/v1/tickets/{id}", tag: "tickets", summary: "Show a ticket: steps, approvals, timeline (SQL and results only to those allowed)", perm: auth.FlowRead, out: flows.Ticket{},
			handle: onTicket(func(r *http.Request, p auth.Principal, id int64) (any, error) {
				return s.Flows.Get(r.Context(), p, id)
			})},
		{method: "POST", path: "/api/v1/tickets/{id}/approve", tag: "tickets", summary: "Approve the step waiting for approval (send its step number: a repeated request has no second effect)",
			perm: auth.TicketApprove, in: flows.Decision{}, out: flows.Ticket{}, handle: decide(true)},
		{method: "POST", path: "/api/v1/tickets/{id}/reject", tag: "tickets", summary: "Reject the step waiting for approval: the ticket ends",
			perm: auth.TicketApprove, in: flows.Decision{}, out: flows.Ticket{}, handle: decide(false)},
		{method: "POST", path: "/api/v1/tickets/{id}/cancel", tag: "tickets", summary: "Cancel a ticket (yours, or any with ticket.manage)", perm: auth.FlowSubmit, in: flows.Decision{}, out: flows.Ticket{},
			handle: onTicketBody(func(r *http.Request, p auth.Principal, id int64, d flows.Decision) (any, error) {
				return s.Flows.Cancel(r.Context(), p, id, d.Comment)
			})},
		{method: "POST", path: "/api/v1/tickets/{id}/retry", tag: "tickets", summary: "Run a failed ticket's failed step again (resolve=done|rerun settles a statement of unknown outcome)",
			perm: auth.TicketManage, in: flows.RetryRequest{}, out: flows.Ticket{},
			handle: onTicketBody(func(r *http.Request, p auth.Principal, id int64, in flows.RetryRequest) (any, error) {
				return s.Flows.Retry(r.Context(), p, id, in)
			})},
		{method: "GET", path: "/api/v1/tickets/{id}/rollback", tag: "tickets", summary: "The SQL that undoes what the ticket's execute steps changed, generated by the executor (to those who may see its SQL)",
			perm: auth.FlowRead, out: flows.Rollback{},
			handle: onTicket(func(r *http.Request, p auth.Principal, id int64) (any, error) {
				return s.Flows.RollbackSQL(r.Context(), p, id)
			})},
		{method: "POST", path: "/api/v1/tickets/{id}/rollback", tag: "tickets", summary: "Submit the ticket's rollback SQL as a new ticket of the same flow, with the same form values otherwise",
			perm: auth.FlowSubmit, out: flows.Ticket{}, status: http.StatusCreated,
			handle: onTicket(func(r *http.Request, p auth.Principal, id int64) (any, error) {
				return s.Flows.SubmitRollback(r.Context(), p, id)
			})},
		{method: "POST", path: "/api/v1/tickets/{id}/password", tag: "tickets", summary: "Show the requester the password an account step generated, once",
			perm: auth.FlowSubmit, in: PasswordRequest{}, out: flows.Credential{},
			handle: onTicketBody(func(r *http.Request, p auth.Principal, id int64, in PasswordRequest) (any, error) {
				return s.Flows.RevealPassword(r.Context(), p, id, in.Step)
			})},
		{method: "GET", path: "/api/v1/tickets/{id}/attachments/{att}", tag: "tickets", summary: "Download a file a ticket produced (an export's CSV), if you may see its results",
			perm: auth.FlowRead, out: "",
			raw: func(w http.ResponseWriter, r *http.Request, p auth.Principal) {
				a, body, err := s.download(r, p)
				if err != nil {
					httpx.WriteError(w, r, s.Log, err)
					return
				}
				rawFile{name: a.Name, ctype: a.ContentType, body: body}.ServeHTTP(w, r)
			}},
	}
	// Without a flows service (not wired), every route answers 503.
	for i := range routes {
		if h := routes[i].handle; h != nil {
			routes[i].handle = func(r *http.Request, p auth.Principal) (any, error) {
				if s.Flows == nil {
					return nil, errNoFlows
				}
				return h(r, p)
			}
		}
		if raw := routes[i].raw; raw != nil {
			routes[i].raw = func(w http.ResponseWriter, r *http.Request, p auth.Principal) {
				if s.Flows == nil {
					httpx.WriteError(w, r, s.Log, errNoFlows)
					return
				}
				raw(w, r, p)
			}
		}
	}
	return routes
}

var errNoFlows = errkind.New(errkind.Unavailable, "work orders are not enabled on this server")

func (s *Server) download(r *http.Request, p auth.Principal) (flows.Attachment, []byte, error) {
	id, err := ticketID(r)
	if err != nil {
		return flows.Attachment{}, nil, err
	}
	att, err := strconv.ParseInt(r.PathValue("att"), 10, 64)
	if err != nil {
		return flows.Attachment{}, nil, errkind.New(errkind.Invalid, "invalid attachment id %q", r.PathValue("att"))
	}
	return s.Flows.Download(r.Context(), p, id, att)
}
