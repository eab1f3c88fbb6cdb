package api

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/reports"
)

// ReportInfo describes a report one may view.
type ReportInfo struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Version     int    `json:"version"`
	CanRun      bool   `json:"can_run"`
	CanEdit     bool   `json:"can_edit"`
}

// ReportList is the reports one may view, and (report.manage) the
// problems of files that do not load.
type ReportList struct {
	Dir      string            `json:"dir,omitempty"`
	Reports  []ReportInfo      `json:"reports"`
	Problems []reports.Problem `json:"problems,omitempty"`
}

// ReportDetail is one report: its parameters (locked ones with their
// value for the caller), data sources, datasets and blocks.
type ReportDetail struct {
	ReportInfo
	Params      []*reports.Param      `json:"params"`
	Locked      map[string]string     `json:"locked,omitempty"`
	DataSources []*reports.DataSource `json:"datasources"`
	Datasets    []*reports.Dataset    `json:"datasets"`
	Blocks      []*reports.Block      `json:"blocks"`
	// Source is the file, for those who may edit the report.
	Source string `json:"source,omitempty"`
}

// RunReport is the body of POST /api/v1/reports/{id}/run.
type RunReport struct {
	Params map[string]string `json:"params"`
}

func reportInfo(r *reports.Report, p auth.Principal) ReportInfo {
	return ReportInfo{ID: r.ID, Title: r.Title, Description: r.Description, Version: r.Version,
		CanRun: r.Can(p, reports.PermRun), CanEdit: r.Can(p, reports.PermEdit)}
}

func (s *Server) reportsSvc() (*reports.Service, error) {
	if s.Reports == nil {
		return nil, errkind.New(errkind.Unavailable, "reports are not available on this server")
	}
	return s.Reports, nil
}

func (s *Server) reportList(svc *reports.Service, p auth.Principal) ReportList {
	out := ReportList{Reports: []ReportInfo{}}
	for _, r := range svc.List(p) {
		out.Reports = append(out.Reports, reportInfo(r, p))
	}
	if p.Can(auth.ReportManage) {
		out.Dir, out.Problems = svc.Catalog().Dir(), svc.Catalog().Problems()
	}
	return out
}

