package executor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// store reads and writes the executor's tables.
type store struct{ db *sqldb.DB }

// stmtRow is a statement as stored, with its database id.
type stmtRow struct {
	Statement
	id       int64
	rollback string // DDL rollback SQL
}

// unitRow is one transaction unit (a chunk, or a whole statement).
type unitRow struct {
	id          int64
	seq         int
	state       string
	lo, hi      string // encoded keys
	rows        int64
	imageRows   int64
	rollbackSQL string
	from, gtid  string // binlog rollback: position before, GTID of the unit
}

func (st *store) insert(ctx context.Context, req Request, eng engine.Kind, opts Options, stmts []*stmt, rollbackOf ID, state string) (ID, error) {
	optJSON, err := json.Marshal(opts)
	if err != nil {
		return 0, err
	}
	var id ID
	err = st.db.InTx(ctx, func(tx *sqldb.Tx) error {
		now := sqldb.Now()
		var rb sql.NullInt64
		if rollbackOf != 0 {
			rb = sql.NullInt64{Int64: int64(rollbackOf), Valid: true}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO exec_executions (instance, database_name, engine, script, options, dry_run, state,
			requested_by, ref, rollback_of, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			req.Instance, req.Database, string(eng), req.SQL, string(optJSON), opts.DryRun, state,
			req.RequestedBy, req.Ref, rb, now, now).Scan(&id)
		if err != nil {
			return fmt.Errorf("store execution: %w", err)
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO exec_statements (execution_id, seq, line, col, sql_text, kind, state)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, id, s.Seq, s.Line, s.Col, s.Text, s.Kind, StatePending); err != nil {
				return fmt.Errorf("store statement %d: %w", s.Seq, err)
			}
		}
		action := "exec.start"
		if rollbackOf != 0 {
			action = "exec.rollback"
		}
		detail := map[string]any{"execution": id, "statements": len(stmts), "dry_run": opts.DryRun}
		if req.Database != "" {
			detail["database"] = req.Database
		}
		if req.Ref != "" {
			detail["ref"] = req.Ref
		}
		if rollbackOf != 0 {
			detail["rollback_of"] = rollbackOf
		}
		if req.RequestedBy != "" {
			detail["requested_by"] = req.RequestedBy
		}
		return audit.Record(ctx, tx, action, req.Instance, detail)
	})
	return id, err
}

const execCols = `id, kind, instance, database_name, engine, options, dry_run, state, requested_by, ref, rollback_of, cancel_requested,
	throttle, error, created_at, started_at, finished_at,
	(SELECT COUNT(*) FROM exec_statements s WHERE s.execution_id = e.id),
	(SELECT COUNT(*) FROM exec_statements s WHERE s.execution_id = e.id AND s.state IN ('done', 'planned')),
	(SELECT COALESCE(SUM(rows_affected), 0) FROM exec_statements s WHERE s.execution_id = e.id)`

func scanExecution(row interface{ Scan(...any) error }) (Execution, error) {
	var ex Execution
	var eng, opts string
	var rb, started, finished sql.NullInt64
	var created int64
	err := row.Scan(&ex.ID, &ex.Kind, &ex.Instance, &ex.Database, &eng, &opts, &ex.DryRun, &ex.State, &ex.RequestedBy, &ex.Ref, &rb,
		&ex.CancelRequested, &ex.Throttle, &ex.Error, &created, &started, &finished, &ex.Total, &ex.Done, &ex.RowsAffected)
	if err != nil {
		return ex, err
	}
	ex.Engine = engine.Kind(eng)
	ex.RollbackOf = ID(rb.Int64)
	ex.CreatedAt, ex.StartedAt, ex.FinishedAt = sqldb.Time(created), sqldb.NullTime(started), sqldb.NullTime(finished)
	if err := json.Unmarshal([]byte(opts), &ex.Options); err != nil {
		return ex, fmt.Errorf("execution %d options: %w", ex.ID, err)
	}
	return ex, nil
}

