package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// Service runs executions. Start, Get, List and the others may be called
// from any process sharing the store; only the process running Run (the
// lease holder) executes them.
type Service struct {
	st  *store
	inv *inventory.Service
	cfg Config
	log *slog.Logger

	wake chan struct{}

	mu      sync.Mutex
	subs    map[int]func(Event)
	nextSub int
	active  map[ID]bool // executions this process is running
}

// NewService returns a Service over db (migrated) and the inventory.
func NewService(db *sqldb.DB, inv *inventory.Service, cfg Config, log *slog.Logger) *Service {
	d := DefaultConfig()
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = d.ChunkSize
	}
	if cfg.ThrottleInterval <= 0 {
		cfg.ThrottleInterval = d.ThrottleInterval
	}
	if cfg.OSC == "" {
		cfg.OSC = d.OSC
	}
	if cfg.MaxRunning <= 0 {
		cfg.MaxRunning = d.MaxRunning
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = d.PollInterval
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = d.StopGrace
	}
	if cfg.DDLRetries < 0 {
		cfg.DDLRetries = 0
	}
	return &Service{st: &store{db: db}, inv: inv, cfg: cfg, log: log, wake: make(chan struct{}, 1),
		subs: map[int]func(Event){}, active: map[ID]bool{}}
}

// Subscribe calls fn for every event of this process (from the goroutine
// that produced it: fn must not block). The returned function stops it.
func (s *Service) Subscribe(fn func(Event)) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextSub++
	n := s.nextSub
	s.subs[n] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, n)
	}
}

