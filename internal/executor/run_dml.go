package executor

import (
	"errors"
	"fmt"
	"strings"
)

// unitSpec is one transaction unit of a DML statement.
type unitSpec struct {
	seq       int
	lo, hi    []any
	sql       string
	args      []any
	image     string
	imageArgs []any
}

// recoverUnits reads a statement's units: started ones never committed
// (the session that ran them is gone) and are forgotten; a committing one
// is in doubt. It returns the done units.
func (r *runner) recoverUnits(st *stmtRow) ([]unitRow, error) {
	units, err := r.s.st.units(r.hard, st.id)
	if err != nil {
		return nil, err
	}
	var done []unitRow
	for _, u := range units {
		switch u.state {
		case unitStarted:
			if err := r.s.st.unitDelete(r.hard, u.id); err != nil {
				return nil, err
			}
		case unitCommitting, unitInDoubt:
			if u.state == unitCommitting {
				if err := r.s.st.unitState(r.hard, u.id, unitInDoubt); err != nil {
					return nil, err
				}
			}
			st.Error = fmt.Sprintf("chunk %d: the server stopped while its COMMIT was under way: it may or may not have committed", u.seq)
			if err := r.s.st.stmtEnd(r.hard, st, StateInDoubt); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %s", errInDoubt, st.Error)
		case unitDone:
			done = append(done, u)
		}
	}
	return done, nil
}

// runDML runs an UPDATE, DELETE or INSERT: as one unit, or in chunks.
func (r *runner) runDML(st *stmtRow, p *stmt) error {
	done, err := r.recoverUnits(st)
	if err != nil {
		return err
	}
	st.RowsAffected, st.Chunks = 0, 0
	for _, u := range done {
		st.RowsAffected += u.rows
		st.Chunks++
	}
	op, err := r.planDML(p)
	if err != nil {
		return err
	}
	st.Plan = Plan{Verb: p.Verb, Table: tableName(op.t), EstimatedRows: op.estimate, Rollback: op.rollbackDesc(), Notes: op.notes,
		Lock: "row locks on the rows it changes"}
	st.Rollback = op.rollbackDesc()
	// Once chunks committed, the statement goes on in chunks whatever the
	// estimate says now.
	chunked := r.chunked(op)
	var lo []any
	seq := 1
	if n := len(done); n > 0 {
		last := done[n-1]
		if last.hi == "" { // the last chunk, or the whole statement, committed
			st.Note = fmt.Sprintf("%d row(s) in %d unit(s) (completed before a restart)", st.RowsAffected, st.Chunks)
			return r.s.st.stmtEnd(r.hard, st, StateDone)
		}
		if op.chunk == nil {
			return fmt.Errorf("statement was running in chunks but can no longer be chunked")
		}
		chunked = true
		if lo, err = decodeKey(last.hi); err != nil {
			return err
		}
		seq = last.seq + 1
	}
	if chunked {
		st.Plan.Chunked, st.Plan.ChunkSize = true, r.opts.ChunkSize
		st.Plan.Lock = fmt.Sprintf("row locks on at most %d rows at a time (chunks committed one by one)", r.opts.ChunkSize)
	}
	if err := r.s.st.stmtStart(r.hard, st); err != nil {
		return err
	}
	if !chunked {
		n, err := r.runUnit(st, op, unitSpec{seq: 1, sql: op.sql, image: op.image, imageArgs: op.imageArgs})
		if err != nil {
			return err
		}
		st.RowsAffected, st.Chunks = n, 1
		st.Note = fmt.Sprintf("%d row(s)", n)
		r.readBinlogOf(st, op)
		return r.s.st.stmtEnd(r.hard, st, StateDone)
	}
	for {
		if err := r.checkpoint(); err != nil {
			return r.partial(st, err)
		}
		if err := r.wait(); err != nil {
			return r.partial(st, err)
		}
		bq, bargs := op.chunk.bound(lo, r.opts.ChunkSize)
		rows, err := r.query(bq, bargs...)
		if err != nil {
			return r.partial(st, fmt.Errorf("find chunk %d: %w", seq, err))
		}
		var hi []any // nil: the last chunk, to the end of the table
		if len(rows.Values) > 1 {
			hi = rows.Values[0]
		}
		sql, args, err := op.chunk.stmt(lo, hi)
		if err != nil {
			return r.partial(st, err)
		}
		u := unitSpec{seq: seq, lo: lo, hi: hi, sql: sql, args: args}
		if op.undo != undoNone {
			u.image, u.imageArgs = op.chunk.image(lo, hi)
		}
		n, err := r.runUnit(st, op, u)
		if err != nil {
			return r.partial(st, fmt.Errorf("chunk %d: %w", seq, err))
		}
		st.RowsAffected += n
		st.Chunks++
		st.Note = fmt.Sprintf("%d row(s) in %d chunk(s) of %d", st.RowsAffected, st.Chunks, r.opts.ChunkSize)
		if op.estimate > 0 {
			st.Note += fmt.Sprintf(", about %d%%", min(100, st.RowsAffected*100/op.estimate))
		}
		if err := r.s.st.stmtProgress(r.hard, st); err != nil {
			return err
		}
		r.s.publish(Event{Execution: r.id, Ref: r.ex.Ref, State: StateRunning, Statement: st.Seq, Message: st.Note})
		if hi == nil {
			break
		}
		lo = hi
		seq++
	}
	st.Note = fmt.Sprintf("%d row(s) in %d chunk(s) of %d", st.RowsAffected, st.Chunks, r.opts.ChunkSize)
	r.readBinlogOf(st, op)
	return r.s.st.stmtEnd(r.hard, st, StateDone)
}

