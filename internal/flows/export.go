package flows

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// maxExportBytes bounds one CSV attachment.
const maxExportBytes = 64 << 20

// An export runs one plain query and nothing else. Until the export block
// runs through the query console (its grants, masks, function checks and
// timeout), the block itself refuses, through internal/sql's reading of
// the statement, whatever could do more than read: more than one
// statement, SELECT ... INTO (OUTFILE and DUMPFILE write files on the
// database host), locking reads, special comments (/*! /*M! /*T! /*+,
// which servers and parsers read differently), statements the grammar
// read only after rewriting them or not at all; and it sends the server
// the statement re-rendered from the tree it checked, never the text as
// written.

// exportRefusal is why an export's SQL is refused, and where.
type exportRefusal struct {
	Statement, Line, Column int
	Msg                     string
	// Syntax: the statement does not parse (a review reports that on
	// its own).
	Syntax bool
}

func (e *exportRefusal) Error() string {
	return fmt.Sprintf("line %d col %d: %s", e.Line, e.Column, e.Msg)
}

// exportStatement checks an export's SQL and returns the statement to
// send: the one plain query, re-rendered from its checked tree. A refusal
// is an errkind.Invalid *exportRefusal.
func exportStatement(d sqlfe.Dialect, script string) (string, error) {
	lines := sqlfe.NewLineIndex(script)
	stmtNo := 1
	refuse := func(off int, format string, args ...any) (string, error) {
		line, col := lines.Position(off)
		return "", errkind.Wrap(errkind.Invalid, &exportRefusal{Statement: stmtNo, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
	}
	if d.IsMySQLFamily() {
		if sc := sqlfe.SpecialComments(script, d); len(sc) > 0 {
			return refuse(sc[0].Open, "an export refuses special comments (%s...*/): servers and parsers read them differently; remove it", sc[0].Marker+sc[0].Version)
		}
	}
	stmts := readScript(d, script)
	switch {
	case len(stmts) == 0:
		return refuse(0, "an export runs one SELECT; the SQL has none")
	case len(stmts) > 1:
		stmtNo = 2
		return refuse(stmts[1].Start, "an export runs exactly one SELECT; the SQL has %d statements", len(stmts))
	}
	st := stmts[0]
	c := st.Class
	switch {
	case st.Client:
		return refuse(st.Start, "an export runs a read-only SELECT; %s is a client command", firstWords(st.Text))
	// INTO and locking clauses first: for a statement the grammar
	// rejects (INTO DUMPFILE, INTO @variable), the lexer's class names
	// them, which says more than the syntax error.
	case c.SelectInto != "":
		return refuse(st.Start, "an export runs a read-only SELECT; this one writes (SELECT ... INTO %s)", selectIntoTarget(c.SelectInto))
	case c.Locking != "":
		return refuse(st.Start, "an export runs a read-only SELECT; this one locks the rows it reads (%s)", c.Locking)
	case st.Err != nil:
		line, col, msg := st.errorAt(lines)
		return "", errkind.Wrap(errkind.Invalid, &exportRefusal{Statement: 1, Line: line, Column: col, Msg: msg, Syntax: true})
	case !plainQuery(c):
		return refuse(st.Start, "an export runs a read-only SELECT; this statement is a %s (%s): %s", c.Verb, c.Kind, firstWords(st.Text))
	case st.Parsed.Manual != "":
		return refuse(st.Start, "an export runs only what can be checked: %s", st.Parsed.Manual)
	case st.Parsed.Rewritten:
		return refuse(st.Start, "an export runs exactly the statement it checked, and the grammar read this one only after rewriting it (%s)", strings.Join(st.Parsed.Notes, "; "))
	}
	text, err := st.Parsed.Render()
	if err != nil {
		return refuse(st.Start, "an export runs the statement re-rendered from what was checked: %v", err)
	}
	return text, nil
}

func selectIntoTarget(into string) string {
	switch into {
	case "OUTFILE", "DUMPFILE":
		return into + ": a file on the database host"
	case "table":
		return "a new table"
	}
	return into
}

// exports reports whether an export step of the flow runs the SQL of
// field.
func (fl *Flow) exports(field string) bool {
	for _, st := range fl.Steps {
		if c, ok := st.cfg.(*exportCfg); ok && c.sql == field {
			return true
		}
	}
	return false
}

// exportResult is what running an export produced besides its CSV.
type exportResult struct {
	Rows      int64
	Columns   []string
	Truncated bool
}

// runExport checks the step's SQL, runs it and attaches the rows as CSV.
// Running it again (after a restart) replaces the attachment: it changes
// nothing on the target.
//
// Its middle step, exportCSV (a statement in, CSV written to an
// io.Writer, a small result out), is what the query console's export
// will take over: a consumer interface Exporter with Export(ctx,
// auth.Principal, query.ExportRequest, io.Writer) (*query.ExportResult,
// error), wired by app, the requester as principal.
func (s *Service) runExport(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*exportCfg)
	tgt, err := s.stepTarget(ctx, r, c.target)
	if err != nil {
		return outcome{}, err
	}
	stmt, err := exportStatement(dialect(engine.Kind(tgt.Engine)), r.field(c.sql))
	if err != nil {
		return outcome{}, err
	}
	var buf bytes.Buffer
	res, err := s.exportCSV(ctx, tgt, stmt, c.maxRows, &limitWriter{w: &buf, n: maxExportBytes})
	if err != nil {
		return outcome{}, err
	}
	name := c.filename
	if name == "" {
		name = fmt.Sprintf("ticket-%d-%s.csv", r.t.ID, r.step.ID)
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM ticket_attachments WHERE ticket_id = ? AND step_idx = ?", r.t.ID, r.idx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ticket_attachments (ticket_id, step_idx, name, content_type, size, rows_count, content, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.t.ID, r.idx, name, "text/csv; charset=utf-8", buf.Len(), res.Rows, buf.Bytes(), sqldb.Now())
		return err
	})
	if err != nil {
		return outcome{}, fmt.Errorf("store the export: %w", err)
	}
	summary := fmt.Sprintf("%d row(s) exported to %s (%s)", res.Rows, name, sizeString(int64(buf.Len())))
	if res.Truncated {
		summary += fmt.Sprintf("; stopped at max-rows %d", c.maxRows)
	}
	return done(map[string]any{"summary": summary, "rows": res.Rows, "attachment": name, "truncated": res.Truncated,
		"columns": res.Columns, "preview": csvPreview(buf.Bytes(), res.Rows, 20)})
}

