package ui

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/chart"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/httpx"
	"github.com/dbfleet/dbfleet/internal/slowlog"
)

// Slow-query pages: every instance's slow-query status, an instance's top
// classes over a time range, and one class with its trend, distribution,
// worst example and an EXPLAIN run on demand.

func (u *site) slowlogRoutes(mux *http.ServeMux) {
	mux.Handle("GET /slowlog", u.page(auth.SlowlogRead, u.slowlogList))
	mux.Handle("GET /slowlog/{name}", u.page(auth.SlowlogRead, u.slowlogInstance))
	mux.Handle("POST /slowlog/{name}/collect", u.action(auth.SlowlogWrite, u.slowlogCollect))
	mux.Handle("POST /slowlog/{name}/upload", u.streamAction(auth.SlowlogWrite, u.slowlogUpload))
	mux.Handle("GET /slowlog/{name}/classes/{id}", u.page(auth.SlowlogRead, u.slowlogClass))
	mux.Handle("POST /slowlog/{name}/classes/{id}/explain", u.action(auth.SlowlogRead, u.slowlogExplain))
}

func (u *site) slowlogSvc() (*slowlog.Service, error) {
	if u.Slowlog == nil {
		return nil, errkind.New(errkind.Unavailable, "slow-query digests are not enabled on this server")
	}
	return u.Slowlog, nil
}

// slowRanges are the time ranges the pages offer.
var slowRanges = []string{"1h", "6h", "24h", "7d", "30d"}

func slowRange(v string) (string, time.Duration, error) {
	if v == "" {
		v = "24h"
	}
	for _, r := range slowRanges {
		if r == v {
			if d, ok := strings.CutSuffix(r, "d"); ok {
				n := 0
				fmt.Sscanf(d, "%d", &n)
				return r, time.Duration(n) * 24 * time.Hour, nil
			}
			dur, _ := time.ParseDuration(r)
			return r, dur, nil
		}
	}
	return "", 0, errkind.New(errkind.Invalid, "range %q: choose one of %s", v, strings.Join(slowRanges, ", "))
}

func (u *site) slowlogList(w http.ResponseWriter, r *http.Request, rq *request) error {
	svc, err := u.slowlogSvc()
	if err != nil {
		return err
	}
	rows, err := svc.Summaries(r.Context())
	if err != nil {
		return err
	}
	v := u.view(rq, "Slow queries", "slowlog")
	v.Data = slowListData{Rows: rows}
	u.render(w, r, http.StatusOK, "slowlog.html", v)
	return nil
}

// slowFmt formats numbers for the slow-query templates.
type slowFmt struct{}

// Secs formats seconds: 12us, 3ms, 1.5s.
func (slowFmt) Secs(v float64) string { return slowlog.FormatSeconds(v) }

// Pct formats a share (0-1) as a percentage.
func (slowFmt) Pct(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }

// Num formats a count compactly: 12, 4.50k, 1.20M.
func (slowFmt) Num(v int64) string { return slowlog.Shorten(float64(v), 1000) }

// Short is a query id's last 16 hex digits, as the pages show it.
func (slowFmt) Short(id string) string { return slowlog.ShortQueryID(id) }

// Rank is a 0-based index as a 1-based rank.
func (slowFmt) Rank(i int) int { return i + 1 }

// Cell formats a result value (nil is NULL).
func (slowFmt) Cell(v any) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(v)
}

// Clip shortens a long statement for a table cell.
func (slowFmt) Clip(s string) string {
	if len(s) > 140 {
		return s[:140] + "…"
	}
	return s
}

type slowListData struct {
	slowFmt
	Rows []slowlog.InstanceSummary
}

type slowInstanceData struct {
	slowFmt
	Instance string
	Range    string
	Ranges   []string
	Order    string
	Orders   []string
	Top      slowlog.TopResult
	Sources  []slowlog.SourceStatus
}

