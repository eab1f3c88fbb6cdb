package flows

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// Statement states in the journal.
const (
	StmtPending    = "pending"
	StmtRunning    = "running"    // sent; no outcome recorded yet
	StmtCommitting = "committing" // ran inside a transaction; COMMIT sent
	StmtDone       = "done"
	StmtFailed     = "failed"
	// StmtUnknown: the server stopped while the statement ran outside a
	// transaction (or during COMMIT), so whether it took effect is unknown.
	// A DBA checks the target and retries with resolve=done or rerun.
	StmtUnknown = "unknown"
)

// Journal records the built-in executor's statements in the metadata
// store so that a restarted server knows which ran. Each method commits
// before it returns.
type Journal interface {
	// Plan records the statements to run (once; a resumed step keeps the
	// first plan) and returns the journal as it stands.
	Plan(ctx context.Context, stmts []JournalEntry) ([]JournalEntry, error)
	// Begin records that statement idx is about to be sent. It fails when
	// the ticket was cancelled meanwhile.
	Begin(ctx context.Context, idx int) error
	// Committing records that statement idx ran in a transaction whose
	// COMMIT is about to be sent (txid identifies it where the engine can
	// tell its fate later).
	Committing(ctx context.Context, idx int, txid string, rows int64) error
	Done(ctx context.Context, idx int, rows int64) error
	Fail(ctx context.Context, idx int, err error) error
	Unknown(ctx context.Context, idx int, why string) error
}

// JournalEntry is one statement in the journal.
type JournalEntry struct {
	Index int
	Line  int
	SQL   string
	State string
	TxID  string
	Rows  int64
	Error string
}

// journal is the Journal of one ticket step.
type journal struct {
	s   *Service
	id  int64
	idx int
}

func (j *journal) Plan(ctx context.Context, stmts []JournalEntry) ([]JournalEntry, error) {
	err := j.s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM ticket_statements WHERE ticket_id = ? AND step_idx = ?", j.id, j.idx).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, "INSERT INTO ticket_statements (ticket_id, step_idx, idx, line, sql_text, state) VALUES (?, ?, ?, ?, ?, ?)",
				j.id, j.idx, st.Index, st.Line, st.SQL, StmtPending); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ticket %d: plan statements: %w", j.id, err)
	}
	return j.s.journalEntries(ctx, j.s.db, j.id, j.idx)
}

func (s *Service) journalEntries(ctx context.Context, q sqldb.Querier, id int64, idx int) ([]JournalEntry, error) {
	rows, err := q.QueryContext(ctx, "SELECT idx, line, sql_text, state, txid, rows_affected, error FROM ticket_statements WHERE ticket_id = ? AND step_idx = ? ORDER BY idx", id, idx)
	if err != nil {
		return nil, fmt.Errorf("ticket %d statements: %w", id, err)
	}
	defer rows.Close()
	var out []JournalEntry
	for rows.Next() {
		var e JournalEntry
		if err := rows.Scan(&e.Index, &e.Line, &e.SQL, &e.State, &e.TxID, &e.Rows, &e.Error); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Service) statements(ctx context.Context, q sqldb.Querier, id int64, idx int) ([]StatementState, error) {
	rows, err := q.QueryContext(ctx, "SELECT idx, line, sql_text, state, rows_affected, started_at, finished_at, error FROM ticket_statements WHERE ticket_id = ? AND step_idx = ? ORDER BY idx", id, idx)
	if err != nil {
		return nil, fmt.Errorf("ticket %d statements: %w", id, err)
	}
	defer rows.Close()
	var out []StatementState
	for rows.Next() {
		var st StatementState
		var started, finished sql.NullInt64
		if err := rows.Scan(&st.Index, &st.Line, &st.SQL, &st.State, &st.RowsAffected, &started, &finished, &st.Error); err != nil {
			return nil, err
		}
		st.StartedAt, st.FinishedAt = sqldb.NullTime(started), sqldb.NullTime(finished)
		out = append(out, st)
	}
	return out, rows.Err()
}

// errCancelled stops an execution whose ticket was cancelled.
var errCancelled = errors.New("the ticket was cancelled")

func (j *journal) Begin(ctx context.Context, idx int) error {
	return j.s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		t, err := j.s.lockTicket(ctx, tx, j.id)
		if err != nil {
			return err
		}
		if t.State != StateRunning || t.Step != j.idx {
			return errCancelled
		}
		_, err = tx.ExecContext(ctx, "UPDATE ticket_statements SET state = ?, started_at = ?, error = '' WHERE ticket_id = ? AND step_idx = ? AND idx = ?",
			StmtRunning, sqldb.Now(), j.id, j.idx, idx)
		return err
	})
}

