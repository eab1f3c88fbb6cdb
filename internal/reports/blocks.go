package reports

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/chart"
	"github.com/dbfleet/dbfleet/internal/engine"
)

// BlockResult is a block with what it shows.
type BlockResult struct {
	Kind    string `json:"kind"`
	Title   string `json:"title,omitempty"`
	Dataset string `json:"dataset,omitempty"`
	// table: headers, cells and totals (formatted)
	Headers []string `json:"headers,omitempty"`
	Cells   [][]Cell `json:"cells,omitempty"`
	Totals  []string `json:"totals,omitempty"`
	// number
	Value string `json:"value,omitempty"`
	// text
	Text string `json:"text,omitempty"`
	// chart: the SVG image (line charts over a time column)
	SVG string `json:"svg,omitempty"`
	// subreport: each run (one, or one per row) and the rolled-up values
	Subs    []*Result         `json:"subs,omitempty"`
	Returns map[string]string `json:"returns,omitempty"`
	// Note says what could not be shown.
	Note string `json:"note,omitempty"`
}

// Cell is one formatted table cell.
type Cell struct {
	Text  string `json:"text"`
	Color string `json:"color,omitempty"`
	// Link is a drill: "/reports/ID?param=value".
	Link string `json:"link,omitempty"`
}

func (s *Service) blocks(ctx context.Context, p auth.Principal, r *Report, res *Result, depth int) error {
	for _, b := range r.Blocks {
		br := &BlockResult{Kind: b.Kind, Title: b.Title, Dataset: b.Dataset}
		d := res.Dataset(b.Dataset)
		switch b.Kind {
		case "text":
			br.Text = b.Text
		case "table":
			table(br, b, d, res.Params)
		case "number":
			if c := d.Col(b.Field); c < 0 {
				br.Note = fmt.Sprintf("no column %q in dataset %s", b.Field, d.Name)
			} else if len(d.Rows) > 0 {
				br.Value = Format(d.Rows[0][c], b.Format)
			}
		case "chart":
			lineChart(br, b, d)
		case "subreport":
			if err := s.subreport(ctx, p, b, br, d, res, depth); err != nil {
				return err
			}
		}
		res.Blocks = append(res.Blocks, br)
	}
	return nil
}

func table(br *BlockResult, b *Block, d *Data, params map[string]string) {
	cols := b.Columns
	if len(cols) == 0 {
		for _, c := range d.Columns {
			cols = append(cols, &Column{Field: c, Label: c})
		}
	}
	idx := make([]int, len(cols))
	for i, c := range cols {
		idx[i] = d.Col(c.Field)
		br.Headers = append(br.Headers, c.Label)
		if idx[i] < 0 {
			br.Note = fmt.Sprintf("no column %q in dataset %s", c.Field, d.Name)
		}
	}
	hasTotal := false
	aggs := make([]agg, len(cols))
	for _, row := range d.Rows {
		cells := make([]Cell, len(cols))
		for i, c := range cols {
			if idx[i] < 0 {
				continue
			}
			v := row[idx[i]]
			cells[i] = Cell{Text: Format(v, c.Format), Color: color(c.Colors, v)}
			if c.Drill != nil {
				cells[i].Link = drillURL(c.Drill, d, row, params)
			}
			if c.Total != "" {
				hasTotal = true
				aggs[i].add(v)
			}
		}
		br.Cells = append(br.Cells, cells)
	}
	if hasTotal {
		br.Totals = make([]string, len(cols))
		for i, c := range cols {
			if c.Total != "" {
				br.Totals[i] = Format(aggs[i].result(c.Total), c.Format)
			}
		}
	}
}

// agg accumulates a column's total.
type agg struct {
	n        int
	sum      float64
	min, max float64
}

func (a *agg) add(v any) {
	f, ok := engine.Float64(v)
	if !ok || v == nil {
		return
	}
	if a.n == 0 || f < a.min {
		a.min = f
	}
	if a.n == 0 || f > a.max {
		a.max = f
	}
	a.n++
	a.sum += f
}

func (a *agg) result(fn string) any {
	switch fn {
	case "count":
		return int64(a.n)
	case "sum":
		return a.sum
	}
	if a.n == 0 {
		return nil
	}
	switch fn {
	case "avg":
		return a.sum / float64(a.n)
	case "min":
		return a.min
	default:
		return a.max
	}
}

func color(cs []Color, v any) string {
	f, ok := engine.Float64(v)
	if !ok || v == nil {
		return ""
	}
	for _, c := range cs {
		var hit bool
		switch c.Op {
		case ">":
			hit = f > c.Value
		case ">=":
			hit = f >= c.Value
		case "<":
			hit = f < c.Value
		case "<=":
			hit = f <= c.Value
		case "=":
			hit = f == c.Value
		case "!=":
			hit = f != c.Value
		}
		if hit {
			return c.Color
		}
	}
	return ""
}

