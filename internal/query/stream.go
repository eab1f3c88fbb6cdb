package query

import (
	"context"
	"fmt"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// ReportRequest is one dataset statement a report runs on one instance
// (a shard or group member). The caller (internal/reports) has already
// authorised the viewer for Report: the principal's query grants are not
// required, but the audit records principal and report.
type ReportRequest struct {
	Report   string
	Instance string
	Database string
	SQL      string
	// Args are bound to the statement's placeholders (? on the MySQL
	// family, $1... on PostgreSQL), never pasted into it.
	Args []any
	// MaxRows caps the rows read (0: the console's row limit for the
	// principal's role); a stream that reaches it says Truncated.
	MaxRows int
	// Timeout lowers the console's statement timeout (0: the console's).
	Timeout time.Duration
	// Chosen: the instance came from the viewer (a report parameter),
	// not from the report's file. The report's permission then does not
	// cover it: the principal's own query grants on the instance must
	// cover the statement, as in the console.
	Chosen bool
}

// RowStream is a streamed read-only result: rows are read from the server
// one at a time, masked, and capped at the request's MaxRows. It
// satisfies merge.Stream (and merge.Typed). Close ends the read, frees
// the session and writes the audit entry (query.report: rows read,
// truncated, masked columns; query.failed when the read failed).
type RowStream struct {
	s       *Service
	ctx     context.Context
	cancel  context.CancelFunc
	p       auth.Principal
	req     ReportRequest
	j       *job
	rs      engine.RowStream
	masks   []*MaskRule
	res     *Result // what the audit records; Rows stays empty
	rows    int
	row     []any
	err     error
	start   time.Time
	closed  bool
	limited bool
}

// Columns are the result's column names.
func (r *RowStream) Columns() []string { return r.rs.Columns() }

// ColumnTypes are the server's type names of the columns.
func (r *RowStream) ColumnTypes() []string { return r.rs.ColumnTypes() }

// Next advances to the next row; false at the end, at MaxRows, or on
// error.
func (r *RowStream) Next() bool {
	if r.err != nil || r.closed || r.limited {
		return false
	}
	if r.rows >= r.j.limit {
		r.limited = true
		if r.rs.Next() {
			r.res.Truncated = true
		}
		return false
	}
	if !r.rs.Next() {
		if err := r.rs.Err(); err != nil {
			r.err = readerRefused(err, statementError(r.ctx, err, r.j.timeout, r.j.masked), r.j.managed)
		}
		return false
	}
	r.row = append(r.row[:0], r.rs.Row()...)
	maskRow(r.row, r.masks)
	r.rows++
	return true
}

// Row is the current row, valid until the next call to Next.
func (r *RowStream) Row() []any { return r.row }

// Err is the error that ended the stream, if any.
func (r *RowStream) Err() error { return r.err }

// Truncated reports whether rows were left when MaxRows was reached.
func (r *RowStream) Truncated() bool { return r.res.Truncated }

// Close ends the read, releases the session and records the audit entry.
func (r *RowStream) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.rs.Close()
	r.j.conn.Close()
	r.cancel()
	r.s.record(r.ctx, r.p, "query.report", r.auditRequest(), r.extra(), r.res, r.err, r.s.now().Sub(r.start))
	if err != nil {
		return fmt.Errorf("close the stream on instance %q: %w", r.req.Instance, err)
	}
	return nil
}

func (r *RowStream) auditRequest() Request {
	return Request{Instance: r.req.Instance, Database: r.req.Database, Statement: r.req.SQL}
}

func (r *RowStream) extra() map[string]any {
	return map[string]any{"report": r.req.Report, "rows": r.rows}
}

// Stream runs one read-only statement with the console's checks (parse,
// allow-list, rendered text, read-only session, timeout), on the managed
// read-only account, and streams rows (masking applied).
func (s *Service) Stream(ctx context.Context, p auth.Principal, req ReportRequest) (*RowStream, error) {
	start := s.now()
	ctx = withSentNote(ctx)
	r, err := s.stream(ctx, p, req, start)
	if err != nil {
		s.record(ctx, p, "query.report", Request{Instance: req.Instance, Database: req.Database, Statement: req.SQL},
			map[string]any{"report": req.Report}, nil, err, s.now().Sub(start))
		return nil, err
	}
	return r, nil
}