func (j *journal) set(ctx context.Context, idx int, state, txid string, rows int64, msg string, finished bool) error {
	q := "UPDATE ticket_statements SET state = ?, txid = ?, rows_affected = ?, error = ?"
	args := []any{state, txid, rows, msg}
	if finished {
		q += ", finished_at = ?"
		args = append(args, sqldb.Now())
	}
	q += " WHERE ticket_id = ? AND step_idx = ? AND idx = ?"
	if _, err := j.s.db.ExecContext(ctx, q, append(args, j.id, j.idx, idx)...); err != nil {
		return fmt.Errorf("ticket %d: record statement %d: %w", j.id, idx+1, err)
	}
	return nil
}

func (j *journal) Committing(ctx context.Context, idx int, txid string, rows int64) error {
	return j.set(ctx, idx, StmtCommitting, txid, rows, "", false)
}

func (j *journal) Done(ctx context.Context, idx int, rows int64) error {
	return j.set(ctx, idx, StmtDone, "", rows, "", true)
}

func (j *journal) Fail(ctx context.Context, idx int, err error) error {
	return j.set(ctx, idx, StmtFailed, "", 0, describe(err), true)
}

func (j *journal) Unknown(ctx context.Context, idx int, why string) error {
	return j.set(ctx, idx, StmtUnknown, "", 0, why, true)
}

// ---- review ----

func (s *Service) runReview(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*reviewCfg)
	tgt, err := s.stepTarget(ctx, r, c.target)
	if err != nil {
		return outcome{}, err
	}
	script := r.field(c.sql)
	var rep *ReviewReport
	if s.reviewer != nil {
		rep, err = s.reviewer.Review(ctx, ReviewRequest{Engine: engine.Kind(tgt.Engine), SQL: script, Instance: tgt.Instance,
			Database: tgt.Database, Env: tgt.Env, Cluster: tgt.Cluster, Kind: c.kind})
		if err != nil {
			return outcome{}, fmt.Errorf("review: %w", err)
		}
		if len(rep.Kinds) == 0 {
			// review.kinds speaks the one vocabulary of internal/sql,
			// whoever reviewed.
			rep.Kinds = scriptKinds(readScript(dialect(engine.Kind(tgt.Engine)), script))
		}
	} else {
		rep = parseCheck(engine.Kind(tgt.Engine), script)
	}
	if ec := r.flow.exportCfgOf(c.sql); ec != nil {
		// The SQL feeds an export: ask the query console now what it
		// would refuse, before anyone is asked to approve it.
		f, err := s.exportFinding(ctx, r, ec, script)
		if err != nil {
			return outcome{}, err
		}
		if f != nil {
			rep.Findings = append(rep.Findings, *f)
		}
	}
	rv := summarize(rep)
	summary := fmt.Sprintf("%s: %s, %s, %s (%s)", rv.Level, plural(rv.Statements, "statement", "statements"),
		plural(rv.Errors, "error", "errors"), plural(rv.Warnings, "warning", "warnings"), rep.Reviewer)
	res := map[string]any{"summary": summary, "review": rv, "findings": rep.Findings, "reviewer": rep.Reviewer}
	fail := (c.failOn == "error" && rv.Errors > 0) || (c.failOn == "warning" && (rv.Errors > 0 || rv.Warnings > 0))
	if fail {
		var lines []string
		for i, f := range rep.Findings {
			if i == 5 {
				lines = append(lines, fmt.Sprintf("and %d more", len(rep.Findings)-5))
				break
			}
			lines = append(lines, fmt.Sprintf("statement %d line %d col %d: %s: %s", f.Statement, f.Line, f.Column, f.Rule, f.Message))
		}
		// Keep the findings with the failed step.
		if err := s.storeResult(ctx, r, res); err != nil {
			return outcome{}, err
		}
		return outcome{}, errkind.New(errkind.Invalid, "review found %s: %s", plural(rv.Errors+rv.Warnings, "problem", "problems"), strings.Join(lines, "; "))
	}
	return done(res)
}