func (s *Service) publish(ev Event) {
	s.mu.Lock()
	fns := make([]func(Event), 0, len(s.subs))
	for _, fn := range s.subs {
		fns = append(fns, fn)
	}
	s.mu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// resolve fills an execution's options with the server's defaults and
// checks them.
func (s *Service) resolve(o Options) (Options, error) {
	if o.ChunkSize == 0 {
		o.ChunkSize = s.cfg.ChunkSize
	}
	if o.MaxLag == 0 {
		o.MaxLag = Duration(s.cfg.MaxLag)
		if o.MaxLag == 0 {
			o.MaxLag = -1
		}
	}
	if o.MaxThreadsRunning == 0 {
		o.MaxThreadsRunning = s.cfg.MaxThreadsRunning
		if o.MaxThreadsRunning == 0 {
			o.MaxThreadsRunning = -1
		}
	}
	if o.Timeout == 0 {
		o.Timeout = Duration(s.cfg.Timeout)
		if o.Timeout == 0 {
			o.Timeout = -1
		}
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = Duration(s.cfg.LockTimeout)
		if o.LockTimeout == 0 {
			o.LockTimeout = -1
		}
	}
	if o.OSC == "" {
		o.OSC = s.cfg.OSC
	}
	if o.Rollback == "" {
		o.Rollback = RollbackImage
	}
	if o.MaxRows == 0 && o.DeclaredRows > 0 {
		o.MaxRows = o.DeclaredRows + int64(math.Ceil(float64(o.DeclaredRows)*float64(s.cfg.DeclaredRowsMargin)/100))
	}
	var errs []string
	switch o.OSC {
	case OSCAuto, OSCNever, OSCAlways:
	default:
		errs = append(errs, fmt.Sprintf("osc %q: want auto, never or always", o.OSC))
	}
	switch o.Rollback {
	case RollbackImage, RollbackNone, RollbackBinlog:
	default:
		errs = append(errs, fmt.Sprintf("rollback %q: want image, binlog or none", o.Rollback))
	}
	if o.ChunkSize < -1 {
		errs = append(errs, fmt.Sprintf("chunk_size %d: want a positive number of rows, or -1 for no chunks", o.ChunkSize))
	}
	if o.DeclaredRows < 0 || o.MaxRows < 0 {
		errs = append(errs, "declared_rows and max_rows: cannot be negative")
	}
	if o.OSC == OSCAlways && s.cfg.OSCPath == "" {
		errs = append(errs, "osc always: pt-online-schema-change is not configured on this server (executor.osc_path)")
	}
	if len(errs) > 0 {
		return o, errkind.New(errkind.Invalid, "invalid options: %s", strings.Join(errs, "; "))
	}
	return o, nil
}

// Start validates a request, stores the execution as queued and returns
// its id; the execution runs in the background (see Run). With a key
// (req.Ref) it is idempotent: the key's execution is returned when the
// request is the same, a *KeyConflictError (errkind.Conflict) when it is
// not. Keys of the work orders' namespace are refused.
func (s *Service) Start(ctx context.Context, req Request) (ID, error) {
	if err := checkKey(req.Ref); err != nil {
		return 0, err
	}
	return s.start(ctx, req, 0)
}

// StartTicketStep starts, or finds again, the execution of a work-order
// step: its key is the step's, so a step that resumes after a crash or a
// retry gets the execution it started, and never one started for
// something else.
func (s *Service) StartTicketStep(ctx context.Context, key TicketKey, req Request) (ID, error) {
	if key.Ticket < 1 || key.Step < 1 {
		return 0, errkind.New(errkind.Invalid, "ticket key %+v: want a ticket id and a step number from 1", key)
	}
	req.Ref = key.String()
	return s.startAs(ctx, req, 0, StateHeld)
}

// Release lets a held execution run (queued); it does nothing to an
// execution in any other state. The work order releases its step's
// execution once it recorded it, so a ticket cancelled meanwhile
// cancels an execution that never ran.
func (s *Service) Release(ctx context.Context, id ID) error {
	ok, err := s.st.release(ctx, id)
	if err != nil {
		return err
	}
	if ok {
		s.publish(Event{Execution: id, State: StateQueued})
		s.poke()
	}
	return nil
}

func (s *Service) start(ctx context.Context, req Request, rollbackOf ID) (ID, error) {
	return s.startAs(ctx, req, rollbackOf, StateQueued)
}

// startAs stores the execution in state (queued, or held).
func (s *Service) startAs(ctx context.Context, req Request, rollbackOf ID, state string) (ID, error) {
	if req.Instance == "" {
		return 0, errkind.New(errkind.Invalid, "an instance is required")
	}
	if strings.TrimSpace(req.SQL) == "" {
		return 0, errkind.New(errkind.Invalid, "the script is empty")
	}
	in, err := s.inv.GetInstance(ctx, req.Instance)
	if err != nil {
		return 0, err
	}
	d, err := sql.ParseDialect(string(in.Engine))
	if err != nil {
		return 0, fmt.Errorf("instance %q: %w", req.Instance, err)
	}
	if req.Engine != "" {
		// A script reviewed for one server of the MySQL family runs on
		// another; it is split and classified for the instance's own.
		rd, err := sql.ParseDialect(string(req.Engine))
		if err != nil || rd.IsMySQLFamily() != d.IsMySQLFamily() {
			return 0, errkind.New(errkind.Invalid, "the script was written for %s but instance %q runs %s", req.Engine, req.Instance, in.Engine)
		}
	}
	opts, err := s.resolve(req.Options)
	if err != nil {
		return 0, err
	}
	if req.Ref != "" {
		k, ok, err := s.st.byKey(ctx, req.Ref)
		if err != nil {
			return 0, err
		}
		if ok {
			return k.id, k.sameRequest(req, opts)
		}
	}
	if opts.Rollback == RollbackBinlog && in.Engine != engine.MariaDB {
		return 0, errkind.New(errkind.Invalid, "rollback binlog needs MariaDB; instance %q runs %s (use rollback image)", req.Instance, in.Engine)
	}
	if rollbackOf != 0 {
		// A rollback undoes CREATE TABLE with DROP TABLE: that is its point.
		opts.BackupDone = true
	}
	stmts, err := parseScript(d, req.SQL)
	if err != nil {
		return 0, fmt.Errorf("script: %w", err)
	}
	if err := checkScript(stmts, opts); err != nil {
		return 0, err
	}
	if err := checkRowCapScript(d, stmts, opts); err != nil {
		return 0, err
	}
	if req.RequestedBy == "" {
		req.RequestedBy = audit.ActorFrom(ctx).User
	}
	id, err := s.st.insert(ctx, req, in.Engine, opts, stmts, rollbackOf, state)
	if req.Ref != "" && sqldb.IsUniqueViolation(err) {
		// Started meanwhile by another caller with the same key.
		k, ok, kerr := s.st.byKey(ctx, req.Ref)
		if kerr != nil || !ok {
			return 0, fmt.Errorf("key %q: %w", req.Ref, err)
		}
		return k.id, k.sameRequest(req, opts)
	}
	if err != nil {
		return 0, err
	}
	s.log.Info("execution queued", "execution", id, "instance", req.Instance, "statements", len(stmts), "dry_run", opts.DryRun, "ref", req.Ref)
	s.publish(Event{Execution: id, Ref: req.Ref, State: state})
	if state == StateQueued {
		s.poke()
	}
	return id, nil
}

// full returns an execution with its script and statements, whoever asks
// (the service's own use; edges go through Get).
func (s *Service) full(ctx context.Context, id ID) (Execution, error) {
	ex, err := s.st.get(ctx, id)
	if err != nil {
		return ex, err
	}
	return s.withStatements(ctx, ex)
}

func (s *Service) withStatements(ctx context.Context, ex Execution) (Execution, error) {
	var err error
	if ex.SQL, err = s.st.script(ctx, ex.ID); err != nil {
		return ex, err
	}
	rows, err := s.st.statements(ctx, ex.ID)
	if err != nil {
		return ex, err
	}
	ex.Statements = make([]Statement, len(rows))
	for i, r := range rows {
		ex.Statements[i] = r.Statement
	}
	return ex, nil
}

// Wait polls until the execution reaches a terminal state (or ctx ends).
func (s *Service) Wait(ctx context.Context, id ID) (Execution, error) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		ex, err := s.st.get(ctx, id)
		if err != nil {
			return ex, err
		}
		if Terminal(ex.State) {
			return s.full(ctx, id)
		}
		select {
		case <-ctx.Done():
			return ex, ctx.Err()
		case <-t.C:
		}
	}
}

