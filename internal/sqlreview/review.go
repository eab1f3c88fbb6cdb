package sqlreview

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// Request is one review.
type Request struct {
	// Engine is mariadb, mysql, tidb or postgres.
	Engine string `json:"engine"`
	// SQL is the script under review.
	SQL string `json:"sql"`
	// SourceName names the script in messages (a file name); optional.
	SourceName string `json:"source_name,omitempty"`
	// Env and Cluster select the rule set: prod is stricter than test, and
	// a cluster may override both.
	Env     string `json:"env,omitempty"`
	Cluster string `json:"cluster,omitempty"`
	// Kind is the ticket kind: "ddl" (schema change), "dml" (data change,
	// where TRUNCATE and DROP are refused) or "" (not a ticket).
	Kind string `json:"kind,omitempty"`
	// Database is the default database (PostgreSQL: schema) unqualified
	// names resolve in; with Conn it defaults to the connection's.
	Database string `json:"database,omitempty"`
	// Conn, when set, enables the live-schema checks against the instance
	// it connects to. The review only reads catalogs and runs EXPLAIN.
	Conn Conn `json:"-"`

	// known are table definitions taken as existing before the script
	// (the Bytebase comparison's mock catalog); tests only.
	known []*tableInfo
}

// Finding is one thing a review found.
type Finding struct {
	// Statement is the 1-based statement number (0 for the whole file).
	Statement int `json:"statement"`
	// Line and Column (1-based, columns in characters) in the submitted file.
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Rule    string `json:"rule"`
	Level   Level  `json:"level"`
	Message string `json:"message"`
	// Fix suggests a correction; empty when there is none.
	Fix string `json:"fix"`
}

// Summary counts findings.
type Summary struct {
	Statements   int `json:"statements"`
	Errors       int `json:"errors"`
	Warnings     int `json:"warnings"`
	ManualReview int `json:"manual_review"`
}

// TableStat is a table's size as the live instance reported it.
type TableStat struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// Report is a review's result.
type Report struct {
	Source  string `json:"source,omitempty"`
	Engine  string `json:"engine"`
	Env     string `json:"env,omitempty"`
	Cluster string `json:"cluster,omitempty"`
	// Instance is set when the server reviewed against an instance.
	Instance string `json:"instance,omitempty"`
	// Live reports whether live-schema checks ran (to the end).
	Live     bool      `json:"live"`
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`
	// MaxLevel is "error", "warning" or "none".
	MaxLevel string `json:"max_level"`
	// NeedsManualReview: some statement must be reviewed by a DBA.
	NeedsManualReview bool `json:"needs_manual_review"`
	// Tables lists the sizes of the tables the script touches (live only).
	Tables []TableStat `json:"tables,omitempty"`
	// Estimates are the rows each data change may change, as EXPLAIN on
	// the instance estimated them (live reviews; statements whose tables
	// the script changed first are not estimated).
	Estimates []RowEstimate `json:"estimates,omitempty"`
	// Explanations holds, for each rule with findings, why it exists.
	Explanations map[string]string `json:"explanations,omitempty"`
	// Notes say how MariaDB syntax was read (CREATE OR REPLACE drops the
	// old table, system versioning is not reviewed...); they are not
	// findings and do not change the exit status.
	Notes []Note `json:"notes,omitempty"`
}

// RowEstimate is the EXPLAIN estimate of the rows a statement changes.
type RowEstimate struct {
	Statement int    `json:"statement"`
	Verb      string `json:"verb"`
	Rows      int64  `json:"rows"`
}

// Note is information about one statement.
type Note struct {
	Statement int    `json:"statement"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	Message   string `json:"message"`
}

// ExitCode is the command line's exit status for the report: 0 clean,
// 1 warnings only, 2 errors.
func (r *Report) ExitCode() int {
	switch r.MaxLevel {
	case string(LevelError):
		return 2
	case string(LevelWarning):
		return 1
	}
	return 0
}

