package verify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
)

// store keeps runs in verify_runs, verify_tables, verify_chunks and
// verify_rows (migration 00025).
type store struct{ db *sqldb.DB }

func (st store) createRun(ctx context.Context, req Request, tables []discovered) (Run, error) {
	opts, _ := json.Marshal(req.Options)
	now := sqldb.Now()
	var id int64
	err := st.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO verify_runs (cluster, options, state, requested_by, schedule, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, req.Cluster, string(opts), StateQueued, req.RequestedBy, req.Schedule, now, now).Scan(&id); err != nil {
			return err
		}
		for _, t := range tables {
			state, msg := TablePending, ""
			if len(t.Key) == 0 {
				state, msg = TableSkipped, "no primary key and no unique key on NOT NULL columns"
			}
			if err := st.addTable(ctx, tx, id, 1, t, state, msg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Run{}, fmt.Errorf("record verify run of %s: %w", req.Cluster, err)
	}
	return st.getRun(ctx, id, false)
}

func (st store) addTable(ctx context.Context, q sqldb.Querier, run int64, pass int, t discovered, state, msg string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO verify_tables (run_id, pass, schema_name, table_name, state, est_rows, error, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, run, pass, t.Schema, t.Name, state, t.EstRows, msg, sqldb.Now())
	return err
}

func (st store) setRun(ctx context.Context, id int64, state, msg string) error {
	now := sqldb.Now()
	q := `UPDATE verify_runs SET state = ?, error = ?, updated_at = ?`
	args := []any{state, msg, now}
	switch state {
	case StateRunning:
		q += `, started_at = COALESCE(started_at, ?)`
		args = append(args, now)
	case StateDone, StateFailed:
		q += `, finished_at = ?`
		args = append(args, now)
	}
	_, err := st.db.ExecContext(ctx, q+` WHERE id = ?`, append(args, id)...)
	if err != nil {
		return fmt.Errorf("verify run %d: set state %s: %w", id, state, err)
	}
	return nil
}

func (st store) setTable(ctx context.Context, run int64, pass int, t Table, state, msg string) error {
	_, err := st.db.ExecContext(ctx, `UPDATE verify_tables SET state = ?, error = ?, updated_at = ?
		WHERE run_id = ? AND pass = ? AND schema_name = ? AND table_name = ?`, state, msg, sqldb.Now(), run, pass, t.Schema, t.Name)
	if err != nil {
		return fmt.Errorf("verify run %d: table %s: %w", run, t, err)
	}
	return nil
}

func (st store) tables(ctx context.Context, run int64) ([]TableState, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT pass, schema_name, table_name, state, est_rows, error FROM verify_tables
		WHERE run_id = ? ORDER BY pass, schema_name, table_name`, run)
	if err != nil {
		return nil, fmt.Errorf("verify run %d: tables: %w", run, err)
	}
	defer rows.Close()
	var out []TableState
	for rows.Next() {
		var t TableState
		if err := rows.Scan(&t.Pass, &t.Schema, &t.Table, &t.State, &t.EstRows, &t.Error); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// lastChunk is where a table's pass stopped: the index and upper bound of
// its last recorded chunk; found is false when none was.
func (st store) lastChunk(ctx context.Context, run int64, pass int, t Table) (idx int, upper Key, found bool, err error) {
	var up string
	err = st.db.QueryRowContext(ctx, `SELECT idx, upper_key FROM verify_chunks WHERE run_id = ? AND pass = ? AND schema_name = ? AND table_name = ?
		ORDER BY idx DESC LIMIT 1`, run, pass, t.Schema, t.Name).Scan(&idx, &up)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, fmt.Errorf("verify run %d: last chunk of %s: %w", run, t, err)
	}
	upper, err = DecodeKey(up)
	return idx, upper, true, err
}

// chunkResult is one chunk on one replica.
type chunkResult struct {
	replica      string
	primaryRows  int64
	replicaRows  int64
	primarySum   string
	replicaSum   string
	rows         []RowDiff
	replicaError error
}

func (c chunkResult) differs() bool {
	return c.primaryRows != c.replicaRows || c.primarySum != c.replicaSum
}

// saveChunk records a chunk's results on every replica, with its differing
// rows, in one transaction: a chunk is either recorded whole or redone.
func (st store) saveChunk(ctx context.Context, run int64, pass int, t Table, c Chunk, gtid string, results []chunkResult) error {
	now := sqldb.Now()
	return st.db.InTx(ctx, func(tx *sqldb.Tx) error {
		for _, r := range results {
			if _, err := tx.ExecContext(ctx, `INSERT INTO verify_chunks (run_id, pass, replica, schema_name, table_name, idx, lower_key, upper_key, gtid,
				primary_rows, replica_rows, primary_sum, replica_sum, differs, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				run, pass, r.replica, t.Schema, t.Name, c.Index, c.Lower.Encode(), c.Upper.Encode(), gtid,
				r.primaryRows, r.replicaRows, r.primarySum, r.replicaSum, r.differs(), now); err != nil {
				return fmt.Errorf("verify run %d: record chunk %d of %s: %w", run, c.Index, t, err)
			}
			for _, d := range r.rows {
				if _, err := tx.ExecContext(ctx, `INSERT INTO verify_rows (run_id, pass, replica, schema_name, table_name, chunk_idx, row_key, kind)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, run, pass, r.replica, t.Schema, t.Name, c.Index, d.Key.Encode(), d.Kind); err != nil {
					return fmt.Errorf("verify run %d: record row %s of %s: %w", run, d.Key, t, err)
				}
			}
		}
		return nil
	})
}

// rows returns the differing rows of a run (pass 0: all passes).
func (st store) rows(ctx context.Context, run int64, pass int) ([]RowResult, error) {
	q := `SELECT pass, replica, schema_name, table_name, chunk_idx, row_key, kind, repaired, repair_error FROM verify_rows WHERE run_id = ?`
	args := []any{run}
	if pass > 0 {
		q += ` AND pass = ?`
		args = append(args, pass)
	}
	rs, err := st.db.QueryContext(ctx, q+` ORDER BY pass, replica, schema_name, table_name, chunk_idx, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("verify run %d: rows: %w", run, err)
	}
	defer rs.Close()
	var out []RowResult
	for rs.Next() {
		var r RowResult
		var key string
		if err := rs.Scan(&r.Pass, &r.Replica, &r.Schema, &r.Table, &r.Chunk, &key, &r.Kind, &r.Repaired, &r.RepairError); err != nil {
			return nil, err
		}
		if r.Key, err = DecodeKey(key); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

func (st store) markRepaired(ctx context.Context, run int64, r RowResult, msg string) error {
	_, err := st.db.ExecContext(ctx, `UPDATE verify_rows SET repaired = ?, repair_error = ?
		WHERE run_id = ? AND pass = ? AND replica = ? AND schema_name = ? AND table_name = ? AND row_key = ?`,
		msg == "", msg, run, r.Pass, r.Replica, r.Schema, r.Table, r.Key.Encode())
	if err != nil {
		return fmt.Errorf("verify run %d: record repair of %s.%s %s: %w", run, r.Schema, r.Table, r.Key, err)
	}
	return nil
}

func (st store) diffChunks(ctx context.Context, run int64) ([]ChunkDiff, error) {
	rs, err := st.db.QueryContext(ctx, `SELECT pass, replica, schema_name, table_name, idx, lower_key, upper_key, gtid, primary_rows, replica_rows
		FROM verify_chunks WHERE run_id = ? AND differs = ? ORDER BY pass, replica, schema_name, table_name, idx`, run, true)
	if err != nil {
		return nil, fmt.Errorf("verify run %d: chunks: %w", run, err)
	}
	defer rs.Close()
	var out []ChunkDiff
	for rs.Next() {
		var c ChunkDiff
		var lo, up string
		if err := rs.Scan(&c.Pass, &c.Replica, &c.Schema, &c.Table, &c.Index, &lo, &up, &c.GTID, &c.PrimaryRows, &c.ReplicaRows); err != nil {
			return nil, err
		}
		if c.Lower, err = DecodeKey(lo); err != nil {
			return nil, err
		}
		if c.Upper, err = DecodeKey(up); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rs.Err()
}

const runColumns = `id, cluster, options, state, requested_by, schedule, error, created_at, started_at, finished_at`

func scanRun(row interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var opts string
	var created int64
	var started, finished sql.NullInt64
	if err := row.Scan(&r.ID, &r.Cluster, &opts, &r.State, &r.RequestedBy, &r.Schedule, &r.Error, &created, &started, &finished); err != nil {
		return r, err
	}
	json.Unmarshal([]byte(opts), &r.Options)
	r.CreatedAt, r.StartedAt, r.FinishedAt = sqldb.Time(created), sqldb.NullTime(started), sqldb.NullTime(finished)
	return r, nil
}

func (st store) getRun(ctx context.Context, id int64, detail bool) (Run, error) {
	r, err := scanRun(st.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM verify_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, errkind.New(errkind.NotFound, "verify run %d not found", id)
	}
	if err != nil {
		return Run{}, fmt.Errorf("verify run %d: %w", id, err)
	}
	if err := st.progress(ctx, &r); err != nil {
		return Run{}, err
	}
	if detail {
		if r.Tables, err = st.tables(ctx, id); err != nil {
			return Run{}, err
		}
		if r.Chunks, err = st.diffChunks(ctx, id); err != nil {
			return Run{}, err
		}
		if r.Rows, err = st.rows(ctx, id, 0); err != nil {
			return Run{}, err
		}
	}
	return r, nil
}

func (st store) listRuns(ctx context.Context, f Filter) ([]Run, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 50
	}
	q := `SELECT ` + runColumns + ` FROM verify_runs`
	var args []any
	if f.Cluster != "" {
		q += ` WHERE cluster = ?`
		args = append(args, f.Cluster)
	}
	rs, err := st.db.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list verify runs: %w", err)
	}
	var out []Run
	for rs.Next() {
		r, err := scanRun(rs)
		if err != nil {
			rs.Close()
			return nil, err
		}
		out = append(out, r)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := st.progress(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// progress fills a run's counters.
func (st store) progress(ctx context.Context, r *Run) error {
	p := &r.Progress
	if err := st.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN state <> ? THEN 1 ELSE 0 END), 0), COALESCE(SUM(est_rows), 0)
		FROM verify_tables WHERE run_id = ? AND pass = 1`, TablePending, r.ID).Scan(&p.Tables, &p.TablesDone, &p.EstRows); err != nil {
		return fmt.Errorf("verify run %d: progress: %w", r.ID, err)
	}
	// Rows checked: per replica, the most any replica went through.
	rs, err := st.db.QueryContext(ctx, `SELECT COUNT(*), COALESCE(SUM(primary_rows), 0) FROM verify_chunks WHERE run_id = ? AND pass = 1 GROUP BY replica`, r.ID)
	if err != nil {
		return fmt.Errorf("verify run %d: progress: %w", r.ID, err)
	}
	for rs.Next() {
		var n int
		var rows int64
		if err := rs.Scan(&n, &rows); err != nil {
			rs.Close()
			return err
		}
		p.Chunks, p.RowsChecked = max(p.Chunks, n), max(p.RowsChecked, rows)
	}
	rs.Close()
	var recheck int
	if err := st.db.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN pass = 1 AND differs = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN pass = 2 THEN 1 ELSE 0 END), 0)
		FROM verify_chunks WHERE run_id = ?`, true, r.ID).Scan(&p.DiffChunks, &recheck); err != nil {
		return fmt.Errorf("verify run %d: progress: %w", r.ID, err)
	}
	p.Rechecked = recheck > 0
	if err := st.db.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN pass = 1 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN pass = 1 AND repaired = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN pass = 2 THEN 1 ELSE 0 END), 0)
		FROM verify_rows WHERE run_id = ?`, true, r.ID).Scan(&p.DiffRows, &p.Repaired, &p.RecheckDiffs); err != nil {
		return fmt.Errorf("verify run %d: progress: %w", r.ID, err)
	}
	return nil
}
