package ui

import (
	"html/template"
	"net/http"
	"net/url"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/reports"
)

var errNoReports = errkind.New(errkind.Unavailable, "reports are not enabled on this server")

func (u *site) reportRoutes(mux *http.ServeMux) {
	mux.Handle("GET /reports", u.page(auth.ReportRead, u.reportsPage))
	mux.Handle("GET /reports/{id}", u.page(auth.ReportRead, u.reportPage))
}

type reportsData struct {
	Reports  []*reports.Report
	Problems reports.Problems
	Dir      string
}

func (u *site) reportsPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Reports == nil {
		return errNoReports
	}
	d := reportsData{Reports: u.Reports.List(rq.p)}
	if rq.p.Can(auth.ReportManage) {
		d.Problems, d.Dir = u.Reports.Catalog().Problems(), u.Reports.Catalog().Dir()
	}
	v := u.view(rq, "Reports", "reports")
	v.Data = d
	u.render(w, r, http.StatusOK, "reports.html", v)
	return nil
}

// paramField is one input of a report's parameter form, generated from
// the report's <param> elements.
type paramField struct {
	*reports.Param
	Input   string // the <input type>, "" for a <select>
	Value   string
	Locked  bool
	Choices []string
}

type reportData struct {
	Report  *reports.Report
	Fields  []paramField
	CanRun  bool
	Result  *reports.Result
	Error   string
	Query   string // the parameters as a query string (exports)
	Charts  map[int]template.HTML
	Partial bool
}

func (u *site) reportPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Reports == nil {
		return errNoReports
	}
	rep, err := u.Reports.Get(rq.p, r.PathValue("id"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	locked := rep.Locked(rq.p)
	d := reportData{Report: rep, CanRun: rep.Can(rq.p, reports.PermRun), Charts: map[int]template.HTML{}}
	in := map[string]string{}
	for _, p := range rep.Params {
		f := paramField{Param: p, Value: q.Get(p.Name)}
		if f.Value != "" {
			in[p.Name] = f.Value
		} else {
			f.Value = p.Default
		}
		if v, ok := locked[p.Name]; ok {
			f.Value, f.Locked = v, true
		}
		switch p.Type {
		case reports.ParamNumber:
			f.Input = "number"
		case reports.ParamDate:
			f.Input = "text"
		case reports.ParamEnum:
		case reports.ParamInstance, reports.ParamCluster, reports.ParamGroup:
			f.Choices = u.choices(r, rq.p, p.Type)
			if len(f.Choices) == 0 {
				f.Input = "text"
			}
		default:
			f.Input = "text"
		}
		d.Fields = append(d.Fields, f)
	}
	// A drill link carries parameters; the form's button sends run=1.
	if d.CanRun && (q.Has("run") || len(in) > 0) {
		res, err := u.Reports.Run(r.Context(), rq.p, rep.ID, in)
		switch {
		case err == nil:
			d.Result = res
			for i, b := range res.Blocks {
				if b.SVG != "" {
					d.Charts[i] = template.HTML(b.SVG) // rendered by internal/chart, which escapes its text
				}
			}
			for _, ds := range res.Data {
				if len(ds.Failed) > 0 {
					d.Partial = true
				}
			}
			vals := url.Values{}
			for k, v := range in {
				vals.Set(k, v)
			}
			d.Query = vals.Encode()
		case errkind.Of(err) == errkind.Invalid || errkind.Of(err) == errkind.Forbidden:
			d.Error = err.Error()
		default:
			return err
		}
	}
	v := u.view(rq, rep.Title, "reports")
	v.Data = d
	u.render(w, r, http.StatusOK, "report.html", v)
	return nil
}

// choices lists the inventory names a picker offers: for instances, only
// those the viewer may query (a chosen instance needs the viewer's grants).
func (u *site) choices(r *http.Request, p auth.Principal, kind string) []string {
	var out []string
	switch kind {
	case reports.ParamInstance:
		ins, err := u.Inventory.ListInstances(r.Context(), inventory.InstanceFilter{})
		if err == nil && u.Query != nil {
			for _, i := range ins {
				out = append(out, i.Name)
			}
			if out, err = u.Query.Queryable(r.Context(), p, out); err != nil {
				out = nil
			}
		}
	case reports.ParamCluster:
		cs, err := u.Inventory.ListClusters(r.Context())
		if err == nil {
			for _, c := range cs {
				out = append(out, c.Name)
			}
		}
	case reports.ParamGroup:
		gs, err := u.Inventory.ListGroups(r.Context())
		if err == nil {
			for _, g := range gs {
				out = append(out, g.Name)
			}
		}
	}
	return out
}