// registerExecution records, in the step's row, that the step starts its
// execution: register before acting. It fails as stale when the ticket
// no longer runs this step (cancelled meanwhile).
func (s *Service) registerExecution(ctx context.Context, r *stepRun) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		t, err := s.lockTicket(ctx, tx, r.t.ID)
		if err != nil {
			return err
		}
		if t.State != StateRunning || t.Step != r.idx {
			return errStale
		}
		key := executor.TicketKey{Ticket: r.t.ID, Step: r.idx + 1}
		raw, err := jsonString(map[string]any{"execution_key": key.String()})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE ticket_steps SET result = ? WHERE ticket_id = ? AND idx = ?", raw, r.t.ID, r.idx)
		return err
	})
}

func (s *Service) storeResult(ctx context.Context, r *stepRun, res map[string]any) error {
	raw, err := jsonString(res)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, "UPDATE ticket_steps SET result = ? WHERE ticket_id = ? AND idx = ?", raw, r.t.ID, r.idx)
	return err
}

// stepTarget resolves a step's target field now (a cluster's primary may
// have changed since the ticket was submitted).
func (s *Service) stepTarget(ctx context.Context, r *stepRun, field string) (TargetVars, error) {
	f := r.flow.Field(field)
	v := r.field(field)
	if f == nil || v == "" {
		return TargetVars{}, errkind.New(errkind.Invalid, "the form has no target in field %q", field)
	}
	return s.resolve(ctx, f, v)
}

// ---- execute ----

func (s *Service) runExecute(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*executeCfg)
	tgt, err := s.stepTarget(ctx, r, c.target)
	if err != nil {
		return outcome{}, err
	}
	script := r.field(c.sql)
	if s.executor != nil {
		return s.runExternal(ctx, r, tgt, script)
	}
	j := &journal{s: s, id: r.t.ID, idx: r.idx}
	err = s.execute(ctx, tgt, script, j)
	if errors.Is(err, errCancelled) {
		return outcome{}, errStale
	}
	entries, jerr := s.journalEntries(ctx, s.db, r.t.ID, r.idx)
	if jerr != nil {
		return outcome{}, jerr
	}
	var rows int64
	for _, e := range entries {
		rows += e.Rows
	}
	if err != nil {
		return outcome{}, err
	}
	return done(map[string]any{
		"summary":    fmt.Sprintf("%s on %s, %d row(s) affected", plural(len(entries), "statement", "statements"), targetString(tgt), rows),
		"statements": len(entries), "rows": rows, "instance": tgt.Instance, "database": tgt.Database,
	})
}

// runExternal runs the step through the wired executor. The step records
// that it is about to start its execution (in its own transaction, which
// also checks the ticket still runs this step) before the executor hears
// of it; the executor keys the execution by the step, so a resumed step
// gets its own execution back and never starts a second one.
func (s *Service) runExternal(ctx context.Context, r *stepRun, tgt TargetVars, script string) (outcome, error) {
	id, _ := r.prev["execution"].(string)
	if id == "" {
		if err := s.registerExecution(ctx, r); err != nil {
			return outcome{}, err
		}
		var err error
		if id, err = s.executor.Start(ctx, ExecRequest{Ticket: r.t.ID, Step: r.idx + 1, Requester: r.t.Requester, Instance: tgt.Instance,
			Database: tgt.Database, Engine: engine.Kind(tgt.Engine), SQL: script}); err != nil {
			return outcome{}, err
		}
		if err := s.storeResult(ctx, r, map[string]any{"execution": id}); err != nil {
			return outcome{}, err
		}
	} else if resume, ok := r.prev["resume"].(string); ok {
		// A DBA retried: the execution goes on where it stopped.
		if err := s.executor.Resume(ctx, id, resume); err != nil {
			return outcome{}, err
		}
		if err := s.storeResult(ctx, r, map[string]any{"execution": id}); err != nil {
			return outcome{}, err
		}
	}
	res, err := s.executor.Wait(ctx, id)
	if err != nil {
		return outcome{}, err
	}
	if err := s.mirrorStatements(ctx, r, res.Statements); err != nil {
		return outcome{}, err
	}
	fail := func(format string, args ...any) (outcome, error) {
		s.storeResult(ctx, r, map[string]any{"execution": id, "state": res.State})
		return outcome{}, fmt.Errorf(format, args...)
	}
	switch res.State {
	case "done":
		return done(map[string]any{
			"summary":    fmt.Sprintf("%s on %s, %d row(s) affected (execution %s)", plural(len(res.Statements), "statement", "statements"), targetString(tgt), res.Rows, id),
			"statements": len(res.Statements), "rows": res.Rows, "execution": id, "instance": tgt.Instance, "database": tgt.Database,
		})
	case "in_doubt":
		return fail("execution %s: a statement may or may not have committed: %s; check the target, then retry with resolve=done (it did) or resolve=rerun", id, res.Error)
	case "cancelled":
		return fail("execution %s was cancelled", id)
	default:
		return fail("execution %s %s: %s", id, res.State, res.Error)
	}
}

