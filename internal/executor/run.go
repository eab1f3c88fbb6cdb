package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// runner runs one execution.
type runner struct {
	s   *Service
	id  ID
	log *slog.Logger

	ex     Execution
	d      sql.Dialect
	opts   Options
	stmts  []stmtRow
	parsed []*stmt

	pool        engine.Conn // for throttle checks and to interrupt the session
	sess        engine.Conn // where the script runs
	sessID      int64       // MySQL connection id, PostgreSQL backend pid
	autoIncStep int64

	soft context.Context // ends at shutdown: stop at the next boundary
	hard context.Context // ends StopGrace later: interrupt what runs

	throttle        *throttler
	throttledFor    string
	lastCancelCheck time.Time
}

// sessioner is implemented by engine adapters that can pin a session.
type sessioner interface {
	Session(ctx context.Context) (engine.Conn, error)
}

// run returns the final state and error text, or "" when shutdown
// stopped it (it stays running and resumes at the next start).
func (r *runner) run(ctx context.Context) (state, errText string) {
	r.soft = ctx
	hard, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	r.hard = hard
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			select {
			case <-time.After(r.s.cfg.StopGrace):
				cancel()
			case <-done:
			}
		case <-done:
		}
	}()

	var err error
	if r.ex, err = r.s.st.get(hard, r.id); err != nil {
		return StateFailed, err.Error()
	}
	r.opts = r.ex.Options
	if r.stmts, err = r.s.st.statements(hard, r.id); err != nil {
		return StateFailed, err.Error()
	}
	script, err := r.s.st.script(hard, r.id)
	if err != nil {
		return StateFailed, err.Error()
	}
	if r.d, err = sql.ParseDialect(string(r.ex.Engine)); err != nil {
		return StateFailed, err.Error()
	}
	if r.parsed, err = splitScript(r.d, script); err != nil || !splitsAsStored(r.parsed, r.stmts) {
		return StateFailed, fmt.Sprintf("script no longer splits as stored (%v)", err)
	}
	r.s.publish(Event{Execution: r.id, Ref: r.ex.Ref, Instance: r.ex.Instance, State: StateRunning})

	defer r.close() // also what connect opened before it failed
	if err := r.connect(); err != nil {
		return StateFailed, err.Error()
	}

	failed := 0
	for i := range r.stmts {
		st := &r.stmts[i]
		if st.State == StateFailed { // passed over (continue_on_error) before a restart
			failed++
			continue
		}
		if err := r.checkpoint(); err != nil {
			return r.stopped(err)
		}
		err := r.statement(st, r.parsed[i])
		r.parsed[i].release()
		switch {
		case err == nil:
		case errors.Is(err, errStopped):
			return "", ""
		case errors.Is(err, errCancelled):
			return StateCancelled, fmt.Sprintf("cancelled at statement %d", st.Seq)
		case errors.Is(err, errInDoubt):
			return StateInDoubt, fmt.Sprintf("statement %d (line %d): %v", st.Seq, st.Line, err)
		case errors.Is(err, errRowCap):
			return StateFailed, fmt.Sprintf("statement %d (line %d, column %d): %v", st.Seq, st.Line, st.Column, err)
		default:
			failed++
			if !r.opts.ContinueOnError {
				return StateFailed, fmt.Sprintf("statement %d (line %d, column %d): %v", st.Seq, st.Line, st.Column, err)
			}
		}
	}
	if failed > 0 {
		return StateFailed, fmt.Sprintf("%d statement(s) failed", failed)
	}
	return StateDone, ""
}

// splitsAsStored reports whether a script split again gives the
// statements stored when it was submitted: the runner sends the stored
// text and plans it from the new split's trees.
func splitsAsStored(parsed []*stmt, rows []stmtRow) bool {
	if len(parsed) != len(rows) {
		return false
	}
	for i := range rows {
		if parsed[i].Text != rows[i].SQL {
			return false
		}
	}
	return true
}

func (r *runner) stopped(err error) (string, string) {
	if errors.Is(err, errCancelled) {
		return StateCancelled, "cancelled"
	}
	return "", ""
}

var errInDoubt = errors.New("in doubt")