func (u *site) slowlogInstance(w http.ResponseWriter, r *http.Request, rq *request) error {
	svc, err := u.slowlogSvc()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	q := r.URL.Query()
	rng, dur, err := slowRange(q.Get("range"))
	if err != nil {
		return err
	}
	order, ok := slowlog.ParseOrderBy(q.Get("order"))
	if !ok {
		return errkind.New(errkind.Invalid, "order %q: choose sum, count, max or p95", q.Get("order"))
	}
	now := u.now()
	top, err := svc.Top(r.Context(), rq.p, name, slowlog.Filter{Since: now.Add(-dur), Until: now, OrderBy: order, Limit: 50})
	if err != nil {
		return err
	}
	sources, err := svc.Sources(r.Context(), name)
	if err != nil {
		return err
	}
	v := u.view(rq, "Slow queries "+name, "slowlog")
	v.Data = slowInstanceData{Instance: name, Range: rng, Ranges: slowRanges, Order: string(order),
		Orders: []string{"sum", "count", "max", "p95"}, Top: top, Sources: sources}
	u.render(w, r, http.StatusOK, "slowlog_instance.html", v)
	return nil
}

func (u *site) slowlogCollect(w http.ResponseWriter, r *http.Request, rq *request) error {
	svc, err := u.slowlogSvc()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	sts, err := svc.Collect(r.Context(), name)
	if err != nil {
		return err
	}
	var parts []string
	for _, st := range sts {
		parts = append(parts, st.Source+": "+st.Status)
	}
	return u.redirect(w, r, "/slowlog/"+url.PathEscape(name), "Collected. "+strings.Join(parts, "; "))
}

// streamAction is action for a multipart upload of any size: the CSRF
// token must be the form's first field, and the file part is handed on
// unread (the body is not buffered or bounded by httpx.MaxBody).
func (u *site) streamAction(perm auth.Permission, h func(w http.ResponseWriter, r *http.Request, rq *request, file io.Reader) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq, ok := u.session(w, r)
		if !ok {
			return
		}
		mr, err := r.MultipartReader()
		if err != nil {
			u.fail(w, r, rq, errkind.New(errkind.Invalid, "want a multipart form upload: %v", err))
			return
		}
		part, err := mr.NextPart()
		if err != nil || part.FormName() != csrfField {
			u.fail(w, r, rq, errkind.New(errkind.Forbidden, "the form's security token is missing or stale; reload the page and try again"))
			return
		}
		tok, _ := io.ReadAll(io.LimitReader(part, 256))
		if !validCSRF(rq.csrf, string(tok)) {
			u.log.Warn("refused an upload without a valid CSRF token", "path", r.URL.Path, "user", rq.p.User, "addr", httpx.ClientAddr(r))
			u.fail(w, r, rq, errkind.New(errkind.Forbidden, "the form's security token is missing or stale; reload the page and try again"))
			return
		}
		if err := rq.p.Require(perm); err != nil {
			u.fail(w, r, rq, err)
			return
		}
		var file io.Reader
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				u.fail(w, r, rq, errkind.New(errkind.Invalid, "read the upload: %v", err))
				return
			}
			if p.FormName() == "file" {
				file = p
				break
			}
		}
		if file == nil {
			u.fail(w, r, rq, errkind.New(errkind.Invalid, "choose a slow-log file to upload"))
			return
		}
		ctx := audit.WithActor(r.Context(), audit.Actor{User: rq.p.User, Addr: httpx.ClientAddr(r)})
		if err := h(w, r.WithContext(ctx), rq, file); err != nil {
			u.fail(w, r, rq, err)
		}
	})
}

func (u *site) slowlogUpload(w http.ResponseWriter, r *http.Request, rq *request, file io.Reader) error {
	svc, err := u.slowlogSvc()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	res, err := svc.Upload(r.Context(), name, file)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Uploaded %s: %d events in %d classes.", fmtBytes(res.Bytes), res.Events, res.Classes)
	if res.Skipped > 0 {
		first := res.SkippedEvents[0]
		msg += fmt.Sprintf(" Skipped %d events with numbers out of range (the first at line %d: %s).", res.Skipped, first.Line, first.Reason)
	}
	return u.redirect(w, r, "/slowlog/"+url.PathEscape(name)+"?range=30d", msg)
}