// exportCSV runs one checked statement in a read-only transaction on the
// target and writes the rows to w as CSV (a header, then up to maxRows
// rows). It has the shape of the query console's export, which is to
// replace it.
func (s *Service) exportCSV(ctx context.Context, tgt TargetVars, stmt string, maxRows int, w io.Writer) (*exportResult, error) {
	kind := engine.Kind(tgt.Engine)
	pool, err := s.inv.Connect(ctx, tgt.Instance, tgt.Database)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", targetString(tgt), err)
	}
	defer pool.Close()
	sp, ok := pool.(sessioner)
	if !ok {
		return nil, errkind.New(errkind.Unavailable, "the %s adapter cannot hold a read-only session", kind)
	}
	conn, err := sp.Session(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", targetString(tgt), err)
	}
	defer conn.Close()
	// The rendered statement is read with backslash escapes on and
	// ANSI_QUOTES off (MariaDB/MySQL), standard strings (PostgreSQL).
	setup := []string{"SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'", "START TRANSACTION READ ONLY"}
	if kind == engine.Postgres {
		setup = []string{"SET standard_conforming_strings = on", "BEGIN TRANSACTION READ ONLY"}
	}
	for _, q := range setup {
		if _, err := conn.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("prepare a read-only session (%s): %w", q, err)
		}
	}
	rows, truncated, err := conn.Query(ctx, maxRows, stmt)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	conn.Exec(rctx, "ROLLBACK")
	cancel()
	if err != nil {
		return nil, fmt.Errorf("export query: %w", err)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(rows.Columns); err != nil {
		return nil, err
	}
	rec := make([]string, len(rows.Columns))
	for _, row := range rows.Values {
		for i, v := range row {
			rec[i] = csvValue(v)
		}
		if err := cw.Write(rec); err != nil {
			return nil, err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return nil, err
	}
	return &exportResult{Rows: int64(len(rows.Values)), Columns: rows.Columns, Truncated: truncated}, nil
}

// limitWriter fails once more than n bytes were written.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		return 0, errkind.New(errkind.Invalid, "the export is larger than %d MiB; narrow the query or lower max-rows", maxExportBytes>>20)
	}
	l.n -= len(p)
	return l.w.Write(p)
}

// csvValue renders a value as CSV text: binary as base64, times in RFC 3339.
func csvValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		return fmt.Sprint(x)
	}
}

// csvPreview is the first n rows of a CSV export (of rows rows in all) as
// an aligned text table, for messages.
func csvPreview(data []byte, rows int64, n int) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	for i := 0; ; i++ {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		if i == n+1 {
			fmt.Fprintf(tw, "... %d more row(s)\n", rows-int64(n))
			break
		}
		for j, v := range rec {
			v = strings.ReplaceAll(v, "\n", " ")
			if len(v) > 60 {
				v = v[:57] + "..."
			}
			rec[j] = v
		}
		fmt.Fprintln(tw, strings.Join(rec, "\t"))
	}
	tw.Flush()
	return strings.TrimRight(b.String(), "\n")
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func jsonString(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
