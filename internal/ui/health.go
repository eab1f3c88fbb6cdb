package ui

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/health"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// healthList is the fleet's latest health scores, worst first.
func (u *site) healthList(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Health == nil {
		return errkind.New(errkind.Unavailable, "the health score is not running in this server (no metric store)")
	}
	win, err := health.ParseWindow(r.URL.Query().Get("window"))
	if err != nil {
		return errkind.Wrap(errkind.Invalid, err)
	}
	rows, err := u.Health.List(r.Context(), win)
	if err != nil {
		return err
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Scored != rows[j].Scored {
			return rows[i].Scored
		}
		return rows[i].Value < rows[j].Value
	})
	v := u.view(rq, "Health", "health")
	v.Data = healthListData{Window: string(win), Rows: rows}
	u.render(w, r, http.StatusOK, "health.html", v)
	return nil
}

type healthListData struct {
	Window string
	Rows   []health.InstanceScore
	// Detail is nil on the list page.
	Detail *healthDetail
}

// healthDetail is one instance's drill-down: the score, its deductions
// grouped by category, what could not be evaluated, the disk forecast and
// each key metric against its forecast band.
type healthDetail struct {
	Report     health.Report
	Categories []categoryPoints
	Bands      []bandView
	History    template.HTML
	Hours      int
}

type categoryPoints struct {
	Name   string
	Points float64
}

type bandView struct {
	Metric string
	Z      float64
	Error  string
	SVG    template.HTML
}

// healthInstance is the drill-down page of an instance's score.
func (u *site) healthInstance(w http.ResponseWriter, r *http.Request, rq *request) error {
	if u.Health == nil {
		return errkind.New(errkind.Unavailable, "the health score is not running in this server (no metric store)")
	}
	q := r.URL.Query()
	win, err := health.ParseWindow(q.Get("window"))
	if err != nil {
		return errkind.Wrap(errkind.Invalid, err)
	}
	hours := 6
	switch q.Get("hours") {
	case "", "6":
	case "24":
		hours = 24
	case "72":
		hours = 72
	default:
		return errkind.New(errkind.Invalid, "hours %q: choose 6, 24 or 72", q.Get("hours"))
	}
	rep, err := u.Health.Report(r.Context(), r.PathValue("name"), win, time.Duration(hours)*time.Hour)
	if err != nil {
		return err
	}
	d := &healthDetail{Report: rep, Hours: hours}
	byCat := rep.Score.ByCategory()
	for _, c := range health.Categories {
		d.Categories = append(d.Categories, categoryPoints{Name: c, Points: byCat[c]})
	}
	for _, b := range rep.Bands {
		bv := bandView{Metric: b.Metric, Z: b.Z, Error: b.Error}
		if b.Error == "" {
			bv.SVG = template.HTML(bandSVG(b, 560, 200))
		}
		d.Bands = append(d.Bands, bv)
	}
	d.History = template.HTML(historySVG(rep.History, 560, 140))
	v := u.view(rq, "Health "+rep.Score.Instance, "health")
	v.Data = healthListData{Window: string(win), Detail: d}
	u.render(w, r, http.StatusOK, "health.html", v)
	return nil
}

// plot maps times and values to pixels in a w x h image with margins.
type plot struct {
	w, h           int
	t0, t1         time.Time
	y0, y1         float64
	left, right    float64
	top, bottom    float64
	fmtY           func(float64) string
	title, caption string
	// step between horizontal grid lines; 0 means a quarter of the range.
	step float64
}

func (p plot) x(t time.Time) float64 {
	span := p.t1.Sub(p.t0)
	if span <= 0 {
		return (p.left + p.right) / 2
	}
	return p.left + float64(t.Sub(p.t0))/float64(span)*(p.right-p.left)
}

func (p plot) y(v float64) float64 {
	if p.y1 == p.y0 {
		return (p.top + p.bottom) / 2
	}
	return p.bottom - (v-p.y0)/(p.y1-p.y0)*(p.bottom-p.top)
}

func fx(v float64) string { return fmt.Sprintf("%.1f", v) }

// frame writes the SVG header, title, y grid with labels and the time
// labels at both ends.
func (p plot) frame(b *bytes.Buffer) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11" role="img">`, p.w, p.h, p.w, p.h)
	fmt.Fprintf(b, `<title>%s</title><rect width="%d" height="%d" fill="#ffffff"/>`, html.EscapeString(p.title), p.w, p.h)
	fmt.Fprintf(b, `<text x="%s" y="15" font-size="13" font-weight="bold" fill="#222222">%s</text>`, fx(p.left), html.EscapeString(p.title))
	if p.caption != "" {
		fmt.Fprintf(b, `<text x="%s" y="15" text-anchor="end" fill="#555555">%s</text>`, fx(p.right), html.EscapeString(p.caption))
	}
	step := p.step
	if !(step > 0) || (p.y1-p.y0)/step > 12 {
		step = (p.y1 - p.y0) / 4
	}
	for i := 0; ; i++ {
		v := p.y0 + float64(i)*step
		if v > p.y1+step/1e6 || step == 0 {
			break
		}
		y := p.y(v)
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e5e5e5"/>`, fx(p.left), fx(y), fx(p.right), fx(y))
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end" fill="#555555">%s</text>`, fx(p.left-6), fx(y+4), html.EscapeString(p.fmtY(v)))
	}
	layout := "15:04"
	if p.t1.Sub(p.t0) > 36*time.Hour {
		layout = "01-02 15:04"
	}
	fmt.Fprintf(b, `<text x="%s" y="%s" fill="#555555">%s</text>`, fx(p.left), fx(p.bottom+15), p.t0.UTC().Format(layout))
	fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end" fill="#555555">%s UTC</text>`, fx(p.right), fx(p.bottom+15), p.t1.UTC().Format(layout))
	fmt.Fprintf(b, `<path d="M%s %sV%sH%s" fill="none" stroke="#888888"/>`, fx(p.left), fx(p.top), fx(p.bottom), fx(p.right))
}

