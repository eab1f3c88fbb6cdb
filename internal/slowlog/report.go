package slowlog

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// ReportOptions shape a report.
type ReportOptions struct {
	// Limit is how many classes get a detailed report and a profile row;
	// 0 means all. The rest are summed in the profile's MISC row.
	Limit   int
	OrderBy OrderBy
	// Location prints times (default Local).
	Location *time.Location
}

// MetricJSON is one attribute's statistics.
type MetricJSON struct {
	Cnt    uint64  `json:"cnt"`
	Sum    float64 `json:"sum"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Avg    float64 `json:"avg"`
	Pct    float64 `json:"pct,omitempty"` // share of the total sum
	Pct95  float64 `json:"pct_95"`
	Stddev float64 `json:"stddev"`
	Median float64 `json:"median"`
}

// BoolJSON is a Yes/No attribute's share of yes.
type BoolJSON struct {
	Cnt uint64 `json:"cnt"`
	Yes uint64 `json:"yes"`
}

// ExampleJSON is a class's worst event.
type ExampleJSON struct {
	Query     string    `json:"query"`
	DB        string    `json:"db,omitempty"`
	Time      time.Time `json:"time,omitzero"`
	QueryTime float64   `json:"query_time"`
	File      string    `json:"file,omitempty"`
	Offset    int64     `json:"offset"`
}

// ClassJSON is one class in a JSON report.
type ClassJSON struct {
	Rank        int                   `json:"rank"`
	QueryID     string                `json:"query_id"`
	Fingerprint string                `json:"fingerprint"`
	Distillate  string                `json:"distillate"`
	QueryCount  uint64                `json:"query_count"`
	TimeMin     time.Time             `json:"time_min,omitzero"`
	TimeMax     time.Time             `json:"time_max,omitzero"`
	VM          float64               `json:"variance_to_mean"`
	Metrics     map[string]MetricJSON `json:"metrics"`
	Bools       map[string]BoolJSON   `json:"bools,omitempty"`
	Databases   []Value               `json:"databases,omitempty"`
	Users       []Value               `json:"users,omitempty"`
	Hosts       []Value               `json:"hosts,omitempty"`
	// Histogram counts Query_time per power of ten: 1us, 10us ... 10s+.
	Histogram [8]uint64   `json:"histogram"`
	Example   ExampleJSON `json:"example"`
}

// ReportJSON is the whole JSON report.
type ReportJSON struct {
	Files            []string              `json:"files"`
	Bytes            int64                 `json:"bytes"`
	QueryCount       uint64                `json:"query_count"`
	UniqueQueryCount int                   `json:"unique_query_count"`
	TimeMin          time.Time             `json:"time_min,omitzero"`
	TimeMax          time.Time             `json:"time_max,omitzero"`
	Metrics          map[string]MetricJSON `json:"metrics"`
	Bools            map[string]BoolJSON   `json:"bools,omitempty"`
	OrderBy          OrderBy               `json:"order_by"`
	Classes          []ClassJSON           `json:"classes"`
	// Misc sums the classes past the limit.
	Misc *MiscJSON `json:"misc,omitempty"`
	// Skipped counts the events left out for numbers out of range (not in
	// pt-query-digest's report), SkippedEvents lists the first 100.
	Skipped       uint64         `json:"skipped,omitempty"`
	SkippedEvents []SkippedEvent `json:"skipped_events,omitempty"`
}

// MiscJSON sums the classes left out of a limited report.
type MiscJSON struct {
	Classes    int     `json:"classes"`
	QueryCount uint64  `json:"query_count"`
	QueryTime  float64 `json:"query_time"`
}

func usTime(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us)
}

func metricJSON(m *Metric, total float64) MetricJSON {
	s := m.Stats()
	out := MetricJSON{Cnt: m.Cnt, Sum: m.Sum, Min: m.Min, Max: m.Max, Avg: m.Avg(), Pct95: s.Pct95, Stddev: s.Stddev, Median: s.Median}
	if total > 0 {
		out.Pct = m.Sum / total
	}
	return out
}

func metricsJSON(num *[numAttrs]Metric, totals *[numAttrs]Metric) map[string]MetricJSON {
	out := map[string]MetricJSON{}
	for a := range num {
		if num[a].Cnt == 0 {
			continue
		}
		t := 0.0
		if totals != nil {
			t = totals[a].Sum
		}
		name := numAttrNames[a]
		if a == AttrQuerySize {
			name = "Query_length"
		}
		out[name] = metricJSON(&num[a], t)
	}
	return out
}

func boolsJSON(b *[numBools]BoolCount) map[string]BoolJSON {
	out := map[string]BoolJSON{}
	for i, c := range b {
		if c.Cnt > 0 {
			out[boolAttrNames[i]] = BoolJSON(c)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// variance-to-mean of Query_time, from the bucket statistics.
func vm(c *Class) float64 {
	q := &c.Num[AttrQueryTime]
	s := q.Stats()
	avg := q.Avg()
	if avg == 0 {
		avg = 1
	}
	return s.Stddev * s.Stddev / avg
}

// Report builds the JSON report.
func (d *Digest) Report(o ReportOptions) ReportJSON {
	r := ReportJSON{
		Files: d.Files, Bytes: d.Bytes, QueryCount: d.Totals.Num[AttrQueryTime].Cnt, UniqueQueryCount: len(d.Classes),
		TimeMin: usTime(d.Totals.TimeMin), TimeMax: usTime(d.Totals.TimeMax),
		Metrics: metricsJSON(&d.Totals.Num, nil), Bools: boolsJSON(&d.Totals.Bools), OrderBy: o.OrderBy,
		Classes: []ClassJSON{}, Skipped: d.Skipped, SkippedEvents: d.SkippedEvents,
	}
	if r.OrderBy == "" {
		r.OrderBy = OrderSum
	}
	ranked := d.Ranked(r.OrderBy)
	shown := ranked
	if o.Limit > 0 && len(shown) > o.Limit {
		shown = ranked[:o.Limit]
		r.Misc = &MiscJSON{}
		for _, c := range ranked[o.Limit:] {
			r.Misc.Classes++
			r.Misc.QueryCount += c.Count()
			r.Misc.QueryTime += c.Num[AttrQueryTime].Sum
		}
	}
	// Classes are independent: build them on every core.
	r.Classes = make([]ClassJSON, len(shown))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range shown {
		g.Go(func() error {
			r.Classes[i] = d.classJSON(shown[i], i+1)
			return nil
		})
	}
	g.Wait()
	return r
}

func (d *Digest) classJSON(c *Class, rank int) ClassJSON {
	cj := ClassJSON{
		Rank: rank, QueryID: c.ID(), Fingerprint: c.Fingerprint, Distillate: Distill(string(c.Sample)),
		QueryCount: c.Count(), TimeMin: usTime(c.TimeMin), TimeMax: usTime(c.TimeMax), VM: vm(c),
		Metrics: metricsJSON(&c.Num, &d.Totals.Num), Bools: boolsJSON(&c.Bools),
		Databases: c.DBs.Top(), Users: c.Users.Top(), Hosts: c.Hosts.Top(),
		Histogram: c.Num[AttrQueryTime].Distribution(),
		Example:   ExampleJSON{Query: string(c.Sample), DB: c.SampleDB, Time: usTime(c.SampleTime), QueryTime: c.sampleQT, Offset: c.SampleOffset},
	}
	if c.SampleFile < len(d.Files) && len(d.Files) > 1 {
		cj.Example.File = d.Files[c.SampleFile]
	}
	return cj
}

// ---- Text report in the shape of pt-query-digest's default report ----

const lineLength = 74

// MicroT formats seconds like pt's micro_t: 12us, 3ms, 2s.
func MicroT(t float64) string {
	if t < 0 {
		t = 0
	}
	// Truncate to microseconds, as pt's s/\.(\d{1,6})\d*/ does.
	t = math.Floor(t*1e6+1e-9) / 1e6
	switch {
	case t > 0 && t <= 0.000999:
		return trimFloat(t*1e6, 0) + "us"
	case t >= 0.001 && t <= 0.999999:
		return trimFloat(t*1000, 0) + "ms"
	case t >= 1:
		return trimFloat(t, 0) + "s"
	}
	return "0"
}

func trimFloat(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	f, _ := strconv.ParseFloat(s, 64)
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// Shorten formats a number like pt's shorten: 1.23k, 4.50M (divisor
// 1024 unless d is given).
func Shorten(v float64, d float64) string {
	if d == 0 {
		d = 1024
	}
	units := []string{"", "k", "M", "G", "T", "P", "E", "Z", "Y"}
	n := 0
	for v >= d && n < len(units)-1 {
		v /= d
		n++
	}
	if n > 0 || v != math.Trunc(v) {
		return fmt.Sprintf("%.2f%s", v, units[n])
	}
	return fmt.Sprintf("%d", int64(v))
}

func percentOf(is, of float64) int {
	if of == 0 {
		of = 1
	}
	return int(is * 100 / of)
}

var labels = [numAttrs]string{"Exec time", "Lock time", "Rows sent", "Rows examine", "Rows affecte", "Rows read",
	"Bytes sent", "Merge passes", "Tmp tables", "Tmp disk tbl", "Tmp tbl size", "Query size"}

var boolLabels = [numBools]string{"QC hit", "Full scan", "Full join", "Tmp table", "Tmp table on", "Filesort", "Filesort on ", "Priority que"}

func fmtMetric(a int, v float64) string {
	if a == AttrQueryTime || a == AttrLockTime {
		return MicroT(v)
	}
	return Shorten(v, 0)
}

const numFormat = "# %-12s %3s %7s %7s %7s %7s %7s %7s %7s"

func line(w io.Writer, format string, args ...any) {
	fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf(format, args...), " "))
}

func (o ReportOptions) loc() *time.Location {
	if o.Location == nil {
		return time.Local
	}
	return o.Location
}

func timeRange(min, max int64, loc *time.Location) string {
	if min == 0 || max == 0 {
		return ""
	}
	a := time.UnixMicro(min).In(loc).Format("2006-01-02 15:04:05")
	b := time.UnixMicro(max).In(loc).Format("2006-01-02 15:04:05")
	if a == b {
		return "all events occurred at " + a
	}
	if a[:10] == b[:10] {
		return a + " to " + b[11:]
	}
	return a + " to " + b
}

func qpsConc(cnt uint64, sum float64, min, max int64) (float64, float64) {
	secs := float64(max-min) / 1e6
	if cnt == 0 || secs <= 0 {
		return 0, 0
	}
	return float64(cnt) / secs, sum / secs
}

// WriteText writes the report in the shape of pt-query-digest's default
// report: the overall summary, the profile, then one section per class.
func (d *Digest) WriteText(w io.Writer, o ReportOptions) error {
	if o.OrderBy == "" {
		o.OrderBy = OrderSum
	}
	loc := o.loc()
	t := &d.Totals
	total := t.Num[AttrQueryTime].Cnt
	fmt.Fprintf(w, "\n# Files: %s\n", strings.Join(d.Files, ", "))
	if total == 0 {
		fmt.Fprintln(w, "\n# No events processed.")
		return nil
	}
	qps, conc := qpsConc(total, t.Num[AttrQueryTime].Sum, t.TimeMin, t.TimeMax)
	head := fmt.Sprintf("# Overall: %s total, %s unique, %s QPS, %sx concurrency ", Shorten(float64(total), 1000),
		Shorten(float64(len(d.Classes)), 1000), Shorten(qps, 1000), Shorten(conc, 1000))
	if n := lineLength - len(head); n > 0 {
		head += strings.Repeat("_", n)
	}
	fmt.Fprintln(w, head)
	if tr := timeRange(t.TimeMin, t.TimeMax, loc); tr != "" {
		fmt.Fprintf(w, "# Time range: %s\n", tr)
	}
	line(w, numFormat, "Attribute", "", "total", "min", "max", "avg", "95%", "stddev", "median")
	line(w, numFormat, "============", "", "=======", "=======", "=======", "=======", "=======", "=======", "=======")
	for a := range t.Num {
		m := &t.Num[a]
		if m.Cnt == 0 {
			continue
		}
		s := m.Stats()
		line(w, numFormat, labels[a], "", fmtMetric(a, m.Sum), fmtMetric(a, m.Min), fmtMetric(a, m.Max), fmtMetric(a, m.Avg()),
			fmtMetric(a, s.Pct95), fmtMetric(a, s.Stddev), fmtMetric(a, s.Median))
	}
	writeBools(w, &t.Bools)

	ranked := d.Ranked(o.OrderBy)
	shown := ranked
	if o.Limit > 0 && len(shown) > o.Limit {
		shown = shown[:o.Limit]
	}
	d.writeProfile(w, ranked, len(shown))
	for i, c := range shown {
		fmt.Fprintln(w)
		d.writeClass(w, c, i+1, loc)
	}
	return nil
}

func writeBools(w io.Writer, b *[numBools]BoolCount) {
	var lines []string
	for i, c := range b {
		if c.Cnt == 0 || c.Yes == 0 {
			continue
		}
		lines = append(lines, fmt.Sprintf("# %-12s %3d%% yes, %3d%% no", boolLabels[i], percentOf(float64(c.Yes), float64(c.Cnt)),
			percentOf(float64(c.Cnt-c.Yes), float64(c.Cnt))))
	}
	if len(lines) > 0 {
		fmt.Fprintln(w, "# Boolean:")
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	}
}

func (d *Digest) writeProfile(w io.Writer, ranked []*Class, shown int) {
	totalR := d.Totals.Num[AttrQueryTime].Sum
	if totalR == 0 {
		totalR = 1
	}
	type row struct{ rank, id, rt, calls, rc, vm, item string }
	rows := []row{{"Rank", "Query ID", "Response time", "Calls", "R/Call", "V/M", "Item"}}
	for i, c := range ranked[:shown] {
		q := &c.Num[AttrQueryTime]
		rows = append(rows, row{strconv.Itoa(i + 1), "0x" + c.ID(),
			fmt.Sprintf("%10.4f %4.1f%%", q.Sum, q.Sum/totalR*100), strconv.FormatUint(q.Cnt, 10),
			fmt.Sprintf("%8.4f", q.Sum/math.Max(float64(q.Cnt), 1)), fmt.Sprintf("%4.2f", vm(c)), Distill(string(c.Sample))})
	}
	if rest := ranked[shown:]; len(rest) > 0 {
		var r float64
		var n uint64
		for _, c := range rest {
			r += c.Num[AttrQueryTime].Sum
			n += c.Num[AttrQueryTime].Cnt
		}
		rows = append(rows, row{"MISC", "0xMISC", fmt.Sprintf("%10.4f %4.1f%%", r, r/totalR*100), strconv.FormatUint(n, 10),
			fmt.Sprintf("%8.4f", r/math.Max(float64(n), 1)), "0.0", fmt.Sprintf("<%d ITEMS>", len(rest))})
	}
	var wd [6]int
	for _, r := range rows {
		for i, v := range []string{r.rank, r.id, strings.TrimSpace(r.rt), r.calls, strings.TrimSpace(r.rc), r.vm} {
			wd[i] = max(wd[i], len(v))
		}
	}
	fmt.Fprintln(w, "\n# Profile")
	for i, r := range rows {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("# %*s %-*s %*s %*s %*s %*s %s", wd[0], r.rank, wd[1], r.id, wd[2], strings.TrimSpace(r.rt),
			wd[3], r.calls, wd[4], strings.TrimSpace(r.rc), wd[5], r.vm, r.item), " "))
		if i == 0 {
			fmt.Fprintf(w, "# %s %s %s %s %s %s %s\n", strings.Repeat("=", wd[0]), strings.Repeat("=", wd[1]), strings.Repeat("=", wd[2]),
				strings.Repeat("=", wd[3]), strings.Repeat("=", wd[4]), strings.Repeat("=", wd[5]), strings.Repeat("=", 4))
		}
	}
}

func (d *Digest) writeClass(w io.Writer, c *Class, rank int, loc *time.Location) {
	q := &c.Num[AttrQueryTime]
	qps, conc := qpsConc(q.Cnt, q.Sum, c.TimeMin, c.TimeMax)
	head := fmt.Sprintf("# Query %d: %s QPS, %sx concurrency, ID 0x%s at byte %d ", rank, Shorten(qps, 1000), Shorten(conc, 1000), c.ID(), c.SampleOffset)
	if n := lineLength - len(head); n > 0 {
		head += strings.Repeat("_", n)
	}
	fmt.Fprintln(w, strings.TrimRight(head, " "))
	fmt.Fprintf(w, "# Scores: V/M = %.2f\n", vm(c))
	if tr := timeRange(c.TimeMin, c.TimeMax, loc); tr != "" {
		fmt.Fprintf(w, "# Time range: %s\n", tr)
	}
	line(w, numFormat, "Attribute", "pct", "total", "min", "max", "avg", "95%", "stddev", "median")
	line(w, numFormat, "============", "===", "=======", "=======", "=======", "=======", "=======", "=======", "=======")
	line(w, numFormat, "Count", strconv.Itoa(percentOf(float64(q.Cnt), float64(d.Totals.Num[AttrQueryTime].Cnt))), strconv.FormatUint(q.Cnt, 10), "", "", "", "", "", "")
	for a := range c.Num {
		m := &c.Num[a]
		if m.Cnt == 0 {
			continue
		}
		s := m.Stats()
		line(w, numFormat, labels[a], strconv.Itoa(percentOf(m.Sum, d.Totals.Num[a].Sum)), fmtMetric(a, m.Sum), fmtMetric(a, m.Min), fmtMetric(a, m.Max),
			fmtMetric(a, m.Avg()), fmtMetric(a, s.Pct95), fmtMetric(a, s.Stddev), fmtMetric(a, s.Median))
	}
	writeBools(w, &c.Bools)
	var strs []string
	for _, s := range []struct {
		label string
		c     *Counts
	}{{"Databases", &c.DBs}, {"Hosts", &c.Hosts}, {"Users", &c.Users}} {
		if s.c.Len() > 0 {
			strs = append(strs, fmt.Sprintf("# %-12s %s", s.label, formatValues(s.c, q.Cnt)))
		}
	}
	if len(strs) > 0 {
		fmt.Fprintln(w, "# String:")
		for _, l := range strs {
			fmt.Fprintln(w, l)
		}
	}
	fmt.Fprintln(w, "# Query_time distribution")
	dist := q.Distribution()
	var maxv uint64
	for _, n := range dist {
		maxv = max(maxv, n)
	}
	perMark := float64(maxv) / 64
	if perMark == 0 {
		perMark = 1
	}
	for i, lbl := range []string{"1us", "10us", "100us", "1ms", "10ms", "100ms", "1s", "10s+"} {
		marks := int(float64(dist[i]) / perMark)
		if marks < 1 && dist[i] > 0 {
			marks = 1
		}
		bar := ""
		if marks > 0 {
			bar = "  " + strings.Repeat("#", marks)
		}
		fmt.Fprintf(w, "# %5s%s\n", lbl, bar)
	}
	fp := c.Fingerprint
	sample := string(c.Sample)
	switch {
	case strings.HasPrefix(fp, "insert") || strings.HasPrefix(fp, "replace"):
		fmt.Fprintf(w, "%s\\G\n", sample)
	case strings.HasPrefix(strings.TrimLeft(fp, "( "), "select"):
		if c.SampleDB != "" {
			fmt.Fprintf(w, "# Database: %s\n", c.SampleDB)
		}
		fmt.Fprintf(w, "# EXPLAIN /*!50100 PARTITIONS*/\n%s\\G\n", sample)
	default:
		fmt.Fprintf(w, "%s\\G\n", sample)
	}
}

// formatValues is pt's format_string_list: one value alone, else the
// values by count with their share, as many as fit on the line.
func formatValues(c *Counts, classCnt uint64) string {
	top := c.Top()
	if len(top) == 1 && c.Other == 0 {
		s := top[0].Value
		if len(s) > lineLength-30 {
			s = s[:lineLength-30] + "..."
		}
		return s
	}
	var b strings.Builder
	shown := 0
	for _, v := range top {
		s := v.Value
		if len(s) > 10 && !looksLikeIP(s) {
			s = s[:10] + "..."
		}
		s += fmt.Sprintf(" (%d/%d%%)", v.Count, percentOf(float64(v.Count), float64(classCnt)))
		if b.Len()+len(s) > lineLength-27 {
			break
		}
		b.WriteString(s + ", ")
		shown++
	}
	out := strings.TrimSuffix(b.String(), ", ")
	if more := len(top) - shown; more > 0 {
		out += fmt.Sprintf("... %d more", more)
	}
	return out
}

func looksLikeIP(s string) bool {
	dots := strings.Count(s, ".")
	return dots == 3 && strings.IndexFunc(s, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }) < 0
}

// FormatSeconds formats seconds with three significant digits: 1.5s,
// 750ms, 12.3us (MicroT rounds like pt-query-digest's reports).
func FormatSeconds(v float64) string {
	switch {
	case v <= 0:
		return "0"
	case v < 1e-3:
		return strconv.FormatFloat(roundSig(v*1e6), 'f', -1, 64) + "us"
	case v < 1:
		return strconv.FormatFloat(roundSig(v*1e3), 'f', -1, 64) + "ms"
	}
	return strconv.FormatFloat(roundSig(v), 'f', -1, 64) + "s"
}

func roundSig(v float64) float64 {
	if v == 0 {
		return 0
	}
	p := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}