func (st *store) get(ctx context.Context, id ID) (Execution, error) {
	ex, err := scanExecution(st.db.QueryRowContext(ctx, "SELECT "+execCols+" FROM exec_executions e WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return ex, errkind.New(errkind.NotFound, "execution %d not found", id)
	}
	if err != nil {
		return ex, fmt.Errorf("get execution %d: %w", id, err)
	}
	return ex, nil
}

func (st *store) script(ctx context.Context, id ID) (string, error) {
	var s string
	if err := st.db.QueryRowContext(ctx, "SELECT script FROM exec_executions WHERE id = ?", id).Scan(&s); err != nil {
		return "", fmt.Errorf("execution %d script: %w", id, err)
	}
	return s, nil
}

func (st *store) list(ctx context.Context, f Filter) ([]Execution, error) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"instance", f.Instance}, {"state", f.State}, {"requested_by", f.RequestedBy}, {"ref", f.Ref}} {
		if c.v != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.v)
		}
	}
	q := "SELECT " + execCols + " FROM exec_executions e"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, min(limit, 10000))
	rows, err := st.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	defer rows.Close()
	out := []Execution{}
	for rows.Next() {
		ex, err := scanExecution(rows)
		if err != nil {
			return nil, fmt.Errorf("list executions: %w", err)
		}
		out = append(out, ex)
	}
	return out, rows.Err()
}

