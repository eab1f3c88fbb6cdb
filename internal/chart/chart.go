// Package chart renders line charts as standalone SVG: axes with "nice"
// ticks, time on the x axis, a legend, gaps where data is missing. The
// output is deterministic (same input, same bytes) so that it can be
// golden-tested, cached, and embedded in web pages, reports and e-mails.
// It knows nothing of dbfleet's domains.
package chart

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
	"time"
)

// Point is one value at one time; a NaN value is a gap.
type Point struct {
	T time.Time
	V float64
}

// Series is one line.
type Series struct {
	Name   string
	Points []Point // in time order
}

// Unit tells how to format values on the y axis.
type Unit string

// Units.
const (
	UnitNone    Unit = ""        // 1.5k, 2M
	UnitBytes   Unit = "bytes"   // 1.5 KiB, 2 GiB
	UnitSeconds Unit = "seconds" // 250ms, 1.5s, 2m
	UnitPercent Unit = "percent" // 0-100 -> "50%"
)

// Chart is a line chart.
type Chart struct {
	Title string
	// Width and Height of the whole image in pixels; zero means 640x240.
	Width, Height int
	Unit          Unit
	Series        []Series
	// Start and End bound the x axis; zero means the data's extent.
	Start, End time.Time
	// Location for time labels; nil means UTC.
	Location *time.Location
	// MinY and MaxY force the y range when set (non-nil); otherwise it is
	// the data's, widened to include zero for non-negative data.
	MinY, MaxY *float64
}

// Palette is the line colours, in order (colour-blind friendly, Okabe-Ito).
var Palette = []string{"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"}

// layout in pixels.
const (
	padLeft   = 64
	padRight  = 16
	padTop    = 28
	padBottom = 24
	legendRow = 16
	fontSize  = 11
)

