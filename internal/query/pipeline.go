package query

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// A statement goes through the console in phases, each a method below:
//
//	begin     the request: instance, limits, where it runs, masking rules
//	plan      parse and check (no server): what to send, what it reads
//	authorise the grants cover everything it reads
//	connect   a read-only session with the statement timeout
//	lineage   where each output column comes from (when masking applies)
//	execute   run exactly the rendered statement
//	mask      filter, limit and mask the result
//
// Run, Explain and Export share them; only how the plan is built and what
// happens to the rows differ.

// job is one statement on its way through the phases.
type job struct {
	p       auth.Principal
	in      inventory.Instance
	target  inventory.Instance
	db      string
	limit   int // rows the caller gets (Export: its MaxRows)
	timeout time.Duration
	// rules are the masking rules that may apply (none when the caller
	// may see values); masked reports some do.
	rules  []MaskRule
	masked bool
	pl     *plan
	gs     []Grant
	full   bool
	names  names
	conn   engine.Conn
	// managed: conn is a managed reader's session.
	managed bool
	// params is how many placeholder arguments are bound (reports).
	params int
	ls     []lineage
}

// filterFetchCap bounds what SHOW DATABASES / SHOW TABLES read before
// the grants filter them (the row limit applies after the filter).
const filterFetchCap = 100000

func (s *Service) run(ctx context.Context, p auth.Principal, req Request) (*Result, error) {
	j, err := s.begin(ctx, p, req.Instance, req.Database, req.Statement, req.Limit, req.Timeout, req.Primary)
	if err != nil {
		return nil, err
	}
	if err := s.plan(j, req.Statement, nil); err != nil {
		return nil, err
	}
	return s.finish(ctx, j)
}

// finish runs the phases after plan: authorise, connect, lineage,
// execute and mask.
func (s *Service) finish(ctx context.Context, j *job) (*Result, error) {
	if err := s.authorise(ctx, j); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, j.timeout+10*time.Second)
	defer cancel()
	if err := s.connect(ctx, j); err != nil {
		return nil, err
	}
	defer j.conn.Close()
	if err := s.lineage(ctx, j); err != nil {
		return nil, err
	}
	rows, truncated, took, err := s.execute(ctx, j, j.limit)
	if err != nil {
		return nil, err
	}
	return s.mask(j, rows, truncated, took), nil
}

// begin checks the request and works out where it runs, its limits and
// the masking rules that may apply.
func (s *Service) begin(ctx context.Context, p auth.Principal, instance, database, statement string, limit int, timeout string, primary bool) (*job, error) {
	if err := p.Require(auth.QueryRun); err != nil {
		return nil, err
	}
	return s.beginAuthorised(ctx, p, instance, database, statement, limit, timeout, primary)
}

// beginAuthorised is begin for a caller whose right to run the statement
// was checked elsewhere (a report's viewer).
func (s *Service) beginAuthorised(ctx context.Context, p auth.Principal, instance, database, statement string, limit int, timeout string, primary bool) (*job, error) {
	if strings.TrimSpace(instance) == "" {
		return nil, errkind.New(errkind.Invalid, "name an instance to query")
	}
	if strings.TrimSpace(statement) == "" {
		return nil, invalidRule(RuleEmpty, "the statement is empty")
	}
	in, err := s.inv.GetInstance(ctx, instance)
	if err != nil {
		return nil, err
	}
	j := &job{p: p, in: in, limit: s.RowLimit(p.Role), timeout: s.opts.StatementTimeout}
	if limit < 0 {
		return nil, errkind.New(errkind.Invalid, "limit must be positive")
	}
	if limit > 0 && limit < j.limit {
		j.limit = limit
	}
	if timeout != "" {
		d, err := time.ParseDuration(timeout)
		if err != nil || d <= 0 {
			return nil, errkind.New(errkind.Invalid, "invalid timeout %q: want a duration such as 10s", timeout)
		}
		j.timeout = min(j.timeout, d)
	}
	if j.db, err = defaultDatabase(in.Engine, database); err != nil {
		return nil, err
	}
	j.target = s.pickTarget(ctx, in, primary)
	if !p.Can(auth.QueryUnmask) {
		if j.rules, err = s.rulesFor(ctx, in.Name, j.target.Name); err != nil {
			return nil, err
		}
		j.masked = len(j.rules) > 0
	}
	return j, nil
}

// plan parses and checks the statement; around, when given, builds the
// statement to check from the parsed one (Explain wraps it in EXPLAIN).
func (s *Service) plan(j *job, statement string, around func(*sql.Parsed) error) error {
	if j.in.Engine == engine.Redis {
		pl, err := planRedis(statement, j.limit)
		if err != nil {
			return err
		}
		j.pl = pl
		return nil
	}
	d, err := sql.ParseDialect(string(j.in.Engine))
	if err != nil {
		return refuseRule(RuleEngine, "the query console does not support %s instances", j.in.Engine)
	}
	in := checkInput{dialect: d, text: statement, db: j.db, limit: j.limit, masked: j.masked, allow: s.allow, params: j.params}
	parsed, err := parseChecked(in)
	if err != nil {
		return err
	}
	if around != nil {
		if err := around(parsed); err != nil {
			return err
		}
	}
	j.pl, err = planParsed(parsed, in)
	return err
}