// Cancel asks an execution to stop: a queued one is cancelled at once, a
// running one at its next statement or chunk boundary.
func (s *Service) Cancel(ctx context.Context, id ID) error {
	if err := s.st.requestCancel(ctx, id); err != nil {
		return err
	}
	s.publish(Event{Execution: id, State: "cancel_requested"})
	return nil
}

// Resume queues a failed, cancelled or in-doubt execution again: it
// continues after its last completed statement or chunk. An in-doubt one
// needs a human's decision on the unit in doubt: InDoubtDone (it did
// commit) or InDoubtRerun (it did not).
func (s *Service) Resume(ctx context.Context, id ID, decision InDoubt) error {
	ex, err := s.st.get(ctx, id)
	if err != nil {
		return err
	}
	stmts, err := s.st.statements(ctx, id)
	if err != nil {
		return err
	}
	switch ex.State {
	case StateInDoubt:
		if decision != InDoubtDone && decision != InDoubtRerun {
			return errkind.New(errkind.Invalid, "execution %d has a statement in doubt: decide whether it committed (in_doubt: done or rerun)", id)
		}
	case StateFailed, StateCancelled:
		if decision != "" {
			return errkind.New(errkind.Invalid, "execution %d is %s, not in doubt: resume it without a decision", id, ex.State)
		}
	default:
		return errkind.New(errkind.Conflict, "execution %d is %s: only failed, cancelled or in-doubt executions resume", id, ex.State)
	}
	if ex.DryRun {
		return errkind.New(errkind.Invalid, "execution %d is a dry run: start a new one", id)
	}
	if ex.Kind != KindScript {
		return errkind.New(errkind.Invalid, "execution %d is a provisioning (%s): the work order that asked for it runs it again", id, ex.Kind)
	}
	err = s.st.db.InTx(ctx, func(tx *sqldb.Tx) error {
		for _, st := range stmts {
			switch st.State {
			case StateInDoubt:
				units, err := unitsTx(ctx, tx, st.id)
				if err != nil {
					return err
				}
				inDoubtUnit := false
				for _, u := range units {
					if u.state != unitInDoubt {
						continue
					}
					inDoubtUnit = true
					if decision == InDoubtDone {
						if _, err := tx.ExecContext(ctx, "UPDATE exec_units SET state = ?, finished_at = ? WHERE id = ?", unitDone, sqldb.Now(), u.id); err != nil {
							return err
						}
					} else if _, err := tx.ExecContext(ctx, "DELETE FROM exec_units WHERE id = ?", u.id); err != nil {
						return err
					}
				}
				next := StateRunning
				if !inDoubtUnit && decision == InDoubtDone {
					next = StateDone
				}
				if !inDoubtUnit && decision == InDoubtRerun {
					next = StatePending
				}
				note := fmt.Sprintf("in doubt; %s decided %q", audit.ActorFrom(ctx).User, decision)
				if _, err := tx.ExecContext(ctx, "UPDATE exec_statements SET state = ?, note = ?, error = '' WHERE id = ?", next, note, st.id); err != nil {
					return err
				}
			case StateFailed:
				if _, err := tx.ExecContext(ctx, "UPDATE exec_statements SET state = ?, error = '' WHERE id = ?", StatePending, st.id); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE exec_executions SET state = ?, error = '', cancel_requested = ?, finished_at = NULL, updated_at = ? WHERE id = ?",
			StateQueued, false, sqldb.Now(), id); err != nil {
			return err
		}
		detail := map[string]any{"execution": id, "from": ex.State}
		if decision != "" {
			detail["in_doubt"] = string(decision)
		}
		return audit.Record(ctx, tx, "exec.resume", ex.Instance, detail)
	})
	if err != nil {
		return fmt.Errorf("resume execution %d: %w", id, err)
	}
	s.publish(Event{Execution: id, Ref: ex.Ref, State: StateQueued})
	s.poke()
	return nil
}

func unitsTx(ctx context.Context, q sqldb.Querier, stmtID int64) ([]unitRow, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, seq, state FROM exec_units WHERE statement_id = ? ORDER BY seq", stmtID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []unitRow
	for rows.Next() {
		var u unitRow
		if err := rows.Scan(&u.id, &u.seq, &u.state); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Run executes queued executions until ctx ends; at start it resumes
// those a previous process left running. Run it in one process only
// (app runs it under a lease). At the end it waits for the executions in
// progress to reach a boundary (StopGrace at most per statement).
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	launch := func(id ID) {
		s.mu.Lock()
		if s.active[id] || len(s.active) >= s.cfg.MaxRunning {
			s.mu.Unlock()
			return
		}
		s.active[id] = true
		s.mu.Unlock()
		wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.active, id)
				s.mu.Unlock()
				s.poke()
			}()
			s.execute(ctx, id)
		})
	}
	ids, err := s.st.idsInState(ctx, StateRunning)
	if err != nil {
		return err
	}
	for _, id := range ids {
		s.log.Info("resuming execution left running", "execution", id)
		launch(id)
	}
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		s.mu.Lock()
		free := s.cfg.MaxRunning - len(s.active)
		s.mu.Unlock()
		if free > 0 {
			queued, err := s.st.idsInState(ctx, StateQueued)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("list queued executions", "err", err)
			}
			for _, id := range queued[:min(free, len(queued))] {
				ok, err := s.st.claim(ctx, id)
				if err != nil {
					s.log.Warn("claim execution", "execution", id, "err", err)
					continue
				}
				if ok {
					launch(id)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
		}
	}
}

// execute runs one execution to its end or to a stop.
func (s *Service) execute(ctx context.Context, id ID) {
	r := &runner{s: s, id: id, log: s.log.With("execution", id)}
	state, errText := r.run(ctx)
	if state == "" { // stopped by shutdown: stays running, resumed at the next start
		r.log.Info("execution interrupted by shutdown; it resumes at the next start")
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.st.setState(wctx, id, state, errText); err != nil {
		r.log.Error("record execution outcome", "err", err)
		return
	}
	r.log.Info("execution finished", "state", state, "error", errText)
	s.publish(Event{Execution: id, Ref: r.ex.Ref, Instance: r.ex.Instance, State: state, Message: errText})
}

var (
	errStopped   = errors.New("stopped by shutdown")
	errCancelled = errors.New("cancelled")
)