// WriteText writes the report as compiler-style lines:
// "file:line:col: level: message [rule]" and an indented fix.
func (r *Report) WriteText(w io.Writer) error {
	src := r.Source
	if src == "" {
		src = "-"
	}
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%s:%d:%d: %s: %s [%s]\n", src, f.Line, f.Column, f.Level, f.Message, f.Rule)
		if f.Fix != "" {
			fmt.Fprintf(&b, "    fix: %s\n", f.Fix)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "%s:%d:%d: note: %s\n", src, n.Line, n.Column, n.Message)
	}
	s := r.Summary
	fmt.Fprintf(&b, "%d statement(s), %d error(s), %d warning(s)", s.Statements, s.Errors, s.Warnings)
	if r.NeedsManualReview {
		fmt.Fprintf(&b, ", %d need(s) manual review by a DBA", s.ManualReview)
	}
	if r.Live {
		b.WriteString("; live schema checked")
		if r.Instance != "" {
			b.WriteString(" on " + r.Instance)
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Reviewer reviews SQL. It is safe for concurrent use.
type Reviewer struct {
	rules        []*Rule
	byID         map[string]*Rule
	builtin      *RuleFile
	user         *RuleFile
	queryTimeout time.Duration
}

// New returns a Reviewer with the built-in rule sets and, when given, a
// rule-set file over them. A bad file is an errkind.Invalid error naming
// file:line, the rule and the parameter.
func New(opts Config) (*Reviewer, error) {
	r := &Reviewer{rules: catalog(), byID: map[string]*Rule{}, queryTimeout: opts.QueryTimeout}
	if r.queryTimeout <= 0 {
		r.queryTimeout = DefaultConfig().QueryTimeout
	}
	for _, rule := range r.rules {
		r.byID[rule.ID] = rule
	}
	builtin, err := parseRuleFile("built-in defaults.yaml", defaultsYAML, r.byID)
	if err != nil {
		return nil, fmt.Errorf("built-in rule sets: %w", err)
	}
	r.builtin = builtin
	switch {
	case opts.Rules != nil:
		r.user = opts.Rules
	case opts.RulesFile != "":
		if r.user, err = LoadRuleFile(opts.RulesFile); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Rules lists every rule with its effective level and parameters for an
// environment and cluster (both may be empty).
func (r *Reviewer) Rules(env, cluster string) []RuleInfo {
	set := r.settings(env, cluster)
	out := make([]RuleInfo, 0, len(r.rules))
	for _, rule := range r.rules {
		out = append(out, r.info(rule, set[rule.ID]))
	}
	return out
}

// Explain returns a rule's description and default settings.
func (r *Reviewer) Explain(id string) (RuleInfo, bool) {
	rule, ok := r.byID[id]
	if !ok {
		return RuleInfo{}, false
	}
	return r.info(rule, r.settings("", "")[id]), true
}

func (r *Reviewer) info(rule *Rule, eff effective) RuleInfo {
	ri := RuleInfo{ID: rule.ID, Level: eff.level, DefaultLevel: rule.Level, Engines: rule.Engines.names(), Live: rule.Live,
		Summary: rule.Summary, Explanation: rule.Explain, Params: []ParamInfo{}}
	for _, p := range rule.Params {
		ri.Params = append(ri.Params, ParamInfo{Name: p.Name, Type: p.Kind, Value: eff.params[p.Name], Default: p.Default, Help: p.Help})
	}
	return ri
}

// dialectOf validates an engine name.
func dialectOf(eng string) (pg, mariadb bool, err error) {
	switch strings.ToLower(eng) {
	case "mariadb":
		return false, true, nil
	case "mysql", "tidb":
		return false, false, nil
	case "postgres", "postgresql":
		return true, false, nil
	}
	return false, false, errkind.New(errkind.Invalid, "unknown engine %q: want mariadb, mysql or postgres", eng)
}

// review is the state of one Review call.
type review struct {
	ctx       context.Context
	req       Request
	pg        bool
	lines     *sql.LineIndex
	findings  []Finding
	schema    *schemaState
	stmts     []*Stmt
	liveErr   error
	explainer *explainer
	// liveLevel is the level of live-schema findings.
	liveLevel Level
}

func (rv *review) add(s *Stmt, pos int, rule string, level Level, msg, fix string) {
	f := Finding{Rule: rule, Level: level, Message: msg, Fix: fix}
	if s != nil {
		f.Statement = s.N
		off := s.Offset
		if pos >= 0 && pos <= len(s.Text) {
			off += pos
		}
		f.Line, f.Column = rv.lines.Position(off)
	} else {
		f.Line, f.Column = 1, 1
	}
	rv.findings = append(rv.findings, f)
}

// Review reviews req.SQL. Syntax errors and rule violations are findings;
// the error is for a request that cannot be reviewed at all (unknown
// engine or ticket kind, cancelled context).
func (r *Reviewer) Review(ctx context.Context, req Request) (*Report, error) {
	pg, mariadb, err := dialectOf(req.Engine)
	if err != nil {
		return nil, err
	}
	switch req.Kind {
	case "", "ddl", "dml":
	default:
		return nil, errkind.New(errkind.Invalid, "unknown ticket kind %q: want ddl, dml or empty", req.Kind)
	}
	d := sql.MySQL
	switch {
	case pg:
		d = sql.Postgres
	case mariadb:
		d = sql.MariaDB
	}
	set := r.settings(req.Env, req.Cluster)
	rv := &review{ctx: ctx, req: req, pg: pg, lines: sql.NewLineIndex(req.SQL), liveLevel: set[RuleLive].level}
	var live *liveCatalog
	if req.Conn != nil {
		live = &liveCatalog{conn: req.Conn, pg: pg, queryTimeout: r.queryTimeout}
	}
	currentDB := req.Database
	if live != nil && currentDB == "" {
		if currentDB, err = live.currentDB(ctx); err != nil {
			rv.liveFailure(err)
			live = nil
		}
	}
	if pg && currentDB == "" {
		currentDB = "public"
	}
	rv.schema = newSchemaState(pg, currentDB, live)
	rv.schema.liveDB = currentDB
	for _, t := range req.known {
		rv.schema.tables[rv.schema.key(TableRef{Schema: t.Schema, Name: t.Name})] = &tableEntry{exists: yes, info: t.clone()}
	}
	rv.schema.liveFailed = rv.liveFailure
	if live != nil {
		rv.explainer = newExplainer(live)
		defer rv.explainer.wait()
	}

	checks := r.checks(rv, set, pg, live != nil)
	for i, st := range sql.Split(req.SQL, d) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s := &Stmt{N: i + 1, Text: st.Text, Line: st.Line, Column: st.Column, Offset: st.Start, Kind: st.Kind,
			Verb: sql.Verb(st.Text, d), dialect: d}
		rv.stmts = append(rv.stmts, s)
		if st.Client {
			s.Manual = "client command " + sql.Clip(st.Text, 30) + ": not SQL, the executor does not run it"
		} else if serr := parseStmt(s); serr != nil {
			if serr.Multi && st.InDelimiterBlock() {
				s.Manual = "several statements sent together in one DELIMITER " + st.Delimiter + " block"
				s.Op = OpOther
				continue
			}
			rv.add(s, serr.Off, RuleSyntax, LevelError, serr.Msg, "")
			continue
		}
		if st.InDelimiterBlock() && s.Manual == "" {
			s.Manual = "statement inside a DELIMITER " + st.Delimiter + " block"
		}
		for _, c := range checks {
			if c.rule.Check != nil {
				c.rule.Check(c, s)
			}
		}
		if estimated(s) {
			rv.explainStart(s)
		}
		rv.schema.apply(ctx, s)
	}
	for _, c := range checks {
		if c.rule.Finish != nil {
			c.rule.Finish(c)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var estimates []RowEstimate
	for _, s := range rv.stmts {
		if !estimated(s) {
			continue
		}
		if e := rv.explainResult(s); e.ok && e.err == nil {
			estimates = append(estimates, RowEstimate{Statement: s.N, Verb: s.Verb, Rows: e.rows})
		}
	}
	rep := r.report(rv, req, set, live != nil && rv.liveErr == nil)
	rep.Estimates = estimates
	return rep, nil
}

// estimated reports whether the review estimates the rows a statement
// changes: UPDATE, DELETE and INSERT ... SELECT.
func estimated(s *Stmt) bool {
	return s.Op == OpUpdate || s.Op == OpDelete || (s.Op == OpInsert && s.DML != nil && s.DML.InsertSelect)
}

func (rv *review) liveFailure(err error) {
	if rv.liveErr != nil {
		return
	}
	rv.liveErr = err
	if rv.liveLevel == LevelOff {
		return
	}
	rv.add(nil, -1, RuleLive, rv.liveLevel, "live-schema checks stopped: "+err.Error(), "check the instance is reachable and dbfleet's account may read information_schema (pg_catalog)")
}

// checks builds the enabled rules' checks for one review.
func (r *Reviewer) checks(rv *review, set map[string]effective, pg, live bool) []*Check {
	var out []*Check
	for _, rule := range r.rules {
		eff := set[rule.ID]
		if eff.level == LevelOff || (rule.Check == nil && rule.Finish == nil) {
			continue
		}
		if (pg && rule.Engines&forPostgres == 0) || (!pg && rule.Engines&forMySQL == 0) {
			continue
		}
		if rule.Live && !live {
			continue
		}
		out = append(out, &Check{rule: rule, level: eff.level, params: eff.params, rv: rv, state: map[string]any{}})
	}
	return out
}

func (r *Reviewer) report(rv *review, req Request, set map[string]effective, live bool) *Report {
	rep := &Report{Source: req.SourceName, Engine: strings.ToLower(req.Engine), Env: req.Env, Cluster: req.Cluster, Live: live,
		Findings: []Finding{}, MaxLevel: "none"}
	manualLevel := set[RuleManual].level
	for _, s := range rv.stmts {
		for _, n := range s.Notes {
			line, col := rv.lines.Position(s.Offset)
			rep.Notes = append(rep.Notes, Note{Statement: s.N, Line: line, Column: col, Message: n})
		}
		if s.Manual != "" {
			rep.NeedsManualReview = true
			rep.Summary.ManualReview++
			if manualLevel != LevelOff {
				rv.add(s, -1, RuleManual, manualLevel, "needs manual review by a DBA: "+s.Manual, "")
			}
		}
	}
	sort.SliceStable(rv.findings, func(i, j int) bool {
		a, b := rv.findings[i], rv.findings[j]
		if a.Statement != b.Statement {
			return a.Statement < b.Statement
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	rep.Findings = append(rep.Findings, rv.findings...)
	rep.Summary.Statements = len(rv.stmts)
	for _, f := range rep.Findings {
		switch f.Level {
		case LevelError:
			rep.Summary.Errors++
		case LevelWarning:
			rep.Summary.Warnings++
		}
		if rule, ok := r.byID[f.Rule]; ok && rule.Explain != "" {
			if rep.Explanations == nil {
				rep.Explanations = map[string]string{}
			}
			rep.Explanations[f.Rule] = rule.Explain
		}
	}
	switch {
	case rep.Summary.Errors > 0:
		rep.MaxLevel = string(LevelError)
	case rep.Summary.Warnings > 0:
		rep.MaxLevel = string(LevelWarning)
	}
	rep.Tables = rv.schema.stats
	return rep
}
