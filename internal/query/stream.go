package query

import (
	"context"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
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
	Args     []any
	MaxRows  int           // 0: the console's row limit for the principal's role
	Timeout  time.Duration // 0: the console's statement timeout
}

// RowStream is a streamed read-only result: rows are read from the server
// one at a time, masked, and capped at the request's MaxRows. It
// satisfies merge.Stream.
type RowStream struct {
	cols []string
	row  []any
	err  error
}

// Columns are the result's column names.
func (r *RowStream) Columns() []string { return r.cols }

// Next advances to the next row; false at the end or on error.
func (r *RowStream) Next() bool { return false }

// Row is the current row, valid until the next call to Next.
func (r *RowStream) Row() []any { return r.row }

// Err is the error that ended the stream, if any.
func (r *RowStream) Err() error { return r.err }

// Close releases the session.
func (r *RowStream) Close() error { return nil }

// Stream runs one read-only statement with the console's checks (parse,
// allow-list, rendered text, read-only session, timeout), on the managed
// read-only account, and streams rows (masking applied).
func (s *Service) Stream(ctx context.Context, p auth.Principal, req ReportRequest) (*RowStream, error) {
	return nil, errkind.New(errkind.Unavailable, "report streams are not implemented yet")
}