func (s *Service) stream(ctx context.Context, p auth.Principal, req ReportRequest, start time.Time) (*RowStream, error) {
	if req.Report == "" {
		return nil, errkind.New(errkind.Invalid, "report stream: name the report")
	}
	if req.MaxRows < 0 || req.Timeout < 0 {
		return nil, errkind.New(errkind.Invalid, "report stream: max rows and timeout must be positive")
	}
	timeout := ""
	if req.Timeout > 0 {
		timeout = req.Timeout.String()
	}
	j, err := s.beginAuthorised(ctx, p, req.Instance, req.Database, req.SQL, 0, timeout, false)
	if err != nil {
		return nil, err
	}
	if req.MaxRows > 0 {
		j.limit = req.MaxRows // the console's row limit does not bound a report's read
	}
	if j.in.Engine == engine.Redis {
		return nil, refuseRule(RuleEngine, "reports need an SQL instance; %s is %s", j.in.Name, j.in.Engine)
	}
	j.params = len(req.Args)
	if err := s.plan(j, req.SQL, nil); err != nil {
		return nil, err
	}
	if j.pl.kind != KindSelect {
		return nil, refuseRule(RuleStatement, "a report reads with queries (SELECT, TABLE, VALUES), not %s statements", j.pl.kind)
	}
	// The report authorised the viewer for the instances its file names:
	// read with the read-all reader, still refusing what no reader may
	// read. An instance the viewer chose needs the viewer's own grants.
	j.full = true
	if req.Chosen {
		if j.gs, j.full, err = s.grants(ctx, p, j.in); err != nil {
			return nil, err
		}
	}
	if j.names, err = s.namesOf(ctx, j.target.Engine, j.target.Name); err != nil {
		return nil, err
	}
	if err := j.checkGrants(); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.timeout+10*time.Second)
	stop := context.AfterFunc(ctx, cancel)
	cancelAll := func() { stop(); cancel() }
	conn, managed, err := s.openLogin(sctx, readerAll, j.in, j.target, j.db, readerNeeds(j.in.Engine, j.db, j.pl.access), j.timeout)
	if err != nil {
		cancelAll()
		return nil, err
	}
	j.conn, j.managed = conn, managed
	fail := func(err error) (*RowStream, error) {
		conn.Close()
		cancelAll()
		return nil, err
	}
	if err := s.lineage(sctx, j); err != nil {
		return fail(err)
	}
	st, ok := conn.(engine.Streamer)
	if !ok {
		return fail(errkind.New(errkind.Unavailable, "the %s adapter cannot stream rows", j.target.Engine))
	}
	noteSent(ctx, j.pl.sql)
	rs, err := st.Stream(sctx, j.pl.sql, req.Args...)
	if err != nil {
		return fail(readerRefused(err, statementError(sctx, err, j.timeout, j.masked), managed))
	}
	r := &RowStream{s: s, ctx: sctx, cancel: cancelAll, p: p, req: req, j: j, rs: rs, start: start,
		res: &Result{Instance: j.in.Name, RanOn: j.target.Name, Engine: j.in.Engine, Database: j.db, Kind: j.pl.kind, RowLimit: j.limit}}
	var note string
	r.masks, note = s.columnMasks(j, rs.Columns())
	for i, c := range rs.Columns() {
		col := Column{Name: c}
		if r.masks[i] != nil {
			col.Masked = r.masks[i].Kind
		}
		r.res.Columns = append(r.res.Columns, col)
	}
	if note != "" {
		r.res.Notes = append(r.res.Notes, note)
	}
	return r, nil
}

// Queryable returns those of the named instances p may query (a grant on
// the instance, or query.grant over all): what a report's instance
// picker offers, since a chosen instance needs them (ReportRequest.Chosen).
func (s *Service) Queryable(ctx context.Context, p auth.Principal, names []string) ([]string, error) {
	if !p.Can(auth.QueryRun) {
		return nil, nil
	}
	if p.Can(auth.QueryGrant) {
		return names, nil
	}
	var out []string
	for _, n := range names {
		gs, err := s.activeGrants(ctx, p, n)
		if err != nil {
			return nil, err
		}
		if len(gs) > 0 {
			out = append(out, n)
		}
	}
	return out, nil
}