// expand replaces ${row.col} with the row's value and ${name} with the
// report's parameter.
func expand(s string, d *Data, row []any, params map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		name := s[i+2 : i+j]
		if col, ok := strings.CutPrefix(name, "row."); ok && d != nil && row != nil {
			if c := d.Col(col); c >= 0 {
				b.WriteString(Text(row[c]))
			}
		} else {
			b.WriteString(params[name])
		}
		s = s[i+j+1:]
	}
}

func drillURL(l *Link, d *Data, row []any, params map[string]string) string {
	q := url.Values{}
	for k, v := range l.Params {
		q.Set(k, expand(v, d, row, params))
	}
	u := "/reports/" + l.Report
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func lineChart(br *BlockResult, b *Block, d *Data) {
	if b.Chart != "line" {
		br.Note = fmt.Sprintf("%s charts are not drawn yet: see the table of dataset %s", b.Chart, d.Name)
		return
	}
	x := d.Col(b.X)
	if x < 0 {
		br.Note = fmt.Sprintf("no column %q in dataset %s", b.X, d.Name)
		return
	}
	c := chart.Chart{Title: b.Title}
	for _, y := range b.Y {
		yc := d.Col(y)
		if yc < 0 {
			br.Note = fmt.Sprintf("no column %q in dataset %s", y, d.Name)
			return
		}
		ser := chart.Series{Name: y}
		for _, row := range d.Rows {
			t, ok := engine.Time(row[x])
			if !ok {
				br.Note = fmt.Sprintf("a line chart needs a time column on x; %s is not one", b.X)
				return
			}
			v, ok := engine.Float64(row[yc])
			if !ok {
				v = math.NaN()
			}
			ser.Points = append(ser.Points, chart.Point{T: t, V: v})
		}
		sort.Slice(ser.Points, func(i, j int) bool { return ser.Points[i].T.Before(ser.Points[j].T) })
		c.Series = append(c.Series, ser)
	}
	br.SVG = string(c.SVG())
}

func (s *Service) subreport(ctx context.Context, p auth.Principal, b *Block, br *BlockResult, d *Data, res *Result, depth int) error {
	if depth+1 > maxDepth {
		br.Note = "sub-reports nested too deep"
		return nil
	}
	sub, ok := s.cat.Get(b.Ref)
	if !ok {
		br.Note = fmt.Sprintf("report %s is not loaded", b.Ref)
		return nil
	}
	if !sub.Can(p, PermRun) {
		br.Note = fmt.Sprintf("you may not run report %s", b.Ref)
		return nil
	}
	var rows [][]any
	if b.ForEach == "row" && d != nil {
		rows = d.Rows
	} else {
		rows = [][]any{nil}
	}
	aggs := make([]agg, len(b.Returns))
	for _, row := range rows {
		in := map[string]string{}
		for k, v := range b.Params {
			in[k] = expand(v, d, row, res.Params)
		}
		sr, err := s.run(ctx, p, sub, in, depth+1)
		if err != nil {
			return fmt.Errorf("sub-report %s: %w", b.Ref, err)
		}
		br.Subs = append(br.Subs, sr)
		for i, rt := range b.Returns {
			ds, col, _ := strings.Cut(rt.From, ".")
			sd := sr.Dataset(ds)
			if sd == nil || sd.Col(col) < 0 {
				continue
			}
			for _, r := range sd.Rows {
				aggs[i].add(r[sd.Col(col)])
			}
		}
	}
	if len(b.Returns) > 0 {
		br.Returns = map[string]string{}
		for i, rt := range b.Returns {
			br.Returns[rt.To] = Format(aggs[i].result(rt.Func), "")
		}
	}
	return nil
}

// Format writes a value for people: format is a column's format.
func Format(v any, format string) string {
	if v == nil {
		return ""
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	f, isNum := engine.Float64(v)
	if _, isTime := v.(time.Time); isTime {
		isNum = false
	}
	switch format {
	case "int":
		if isNum {
			return strconv.FormatInt(int64(math.Round(f)), 10)
		}
	case "number":
		if isNum {
			if f == math.Trunc(f) && math.Abs(f) < 1e15 {
				return strconv.FormatInt(int64(f), 10)
			}
			return strconv.FormatFloat(f, 'f', 2, 64)
		}
	case "percent":
		if isNum {
			return strconv.FormatFloat(f, 'f', 1, 64) + "%"
		}
	case "bytes":
		if isNum {
			return chart.FormatValue(f, chart.UnitBytes)
		}
	case "duration":
		if isNum {
			return chart.FormatValue(f, chart.UnitSeconds)
		}
	case "date", "datetime":
		if t, ok := engine.Time(v); ok {
			if format == "date" {
				return t.Format(time.DateOnly)
			}
			return t.Format(time.DateTime)
		}
	}
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return x.Format(time.RFC3339)
	}
	return engine.String(v)
}
