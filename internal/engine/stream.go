package engine

import "context"

// Streamer is what a Conn offers when it can read a result row by row
// instead of whole (the mysql and postgres adapters): memory is one row,
// whatever the result's size. Consumers check for it with a type
// assertion.
type Streamer interface {
	// Stream runs one statement that returns rows. The connection is busy
	// until the RowStream is closed (closing the Conn waits for it).
	Stream(ctx context.Context, stmt string, args ...any) (RowStream, error)
}

// RowStream is a result read row by row. Values are converted as in Rows.
type RowStream interface {
	Columns() []string
	// ColumnTypes are the server's type names ("INT", "DECIMAL",
	// "NUMERIC", "VARCHAR"...), one per column.
	ColumnTypes() []string
	// Next reads the next row: false at the end or on error (see Err).
	Next() bool
	// Row is the current row, valid until the next call to Next.
	Row() []any
	// Err is the error that ended the stream, classified like Query's.
	Err() error
	// Close ends the read (what is left of the result is discarded) and
	// frees the connection.
	Close() error
}