// authorise checks that p's grants cover everything the statement reads,
// comparing names as the instance's server does.
func (s *Service) authorise(ctx context.Context, j *job) error {
	var err error
	if j.gs, j.full, err = s.grants(ctx, j.p, j.in); err != nil {
		return err
	}
	if j.names, err = s.namesOf(ctx, j.target.Engine, j.target.Name); err != nil {
		return err
	}
	return j.checkGrants()
}

// checkGrants checks that j.gs (or j.full) cover everything the statement
// reads, comparing names with j.names.
func (j *job) checkGrants() error {
	if j.in.Engine == engine.Postgres || j.in.Engine == engine.Redis {
		j.pl.access = append([]access{{DB: j.db}}, j.pl.access...) // the session is in db
	}
	for _, a := range j.pl.access {
		if !j.full && !covered(j.gs, a, j.names) {
			how := ""
			if a.need != needAny {
				how = " (the server's catalogs need a grant that names them)"
			}
			return refuseRule(RuleNotGranted, "%s is not granted to user %s on instance %s%s", a, j.p.User, j.in.Name, how)
		}
	}
	return refuseBlind(j.in.Engine, j.pl.access)
}

// refuseBlind refuses, to every caller, what no reader account may read
// (readerBlind), rather than let the server answer "access denied".
func refuseBlind(k engine.Kind, as []access) error {
	if k != engine.MariaDB && k != engine.MySQL && k != engine.TiDB {
		return nil
	}
	for _, a := range as {
		if a.need == needDatabase && readerBlind(a.DB) {
			return refuseRule(RuleSystemDatabase, "%s is not readable through the query console: the reader accounts never read the server's accounts (mysql), other sessions' statements (performance_schema) or views over them (sys); information_schema is readable with a grant that names it", a)
		}
	}
	return nil
}

// connect opens the read-only session the statement runs on.
func (s *Service) connect(ctx context.Context, j *job) error {
	conn, managed, err := s.openLogin(ctx, readerKindFor(j.p), j.in, j.target, j.db, readerNeeds(j.in.Engine, j.db, j.pl.access), j.timeout)
	if err != nil {
		return err
	}
	j.conn, j.managed = conn, managed
	return nil
}

// lineage works out the statement's column lineage when masking applies,
// reading afresh once when a cached table description may be stale.
func (s *Service) lineage(ctx context.Context, j *job) error {
	if j.pl.lineage == nil || !j.masked {
		return nil
	}
	sc := &connSchema{conn: j.conn, kind: j.target.Engine, instance: j.target.Name, cache: s.cache, now: s.now}
	ls, err := j.pl.lineage(ctx, sc, j.names)
	var le *errLineage
	if errors.As(err, &le) && sc.usedHit {
		sc.bypass = true
		ls, err = j.pl.lineage(ctx, sc, j.names)
	}
	if errors.As(err, &le) {
		return refuseRule(RuleLineage, "masking cannot be guaranteed for this statement, so it is not run: %s", err)
	}
	if err != nil {
		return statementError(ctx, err, j.timeout, true)
	}
	j.ls = ls
	return nil
}

// execute runs the rendered statement, reading at most limit rows (more
// for a SHOW the grants filter afterwards).
func (s *Service) execute(ctx context.Context, j *job, limit int) (*engine.Rows, bool, time.Duration, error) {
	start := s.now()
	var rows *engine.Rows
	var truncated bool
	var err error
	if j.in.Engine == engine.Redis {
		noteSent(ctx, strings.Join(j.pl.words, " "))
		rows, truncated, err = s.runRedis(ctx, j.conn, j.pl, limit)
	} else {
		maxRows := limit
		if j.pl.filter != nil && !j.full {
			maxRows = filterFetchCap
		}
		noteSent(ctx, j.pl.sql)
		rows, truncated, err = j.conn.Query(ctx, maxRows, j.pl.sql)
	}
	took := s.now().Sub(start)
	if err != nil {
		return nil, false, took, readerRefused(err, statementError(ctx, err, j.timeout, j.masked), j.managed)
	}
	if rows == nil {
		rows = &engine.Rows{}
	}
	return rows, truncated, took, nil
}

