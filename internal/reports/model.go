package reports

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/jobs"
	"github.com/dbfleet/dbfleet/internal/platform/xmldoc"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// Pos, Problem and Problems are platform/xmldoc's: a report file's
// problems read as file:line:col: what.
type (
	Pos      = xmldoc.Pos
	Problem  = xmldoc.Problem
	Problems = xmldoc.Problems
)

// Report is a parsed report file.
type Report struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// File is where it was loaded from; Hash identifies its content.
	File string `json:"file"`
	Hash string `json:"hash"`
	// Version is assigned by the catalog when the content is first seen;
	// 0 for a file only validated.
	Version int    `json:"version"`
	Source  []byte `json:"-"`

	Params      []*Param      `json:"params"`
	DataSources []*DataSource `json:"datasources"`
	Datasets    []*Dataset    `json:"datasets"`
	Blocks      []*Block      `json:"blocks"`
	Grants      []Grant       `json:"grants"`
	// Snapshot is the report's <snapshot>: its schedule and retention.
	Snapshot *SnapshotSpec `json:"snapshot,omitempty"`
}

// SnapshotSpec is when a report is snapshotted by itself and how long
// its snapshots are kept.
type SnapshotSpec struct {
	// Schedule is a cron specification; "" for on-demand snapshots only.
	Schedule string `json:"schedule,omitempty"`
	// Retain is how long snapshots are kept; 0 keeps them.
	Retain time.Duration `json:"retain,omitempty"`
	// Params are the parameter values of scheduled snapshots.
	Params map[string]string `json:"params,omitempty"`
	Pos    Pos               `json:"-"`
}

// Param is one typed input of a report.
type Param struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Label    string   `json:"label"`
	Required bool     `json:"required"`
	Default  string   `json:"default,omitempty"`
	Options  []Option `json:"options,omitempty"`
	// Query fills the options of a "query" parameter: a dataset whose
	// first column is the value (and second, if any, the label).
	Query string `json:"query,omitempty"`
	Pos   Pos    `json:"-"`
}

// Option is one choice of an enum parameter.
type Option struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// Parameter types.
const (
	ParamText      = "text"
	ParamNumber    = "number"
	ParamEnum      = "enum"
	ParamDate      = "date"
	ParamDateRange = "daterange"
	ParamInstance  = "instance"
	ParamCluster   = "cluster"
	ParamGroup     = "group"
	ParamQuery     = "query"
)

// ParamTypes lists every parameter type.
var ParamTypes = []string{ParamText, ParamNumber, ParamEnum, ParamDate, ParamDateRange, ParamInstance, ParamCluster, ParamGroup, ParamQuery}

// DataSource says where datasets run.
type DataSource struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // instance, group, shards, metrics, dbfleet
	// Target names the instance, group or shard map; it may be a
	// parameter reference "${name}".
	Target   string        `json:"target,omitempty"`
	Database string        `json:"database,omitempty"`
	Engine   string        `json:"engine"` // the SQL dialect datasets are checked in
	Timeout  time.Duration `json:"timeout"`
	Parallel int           `json:"parallel"`
	// Partial: a failed shard or member is named in the result instead
	// of failing the run.
	Partial bool `json:"partial"`
	Pos     Pos  `json:"-"`
}

// Data source kinds.
const (
	SourceInstance = "instance"
	SourceGroup    = "group"
	SourceShards   = "shards"
	SourceMetrics  = "metrics"
	SourceDBFleet  = "dbfleet"
)

// Dataset is a read-only query bound to parameters.
type Dataset struct {
	Name       string `json:"name"`
	DataSource string `json:"datasource"`
	// SQL is the statement as written, with :name parameters; PromQL the
	// expression of a metrics dataset; View the dbfleet view read.
	SQL     string        `json:"sql,omitempty"`
	PromQL  string        `json:"promql,omitempty"`
	View    string        `json:"view,omitempty"`
	MaxRows int           `json:"max_rows"`
	Timeout time.Duration `json:"timeout,omitempty"`
	Pos     Pos           `json:"-"`
	SQLPos  Pos           `json:"-"`
	// Refs are the parameters the statement uses, in order.
	Refs []ParamRef `json:"-"`
}