// SVG renders the chart.
func (c Chart) SVG() []byte {
	w, h := c.Width, c.Height
	if w <= 0 {
		w = 640
	}
	if h <= 0 {
		h = 240
	}
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	named := 0
	for _, s := range c.Series {
		if s.Name != "" {
			named++
		}
	}
	// Legend: as many entries per row as fit, each 150 px wide.
	perRow := max((w-padLeft-padRight)/150, 1)
	legendRows := (named + perRow - 1) / perRow
	plotX0, plotX1 := float64(padLeft), float64(w-padRight)
	plotY0, plotY1 := float64(padTop), float64(h-padBottom-legendRows*legendRow)
	if plotY1-plotY0 < 20 {
		plotY1 = plotY0 + 20
	}

	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="%d" role="img">`+"\n", w, h, w, h, fontSize)
	if c.Title != "" {
		fmt.Fprintf(&b, "<title>%s</title>\n", html.EscapeString(c.Title))
	}
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`+"\n", w, h)
	if c.Title != "" {
		fmt.Fprintf(&b, `<text x="%d" y="16" font-size="13" font-weight="bold" fill="#222222">%s</text>`+"\n", padLeft, html.EscapeString(c.Title))
	}

	t0, t1, y0, y1, ok := c.extent()
	if !ok {
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#cccccc"/>`+"\n", f(plotX0), f(plotY0), f(plotX1-plotX0), f(plotY1-plotY0))
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle" fill="#888888">no data</text>`+"\n", f((plotX0+plotX1)/2), f((plotY0+plotY1)/2))
		b.WriteString("</svg>\n")
		return b.Bytes()
	}
	yticks := unitTicks(y0, y1, c.Unit)
	y0, y1 = min(y0, yticks[0]), max(y1, yticks[len(yticks)-1])
	xOf := func(t time.Time) float64 {
		span := t1.Sub(t0)
		if span <= 0 {
			return (plotX0 + plotX1) / 2
		}
		return plotX0 + float64(t.Sub(t0))/float64(span)*(plotX1-plotX0)
	}
	yOf := func(v float64) float64 {
		if y1 == y0 {
			return (plotY0 + plotY1) / 2
		}
		return plotY1 - (v-y0)/(y1-y0)*(plotY1-plotY0)
	}

	// Grid and y labels.
	b.WriteString(`<g stroke="#e5e5e5" stroke-width="1">` + "\n")
	for _, v := range yticks {
		y := yOf(v)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", f(plotX0), f(y), f(plotX1), f(y))
	}
	xticks, layout := timeTicks(t0, t1, loc, int((plotX1-plotX0)/90))
	for _, t := range xticks {
		x := xOf(t)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", f(x), f(plotY0), f(x), f(plotY1))
	}
	b.WriteString("</g>\n")
	b.WriteString(`<g fill="#555555">` + "\n")
	for _, v := range yticks {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="end">%s</text>`+"\n", f(plotX0-6), f(yOf(v)+4), html.EscapeString(FormatValue(v, c.Unit)))
	}
	for _, t := range xticks {
		fmt.Fprintf(&b, `<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", f(xOf(t)), f(plotY1+15), t.In(loc).Format(layout))
	}
	b.WriteString("</g>\n")
	// Axes.
	fmt.Fprintf(&b, `<path d="M%s %sV%sH%s" fill="none" stroke="#888888"/>`+"\n", f(plotX0), f(plotY0), f(plotY1), f(plotX1))

	// Lines; a NaN or a jump of more than three typical steps starts a new segment.
	for i, s := range c.Series {
		color := Palette[i%len(Palette)]
		var d strings.Builder
		gap := typicalStep(s.Points) * 3
		penUp := true
		var prev time.Time
		for _, p := range s.Points {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) || p.T.Before(t0) || p.T.After(t1) {
				penUp = true
				continue
			}
			if !penUp && gap > 0 && p.T.Sub(prev) > gap {
				penUp = true
			}
			cmd := "L"
			if penUp {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%s %s", cmd, f(xOf(p.T)), f(yOf(p.V)))
			penUp, prev = false, p.T
		}
		if d.Len() == 0 {
			continue
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.5" stroke-linejoin="round"><title>%s</title></path>`+"\n", d.String(), color, html.EscapeString(s.Name))
		// A single point would be invisible as a path: mark it.
		if strings.Count(d.String(), "L") == 0 {
			for _, p := range s.Points {
				if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) && !p.T.Before(t0) && !p.T.After(t1) {
					fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2" fill="%s"/>`+"\n", f(xOf(p.T)), f(yOf(p.V)), color)
				}
			}
		}
	}

	// Legend.
	k := 0
	for i, s := range c.Series {
		if s.Name == "" {
			continue
		}
		row, col := k/perRow, k%perRow
		x := float64(padLeft + col*150)
		y := plotY1 + float64(padBottom) + float64(row*legendRow) + 8
		fmt.Fprintf(&b, `<rect x="%s" y="%s" width="10" height="10" fill="%s"/>`+"\n", f(x), f(y-9), Palette[i%len(Palette)])
		fmt.Fprintf(&b, `<text x="%s" y="%s" fill="#333333">%s</text>`+"\n", f(x+14), f(y), html.EscapeString(ellipsis(s.Name, 22)))
		k++
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// extent is the time and value range to draw.
func (c Chart) extent() (t0, t1 time.Time, y0, y1 float64, ok bool) {
	t0, t1 = c.Start, c.End
	y0, y1 = math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
				continue
			}
			if (!c.Start.IsZero() && p.T.Before(c.Start)) || (!c.End.IsZero() && p.T.After(c.End)) {
				continue
			}
			ok = true
			y0, y1 = min(y0, p.V), max(y1, p.V)
			if c.Start.IsZero() && (t0.IsZero() || p.T.Before(t0)) {
				t0 = p.T
			}
			if c.End.IsZero() && (t1.IsZero() || p.T.After(t1)) {
				t1 = p.T
			}
		}
	}
	if !ok {
		return t0, t1, 0, 0, false
	}
	if y0 >= 0 {
		y0 = 0
	}
	if c.MinY != nil {
		y0 = *c.MinY
	}
	if c.MaxY != nil {
		y1 = *c.MaxY
	}
	if y1 <= y0 {
		y1 = y0 + 1
	}
	return t0, t1, y0, y1, true
}

func typicalStep(ps []Point) time.Duration {
	if len(ps) < 2 {
		return 0
	}
	// The smallest step: robust to gaps, which only lengthen steps.
	best := time.Duration(math.MaxInt64)
	for i := 1; i < len(ps); i++ {
		if d := ps[i].T.Sub(ps[i-1].T); d > 0 && d < best {
			best = d
		}
	}
	if best == time.Duration(math.MaxInt64) {
		return 0
	}
	return best
}