// connect opens the pool and the pinned session.
func (r *runner) connect() error {
	ctx := r.hard
	pool, err := r.s.inv.Connect(ctx, r.ex.Instance, r.ex.Database)
	if err != nil {
		return err
	}
	r.pool = pool
	sp, ok := pool.(sessioner)
	if !ok {
		return errkind.New(errkind.Invalid, "engine %s cannot pin a session", r.ex.Engine)
	}
	if r.sess, err = sp.Session(ctx); err != nil {
		return fmt.Errorf("open session on %s: %w", r.ex.Instance, err)
	}
	q := "SELECT CONNECTION_ID()"
	if r.d == sql.Postgres {
		q = "SELECT pg_backend_pid()::bigint"
	}
	rows, _, err := r.sess.Query(ctx, 1, q)
	if err != nil {
		return fmt.Errorf("session id: %w", err)
	}
	if r.sessID, err = sessionID(rows); err != nil {
		return fmt.Errorf("session id on %s: %w", r.ex.Instance, err)
	}
	r.throttle = newThrottler(r)
	if r.opts.Rollback == RollbackBinlog && !r.opts.DryRun {
		return r.checkBinlog(ctx)
	}
	return nil
}

// sessionID reads the session's id (it is what KILL QUERY and
// pg_cancel_backend stop a statement by): one positive integer.
func sessionID(rows *engine.Rows) (int64, error) {
	if len(rows.Values) == 0 || len(rows.Values[0]) == 0 {
		return 0, errors.New("the server returned no row")
	}
	id, ok := engine.Int64(rows.Values[0][0])
	if !ok || id <= 0 {
		return 0, fmt.Errorf("%q is not a session id", rows.String(0, 0))
	}
	return id, nil
}

func (r *runner) close() {
	if r.throttle != nil {
		r.throttle.close()
	}
	if r.sess != nil {
		r.sess.Close()
	}
	if r.pool != nil {
		r.pool.Close()
	}
}

// checkpoint is a boundary: stop at shutdown, stop when cancelled.
func (r *runner) checkpoint() error {
	if r.soft.Err() != nil {
		return errStopped
	}
	if time.Since(r.lastCancelCheck) < 200*time.Millisecond {
		return nil
	}
	r.lastCancelCheck = time.Now()
	c, err := r.s.st.cancelRequested(r.hard, r.id)
	if err != nil {
		return fmt.Errorf("check cancel: %w", err)
	}
	if c {
		return errCancelled
	}
	return nil
}

// timed runs fn under the statement timeout: when it expires the
// session's statement is interrupted (KILL QUERY, pg_cancel_backend).
// A statement still running when the hard context ends (StopGrace after
// shutdown) is interrupted the same way, so that it does not run on in
// the server after its connection is gone.
func (r *runner) timed(fn func(ctx context.Context) error) error {
	stop := context.AfterFunc(r.hard, func() { r.interrupt("shutdown") })
	defer stop()
	to := r.opts.Timeout.D()
	if to <= 0 {
		return fn(r.hard)
	}
	var fired atomic.Bool
	t := time.AfterFunc(to, func() {
		fired.Store(true)
		r.interrupt("timeout")
	})
	err := fn(r.hard)
	t.Stop()
	if err != nil && fired.Load() {
		return fmt.Errorf("exceeded the statement timeout of %s: %w", to, err)
	}
	return err
}

// interrupt stops the statement the session runs, from the pool.
func (r *runner) interrupt(why string) {
	kctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if r.d == sql.Postgres {
		_, err = r.pool.Exec(kctx, "SELECT pg_cancel_backend($1)", r.sessID)
	} else {
		_, err = r.pool.Exec(kctx, fmt.Sprintf("KILL QUERY %d", r.sessID))
	}
	if err != nil {
		r.log.Warn("interrupt statement", "why", why, "err", err)
	}
}

func (r *runner) exec(sql string, args ...any) (engine.Result, error) {
	var res engine.Result
	err := r.timed(func(ctx context.Context) error {
		var err error
		res, err = r.sess.Exec(ctx, sql, args...)
		return err
	})
	return res, err
}

func (r *runner) query(sql string, args ...any) (*engine.Rows, error) {
	var rows *engine.Rows
	err := r.timed(func(ctx context.Context) error {
		var err error
		rows, _, err = r.sess.Query(ctx, 0, sql, args...)
		return err
	})
	return rows, err
}