func (s *Server) reportRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/reports", tag: "reports", summary: "List the reports you may view (and, for report.manage, the files that do not load)",
			perm: auth.ReportRead, out: ReportList{},
			handle: withSvc(s.reportsSvc, func(r *http.Request, p auth.Principal, svc *reports.Service) (any, error) {
				return s.reportList(svc, p), nil
			})},
		{method: "POST", path: "/api/v1/reports/reload", tag: "reports", summary: "Read the report directory now instead of at the next poll",
			perm: auth.ReportManage, out: ReportList{},
			handle: withSvc(s.reportsSvc, func(r *http.Request, p auth.Principal, svc *reports.Service) (any, error) {
				if err := svc.Catalog().Reload(r.Context()); err != nil {
					return nil, err
				}
				return s.reportList(svc, p), nil
			})},
		{method: "GET", path: "/api/v1/reports/{id}", tag: "reports", summary: "Show a report: its parameters (with your locked values), data sources, datasets and blocks",
			perm: auth.ReportRead, out: ReportDetail{},
			handle: withSvc(s.reportsSvc, func(r *http.Request, p auth.Principal, svc *reports.Service) (any, error) {
				rep, err := svc.Get(p, r.PathValue("id"))
				if err != nil {
					return nil, err
				}
				d := ReportDetail{ReportInfo: reportInfo(rep, p), Params: rep.Params, Locked: rep.Locked(p), DataSources: rep.DataSources,
					Datasets: rep.Datasets, Blocks: rep.Blocks}
				if rep.Can(p, reports.PermEdit) {
					d.Source = string(rep.Source)
				}
				return d, nil
			})},
		{method: "POST", path: "/api/v1/reports/{id}/run", tag: "reports", summary: "Run a report with parameter values (checked before any query); a partial result names the shards that failed",
			perm: auth.ReportRead, in: RunReport{}, out: reports.Result{},
			handle: withSvc(s.reportsSvc, func(r *http.Request, p auth.Principal, svc *reports.Service) (any, error) {
				var in RunReport
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return svc.Run(r.Context(), p, r.PathValue("id"), in.Params)
			})},
		{method: "POST", path: "/api/v1/reports/{id}/snapshots", tag: "reports", summary: "Run a report and store the result with its parameters (a snapshot)",
			perm: auth.ReportRead, in: RunReport{}, out: reports.Snapshot{}, status: http.StatusCreated,
			handle: withSvc(s.reportsSvc, func(r *http.Request, p auth.Principal, svc *reports.Service) (any, error) {
				var in RunReport
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return svc.TakeSnapshot(r.Context(), p, r.PathValue("id"), in.Params)
			})},
		{method: "GET", path: "/api/v1/reports/{id}/snapshots", tag: "reports", summary: "List a report's snapshots, newest first",
			perm: auth.ReportRead, out: []reports.Snapshot{},
			handle: withSvc(s.reportsSvc, func(r *http.Request, p auth.Principal, svc *reports.Service) (any, error) {
				return svc.Snapshots(r.Context(), p, r.PathValue("id"))
			})},
		{method: "GET", path: "/api/v1/report-snapshots/{sid}", tag: "reports", summary: "Show a snapshot with its data; ?compare=ID compares it with another snapshot of the same report",
			perm: auth.ReportRead, query: []string{"compare"}, out: reports.Snapshot{},
			handle: withSvc(s.reportsSvc, func(r *http.Request, p auth.Principal, svc *reports.Service) (any, error) {
				id, err := strconv.ParseInt(r.PathValue("sid"), 10, 64)
				if err != nil {
					return nil, errkind.New(errkind.Invalid, "invalid snapshot id %q", r.PathValue("sid"))
				}
				if c := r.URL.Query().Get("compare"); c != "" {
					other, err := strconv.ParseInt(c, 10, 64)
					if err != nil {
						return nil, errkind.New(errkind.Invalid, "invalid snapshot id %q", c)
					}
					return svc.Compare(r.Context(), p, id, other)
				}
				return svc.GetSnapshot(r.Context(), p, id)
			})},
		{method: "POST", path: "/api/v1/reports/{id}/subscriptions", tag: "reports", summary: "Subscribe to a report: a schedule, parameter values and a notification channel (subscribe permission on the report)",
			perm: auth.ReportRead, in: reports.SubscribeRequest{}, out: reports.Subscription{}, status: http.StatusCreated,
			handle: withSvc(s.reportsSvc, func(r *http.Request, p auth.Principal, svc *reports.Service) (any, error) {
				var in reports.SubscribeRequest
				if err := httpx.ReadJSON(r, &in); err != nil {
					return nil, err
				}
				return svc.Subscribe(r.Context(), p, r.PathValue("id"), in)
			})},
		{method: "GET", path: "/api/v1/report-subscriptions", tag: "reports", summary: "Your report subscriptions (everyone's for report.manage), with their last delivery: sent, skipped, failed and why",
			perm: auth.ReportRead, out: []reports.Subscription{},
			handle: withSvc(s.reportsSvc, func(r *http.Request, p auth.Principal, svc *reports.Service) (any, error) {
				return svc.Subscriptions(r.Context(), p)
			})},
		{method: "DELETE", path: "/api/v1/report-subscriptions/{sid}", tag: "reports", summary: "Unsubscribe (your own subscription; any for report.manage)",
			perm: auth.ReportRead, status: http.StatusNoContent,
			handle: withSvc(s.reportsSvc, func(r *http.Request, p auth.Principal, svc *reports.Service) (any, error) {
				id, err := strconv.ParseInt(r.PathValue("sid"), 10, 64)
				if err != nil {
					return nil, errkind.New(errkind.Invalid, "invalid subscription id %q", r.PathValue("sid"))
				}
				return nil, svc.Unsubscribe(r.Context(), p, id)
			})},
		{method: "POST", path: "/api/v1/reports/{id}/export", tag: "reports", summary: "Run a report and download it: ?format=csv (one dataset: ?dataset=, default the first) or xlsx (every dataset a sheet)",
			perm: auth.ReportRead, in: RunReport{}, query: []string{"format", "dataset"}, out: "", raw: s.reportExport},
	}
}

func (s *Server) reportExport(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	fail := func(err error) { httpx.WriteError(w, r, s.Log, err) }
	svc, err := s.reportsSvc()
	if err != nil {
		fail(err)
		return
	}
	var in RunReport
	if err := httpx.ReadJSON(r, &in); err != nil {
		fail(err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = reports.FormatCSV
	}
	if format != reports.FormatCSV && format != reports.FormatXLSX {
		fail(errkind.New(errkind.Invalid, "format %q: want csv or xlsx", format))
		return
	}
	res, err := svc.Run(r.Context(), p, r.PathValue("id"), in.Params)
	if err != nil {
		fail(err)
		return
	}
	var buf bytes.Buffer
	ctype := "text/csv; charset=utf-8"
	if format == reports.FormatXLSX {
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		err = res.WriteXLSX(&buf)
	} else {
		name := r.URL.Query().Get("dataset")
		d := res.Dataset(name)
		if name == "" && len(res.Data) > 0 {
			d = res.Data[0]
		}
		if d == nil {
			fail(errkind.New(errkind.NotFound, "report %s has no dataset %q", res.Report, name))
			return
		}
		err = d.WriteCSV(&buf)
	}
	if err != nil {
		fail(err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(res.Report, `"`, "")+"."+format+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}