// release moves a held execution to queued; false when it was not held.
func (st *store) release(ctx context.Context, id ID) (bool, error) {
	res, err := st.db.ExecContext(ctx, "UPDATE exec_executions SET state = ?, updated_at = ? WHERE id = ? AND state = ?", StateQueued, sqldb.Now(), id, StateHeld)
	if err != nil {
		return false, fmt.Errorf("release execution %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// idsInState lists executions in a state, oldest first.
func (st *store) idsInState(ctx context.Context, state string) ([]ID, error) {
	// Provisionings run in their caller's request, never from the queue.
	rows, err := st.db.QueryContext(ctx, "SELECT id FROM exec_executions WHERE state = ? AND kind = ? ORDER BY id", state, KindScript)
	if err != nil {
		return nil, fmt.Errorf("list %s executions: %w", state, err)
	}
	defer rows.Close()
	var ids []ID
	for rows.Next() {
		var id ID
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// claim moves a queued execution to running; false when someone else did.
func (st *store) claim(ctx context.Context, id ID) (bool, error) {
	now := sqldb.Now()
	res, err := st.db.ExecContext(ctx, `UPDATE exec_executions SET state = ?, started_at = COALESCE(started_at, ?), updated_at = ?
		WHERE id = ? AND state = ?`, StateRunning, now, now, id, StateQueued)
	if err != nil {
		return false, fmt.Errorf("claim execution %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (st *store) statements(ctx context.Context, id ID) ([]stmtRow, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT id, seq, line, col, sql_text, kind, state, plan, rows_affected, chunks, note, error,
		rollback_sql, rollback_note, started_at, finished_at FROM exec_statements WHERE execution_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("statements of execution %d: %w", id, err)
	}
	defer rows.Close()
	var out []stmtRow
	for rows.Next() {
		var s stmtRow
		var plan string
		var started, finished sql.NullInt64
		if err := rows.Scan(&s.id, &s.Seq, &s.Line, &s.Column, &s.SQL, &s.Kind, &s.State, &plan, &s.RowsAffected, &s.Chunks,
			&s.Note, &s.Error, &s.rollback, &s.Rollback, &started, &finished); err != nil {
			return nil, fmt.Errorf("statements of execution %d: %w", id, err)
		}
		if err := json.Unmarshal([]byte(plan), &s.Plan); err != nil {
			return nil, fmt.Errorf("statement %d plan: %w", s.Seq, err)
		}
		s.StartedAt, s.FinishedAt = sqldb.NullTime(started), sqldb.NullTime(finished)
		if !s.StartedAt.IsZero() && !s.FinishedAt.IsZero() {
			s.Duration = s.FinishedAt.Sub(s.StartedAt)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (st *store) setState(ctx context.Context, id ID, state, errText string) error {
	now := sqldb.Now()
	var fin sql.NullInt64
	if Terminal(state) {
		fin = sql.NullInt64{Int64: now, Valid: true}
	}
	_, err := st.db.ExecContext(ctx, `UPDATE exec_executions SET state = ?, error = ?, throttle = '', finished_at = ?, updated_at = ? WHERE id = ?`,
		state, errText, fin, now, id)
	if err != nil {
		return fmt.Errorf("execution %d: set %s: %w", id, state, err)
	}
	return nil
}

func (st *store) setThrottle(ctx context.Context, id ID, why string) error {
	_, err := st.db.ExecContext(ctx, "UPDATE exec_executions SET throttle = ?, updated_at = ? WHERE id = ?", why, sqldb.Now(), id)
	return err
}

func (st *store) cancelRequested(ctx context.Context, id ID) (bool, error) {
	var c bool
	err := st.db.QueryRowContext(ctx, "SELECT cancel_requested FROM exec_executions WHERE id = ?", id).Scan(&c)
	return c, err
}

// stmtStart records a statement as running, with its plan, before it runs.
func (st *store) stmtStart(ctx context.Context, s *stmtRow) error {
	plan, _ := json.Marshal(s.Plan)
	_, err := st.db.ExecContext(ctx, `UPDATE exec_statements SET state = ?, plan = ?, note = ?, rollback_note = ?, error = '',
		started_at = COALESCE(started_at, ?) WHERE id = ?`, StateRunning, string(plan), s.Note, s.Rollback, sqldb.Now(), s.id)
	if err != nil {
		return fmt.Errorf("record statement %d as started: %w", s.Seq, err)
	}
	return nil
}

// stmtEnd records a statement's outcome.
func (st *store) stmtEnd(ctx context.Context, s *stmtRow, state string) error {
	plan, _ := json.Marshal(s.Plan)
	_, err := st.db.ExecContext(ctx, `UPDATE exec_statements SET state = ?, plan = ?, rows_affected = ?, chunks = ?, note = ?, error = ?,
		rollback_sql = ?, rollback_note = ?, finished_at = ? WHERE id = ?`,
		state, string(plan), s.RowsAffected, s.Chunks, s.Note, s.Error, s.rollback, s.Rollback, sqldb.Now(), s.id)
	if err != nil {
		return fmt.Errorf("record statement %d as %s: %w", s.Seq, state, err)
	}
	s.State = state
	return nil
}

// stmtProgress records the committed chunks so far.
func (st *store) stmtProgress(ctx context.Context, s *stmtRow) error {
	_, err := st.db.ExecContext(ctx, "UPDATE exec_statements SET rows_affected = ?, chunks = ?, note = ? WHERE id = ?",
		s.RowsAffected, s.Chunks, s.Note, s.id)
	return err
}

func (st *store) units(ctx context.Context, stmtID int64) ([]unitRow, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT id, seq, state, lower_bound, upper_bound, rows_affected, image_rows, rollback_sql,
		binlog_from, binlog_gtid FROM exec_units WHERE statement_id = ? ORDER BY seq`, stmtID)
	if err != nil {
		return nil, fmt.Errorf("units of statement %d: %w", stmtID, err)
	}
	defer rows.Close()
	var out []unitRow
	for rows.Next() {
		var u unitRow
		if err := rows.Scan(&u.id, &u.seq, &u.state, &u.lo, &u.hi, &u.rows, &u.imageRows, &u.rollbackSQL, &u.from, &u.gtid); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// unitStart records a unit before its change runs.
func (st *store) unitStart(ctx context.Context, stmtID int64, seq int, lo, hi string) (int64, error) {
	var id int64
	err := st.db.QueryRowContext(ctx, `INSERT INTO exec_units (statement_id, seq, state, lower_bound, upper_bound, started_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, stmtID, seq, unitStarted, lo, hi, sqldb.Now()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record chunk %d as started: %w", seq, err)
	}
	return id, nil
}

// unitCommitting records the unit's outcome and rollback just before
// COMMIT is sent: from here on a crash leaves it in doubt.
func (st *store) unitCommitting(ctx context.Context, id int64, rows, imageRows int64, rollback string) error {
	_, err := st.db.ExecContext(ctx, "UPDATE exec_units SET state = ?, rows_affected = ?, image_rows = ?, rollback_sql = ? WHERE id = ?",
		unitCommitting, rows, imageRows, rollback, id)
	if err != nil {
		return fmt.Errorf("record chunk outcome: %w", err)
	}
	return nil
}

func (st *store) unitState(ctx context.Context, id int64, state string) error {
	_, err := st.db.ExecContext(ctx, "UPDATE exec_units SET state = ?, finished_at = ? WHERE id = ?", state, sqldb.Now(), id)
	if err != nil {
		return fmt.Errorf("record chunk as %s: %w", state, err)
	}
	return nil
}

// unitBinlog records where a unit is in the binary log.
func (st *store) unitBinlog(ctx context.Context, id int64, from, gtid string) error {
	_, err := st.db.ExecContext(ctx, "UPDATE exec_units SET binlog_from = ?, binlog_gtid = ? WHERE id = ?", from, gtid, id)
	if err != nil {
		return fmt.Errorf("record chunk GTID: %w", err)
	}
	return nil
}

func (st *store) unitDelete(ctx context.Context, id int64) error {
	_, err := st.db.ExecContext(ctx, "DELETE FROM exec_units WHERE id = ?", id)
	return err
}

// requestCancel flags an execution; its runner stops at the next boundary.
func (st *store) requestCancel(ctx context.Context, id ID) error {
	return st.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var state, instance string
		err := tx.QueryRowContext(ctx, "SELECT state, instance FROM exec_executions WHERE id = ?", id).Scan(&state, &instance)
		if errors.Is(err, sql.ErrNoRows) {
			return errkind.New(errkind.NotFound, "execution %d not found", id)
		}
		if err != nil {
			return err
		}
		switch state {
		case StateQueued, StateHeld:
			now := sqldb.Now()
			if _, err := tx.ExecContext(ctx, "UPDATE exec_executions SET state = ?, cancel_requested = ?, finished_at = ?, updated_at = ? WHERE id = ?",
				StateCancelled, true, now, now, id); err != nil {
				return err
			}
		case StateRunning:
			if _, err := tx.ExecContext(ctx, "UPDATE exec_executions SET cancel_requested = ?, updated_at = ? WHERE id = ?", true, sqldb.Now(), id); err != nil {
				return err
			}
		default:
			return errkind.New(errkind.Conflict, "execution %d is %s: nothing to cancel", id, state)
		}
		return audit.Record(ctx, tx, "exec.cancel", instance, map[string]any{"execution": id})
	})
}

// provisionStart records a provisioning as running with the statements it
// is about to run (as shown: passwords masked), before any runs: a new
// execution (id 0, audited as exec.provision) or one resumed under its key.
func (st *store) provisionStart(ctx context.Context, id ID, ref, kind, instance string, eng engine.Kind, spec, requestedBy string, shown []string, d sqlfe.Dialect) (ID, error) {
	err := st.db.InTx(ctx, func(tx *sqldb.Tx) error {
		now := sqldb.Now()
		script := strings.Join(shown, ";\n")
		if id == 0 {
			err := tx.QueryRowContext(ctx, `INSERT INTO exec_executions (kind, spec, instance, engine, script, state, requested_by, ref,
				created_at, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				kind, spec, instance, string(eng), script, StateRunning, requestedBy, ref, now, now, now).Scan(&id)
			if err != nil {
				return fmt.Errorf("store execution: %w", err)
			}
			var detail map[string]any
			json.Unmarshal([]byte(spec), &detail)
			detail["execution"], detail["kind"], detail["ref"] = id, kind, ref
			if requestedBy != "" {
				detail["requested_by"] = requestedBy
			}
			if err := audit.Record(ctx, tx, "exec.provision", instance, detail); err != nil {
				return err
			}
		} else {
			if _, err := tx.ExecContext(ctx, "UPDATE exec_executions SET state = ?, script = ?, error = '', finished_at = NULL, updated_at = ? WHERE id = ?",
				StateRunning, script, now, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM exec_statements WHERE execution_id = ?", id); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, "exec.resume", instance, map[string]any{"execution": id, "kind": kind, "ref": ref}); err != nil {
				return err
			}
		}
		for i, text := range shown {
			if _, err := tx.ExecContext(ctx, `INSERT INTO exec_statements (execution_id, seq, line, col, sql_text, kind, state)
				VALUES (?, ?, ?, 1, ?, ?, ?)`, id, i+1, i+1, text, string(sqlfe.LexClass(d, text).Kind), StatePending); err != nil {
				return fmt.Errorf("store statement %d: %w", i+1, err)
			}
		}
		return nil
	})
	return id, err
}