func fmtBytes(n int64) string { return slowlog.Shorten(float64(n), 1024) + "B" }

type slowClassData struct {
	slowFmt
	Range   string
	Ranges  []string
	Class   slowlog.ClassDetail
	Chart   template.HTML
	Dist    template.HTML
	Explain *slowlog.ExplainResult
	// ExplainError says why EXPLAIN failed, when it did.
	ExplainError string
}

func (u *site) slowlogClassData(r *http.Request, rq *request) (slowClassData, error) {
	svc, err := u.slowlogSvc()
	if err != nil {
		return slowClassData{}, err
	}
	rng, dur, err := slowRange(r.URL.Query().Get("range"))
	if err != nil {
		return slowClassData{}, err
	}
	now := u.now()
	c, err := svc.Class(r.Context(), rq.p, r.PathValue("name"), r.PathValue("id"), slowlog.Filter{Since: now.Add(-dur), Until: now})
	if err != nil {
		return slowClassData{}, err
	}
	d := slowClassData{Range: rng, Ranges: slowRanges, Class: c}
	d.Chart = template.HTML(trendSVG(c.Trend, now.Add(-dur), now))
	d.Dist = template.HTML(distSVG(c.Histogram))
	return d, nil
}

// distSVG draws the Query_time distribution as horizontal bars, one per
// power of ten (pt-query-digest's chart, drawn).
func distSVG(h [8]uint64) string {
	const rowH, labelW, barW, countW = 20, 56, 420, 80
	var maxN uint64
	for _, n := range h {
		maxN = max(maxN, n)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="Query time distribution" font-family="sans-serif" font-size="12">`,
		labelW+barW+countW, rowH*len(h), labelW+barW+countW, rowH*len(h))
	for i, lbl := range []string{"1µs", "10µs", "100µs", "1ms", "10ms", "100ms", "1s", "10s+"} {
		y := i * rowH
		w := 0
		if maxN > 0 && h[i] > 0 {
			w = max(1, int(math.Round(float64(h[i])*barW/float64(maxN))))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" fill="#333">%s</text>`, labelW-8, y+14, lbl)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#0072b2"/>`, labelW, y+4, w, rowH-8)
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#333">%d</text>`, labelW+w+6, y+14, h[i])
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// trendSVG draws a class's total time and average per hour.
func trendSVG(points []slowlog.TrendPoint, from, to time.Time) string {
	total := chart.Series{Name: "total time per hour"}
	p95 := chart.Series{Name: "95th percentile"}
	for _, p := range points {
		total.Points = append(total.Points, chart.Point{T: p.Start, V: p.QueryTime})
		p95.Points = append(p95.Points, chart.Point{T: p.Start, V: p.P95})
	}
	c := chart.Chart{Title: "Query time", Unit: chart.UnitSeconds, Width: 720, Height: 220, Series: []chart.Series{total, p95},
		Start: from, End: to, Location: time.Local}
	return string(c.SVG())
}

func (u *site) slowlogClass(w http.ResponseWriter, r *http.Request, rq *request) error {
	d, err := u.slowlogClassData(r, rq)
	if err != nil {
		return err
	}
	v := u.view(rq, "Slow query 0x"+d.Class.QueryID, "slowlog")
	v.Data = d
	u.render(w, r, http.StatusOK, "slowlog_class.html", v)
	return nil
}

func (u *site) slowlogExplain(w http.ResponseWriter, r *http.Request, rq *request) error {
	d, err := u.slowlogClassData(r, rq)
	if err != nil {
		return err
	}
	res, err := u.Slowlog.Explain(r.Context(), rq.p, r.PathValue("name"), r.PathValue("id"))
	status := http.StatusOK
	if err != nil {
		d.ExplainError = u.message(r, err)
		status = httpx.Status(err)
	} else {
		d.Explain = &res
	}
	v := u.view(rq, "Slow query 0x"+d.Class.QueryID, "slowlog")
	v.Data = d
	u.render(w, r, status, "slowlog_class.html", v)
	return nil
}
