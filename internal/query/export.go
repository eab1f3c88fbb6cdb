package query

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// ExportRequest is one query exported as CSV.
type ExportRequest struct {
	Instance string `json:"instance"`
	Database string `json:"database,omitempty"`
	// Statement is one query (SELECT, TABLE, VALUES).
	Statement string `json:"statement"`
	// MaxRows and MaxBytes bound the export (both required): the CSV
	// stops at whichever comes first, and the result says so.
	MaxRows  int   `json:"max_rows"`
	MaxBytes int64 `json:"max_bytes"`
	// Timeout lowers the statement timeout (0: the console's).
	Timeout time.Duration `json:"timeout,omitempty"`
	// Ticket is recorded in the audit entry.
	Ticket string `json:"ticket,omitempty"`
}

// ExportResult says what an export wrote.
type ExportResult struct {
	Instance string      `json:"instance"`
	RanOn    string      `json:"ran_on"`
	Engine   engine.Kind `json:"engine"`
	Database string      `json:"database,omitempty"`
	Columns  []Column    `json:"columns"`
	Rows     int         `json:"rows"`
	Bytes    int64       `json:"bytes"`
	// Truncated names the bound that stopped the export: "rows" or
	// "bytes" ("" when everything was written).
	Truncated string        `json:"truncated,omitempty"`
	Took      time.Duration `json:"took_ns"`
	Notes     []string      `json:"notes,omitempty"`
}

// Export runs one query for p with exactly the console's checks, grants,
// masks, allow-lists, re-rendering, read-only session and statement
// timeout, and writes up to req.MaxRows rows as CSV (a header line, then
// the rows, values as FormatValue renders them, NULL as an empty field)
// to w, stopping before req.MaxBytes would be exceeded. The console's row
// limit does not apply. It is audited as query.export (query.refused or
// query.failed when it does not run), with the ticket.
//
// The engine adapters read a result whole, so up to MaxRows rows are held
// in memory before they are masked and written.
func (s *Service) Export(ctx context.Context, p auth.Principal, req ExportRequest, w io.Writer) (*ExportResult, error) {
	start := s.now()
	ctx = withSentNote(ctx)
	res, out, err := s.export(ctx, p, req, w)
	extra := map[string]any{"export": true}
	if req.Ticket != "" {
		extra["ticket"] = req.Ticket
	}
	if out != nil {
		extra["bytes"] = out.Bytes
		if out.Truncated != "" {
			extra["truncated_by"] = out.Truncated
		}
	}
	s.record(ctx, p, "query.export", Request{Instance: req.Instance, Database: req.Database, Statement: req.Statement}, extra, res, err, s.now().Sub(start))
	return out, err
}

func (s *Service) export(ctx context.Context, p auth.Principal, req ExportRequest, w io.Writer) (*Result, *ExportResult, error) {
	j, err := s.exportJob(ctx, p, req)
	if err != nil {
		return nil, nil, err
	}
	res, err := s.finish(ctx, j)
	if err != nil {
		return nil, nil, err
	}
	out := &ExportResult{Instance: res.Instance, RanOn: res.RanOn, Engine: res.Engine, Database: res.Database,
		Columns: res.Columns, Took: res.Took, Notes: res.Notes}
	if res.Truncated {
		out.Truncated = "rows"
	}
	if err := writeCSV(w, res, req.MaxBytes, out); err != nil {
		return res, out, err
	}
	return res, out, nil
}

// exportJob checks an export request and plans its statement: what
// Export and CheckExport share.
func (s *Service) exportJob(ctx context.Context, p auth.Principal, req ExportRequest) (*job, error) {
	if req.MaxRows < 1 {
		return nil, errkind.New(errkind.Invalid, "export: max_rows must be at least 1")
	}
	if req.MaxBytes < 1 {
		return nil, errkind.New(errkind.Invalid, "export: max_bytes must be at least 1")
	}
	if req.Timeout < 0 {
		return nil, errkind.New(errkind.Invalid, "export: timeout must be positive")
	}
	timeout := ""
	if req.Timeout > 0 {
		timeout = req.Timeout.String()
	}
	j, err := s.begin(ctx, p, req.Instance, req.Database, req.Statement, 0, timeout, false)
	if err != nil {
		return nil, err
	}
	j.limit = req.MaxRows // the console's row limit does not apply to exports
	if j.in.Engine == engine.Redis {
		return nil, refuseRule(RuleEngine, "exports need an SQL instance; %s is %s", j.in.Name, j.in.Engine)
	}
	if err := s.plan(j, req.Statement, nil); err != nil {
		return nil, err
	}
	if j.pl.kind != KindSelect {
		return nil, refuseRule(RuleStatement, "only queries (SELECT, TABLE, VALUES) can be exported, not %s statements", j.pl.kind)
	}
	return j, nil
}

// writeCSV writes res as CSV, whole rows only, within maxBytes; out
// counts what was written.
func writeCSV(w io.Writer, res *Result, maxBytes int64, out *ExportResult) error {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	rec := make([]string, len(res.Columns))
	emit := func() (bool, error) {
		if err := cw.Write(rec); err != nil {
			return false, err
		}
		cw.Flush()
		if out.Bytes+int64(buf.Len()) > maxBytes {
			return false, nil
		}
		n, err := w.Write(buf.Bytes())
		out.Bytes += int64(n)
		buf.Reset()
		if err != nil {
			return false, fmt.Errorf("write the export: %w", err)
		}
		return true, nil
	}
	for i, c := range res.Columns {
		rec[i] = c.Name
	}
	if ok, err := emit(); err != nil || !ok {
		if err == nil {
			out.Truncated = "bytes"
		}
		return err
	}
	for _, row := range res.Rows {
		for i := range rec {
			rec[i] = ""
			if i < len(row) && row[i] != nil {
				rec[i] = FormatValue(row[i])
			}
		}
		ok, err := emit()
		if err != nil {
			return err
		}
		if !ok {
			out.Truncated = "bytes"
			break
		}
		out.Rows++
	}
	return nil
}