// statement runs (or resumes, or plans) one statement.
func (r *runner) statement(st *stmtRow, p *stmt) error {
	ctx := r.hard
	switch st.State {
	case StateDone, StatePlanned:
		if st.Kind == KindSession { // session state does not survive a new session
			if _, err := r.sess.Exec(ctx, st.SQL); err != nil {
				return r.fail(st, fmt.Errorf("replay session statement: %w", err))
			}
		}
		return nil
	case StateInDoubt:
		return fmt.Errorf("%w: decide with resume", errInDoubt)
	}
	// Parsed just before it runs, dropped after (run releases it).
	if err := p.parse(r.d); err != nil {
		return r.fail(st, err)
	}
	if p.Kind != st.Kind {
		return r.fail(st, fmt.Errorf("the statement is now classified %s (%s), not %s as when the script was submitted: submit the script again", p.Kind, p.Verb, st.Kind))
	}
	mode := modeOf(r.d, p.class)
	if st.State == StateRunning {
		// Left running by a process that stopped: what it did is in its units.
		switch {
		case mode == modeUnits || mode == modePGDDL:
		case mode == modeSession || mode == modeQuery:
		case r.opts.DryRun:
		default:
			st.Error = "the server stopped while this statement ran: it may or may not have taken effect"
			if err := r.s.st.stmtEnd(ctx, st, StateInDoubt); err != nil {
				return err
			}
			return fmt.Errorf("%w: %s", errInDoubt, st.Error)
		}
	}
	r.s.publish(Event{Execution: r.id, Ref: r.ex.Ref, State: StateRunning, Statement: st.Seq})
	var err error
	switch {
	case mode == modeSession:
		err = r.runSimple(st, false)
	case r.opts.DryRun:
		err = r.plan(st, p)
	case mode == modeUnits:
		err = r.runDML(st, p)
	case mode == modePGDDL, mode == modeAlone && p.Kind == KindDDL:
		err = r.runPGDDL(st, p)
	case mode == modeMyDDL:
		err = r.runMyDDL(st, p)
	case mode == modeQuery:
		err = r.runSimple(st, true)
	default:
		// Other statements, and those that cannot run in a transaction
		// block (VACUUM, CALL...): as written on the session, outside
		// any transaction.
		err = r.runSimple(st, false)
	}
	if err != nil && r.soft.Err() != nil && !errors.Is(err, errInDoubt) {
		// Interrupted by shutdown: what ran in a transaction rolled back;
		// the statement stays running and is resumed (or found in doubt).
		return errStopped
	}
	if err != nil && !errors.Is(err, errStopped) && !errors.Is(err, errCancelled) && !errors.Is(err, errInDoubt) && st.State != StateFailed {
		return r.fail(st, err)
	}
	if err == nil {
		r.s.publish(Event{Execution: r.id, Ref: r.ex.Ref, State: StateDone, Statement: st.Seq, Message: st.Note})
	}
	return err
}

// fail records a statement as failed and returns err.
func (r *runner) fail(st *stmtRow, err error) error {
	st.Error = err.Error()
	if werr := r.s.st.stmtEnd(r.hard, st, StateFailed); werr != nil {
		r.log.Error("record statement failure", "statement", st.Seq, "err", werr)
	}
	r.s.publish(Event{Execution: r.id, Ref: r.ex.Ref, State: StateFailed, Statement: st.Seq, Message: st.Error})
	return err
}

// maxQueryRows bounds what a query in a script reads (only counted).
const maxQueryRows = 10000

// runSimple runs a statement as written: session settings, queries
// (rows counted) and statements without rollback.
func (r *runner) runSimple(st *stmtRow, query bool) error {
	if st.Plan.Verb == "" {
		st.Plan = Plan{Verb: r.parsed[st.Seq-1].Verb}
	}
	switch st.Kind {
	case KindSession:
		st.Rollback = "not needed (session setting)"
	case KindQuery:
		st.Rollback = "not needed (reads only)"
	default:
		st.Rollback = "not available: " + r.parsed[st.Seq-1].Verb + " has no defined rollback"
	}
	st.Plan.Rollback = st.Rollback
	if err := r.s.st.stmtStart(r.hard, st); err != nil {
		return err
	}
	if query {
		var rows *engine.Rows
		var more bool
		err := r.timed(func(ctx context.Context) error {
			var err error
			rows, more, err = r.sess.Query(ctx, maxQueryRows, st.SQL)
			return err
		})
		if err != nil {
			return err
		}
		st.RowsAffected = 0
		st.Note = fmt.Sprintf("%d row(s) returned", len(rows.Values))
		if more {
			st.Note = fmt.Sprintf("more than %d rows returned (not kept)", maxQueryRows)
		}
	} else {
		res, err := r.exec(st.SQL)
		if err != nil {
			return err
		}
		st.RowsAffected = res.RowsAffected
	}
	state := StateDone
	if r.opts.DryRun {
		state = StatePlanned
		st.Note = "session setting applied to plan the statements after it"
	}
	return r.s.st.stmtEnd(r.hard, st, state)
}

