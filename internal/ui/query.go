package ui

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/query"
)

// ---- Query console (auth.QueryRun) ----

// queryRoutes registers the console: the page (editor, schema browser,
// results), running a statement, and the CSV download.
func (u *site) queryRoutes(mux *http.ServeMux) {
	mux.Handle("GET /query", u.page(auth.QueryRun, u.queryPage))
	mux.Handle("POST /query", u.action(auth.QueryRun, u.runQuery))
	mux.Handle("POST /query/csv", u.action(auth.QueryRun, u.queryCSV))
}

type queryData struct {
	Instances []query.QueryInstance
	// Schema browser: what is open, and its contents.
	Instance, DB, Table string
	Databases           []string
	Tables              []query.SchemaTable
	Columns             []query.SchemaColumn
	SchemaError         string
	Grants              []query.Grant

	// The editor's form and the outcome of a run.
	Refused string
	Error   string
	Result  *query.Result
	Rows    [][]queryCell
	Masked  int
}

type queryCell struct {
	Text string
	Null bool
}

func (u *site) querySvc() (*query.Service, error) {
	if u.Query == nil {
		return nil, errkind.New(errkind.Unavailable, "the query console is not available on this server")
	}
	return u.Query, nil
}

// queryView fills the page: the instances the caller may query and, for
// the instance/database/table open in the browser, its contents.
func (u *site) queryView(r *http.Request, rq *request, f *form, instance, db, table string) (*view, *queryData, error) {
	svc, err := u.querySvc()
	if err != nil {
		return nil, nil, err
	}
	ctx := r.Context()
	d := &queryData{Instance: instance, DB: db, Table: table}
	if d.Instances, err = svc.Instances(ctx, rq.p); err != nil {
		return nil, nil, err
	}
	if d.Grants, err = svc.ListGrants(ctx, rq.p, query.GrantFilter{User: rq.p.User}); err != nil {
		d.Grants = nil
	}
	schemaErr := func(err error) {
		if err != nil && d.SchemaError == "" {
			d.SchemaError = u.message(r, err)
		}
	}
	if instance != "" {
		d.Databases, err = svc.Databases(ctx, rq.p, instance)
		schemaErr(err)
		if db != "" && err == nil {
			d.Tables, err = svc.Tables(ctx, rq.p, instance, db)
			schemaErr(err)
			if table != "" && err == nil {
				d.Columns, err = svc.Columns(ctx, rq.p, instance, db, table)
				schemaErr(err)
			}
		}
	}
	if f.Get("instance") == "" && instance != "" {
		f.Set("instance", instance)
		f.Set("database", db)
	}
	if f.Get("instance") == "" && len(d.Instances) > 0 {
		f.Set("instance", d.Instances[0].Name)
	}
	if f.Get("statement") == "" && table != "" {
		f.Set("statement", "SELECT * FROM "+table+" LIMIT 100")
	}
	v := u.view(rq, "Query", "query")
	v.Form, v.Data = f, d
	return v, d, nil
}

func (u *site) queryPage(w http.ResponseWriter, r *http.Request, rq *request) error {
	q := r.URL.Query()
	v, _, err := u.queryView(r, rq, newForm(), q.Get("instance"), q.Get("db"), q.Get("table"))
	if err != nil {
		return err
	}
	u.render(w, r, http.StatusOK, "query.html", v)
	return nil
}

// queryRequest reads the editor's form.
func queryRequest(f *form) (query.Request, error) {
	req := query.Request{Instance: f.Get("instance"), Database: strings.TrimSpace(f.Get("database")),
		Statement: f.Get("statement"), Timeout: strings.TrimSpace(f.Get("timeout")), Primary: f.Get("primary") == "on"}
	if s := strings.TrimSpace(f.Get("limit")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			f.Invalid("limit", "A positive number of rows, or empty for your limit.")
			return req, errkind.New(errkind.Invalid, "invalid row limit %q", s)
		}
		req.Limit = n
	}
	return req, nil
}

// runOutcome runs the form's statement and puts the outcome on the page;
// it returns the status to answer with.
func (u *site) runOutcome(r *http.Request, rq *request, d *queryData, f *form) (*query.Result, int) {
	req, err := queryRequest(f)
	if err == nil {
		var svc *query.Service
		if svc, err = u.querySvc(); err == nil {
			var res *query.Result
			if res, err = svc.Run(r.Context(), rq.p, req); err == nil {
				return res, http.StatusOK
			}
		}
	}
	msg := u.message(r, err)
	var rf *query.Refusal
	if errors.As(err, &rf) || errkind.Of(err) == errkind.Forbidden {
		d.Refused = msg
	} else {
		d.Error = msg
	}
	return nil, httpx.Status(err)
}

func (u *site) runQuery(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := formFrom(r)
	v, d, err := u.queryView(r, rq, f, f.Get("instance"), f.Get("database"), "")
	if err != nil {
		return err
	}
	res, status := u.runOutcome(r, rq, d, f)
	if res != nil {
		d.Result = res
		for _, row := range res.Rows {
			cells := make([]queryCell, len(row))
			for i, val := range row {
				cells[i] = queryCell{Text: query.FormatValue(val), Null: val == nil}
			}
			d.Rows = append(d.Rows, cells)
		}
		for _, c := range res.Columns {
			if c.Masked != "" {
				d.Masked++
			}
		}
	}
	u.render(w, r, status, "query.html", v)
	return nil
}

func (u *site) queryCSV(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := formFrom(r)
	d := &queryData{}
	res, status := u.runOutcome(r, rq, d, f)
	if res == nil {
		v, d2, err := u.queryView(r, rq, f, f.Get("instance"), f.Get("database"), "")
		if err != nil {
			return err
		}
		d2.Refused, d2.Error = d.Refused, d.Error
		u.render(w, r, status, "query.html", v)
		return nil
	}
	var buf bytes.Buffer
	if err := res.WriteCSV(&buf); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+csvName(res)+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}

// csvName is a safe file name for a download: instance[-db].csv.
func csvName(res *query.Result) string {
	name := res.Instance
	if res.Database != "" {
		name += "-" + res.Database
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, name) + ".csv"
}