// mask turns the server's rows into the result: Redis replies reshaped,
// SHOW DATABASES / TABLES filtered by the grants, then the row limit,
// then the masks.
func (s *Service) mask(j *job, rows *engine.Rows, truncated bool, took time.Duration) *Result {
	res := &Result{Instance: j.in.Name, RanOn: j.target.Name, Engine: j.in.Engine, Database: j.db, Kind: j.pl.kind,
		RowLimit: j.limit, Rows: [][]any{}, Took: took}
	if j.in.Engine == engine.MySQL || j.in.Engine == engine.MariaDB || j.in.Engine == engine.TiDB {
		res.Database = j.db
	}
	if j.target.Name != j.in.Name {
		res.Notes = append(res.Notes, fmt.Sprintf("ran on replica %s of cluster %s", j.target.Name, j.in.Cluster))
	}
	if j.pl.reshape != nil {
		var notes []string
		rows.Columns, rows.Values, notes = j.pl.reshape(rows.Columns, rows.Values)
		res.Notes = append(res.Notes, notes...)
	}
	if j.pl.filter != nil && !j.full {
		rows.Values = filterRows(rows.Values, j.gs, j.pl.filter, j.names)
	}
	if len(rows.Values) > j.limit {
		rows.Values, truncated = rows.Values[:j.limit], true
	}
	res.Truncated = truncated
	res.Columns = make([]Column, len(rows.Columns))
	for i, c := range rows.Columns {
		res.Columns[i] = Column{Name: c}
	}
	masks, note := s.columnMasks(j, rows.Columns)
	if note != "" {
		res.Notes = append(res.Notes, note)
	}
	for i, m := range masks {
		if m != nil {
			res.Columns[i].Masked = m.Kind
		}
	}
	for _, row := range rows.All() {
		maskRow(row, masks)
	}
	res.Rows = rows.Values
	return res
}

// columnMasks is the mask of each result column (nil: none).
func (s *Service) columnMasks(j *job, cols []string) ([]*MaskRule, string) {
	masks := make([]*MaskRule, len(cols))
	if !j.masked || j.ls == nil {
		return masks, ""
	}
	note := ""
	mapped, ok := columnMap(j.ls, cols, j.names)
	if !ok {
		note = "the result's columns did not match the statement's analysis: every column that may hold masked data is masked"
	}
	for i, l := range mapped {
		masks[i] = maskFor(j.rules, "", l)
	}
	return masks, note
}

// maskRow masks one row in place and makes its values JSON-friendly.
func maskRow(row []any, masks []*MaskRule) {
	for i, m := range masks {
		if m != nil && i < len(row) {
			row[i] = m.Apply(row[i])
		}
	}
	for i, v := range row {
		row[i] = jsonValue(v)
	}
}

// jsonValue keeps binary values readable: text when it is UTF-8, else hex.
func jsonValue(v any) any {
	if b, ok := v.([]byte); ok {
		if utf8.Valid(b) {
			return string(b)
		}
		return "0x" + hex.EncodeToString(b)
	}
	return v
}

// rulesFor are the masking rules that may apply on instance (or the
// replica that serves it), with the instance part already matched.
func (s *Service) rulesFor(ctx context.Context, instance, ranOn string) ([]MaskRule, error) {
	all, err := s.ListMasks(ctx)
	if err != nil {
		return nil, err
	}
	var out []MaskRule
	for _, r := range all {
		if globMatch(r.Instance, instance) || globMatch(r.Instance, ranOn) {
			r.Instance = ""
			out = append(out, r)
		}
	}
	return out, nil
}

// filterRows keeps the rows of SHOW DATABASES / SHOW TABLES naming what
// the grants cover.
func filterRows(rows [][]any, gs []Grant, f *rowFilter, n names) [][]any {
	out := rows[:0]
	for _, r := range rows {
		if len(r) == 0 {
			continue
		}
		name := engine.String(r[0])
		a := mysqlAccess(name, "")
		if !f.databases {
			a = mysqlAccess(f.db, name)
		}
		if covered(gs, a, n) {
			out = append(out, r)
		}
	}
	return out
}

// queryError explains a failed statement of the console's own (opening
// the session, the schema browser): no masked values are involved.
func (s *Service) queryError(ctx context.Context, err error, timeout time.Duration) error {
	return statementError(ctx, err, timeout, false)
}

func (s *Service) runRedis(ctx context.Context, conn engine.Conn, pl *plan, limit int) (*engine.Rows, bool, error) {
	run := func(ctx context.Context, maxRows int, words ...string) (*engine.Rows, bool, error) {
		args := make([]any, len(words))
		for i, w := range words {
			args[i] = w
		}
		return conn.Query(ctx, maxRows, strings.TrimSpace(strings.Repeat("? ", len(words))), args...)
	}
	if pl.check != nil {
		if err := pl.check(ctx, run); err != nil {
			return nil, false, err
		}
	}
	maxRows := limit
	if pl.reshape != nil {
		maxRows = 0 // pairs and SCAN replies are bounded by the checks; cut after reshaping
	}
	return run(ctx, maxRows, pl.words...)
}