// sessioner is an engine connection that can open a session of its own
// (one connection whose state carries from call to call).
type sessioner interface {
	Session(ctx context.Context) (engine.Conn, error)
}

// execute is the built-in executor: each statement in a transaction of its
// own where the engine allows, recorded in the journal before it is sent
// and after it ends. After a crash, a statement recorded as running inside
// a transaction is known to have been rolled back (the server ends the
// dead session's transaction) and runs again; one recorded as committing
// is checked on PostgreSQL (txid_status) and otherwise, like a statement
// that cannot run in a transaction, is marked unknown for a DBA to resolve.
func (s *Service) execute(ctx context.Context, tgt TargetVars, script string, j Journal) error {
	kind := engine.Kind(tgt.Engine)
	d := dialect(kind)
	stmts := readScript(d, script)
	if len(stmts) == 0 {
		return errkind.New(errkind.Invalid, "no SQL statement to execute")
	}
	plan := make([]JournalEntry, len(stmts))
	for i, st := range stmts {
		plan[i] = JournalEntry{Index: i, Line: st.Line, SQL: st.Text}
	}
	entries, err := j.Plan(ctx, plan)
	if err != nil {
		return err
	}
	if len(entries) != len(stmts) {
		return fmt.Errorf("the journal holds %d statements, the script %d", len(entries), len(stmts))
	}
	for _, st := range stmts {
		switch {
		case st.Client:
			return errkind.New(errkind.Invalid, "line %d: %s is a client command, not SQL: the server cannot run it", st.Line, firstWords(st.Text))
		case st.Class.Kind == sqlfe.KindTxn:
			return errkind.New(errkind.Invalid, "line %d: transaction control (%s) is not allowed: each statement runs in a transaction of its own", st.Line, firstWords(st.Text))
		}
	}
	pool, err := s.inv.Connect(ctx, tgt.Instance, tgt.Database)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", targetString(tgt), err)
	}
	defer pool.Close()
	conn := pool
	session := false
	if sp, ok := pool.(sessioner); ok {
		if sc, err := sp.Session(ctx); err == nil {
			defer sc.Close()
			conn, session = sc, true
		}
	}
	for i, st := range stmts {
		e := entries[i]
		switch e.State {
		case StmtDone:
			continue
		case StmtUnknown:
			return errkind.New(errkind.Conflict, "statement %d (line %d: %s) may or may not have run: %s; check the target, then retry with resolve=done (it ran) or resolve=rerun", i+1, e.Line, firstWords(e.SQL), e.Error)
		case StmtRunning:
			if !(st.transactional(d) && session) {
				why := "the server stopped while it ran outside a transaction"
				j.Unknown(ctx, i, why)
				return errkind.New(errkind.Conflict, "statement %d (line %d: %s) may or may not have run: %s; check the target, then retry with resolve=done (it ran) or resolve=rerun", i+1, e.Line, firstWords(e.SQL), why)
			}
			// It ran inside a transaction that was never committed: the
			// server rolled it back when the session died. Run it again.
		case StmtCommitting:
			outcome, err := txOutcome(ctx, conn, kind, e.TxID)
			if err != nil {
				return err
			}
			switch outcome {
			case "committed":
				if err := j.Done(ctx, i, e.Rows); err != nil {
					return err
				}
				continue
			case "aborted":
			default:
				why := "the server stopped while its COMMIT was in flight"
				j.Unknown(ctx, i, why)
				return errkind.New(errkind.Conflict, "statement %d (line %d: %s) may or may not have been committed: %s; check the target, then retry with resolve=done (it ran) or resolve=rerun", i+1, e.Line, firstWords(e.SQL), why)
			}
		}
		if err := j.Begin(ctx, i); err != nil {
			return err
		}
		rows, err := runStatement(ctx, conn, kind, st, st.transactional(d) && session, func(txid string, rows int64) error { return j.Committing(ctx, i, txid, rows) })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			j.Fail(ctx, i, err)
			return fmt.Errorf("statement %d (line %d: %s): %w", i+1, st.Line, firstWords(st.Text), err)
		}
		if err := j.Done(ctx, i, rows); err != nil {
			return err
		}
	}
	return nil
}