// f formats a coordinate with one decimal, trimmed.
func f(v float64) string {
	s := strconv.FormatFloat(math.Round(v*10)/10, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	step := niceNum((hi-lo)/float64(max(n-1, 1)), true)
	start := math.Floor(lo/step) * step
	end := math.Ceil(hi/step) * step
	var out []float64
	for v := start; v <= end+step/2; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return out
}

// unitTicks places ticks on round numbers of the unit's natural scale:
// whole KiB/MiB/GiB for bytes, minutes/hours/days for seconds.
func unitTicks(lo, hi float64, unit Unit) []float64 {
	scale := 1.0
	top := max(math.Abs(lo), math.Abs(hi))
	switch unit {
	case UnitBytes:
		for top/scale >= 1024 {
			scale *= 1024
		}
	case UnitSeconds:
		switch {
		case top >= 2*86400:
			scale = 86400
		case top >= 7200:
			scale = 3600
		case top >= 120:
			scale = 60
		}
	}
	ticks := niceTicks(lo/scale, hi/scale, 5)
	for i := range ticks {
		ticks[i] *= scale
	}
	return ticks
}

// niceNum rounds x to 1, 2, 5 or 10 times a power of ten (Heckbert).
func niceNum(x float64, round bool) float64 {
	exp := math.Floor(math.Log10(x))
	frac := x / math.Pow(10, exp)
	var nf float64
	switch {
	case round && frac < 1.5, !round && frac <= 1:
		nf = 1
	case round && frac < 3, !round && frac <= 2:
		nf = 2
	case round && frac < 7, !round && frac <= 5:
		nf = 5
	default:
		nf = 10
	}
	return nf * math.Pow(10, exp)
}

// timeSteps are the tick spacings the x axis chooses from, with the label
// layout for each.
var timeSteps = []struct {
	d      time.Duration
	layout string
}{
	{10 * time.Second, "15:04:05"}, {30 * time.Second, "15:04:05"},
	{time.Minute, "15:04"}, {5 * time.Minute, "15:04"}, {10 * time.Minute, "15:04"}, {15 * time.Minute, "15:04"},
	{30 * time.Minute, "15:04"}, {time.Hour, "15:04"}, {2 * time.Hour, "15:04"}, {3 * time.Hour, "15:04"},
	{6 * time.Hour, "Jan 2 15:04"}, {12 * time.Hour, "Jan 2 15:04"}, {24 * time.Hour, "Jan 2"},
	{2 * 24 * time.Hour, "Jan 2"}, {7 * 24 * time.Hour, "Jan 2"}, {14 * 24 * time.Hour, "Jan 2"},
	{30 * 24 * time.Hour, "Jan 2"}, {90 * 24 * time.Hour, "Jan 2006"}, {365 * 24 * time.Hour, "2006"},
}

// timeTicks returns at most n tick times on round boundaries in loc.
func timeTicks(t0, t1 time.Time, loc *time.Location, n int) ([]time.Time, string) {
	n = max(n, 2)
	span := t1.Sub(t0)
	if span <= 0 {
		return []time.Time{t0}, "15:04"
	}
	step := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if span/s.d <= time.Duration(n) {
			step = s
			break
		}
	}
	// Round boundaries in loc: days at midnight, shorter steps on the clock.
	var first time.Time
	if step.d >= 24*time.Hour {
		y, m, d := t0.In(loc).Date()
		first = time.Date(y, m, d, 0, 0, 0, 0, loc)
	} else {
		_, off := t0.In(loc).Zone()
		shifted := t0.Add(time.Duration(off) * time.Second)
		first = shifted.Truncate(step.d).Add(-time.Duration(off) * time.Second)
	}
	var out []time.Time
	for t := first; !t.After(t1); t = t.Add(step.d) {
		if !t.Before(t0) {
			out = append(out, t)
		}
	}
	return out, step.layout
}

// FormatValue renders v for an axis label or a table cell in unit.
func FormatValue(v float64, unit Unit) string {
	switch unit {
	case UnitBytes:
		return scaled(v, 1024, []string{" B", " KiB", " MiB", " GiB", " TiB", " PiB"})
	case UnitSeconds:
		a := math.Abs(v)
		switch {
		case a == 0:
			return "0s"
		case a < 1e-3:
			return trim(v*1e6) + "µs"
		case a < 1:
			return trim(v*1e3) + "ms"
		case a < 120:
			return trim(v) + "s"
		case a < 7200:
			return trim(v/60) + "m"
		case a < 2*86400:
			return trim(v/3600) + "h"
		}
		return trim(v/86400) + "d"
	case UnitPercent:
		return trim(v) + "%"
	}
	return scaled(v, 1000, []string{"", "k", "M", "G", "T", "P"})
}

func scaled(v, base float64, suffixes []string) string {
	i := 0
	for math.Abs(v) >= base && i < len(suffixes)-1 {
		v /= base
		i++
	}
	return trim(v) + suffixes[i]
}

// trim prints up to two decimals, dropping trailing zeros.
func trim(v float64) string {
	var s string
	switch a := math.Abs(v); {
	case a >= 100:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