// readBinlogOf turns a statement's binlog events into rollback SQL; when
// that fails the change stands and the statement says why it has no
// rollback.
func (r *runner) readBinlogOf(st *stmtRow, op *dmlOp) {
	if !op.binlog {
		return
	}
	if err := r.binlogRollback(st); err != nil {
		r.log.Warn("binlog rollback", "statement", st.Seq, "err", err)
		st.Rollback = "not available: " + err.Error()
		st.Plan.Rollback = st.Rollback
	}
}

// partial ends a chunked statement that stopped part way. A shutdown
// leaves it running (to resume); cancel and errors record it as failed
// with what committed.
func (r *runner) partial(st *stmtRow, err error) error {
	if errors.Is(err, errStopped) || r.soft.Err() != nil && !errors.Is(err, errInDoubt) {
		return errStopped
	}
	if st.Chunks > 0 {
		st.Note = fmt.Sprintf("stopped after %d chunk(s), %d row(s) committed (the rollback covers them)", st.Chunks, st.RowsAffected)
		if r.opts.Rollback == RollbackBinlog {
			r.readBinlogOf(st, &dmlOp{binlog: true})
		}
	}
	st.Error = err.Error()
	if werr := r.s.st.stmtEnd(r.hard, st, StateFailed); werr != nil {
		return werr
	}
	return err
}