// plan fills a statement's plan without changing anything (dry run).
func (r *runner) plan(st *stmtRow, p *stmt) error {
	ctx := r.hard
	st.Plan = Plan{Verb: p.Verb}
	switch st.Kind {
	case KindDML:
		op, err := r.planDML(p)
		if err != nil {
			st.Plan.Notes = append(st.Plan.Notes, "cannot plan: "+err.Error())
			break
		}
		st.Plan.Table = tableName(op.t)
		st.Plan.EstimatedRows = op.estimate
		st.Plan.Rollback = op.rollbackDesc()
		st.Plan.Notes = append(st.Plan.Notes, op.notes...)
		st.Plan.Lock = "row locks on the rows it changes"
		if r.chunked(op) {
			st.Plan.Chunked, st.Plan.ChunkSize = true, r.opts.ChunkSize
			st.Plan.Lock = fmt.Sprintf("row locks on at most %d rows at a time (chunks committed one by one)", r.opts.ChunkSize)
			if op.estimate > 0 {
				st.Plan.Notes = append(st.Plan.Notes, fmt.Sprintf("about %d chunk(s)", (op.estimate+int64(r.opts.ChunkSize)-1)/int64(r.opts.ChunkSize)))
			}
		}
	case KindDDL:
		if r.d == sql.Postgres {
			pd, err := planPGDDL(ctx, r.sess, p)
			if err != nil {
				st.Plan.Notes = append(st.Plan.Notes, "cannot plan: "+err.Error())
				break
			}
			st.Plan.Algorithm, st.Plan.Lock = pd.algorithm, pd.lock
			st.Plan.Rollback = rollbackText(pd.rollback, pd.why, pd.finish != nil)
		} else {
			md, err := planMySQLDDL(ctx, r.sess, r.ex.Engine, p, r.opts.OSC, int64(r.s.cfg.OSCMinBytes), r.s.cfg.OSCPath != "")
			if err != nil {
				st.Plan.Notes = append(st.Plan.Notes, "cannot plan: "+err.Error())
				break
			}
			st.Plan.Table = md.table
			st.Plan.Algorithm, st.Plan.Lock, st.Plan.TableBytes = md.predicted+" (predicted)", md.lock, md.bytes
			st.Plan.Rollback = rollbackText(md.rollback, md.why, false)
		}
	case KindQuery:
		st.Plan.Rollback = "not needed (reads only)"
	default:
		st.Plan.Rollback = "not available: " + p.Verb + " has no defined rollback"
	}
	st.Rollback = st.Plan.Rollback
	return r.s.st.stmtEnd(ctx, st, StatePlanned)
}

func rollbackText(sqls []string, why string, later bool) string {
	switch {
	case len(sqls) > 0:
		return strings.Join(sqls, ";\n")
	case later:
		return "named after the change"
	}
	return "not available: " + why
}

func tableName(t *table) string {
	if t == nil {
		return ""
	}
	return t.String()
}

func (r *runner) planDML(p *stmt) (*dmlOp, error) {
	var op *dmlOp
	var err error
	if r.d == sql.Postgres {
		op, err = planPGDML(r.hard, r.sess, p)
	} else {
		op, err = planMySQLDML(r.hard, r.sess, p)
	}
	if err != nil {
		return nil, err
	}
	switch r.opts.Rollback {
	case RollbackNone:
		if op.undo != undoNone {
			op.noRollback("rollback: none was asked for")
		}
	case RollbackBinlog:
		op.binlog = true
		op.image, op.imageArgs, op.preSelect, op.newKeys, op.autoInc = "", nil, "", nil, false
	}
	return op, nil
}

// chunked decides whether a DML runs in chunks: it can, chunks are on,
// and it may touch more rows than one chunk. Row estimates of predicates
// the planner cannot see into are often far too low, so a table larger
// than a chunk is always chunked.
func (r *runner) chunked(op *dmlOp) bool {
	if op.chunk == nil || r.opts.ChunkSize <= 0 {
		return false
	}
	n := int64(r.opts.ChunkSize)
	return op.estimate < 0 || op.estimate > n || op.t == nil || op.t.Rows < 0 || op.t.Rows > n
}
