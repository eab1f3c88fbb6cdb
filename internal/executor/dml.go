package executor

import (
	"context"
	"fmt"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// undoKind is how a DML unit is undone from what was captured.
type undoKind int

const (
	undoNone   undoKind = iota // no rollback (dmlOp.why says why)
	undoUpdate                 // image rows: set their old values back, by primary key
	undoDelete                 // image rows: insert them back
	undoInsert                 // new keys: delete those that did not exist; image rows: restore
)

// dmlOp is a planned UPDATE, DELETE or INSERT.
type dmlOp struct {
	verb     string
	t        *table // nil when the target table is not known
	undo     undoKind
	why      string // why there is no rollback
	estimate int64
	notes    []string

	// The statement as one unit: sql and the query that
	// reads its before-image (SELECT ... FOR UPDATE), "" for none.
	sql       string
	image     string
	imageArgs []any
	// returning: sql returns the affected rows' primary keys
	// (PostgreSQL INSERT ... RETURNING).
	returning bool
	// For undoInsert: new primary keys known before running (literal
	// VALUES), from LAST_INSERT_ID (autoInc), or read by preSelect (the
	// SELECT of an INSERT ... SELECT, keys at keyPos) in the unit.
	newKeys   [][]any
	autoInc   bool
	preSelect string
	keyPos    []int

	// chunk is set when the statement can run in primary-key chunks.
	chunk *chunker
	// binlog: rollback from binary-log row events instead of an image.
	binlog bool
}

// chunker builds the statements of one primary-key chunk. Bounds are
// primary-key values: lo exclusive (nil: from the start), hi inclusive
// (nil: to the end).
type chunker struct {
	// bound selects the primary keys of the n-th and (n+1)-th matching
	// rows after lo: the chunk's upper bound, and whether any row is left
	// after it.
	bound func(lo []any, n int) (string, []any)
	stmt  func(lo, hi []any) (string, []any, error)
	image func(lo, hi []any) (string, []any)
}

func (op *dmlOp) noRollback(format string, args ...any) {
	op.undo = undoNone
	op.why = fmt.Sprintf(format, args...)
	op.image, op.imageArgs = "", nil
}

// loadTarget loads the table a DML statement changes into op.t and tells
// whether a before-image can restore its rows: not without a primary key,
// nor when setCols (an UPDATE's SET columns; nil for none) change a
// primary-key column. When it cannot, op says why (noRollback).
func (op *dmlOp) loadTarget(ctx context.Context, conn engine.Conn, d sql.Dialect, schema, name string, setCols []string) (bool, error) {
	t, err := loadTable(ctx, conn, d, schema, name)
	if err != nil {
		return false, err
	}
	op.t = t
	if len(t.PK) == 0 {
		op.noRollback("table %s has no primary key", t)
		return false, nil
	}
	for _, c := range setCols {
		if t.isPK(c) {
			op.noRollback("the UPDATE changes the primary key")
			return false, nil
		}
	}
	return true, nil
}

// undoImage makes the before-image the rollback of an UPDATE (its rows are
// set back) or a DELETE (its rows are inserted back).
func (op *dmlOp) undoImage() {
	op.undo = undoUpdate
	if op.verb == "DELETE" {
		op.undo = undoDelete
	}
}

// whereAnd is the WHERE clause of the statement's condition (where) and an
// extra one (a chunk's key range), either of which may be empty.
func whereAnd(where, extra string) string {
	switch {
	case where == "" && extra == "":
		return ""
	case where == "":
		return " WHERE " + extra
	case extra == "":
		return " WHERE " + where
	}
	return " WHERE (" + where + ") AND " + extra
}

// rollbackDesc describes the rollback for plans and statements.
func (op *dmlOp) rollbackDesc() string {
	if op.binlog {
		return "binlog row events, read back when the statement ends"
	}
	switch op.undo {
	case undoUpdate:
		return "before-image: UPDATE back to the old values by primary key"
	case undoDelete:
		return "before-image: INSERT the deleted rows back"
	case undoInsert:
		return "DELETE the inserted rows by primary key (and restore rows they replaced)"
	}
	return "not available: " + op.why
}

// rangePred is the condition pk > lo AND pk <= hi for a (composite)
// primary key, with placeholders from ph (which numbers them). Columns
// are qualified with q (may be empty). PostgreSQL bounds are text, cast
// to the key columns' types (casts).
func rangePred(d sql.Dialect, q string, pk []string, casts []string, lo, hi []any, ph0 func() string) (string, []any) {
	n := 0
	ph := func() string {
		p := ph0()
		if casts != nil {
			p = "CAST(" + p + "::text AS " + casts[n%len(casts)] + ")"
		}
		n++
		return p
	}
	col := func(c string) string {
		if q == "" {
			return sql.QuoteIdent(d, c)
		}
		return q + "." + sql.QuoteIdent(d, c)
	}
	var parts []string
	var args []any
	cmp := func(vals []any, strict, last string) {
		if d == sql.Postgres {
			// Row comparison: (a, b) > ($1, $2), an index range in PostgreSQL.
			cols := make([]string, len(pk))
			phs := make([]string, len(pk))
			for i, c := range pk {
				cols[i], phs[i] = col(c), ph()
			}
			parts = append(parts, "("+strings.Join(cols, ", ")+") "+last+" ("+strings.Join(phs, ", ")+")")
			args = append(args, vals...)
			return
		}
		// MySQL: a > ? OR (a = ? AND b > ?), which its range optimizer reads.
		var ors []string
		for i := range pk {
			var ands []string
			for j := 0; j < i; j++ {
				ands = append(ands, col(pk[j])+" = "+ph())
				args = append(args, vals[j])
			}
			op := strict
			if i == len(pk)-1 {
				op = last
			}
			ands = append(ands, col(pk[i])+" "+op+" "+ph())
			args = append(args, vals[i])
			ors = append(ors, "("+strings.Join(ands, " AND ")+")")
		}
		parts = append(parts, "("+strings.Join(ors, " OR ")+")")
	}
	if lo != nil {
		cmp(lo, ">", ">")
	}
	if hi != nil {
		cmp(hi, "<", "<=")
	}
	if len(parts) == 0 {
		return "1=1", nil
	}
	return strings.Join(parts, " AND "), args
}

// questionMarks numbers nothing: MySQL placeholders.
func questionMarks() func() string { return func() string { return "?" } }

// dollars numbers PostgreSQL placeholders from $start.
func dollars(start int) func() string {
	n := start - 1
	return func() string { n++; return fmt.Sprintf("$%d", n) }
}