// bandSVG draws a metric against its forecast: the band shaded, the
// forecast dashed, the observed values as a line.
func bandSVG(mb health.MetricBand, w, h int) string {
	pts := mb.Points
	if len(pts) == 0 {
		return ""
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		for _, v := range []float64{p.Lower, p.Upper} {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if p.Has {
			lo, hi = math.Min(lo, p.Y), math.Max(hi, p.Y)
		}
	}
	if lo >= 0 && lo < (hi-lo)*0.5 {
		lo = 0
	}
	if hi == lo {
		hi = lo + 1
	}
	// Round the axis out to a multiple of a "nice" step (1, 2 or 5 times
	// a power of ten), a quarter of the range.
	step := niceStep((hi - lo) / 4)
	lo, hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	p := plot{w: w, h: h, t0: pts[0].At, t1: pts[len(pts)-1].At, y0: lo, y1: hi,
		left: 56, right: float64(w - 12), top: 24, bottom: float64(h - 22),
		fmtY:  func(v float64) string { return health.FormatValue(roundTo(v, hi-lo), "") },
		title: mb.Metric, caption: fmt.Sprintf("z = %+.1f", mb.Z)}
	var b bytes.Buffer
	p.frame(&b)
	// Band: upper edge forward, lower edge back.
	var d strings.Builder
	for i, pt := range pts {
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&d, "%s%s %s", cmd, fx(p.x(pt.At)), fx(p.y(pt.Upper)))
	}
	for i := len(pts) - 1; i >= 0; i-- {
		fmt.Fprintf(&d, "L%s %s", fx(p.x(pts[i].At)), fx(p.y(pts[i].Lower)))
	}
	d.WriteString("Z")
	fmt.Fprintf(&b, `<path d="%s" fill="#0072b2" fill-opacity="0.15" stroke="none"><title>forecast band</title></path>`, d.String())
	d.Reset()
	for i, pt := range pts {
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&d, "%s%s %s", cmd, fx(p.x(pt.At)), fx(p.y(pt.Yhat)))
	}
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#0072b2" stroke-width="1" stroke-dasharray="4 3"><title>forecast</title></path>`, d.String())
	d.Reset()
	pen := false
	for _, pt := range pts {
		if !pt.Has {
			pen = false
			continue
		}
		cmd := "L"
		if !pen {
			cmd = "M"
		}
		fmt.Fprintf(&d, "%s%s %s", cmd, fx(p.x(pt.At)), fx(p.y(pt.Y)))
		pen = true
	}
	if d.Len() > 0 {
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#d55e00" stroke-width="1.5"><title>observed</title></path>`, d.String())
	}
	b.WriteString("</svg>")
	return b.String()
}

// niceStep is the smallest of 1, 2, 5 times a power of ten not below x.
func niceStep(x float64) float64 {
	if !(x > 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// roundTo rounds an axis label to a precision fit for the span.
func roundTo(v, span float64) float64 {
	if span <= 0 {
		return v
	}
	unit := math.Pow(10, math.Floor(math.Log10(span))-1)
	return math.Round(v/unit) * unit
}

// historySVG draws the score over time with the level bands.
func historySVG(hist []health.HistoryPoint, w, h int) string {
	if len(hist) == 0 {
		return ""
	}
	t0, t1 := hist[0].At, hist[len(hist)-1].At
	if !t1.After(t0) {
		t0 = t1.Add(-time.Hour)
	}
	p := plot{w: w, h: h, t0: t0, t1: t1, y0: 0, y1: 100, left: 40, right: float64(w - 12), top: 24, bottom: float64(h - 22),
		fmtY: func(v float64) string { return fmt.Sprintf("%.0f", v) }, title: "Score history", step: 25}
	var b bytes.Buffer
	p.frame(&b)
	for _, band := range []struct {
		lo, hi float64
		color  string
	}{{90, 100, "#009e73"}, {75, 90, "#e69f00"}, {60, 75, "#d55e00"}, {0, 60, "#cc3311"}} {
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="0.07"/>`,
			fx(p.left), fx(p.y(band.hi)), fx(p.right-p.left), fx(p.y(band.lo)-p.y(band.hi)), band.color)
	}
	var d strings.Builder
	for i, hp := range hist {
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&d, "%s%s %s", cmd, fx(p.x(hp.At)), fx(p.y(hp.Value)))
	}
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#0072b2" stroke-width="1.5"><title>score</title></path>`, d.String())
	if len(hist) == 1 {
		fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2.5" fill="#0072b2"/>`, fx(p.x(hist[0].At)), fx(p.y(hist[0].Value)))
	}
	b.WriteString("</svg>")
	return b.String()
}

// levelClass is the CSS badge class of a level.
func levelClass(l health.Level) string {
	switch l {
	case health.Healthy:
		return "up"
	case health.Attention, health.Risk:
		return "warn"
	}
	return "down"
}

// LevelClass is the badge class of a level, for the template.
func (healthListData) LevelClass(l health.Level) string { return levelClass(l) }

// LevelName is a level in words.
func (healthListData) LevelName(l health.Level) string {
	return strings.ReplaceAll(string(l), "_", " ")
}

// Value formats a value in its unit, for the template.
func (healthListData) Value(v float64, unit string) string { return health.FormatValue(v, unit) }

// Score formats a score.
func (healthListData) Score(v float64) string { return fmt.Sprintf("%.1f", v) }