// runUnit runs one unit in its own transaction: read the before-image
// (locking the rows), record the unit as started, change, record the
// outcome and rollback as committing, COMMIT, record it done.
func (r *runner) runUnit(st *stmtRow, op *dmlOp, u unitSpec) (int64, error) {
	ctx := r.hard
	var binlogFrom string
	if op.binlog {
		var err error
		if binlogFrom, err = r.binlogPos(ctx); err != nil {
			return 0, err
		}
	}
	if _, err := r.sess.Exec(ctx, "BEGIN"); err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	unitID := int64(0)
	finished := false
	defer func() {
		if finished {
			return
		}
		r.sess.Exec(ctx, "ROLLBACK")
		if unitID != 0 {
			if err := r.s.st.unitDelete(ctx, unitID); err != nil {
				r.log.Warn("forget rolled back chunk", "err", err)
			}
		}
	}()
	var image [][]any
	if op.undo != undoNone && u.image != "" {
		rows, err := r.query(u.image, u.imageArgs...)
		if err != nil {
			return 0, fmt.Errorf("read before-image: %w", err)
		}
		image = dedupe(op.t, rows.Values)
	}
	var preKeys [][]any
	if op.undo != undoNone && op.preSelect != "" {
		rows, err := r.query(op.preSelect)
		if err != nil {
			return 0, fmt.Errorf("read the keys to insert: %w", err)
		}
		for _, row := range rows.All() {
			preKeys = append(preKeys, pick(row, op.keyPos))
		}
	}
	var err error
	if unitID, err = r.s.st.unitStart(ctx, st.id, u.seq, encodeKey(u.lo), encodeKey(u.hi)); err != nil {
		return 0, err
	}
	var affected int64
	var newKeys [][]any
	if op.returning {
		rows, err := r.query(u.sql, u.args...)
		if err != nil {
			return 0, err
		}
		affected, newKeys = int64(len(rows.Values)), rows.Values
	} else {
		res, err := r.exec(u.sql, u.args...)
		if err != nil {
			return 0, err
		}
		affected = res.RowsAffected
		switch {
		case op.autoInc && op.undo != undoNone && affected > 0:
			step, err := r.autoIncrementStep()
			if err != nil {
				return 0, err
			}
			for k := int64(0); k < affected; k++ {
				newKeys = append(newKeys, []any{res.LastInsertID + k*step})
			}
		case preKeys != nil:
			newKeys = preKeys
		default:
			newKeys = op.newKeys
		}
	}
	if err := r.checkRowCap(st, affected); err != nil {
		return 0, err // the deferred ROLLBACK undoes the change
	}
	var rollback string
	if op.undo != undoNone {
		rollback = strings.Join(buildUndo(op.t, op.undo, image, newKeys), ";\n")
	}
	if err := r.s.st.unitCommitting(ctx, unitID, affected, int64(len(image)), rollback); err != nil {
		return 0, err
	}
	if _, err := r.sess.Exec(ctx, "COMMIT"); err != nil {
		finished = true // do not forget the unit: it is in doubt
		if uerr := r.s.st.unitState(ctx, unitID, unitInDoubt); uerr != nil {
			r.log.Error("record chunk in doubt", "err", uerr)
		}
		st.Error = fmt.Sprintf("chunk %d: COMMIT failed and may or may not have taken effect: %v", u.seq, err)
		r.s.st.stmtEnd(ctx, st, StateInDoubt)
		return 0, fmt.Errorf("%w: %s", errInDoubt, st.Error)
	}
	finished = true
	if err := r.s.st.unitState(ctx, unitID, unitDone); err != nil {
		return 0, err
	}
	if op.binlog && affected > 0 {
		gtid, err := r.lastGTID(ctx)
		if err != nil {
			return 0, err
		}
		if err := r.s.st.unitBinlog(ctx, unitID, binlogFrom, gtid); err != nil {
			return 0, err
		}
	}
	if u.lo != nil || u.hi != nil {
		r.throttle.committed(ctx)
	}
	return affected, nil
}

// autoIncrementStep is @@auto_increment_increment of the session.
func (r *runner) autoIncrementStep() (int64, error) {
	if r.autoIncStep > 0 {
		return r.autoIncStep, nil
	}
	rows, _, err := r.sess.Query(r.hard, 1, "SELECT @@session.auto_increment_increment")
	if err != nil {
		return 0, fmt.Errorf("auto_increment_increment: %w", err)
	}
	if rows.Len() == 0 {
		return 0, errors.New("auto_increment_increment: no row")
	}
	r.autoIncStep = max(rows.Int64(0, 0), 1)
	return r.autoIncStep, nil
}

// dedupe drops repeated rows (a join can return a row several times).
func dedupe(t *table, rows [][]any) [][]any {
	if t == nil || len(t.PK) == 0 {
		return rows
	}
	idx := t.pkIndexes()
	seen := make(map[string]bool, len(rows))
	out := rows[:0]
	for _, r := range rows {
		k := keyString(pick(r, idx))
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

// errRowCap marks a data change stopped because the script affected more
// rows than it may (Options.MaxRows): the execution stops there, even
// with ContinueOnError.
var errRowCap = errors.New("more rows than declared")

// checkRowCap is called in a unit's transaction, before its COMMIT: it
// refuses a unit of affected rows that would take the script's data
// changes (the committed ones of earlier statements, the committed
// chunks of this one, and this unit) past Options.MaxRows.
func (r *runner) checkRowCap(st *stmtRow, affected int64) error {
	if r.opts.MaxRows <= 0 {
		return nil
	}
	before := st.RowsAffected // committed chunks of this statement
	for i := range r.stmts {
		if o := &r.stmts[i]; o.Seq < st.Seq && o.Kind == KindDML {
			before += o.RowsAffected
		}
	}
	total := before + affected
	if total <= r.opts.MaxRows {
		return nil
	}
	allowed := fmt.Sprintf("max_rows %d", r.opts.MaxRows)
	if r.opts.DeclaredRows > 0 {
		allowed = fmt.Sprintf("%d allowed: %d declared plus the margin", r.opts.MaxRows, r.opts.DeclaredRows)
	}
	msg := fmt.Sprintf("it changed %d row(s)", affected)
	if before > 0 {
		msg += fmt.Sprintf(", %d in all with the %d committed before it", total, before)
	}
	return fmt.Errorf("%w: %s, more than the %s; rolled back before COMMIT, the execution stopped here", errRowCap, msg, allowed)
}