// runStatement runs one statement as written: inside BEGIN ... COMMIT
// when inTx, calling committing just before COMMIT. A plain query's rows
// are read (and counted) rather than executed.
func runStatement(ctx context.Context, c engine.Conn, kind engine.Kind, st statement, inTx bool, committing func(txid string, rows int64) error) (int64, error) {
	read := plainQuery(st.Class)
	run := func() (int64, error) {
		if read {
			rows, _, err := c.Query(ctx, 1000, st.Text)
			if err != nil {
				return 0, err
			}
			return int64(len(rows.Values)), nil
		}
		res, err := c.Exec(ctx, st.Text)
		return res.RowsAffected, err
	}
	if !inTx || read {
		return run()
	}
	begin := "START TRANSACTION"
	if kind == engine.Postgres {
		begin = "BEGIN"
	}
	if _, err := c.Exec(ctx, begin); err != nil {
		return 0, err
	}
	rows, err := run()
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		c.Exec(rctx, "ROLLBACK")
		cancel()
		return 0, err
	}
	txid := ""
	if kind == engine.Postgres {
		r, _, err := c.Query(ctx, 1, "SELECT txid_current()::text")
		if err == nil && len(r.Values) == 1 {
			txid = fmt.Sprint(r.Values[0][0])
		}
	}
	if err := committing(txid, rows); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		c.Exec(rctx, "ROLLBACK")
		cancel()
		return 0, err
	}
	if _, err := c.Exec(ctx, "COMMIT"); err != nil {
		return 0, err
	}
	return rows, nil
}

// txOutcome asks the server what became of a transaction: committed,
// aborted, or "" when it cannot tell.
func txOutcome(ctx context.Context, c engine.Conn, kind engine.Kind, txid string) (string, error) {
	if kind != engine.Postgres || txid == "" {
		return "", nil
	}
	if _, err := strconv.ParseInt(txid, 10, 64); err != nil {
		return "", nil
	}
	for range 30 {
		r, _, err := c.Query(ctx, 1, "SELECT COALESCE(txid_status("+txid+"), '')")
		if err != nil {
			return "", err
		}
		if len(r.Values) == 1 {
			switch st := fmt.Sprint(r.Values[0][0]); st {
			case "committed", "aborted":
				return st, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return "", nil
}

// firstWords shortens a statement for messages.
func firstWords(sqlText string) string {
	s := strings.Join(strings.Fields(sqlText), " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// mirrorStatements copies an external execution's statements into the
// ticket's journal, so the ticket shows them like the built-in executor's.
func (s *Service) mirrorStatements(ctx context.Context, r *stepRun, stmts []StatementState) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM ticket_statements WHERE ticket_id = ? AND step_idx = ?", r.t.ID, r.idx); err != nil {
			return err
		}
		for i, st := range stmts {
			var started, finished any
			if !st.StartedAt.IsZero() {
				started = st.StartedAt.UnixMilli()
			}
			if !st.FinishedAt.IsZero() {
				finished = st.FinishedAt.UnixMilli()
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_statements (ticket_id, step_idx, idx, line, sql_text, state, rows_affected, started_at, finished_at, error)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.t.ID, r.idx, i, st.Line, st.SQL, st.State, st.RowsAffected, started, finished, st.Error); err != nil {
				return err
			}
		}
		return nil
	})
}