// Block is one thing a report shows.
type Block struct {
	Kind    string `json:"kind"` // table, chart, number, text, subreport
	Title   string `json:"title,omitempty"`
	Dataset string `json:"dataset,omitempty"`
	// table
	Columns []*Column `json:"columns,omitempty"`
	// chart
	Chart string   `json:"chart,omitempty"` // line, bar, stacked
	X     string   `json:"x,omitempty"`
	Y     []string `json:"y,omitempty"`
	// number
	Field  string `json:"field,omitempty"`
	Format string `json:"format,omitempty"`
	// text
	Text string `json:"text,omitempty"`
	// subreport
	Ref     string            `json:"ref,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
	ForEach string            `json:"for_each,omitempty"` // "", "row"
	Returns []Return          `json:"returns,omitempty"`
	Pos     Pos               `json:"-"`
}

// Column is one column of a table block.
type Column struct {
	Field  string  `json:"field"`
	Label  string  `json:"label"`
	Format string  `json:"format,omitempty"`
	Total  string  `json:"total,omitempty"` // sum, avg, min, max, count
	Drill  *Link   `json:"drill,omitempty"`
	Colors []Color `json:"colors,omitempty"`
}

// Link is a drill from a cell to another report, with parameters that may
// name the clicked row's values (${row.col}) or this report's parameters.
type Link struct {
	Report string            `json:"report"`
	Params map[string]string `json:"params,omitempty"`
	Pos    Pos               `json:"-"`
}

// Color paints a cell whose value compares to Value by Op.
type Color struct {
	Op    string  `json:"op"` // >, >=, <, <=, =, !=
	Value float64 `json:"value"`
	Color string  `json:"color"`
}

// Return rolls a sub-report's value up to the parent.
type Return struct {
	From string `json:"from"` // dataset.column of the sub-report
	To   string `json:"to"`
	Func string `json:"fn"` // sum, min, max, count, avg
}

// Grant says who may do what with a report.
type Grant struct {
	Role  auth.Role `json:"role,omitempty"`
	User  string    `json:"user,omitempty"`
	Perms []string  `json:"perms"`
	// Lock fixes parameters for these people: name -> value (a value may
	// be ${user}, the viewer's name).
	Lock map[string]string `json:"lock,omitempty"`
}

// Permissions on a report.
const (
	PermView      = "view"
	PermRun       = "run"
	PermSubscribe = "subscribe"
	PermEdit      = "edit"
)

var perms = []string{PermView, PermRun, PermSubscribe, PermEdit}

// Param returns the parameter called name, or nil.
func (r *Report) Param(name string) *Param {
	for _, p := range r.Params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Dataset returns the dataset called name, or nil.
func (r *Report) Dataset(name string) *Dataset {
	for _, d := range r.Datasets {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// DataSource returns the data source called name, or nil.
func (r *Report) DataSource(name string) *DataSource {
	for _, d := range r.DataSources {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Refs lists the reports this one links to (sub-reports and drills), each
// with where it is named.
func (r *Report) Refs() []Link {
	var out []Link
	for _, b := range r.Blocks {
		if b.Kind == "subreport" {
			out = append(out, Link{Report: b.Ref, Pos: b.Pos})
		}
		for _, c := range b.Columns {
			if c.Drill != nil {
				out = append(out, *c.Drill)
			}
		}
	}
	return out
}

var (
	reportID = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	ident    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)
)

// DefaultMaxRows caps a dataset that sets no max-rows.
const DefaultMaxRows = 10000

type parser struct {
	xmldoc.Reader
	r *Report
}

func (p *parser) errf(pos Pos, format string, args ...any) { p.Errf(pos, format, args...) }

// Parse reads a report file. It returns every problem found, each with
// its file:line:col; the report is usable only when there are none.
// Checks that need other reports (targets exist, no cycles) are LinkAll's.
func Parse(file string, src []byte) (*Report, Problems) {
	root, perr := xmldoc.Parse(file, src, "report")
	if perr != nil {
		return nil, Problems{*perr}
	}
	sum := sha256.Sum256(src)
	p := &parser{Reader: xmldoc.Reader{File: file}, r: &Report{File: file, Source: src, Hash: hex.EncodeToString(sum[:])}}
	p.parseReport(root)
	if len(p.Problems) > 0 {
		return nil, p.Problems
	}
	return p.r, nil
}

func (p *parser) parseReport(root *xmldoc.Node) {
	r := p.r
	if root.Name != "report" {
		p.errf(root.Pos, "root element is <%s>, want <report>", root.Name)
		return
	}
	r.ID = root.Str("id", "")
	switch {
	case r.ID == "":
		p.errf(root.Pos, "<report>: attribute id is required")
	case !reportID.MatchString(r.ID):
		p.errf(root.AttrPos("id"), "<report id=%q>: want lower-case letters, digits and '-', starting with a letter", r.ID)
	}
	r.Title = root.Str("title", "")
	p.CheckAttrs(root, "version")
	var acl *xmldoc.Node
	for _, c := range root.Children {
		switch c.Name {
		case "title":
			r.Title = c.Text
		case "description":
			r.Description = c.Text
		case "param":
			p.parseParam(c)
		case "datasource":
			p.parseDataSource(c)
		case "dataset":
			p.parseDataset(c)
		case "table", "chart", "number", "text", "subreport":
			p.parseBlock(c)
		case "snapshot":
			if r.Snapshot != nil {
				p.errf(c.Pos, "<snapshot> appears twice (first at line %d)", r.Snapshot.Pos.Line)
				continue
			}
			p.parseSnapshot(c)
		case "acl":
			if acl != nil {
				p.errf(c.Pos, "<acl> appears twice (first at line %d)", acl.Pos.Line)
				continue
			}
			acl = c
			p.parseACL(c)
		default:
			p.errf(c.Pos, "<report>: unknown element <%s> (want title, description, param, datasource, dataset, table, chart, number, text, subreport, snapshot, acl)", c.Name)
		}
	}
	if r.Title == "" {
		r.Title = r.ID
	}
	if acl == nil {
		p.errf(root.Pos, "<report>: an <acl> with at least one <grant> is required (who may view and run it)")
	}
	p.checkRefs()
}

func (p *parser) parseParam(n *xmldoc.Node) {
	pr := &Param{Pos: n.Pos, Name: n.Str("name", ""), Type: n.Str("type", ParamText)}
	switch {
	case pr.Name == "":
		p.errf(n.Pos, "<param>: attribute name is required")
	case !ident.MatchString(pr.Name):
		p.errf(n.AttrPos("name"), "<param name=%q>: want lower-case letters, digits and '_', starting with a letter", pr.Name)
	case p.r.Param(pr.Name) != nil:
		p.errf(n.AttrPos("name"), "<param name=%q>: defined twice (first at line %d)", pr.Name, p.r.Param(pr.Name).Pos.Line)
		return
	}
	if !slices.Contains(ParamTypes, pr.Type) {
		p.errf(n.AttrPos("type"), "<param type=%q>: unknown type (want %s)", pr.Type, strings.Join(ParamTypes, ", "))
	}
	pr.Label = n.Str("label", pr.Name)
	pr.Required = p.Bool(n, "required", false)
	defAttr, hasDefault := n.Get("default")
	pr.Default = strings.TrimSpace(defAttr.Value)
	if a, ok := n.Get("query"); ok {
		pr.Query = strings.TrimSpace(a.Value)
		if pr.Type != ParamQuery {
			p.errf(a.Pos, "<param query=%q>: only a parameter of type=\"query\" takes its options from a dataset", a.Value)
		}
	}
	p.CheckAttrs(n)
	for _, c := range n.Children {
		if c.Name != "option" {
			p.errf(c.Pos, "<param>: unknown element <%s> (want option)", c.Name)
			continue
		}
		o := Option{Value: c.Str("value", c.Text)}
		o.Label = c.Text
		if o.Label == "" {
			o.Label = o.Value
		}
		p.CheckAttrs(c)
		pr.Options = append(pr.Options, o)
	}
	switch {
	case pr.Type == ParamEnum && len(pr.Options) == 0:
		p.errf(n.Pos, "<param name=%q type=\"enum\">: at least one <option> is required", pr.Name)
	case pr.Type != ParamEnum && len(pr.Options) > 0:
		p.errf(n.Pos, "<param name=%q type=%q>: only an enum parameter has <option>s", pr.Name, pr.Type)
	case pr.Type == ParamQuery && pr.Query == "":
		p.errf(n.Pos, "<param name=%q type=\"query\">: attribute query (a dataset's name) is required", pr.Name)
	}
	if hasDefault && slices.Contains(ParamTypes, pr.Type) && (pr.Type != ParamEnum || len(pr.Options) > 0) {
		if _, err := pr.parse(pr.Default, time.Now()); err != nil {
			p.errf(defAttr.Pos, "<param name=%q default=%q>: %v", pr.Name, defAttr.Value, err)
		}
	}
	if pr.Name != "" {
		p.r.Params = append(p.r.Params, pr)
	}
}

func (p *parser) parseDataSource(n *xmldoc.Node) {
	ds := &DataSource{Pos: n.Pos, Name: n.Str("name", "main")}
	if !ident.MatchString(ds.Name) {
		p.errf(n.AttrPos("name"), "<datasource name=%q>: want lower-case letters, digits and '_', starting with a letter", ds.Name)
	}
	if prev := p.r.DataSource(ds.Name); prev != nil {
		p.errf(n.Pos, "<datasource name=%q>: defined twice (first at line %d)", ds.Name, prev.Pos.Line)
		return
	}
	var kinds []string
	for _, k := range []string{SourceInstance, SourceGroup, SourceShards} {
		if a, ok := n.Get(k); ok {
			kinds = append(kinds, k)
			ds.Kind, ds.Target = k, strings.TrimSpace(a.Value)
			if ds.Target == "" {
				p.errf(a.Pos, "<datasource %s=\"\">: name one", k)
			}
		}
	}
	for _, k := range []string{SourceMetrics, SourceDBFleet} {
		if p.Bool(n, k, false) {
			kinds = append(kinds, k)
			ds.Kind = k
		}
	}
	if len(kinds) != 1 {
		p.errf(n.Pos, "<datasource name=%q>: give exactly one of instance, group, shards (a shard map), metrics=\"true\", dbfleet=\"true\"", ds.Name)
	}
	ds.Database = n.Str("database", "")
	ds.Engine = n.Str("engine", "mariadb")
	if _, err := sql.ParseDialect(ds.Engine); err != nil {
		p.errf(n.AttrPos("engine"), "<datasource engine=%q>: %v", ds.Engine, err)
	}
	ds.Timeout = p.Duration(n, "timeout", 30*time.Second)
	ds.Parallel = p.Int(n, "parallel", 8, 1, 64)
	switch v := n.Str("on-error", "partial"); v {
	case "partial":
		ds.Partial = true
	case "fail":
	default:
		p.errf(n.AttrPos("on-error"), "<datasource on-error=%q>: want partial or fail", v)
	}
	if ds.Kind == SourceShards && ds.Database != "" {
		p.errf(n.AttrPos("database"), "<datasource shards=%q>: a shard map names each shard's database; drop database", ds.Target)
	}
	if ref, ok := paramRef(ds.Target); ok {
		pr := p.r.Param(ref)
		switch {
		case ds.Kind == SourceShards:
			p.errf(n.AttrPos(ds.Kind), "<datasource shards=%q>: a shard map cannot come from a parameter; name it", ds.Target)
		case pr == nil:
			p.errf(n.AttrPos(ds.Kind), "<datasource %s=%q>: no parameter %q declared before it", ds.Kind, ds.Target, ref)
		case ds.Kind == SourceInstance && pr.Type != ParamInstance, ds.Kind == SourceGroup && pr.Type != ParamGroup:
			p.errf(n.AttrPos(ds.Kind), "<datasource %s=%q>: parameter %q is a %s, want a %s picker", ds.Kind, ds.Target, ref, pr.Type, ds.Kind)
		}
	}
	p.CheckAttrs(n)
	p.r.DataSources = append(p.r.DataSources, ds)
}

// paramRef reads "${name}".
func paramRef(s string) (string, bool) {
	if strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") {
		return s[2 : len(s)-1], true
	}
	return "", false
}

// ViewNames are the views of dbfleet's own data a dbfleet data source
// reads (views.go serves them).
var ViewNames = []string{"flow_stats", "health_scores", "slow_classes", "recoveries", "audit"}

func (p *parser) parseDataset(n *xmldoc.Node) {
	d := &Dataset{Pos: n.Pos, Name: n.Str("name", "")}
	switch {
	case d.Name == "":
		p.errf(n.Pos, "<dataset>: attribute name is required")
		return
	case !ident.MatchString(d.Name):
		p.errf(n.AttrPos("name"), "<dataset name=%q>: want lower-case letters, digits and '_', starting with a letter", d.Name)
	case p.r.Dataset(d.Name) != nil:
		p.errf(n.AttrPos("name"), "<dataset name=%q>: defined twice (first at line %d)", d.Name, p.r.Dataset(d.Name).Pos.Line)
		return
	}
	d.DataSource = n.Str("datasource", "")
	d.MaxRows = p.Int(n, "max-rows", DefaultMaxRows, 1, 1_000_000)
	d.Timeout = p.Duration(n, "timeout", 0)
	view, hasView := n.Get("view")
	p.CheckAttrs(n)
	ds := p.r.DataSource(d.DataSource)
	if d.DataSource == "" && len(p.r.DataSources) == 1 {
		ds = p.r.DataSources[0]
		d.DataSource = ds.Name
	}
	if ds == nil {
		p.errf(n.Pos, "<dataset name=%q>: datasource %q is not declared before it", d.Name, d.DataSource)
		return
	}
	var body *xmldoc.Node
	for _, c := range n.Children {
		if c.Name != "sql" && c.Name != "promql" {
			p.errf(c.Pos, "<dataset>: unknown element <%s> (want sql or promql)", c.Name)
			continue
		}
		body = c
		p.CheckAttrs(c)
	}
	switch ds.Kind {
	case SourceDBFleet:
		d.View = strings.TrimSpace(view.Value)
		if !hasView || !slices.Contains(ViewNames, d.View) {
			p.errf(n.AttrPos("view"), "<dataset name=%q>: a dbfleet data source reads a view: view=\"%s\"", d.Name, strings.Join(ViewNames, "|"))
		}
		if body != nil {
			p.errf(body.Pos, "<dataset name=%q>: a dbfleet view takes no <%s>", d.Name, body.Name)
		}
	case SourceMetrics:
		if body == nil || body.Name != "promql" || body.Text == "" {
			p.errf(n.Pos, "<dataset name=%q>: a metrics data source needs a <promql> expression", d.Name)
			return
		}
		d.PromQL, d.SQLPos = body.Text, body.TextPos
		for _, ref := range promRefs(d.PromQL) {
			if p.r.Param(ref) == nil {
				p.errf(d.SQLPos, "<dataset name=%q>: ${%s} is not a declared parameter", d.Name, ref)
			}
		}
	default:
		if hasView {
			p.errf(view.Pos, "<dataset view=%q>: only a dbfleet data source reads views", view.Value)
		}
		if body == nil || body.Name != "sql" || body.Text == "" {
			p.errf(n.Pos, "<dataset name=%q>: a <sql> statement is required", d.Name)
			return
		}
		d.SQL, d.SQLPos = body.Text, body.TextPos
		p.checkSQL(d, ds)
	}
	p.r.Datasets = append(p.r.Datasets, d)
}

// checkSQL refuses a dataset statement that is not one read-only query,
// with the position of what is wrong, and records the parameters it uses.
func (p *parser) checkSQL(d *Dataset, ds *DataSource) {
	dialect, err := sql.ParseDialect(ds.Engine)
	if err != nil {
		return
	}
	text, refs := bindText(dialect, d.SQL)
	d.Refs = refs
	for _, ref := range refs {
		pr := p.r.Param(ref.Name)
		switch {
		case pr == nil:
			p.errf(p.sqlPos(d, ref.Off), "<dataset name=%q>: :%s is not a declared parameter", d.Name, ref.Name)
		case ref.Part != "" && pr.Type != ParamDateRange:
			p.errf(p.sqlPos(d, ref.Off), "<dataset name=%q>: :%s.%s: only a daterange parameter has .from and .to", d.Name, ref.Name, ref.Part)
		case ref.Part == "" && pr.Type == ParamDateRange:
			p.errf(p.sqlPos(d, ref.Off), "<dataset name=%q>: :%s is a date range: use :%s.from and :%s.to", d.Name, ref.Name, ref.Name, ref.Name)
		}
	}
	stmts := sql.Split(text, dialect)
	if len(stmts) != 1 {
		p.errf(d.SQLPos, "<dataset name=%q>: want exactly one statement, found %d", d.Name, len(stmts))
		return
	}
	parsed, err := sql.Parse(dialect, stmts[0].Text)
	if err != nil {
		pos := d.SQLPos
		if se, ok := sql.AsSyntax(err); ok && se.Off >= 0 {
			pos = p.sqlPos(d, stmts[0].Start+se.Off)
		}
		p.errf(pos, "<dataset name=%q>: %v", d.Name, err)
		return
	}
	c := parsed.Class()
	switch {
	case c.Kind != sql.KindQuery:
		p.errf(p.sqlPos(d, stmts[0].Start), "<dataset name=%q>: %s is not read-only: a dataset may only read (SELECT, WITH ... SELECT)", d.Name, c.Verb)
	case c.SelectInto != "":
		p.errf(p.sqlPos(d, stmts[0].Start), "<dataset name=%q>: SELECT ... INTO %s writes: a dataset may only read", d.Name, c.SelectInto)
	case c.Locking != "":
		p.errf(p.sqlPos(d, stmts[0].Start), "<dataset name=%q>: a locking read (%s) is refused in a dataset", d.Name, c.Locking)
	}
}

// sqlPos maps a byte offset of a dataset's SQL text to the file. The
// placeholder text bindText makes keeps every offset of the original.
func (p *parser) sqlPos(d *Dataset, off int) Pos {
	line, col := sql.NewLineIndex(d.SQL).Position(off)
	if line == 1 {
		return Pos{Line: d.SQLPos.Line, Col: d.SQLPos.Col + col - 1}
	}
	return Pos{Line: d.SQLPos.Line + line - 1, Col: col}
}

// Colors are the colours a cell may be painted (CSS classes cell-NAME).
var Colors = []string{"red", "orange", "yellow", "green", "blue", "grey"}

var formats = []string{"", "text", "number", "int", "percent", "bytes", "duration", "date", "datetime"}

func (p *parser) parseBlock(n *xmldoc.Node) {
	b := &Block{Kind: n.Name, Pos: n.Pos, Title: n.Str("title", "")}
	needDataset := b.Kind != "text" && b.Kind != "subreport"
	if a, ok := n.Get("dataset"); ok {
		b.Dataset = strings.TrimSpace(a.Value)
		if p.r.Dataset(b.Dataset) == nil {
			p.errf(a.Pos, "<%s dataset=%q>: no such dataset declared before it", b.Kind, b.Dataset)
		}
	} else if needDataset {
		p.errf(n.Pos, "<%s>: attribute dataset is required", b.Kind)
	}
	switch b.Kind {
	case "table":
		for _, c := range n.Children {
			if c.Name != "column" {
				p.errf(c.Pos, "<table>: unknown element <%s> (want column)", c.Name)
				continue
			}
			b.Columns = append(b.Columns, p.parseColumn(c))
		}
	case "chart":
		b.Chart = n.Str("type", "line")
		if !slices.Contains([]string{"line", "bar", "stacked"}, b.Chart) {
			p.errf(n.AttrPos("type"), "<chart type=%q>: want line, bar or stacked", b.Chart)
		}
		b.X = n.Str("x", "")
		b.Y = list(n.Str("y", ""))
		if b.X == "" || len(b.Y) == 0 {
			p.errf(n.Pos, "<chart>: attributes x (a column) and y (one or more columns) are required")
		}
	case "number":
		b.Field = n.Str("field", "")
		b.Format = n.Str("format", "")
		if b.Field == "" {
			p.errf(n.Pos, "<number>: attribute field is required")
		}
		if !slices.Contains(formats, b.Format) {
			p.errf(n.AttrPos("format"), "<number format=%q>: want one of %s", b.Format, strings.Join(formats[1:], ", "))
		}
	case "text":
		b.Text = n.Text
		for _, c := range n.Children {
			p.errf(c.Pos, "<text>: plain text only, no <%s>", c.Name)
		}
	case "subreport":
		b.Ref = n.Str("ref", "")
		if b.Ref == "" {
			p.errf(n.Pos, "<subreport>: attribute ref (a report id) is required")
		}
		b.Params = p.paramMap(n, "params")
		b.ForEach = n.Str("for-each", "")
		if b.ForEach != "" && b.ForEach != "row" {
			p.errf(n.AttrPos("for-each"), "<subreport for-each=%q>: want row", b.ForEach)
		}
		if b.ForEach == "row" && b.Dataset == "" {
			p.errf(n.Pos, "<subreport for-each=\"row\">: attribute dataset (whose rows) is required")
		}
		for _, c := range n.Children {
			if c.Name != "return" {
				p.errf(c.Pos, "<subreport>: unknown element <%s> (want return)", c.Name)
				continue
			}
			rt := Return{From: c.Str("from", ""), To: c.Str("to", ""), Func: c.Str("fn", "sum")}
			if rt.From == "" || rt.To == "" {
				p.errf(c.Pos, "<return>: attributes from (dataset.column of the sub-report) and to are required")
			}
			if !slices.Contains(aggFuncs, rt.Func) {
				p.errf(c.AttrPos("fn"), "<return fn=%q>: want %s", rt.Func, strings.Join(aggFuncs, ", "))
			}
			p.CheckAttrs(c)
			b.Returns = append(b.Returns, rt)
		}
	}
	p.CheckAttrs(n)
	p.r.Blocks = append(p.r.Blocks, b)
}

var aggFuncs = []string{"sum", "avg", "min", "max", "count"}

func (p *parser) parseColumn(n *xmldoc.Node) *Column {
	c := &Column{Field: n.Str("field", "")}
	if c.Field == "" {
		p.errf(n.Pos, "<column>: attribute field is required")
	}
	c.Label = n.Str("label", c.Field)
	c.Format = n.Str("format", "")
	if !slices.Contains(formats, c.Format) {
		p.errf(n.AttrPos("format"), "<column format=%q>: want one of %s", c.Format, strings.Join(formats[1:], ", "))
	}
	c.Total = n.Str("total", "")
	if c.Total != "" && !slices.Contains(aggFuncs, c.Total) {
		p.errf(n.AttrPos("total"), "<column total=%q>: want %s", c.Total, strings.Join(aggFuncs, ", "))
	}
	if a, ok := n.Get("drill"); ok {
		c.Drill = p.parseLink(a)
	}
	p.CheckAttrs(n)
	for _, k := range n.Children {
		if k.Name != "color" {
			p.errf(k.Pos, "<column>: unknown element <%s> (want color)", k.Name)
			continue
		}
		col := Color{Color: k.Str("color", "")}
		when := k.Str("when", "")
		op, val, ok := parseCond(when)
		if !ok {
			p.errf(k.AttrPos("when"), "<color when=%q>: want an operator and a number, e.g. \"> 90\"", when)
		}
		col.Op, col.Value = op, val
		if !slices.Contains(Colors, col.Color) {
			p.errf(k.AttrPos("color"), "<color color=%q>: want %s", col.Color, strings.Join(Colors, ", "))
		}
		p.CheckAttrs(k)
		c.Colors = append(c.Colors, col)
	}
	return c
}

func parseCond(s string) (string, float64, bool) {
	s = strings.TrimSpace(s)
	for _, op := range []string{">=", "<=", "!=", ">", "<", "="} {
		if rest, ok := strings.CutPrefix(s, op); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return op, v, err == nil
		}
	}
	return "", 0, false
}

// parseLink reads "report:ID?k=v&k2=v2" (or "ID?...").
func (p *parser) parseLink(a xmldoc.Attr) *Link {
	s := strings.TrimPrefix(strings.TrimSpace(a.Value), "report:")
	id, query, _ := strings.Cut(s, "?")
	l := &Link{Report: id, Pos: a.Pos, Params: map[string]string{}}
	if !reportID.MatchString(id) {
		p.errf(a.Pos, "drill=%q: want report:ID?param=value&...", a.Value)
	}
	for kv := range strings.SplitSeq(query, "&") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !ident.MatchString(k) {
			p.errf(a.Pos, "drill=%q: %q: want param=value", a.Value, kv)
			continue
		}
		l.Params[k] = v
	}
	return l
}

func (p *parser) paramMap(n *xmldoc.Node, name string) map[string]string {
	out := map[string]string{}
	a, ok := n.Get(name)
	if !ok {
		return out
	}
	for kv := range strings.SplitSeq(a.Value, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !ident.MatchString(strings.TrimSpace(k)) {
			p.errf(a.Pos, "<%s %s=%q>: %q: want name=value", n.Name, name, a.Value, kv)
			continue
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

var retainRe = regexp.MustCompile(`^([0-9]{1,4})([dw])$`)

func (p *parser) parseSnapshot(n *xmldoc.Node) {
	sp := &SnapshotSpec{Pos: n.Pos, Schedule: n.Str("schedule", ""), Params: p.paramMap(n, "params")}
	if sp.Schedule != "" {
		if _, err := jobs.ParseSchedule(sp.Schedule); err != nil {
			p.errf(n.AttrPos("schedule"), "<snapshot schedule=%q>: %v", sp.Schedule, err)
		}
	}
	if a, ok := n.Get("retain"); ok {
		m := retainRe.FindStringSubmatch(strings.TrimSpace(a.Value))
		if m == nil {
			p.errf(a.Pos, "<snapshot retain=%q>: want a number of days or weeks, e.g. 90d or 26w", a.Value)
		} else {
			k, _ := strconv.Atoi(m[1])
			days := k
			if m[2] == "w" {
				days *= 7
			}
			sp.Retain = time.Duration(days) * 24 * time.Hour
		}
	}
	for k := range sp.Params {
		if p.r.Param(k) == nil {
			p.errf(n.AttrPos("params"), "<snapshot params>: no parameter %q declared before it", k)
		}
	}
	p.CheckAttrs(n)
	p.r.Snapshot = sp
}

func (p *parser) parseACL(n *xmldoc.Node) {
	p.CheckAttrs(n)
	for _, c := range n.Children {
		if c.Name != "grant" {
			p.errf(c.Pos, "<acl>: unknown element <%s> (want grant)", c.Name)
			continue
		}
		g := Grant{}
		if a, ok := c.Get("role"); ok {
			role, err := auth.ParseRole(strings.TrimSpace(a.Value))
			if err != nil {
				p.errf(a.Pos, "<grant role=%q>: unknown role (roles: viewer, developer, dba, admin)", a.Value)
			}
			g.Role = role
		}
		if a, ok := c.Get("user"); ok {
			g.User = strings.TrimSpace(a.Value)
			if !userName.MatchString(g.User) {
				p.errf(a.Pos, "<grant user=%q>: invalid user name", a.Value)
			}
		}
		if (g.Role == "") == (g.User == "") {
			p.errf(c.Pos, "<grant>: give exactly one of role and user")
		}
		g.Perms = list(c.Str("perm", PermView+","+PermRun))
		for _, pm := range g.Perms {
			if !slices.Contains(perms, pm) {
				p.errf(c.AttrPos("perm"), "<grant perm=%q>: unknown permission %q (want %s)", strings.Join(g.Perms, ","), pm, strings.Join(perms, ", "))
			}
		}
		g.Lock = p.paramMap(c, "lock-params")
		for k := range g.Lock {
			if p.r.Param(k) == nil {
				p.errf(c.AttrPos("lock-params"), "<grant lock-params>: no parameter %q", k)
			}
		}
		p.CheckAttrs(c)
		p.r.Grants = append(p.r.Grants, g)
	}
	if len(p.r.Grants) == 0 {
		p.errf(n.Pos, "<acl>: at least one <grant> is required")
	}
}

// checkRefs checks names used across elements: parameters of query
// parameters, columns of blocks are checked at run time (the result names
// them), parameters of links when the target is known (LinkAll).
func (p *parser) checkRefs() {
	for _, pr := range p.r.Params {
		if pr.Type == ParamQuery && pr.Query != "" && p.r.Dataset(pr.Query) == nil {
			p.errf(pr.Pos, "<param name=%q query=%q>: no such dataset", pr.Name, pr.Query)
		}
	}
	for _, d := range p.r.Datasets {
		for _, ref := range d.Refs {
			if pr := p.r.Param(ref.Name); pr != nil && pr.Type == ParamQuery && pr.Query == d.Name {
				p.errf(d.Pos, "<dataset name=%q>: uses :%s, whose options it lists", d.Name, ref.Name)
			}
		}
	}
}

func list(s string) []string { return xmldoc.List(s) }
