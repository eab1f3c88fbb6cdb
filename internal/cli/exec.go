package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dbfleet/dbfleet/internal/api"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/executor"
)

// execFlags are the options of exec and exec rollback.
type execFlags struct {
	dryRun, continueOnError, backupDone, detach bool
	chunkSize, maxThreads                       int
	maxLag, timeout, lockTimeout                time.Duration
	osc, rollback                               string
	declaredRows                                int64
}

func (x *execFlags) add(f *pflag.FlagSet) {
	f.BoolVar(&x.dryRun, "dry-run", false, "plan only: estimated rows, chunks, lock and algorithm, rollback; change nothing")
	f.BoolVar(&x.continueOnError, "continue-on-error", false, "run the remaining statements after one fails (default: stop at the first error)")
	f.IntVar(&x.chunkSize, "chunk-size", 0, "rows per chunk of a large UPDATE/DELETE (0: no chunks; default: the server's)")
	f.DurationVar(&x.maxLag, "max-lag", 0, "pause chunks while a replica lags more than this (0: no check; default: the server's)")
	f.IntVar(&x.maxThreads, "max-threads-running", 0, "pause chunks while the instance runs more threads (0: no check; default: the server's)")
	f.DurationVar(&x.timeout, "timeout", 0, "bound each statement or chunk (0: none; default: the server's)")
	f.DurationVar(&x.lockTimeout, "lock-timeout", 0, "bound a DDL's wait for its table lock (0: the database's own; default: the server's)")
	f.StringVar(&x.osc, "osc", "", "ALTER TABLE through pt-online-schema-change: auto (large tables), never, always")
	f.StringVar(&x.rollback, "rollback", "", "undo information to keep: image (before-images, default), binlog (MariaDB row events) or none")
	f.BoolVar(&x.backupDone, "backup-done", false, "a backup was taken: allow DROP TABLE, DROP DATABASE, TRUNCATE")
	f.Int64Var(&x.declaredRows, "declared-rows", 0, "rows the script's data changes are expected to affect, all statements together: past executor.declared_rows_margin more, the change is rolled back before COMMIT and the execution stops")
	f.BoolVar(&x.detach, "detach", false, "print the execution id and return; follow it with exec show --watch")
}

// options maps the flags to executor options: a flag given as 0 switches
// its limit off; one not given leaves the server's default.
func (x *execFlags) options(f *pflag.FlagSet) (executor.Options, error) {
	o := executor.Options{DryRun: x.dryRun, ContinueOnError: x.continueOnError, BackupDone: x.backupDone, OSC: x.osc, Rollback: x.rollback,
		DeclaredRows: x.declaredRows}
	if x.declaredRows < 0 {
		return o, usageError{fmt.Errorf("--declared-rows %d: want a number of rows", x.declaredRows)}
	}
	off := func(name string) bool { return f.Changed(name) }
	if off("chunk-size") {
		if x.chunkSize < 0 {
			return o, usageError{fmt.Errorf("--chunk-size %d: want a number of rows, or 0 for no chunks", x.chunkSize)}
		}
		o.ChunkSize = x.chunkSize
		if x.chunkSize == 0 {
			o.ChunkSize = -1
		}
	}
	dur := func(name string, v time.Duration, dst *executor.Duration) error {
		if !off(name) {
			return nil
		}
		if v < 0 {
			return usageError{fmt.Errorf("--%s %s: cannot be negative", name, v)}
		}
		*dst = executor.Duration(v)
		if v == 0 {
			*dst = -1
		}
		return nil
	}
	if err := dur("max-lag", x.maxLag, &o.MaxLag); err != nil {
		return o, err
	}
	if err := dur("timeout", x.timeout, &o.Timeout); err != nil {
		return o, err
	}
	if err := dur("lock-timeout", x.lockTimeout, &o.LockTimeout); err != nil {
		return o, err
	}
	if off("max-threads-running") {
		o.MaxThreadsRunning = x.maxThreads
		if x.maxThreads <= 0 {
			o.MaxThreadsRunning = -1
		}
	}
	switch x.osc {
	case "", executor.OSCAuto, executor.OSCNever, executor.OSCAlways:
	default:
		return o, usageError{fmt.Errorf("--osc %q: want auto, never or always", x.osc)}
	}
	switch x.rollback {
	case "", executor.RollbackImage, executor.RollbackBinlog, executor.RollbackNone:
	default:
		return o, usageError{fmt.Errorf("--rollback %q: want image, binlog or none", x.rollback)}
	}
	return o, nil
}

func (e *env) execCmd() *cobra.Command {
	var x execFlags
	var eng, ref string
	cmd := &cobra.Command{
		Use:   "exec INSTANCE[/DB] FILE.sql|- [flags]",
		Short: "Run a SQL script on an instance safely: chunks, throttling, online DDL, rollback",
		Long: `Run FILE.sql ("-" for stdin) on a registered instance, statement by
statement, through the server. Each statement is recorded before and after
it runs; large UPDATE and DELETE statements run in primary-key chunks
committed one at a time, pausing while a replica lags or the server is
busy; DDL runs with the strongest online algorithm the server supports (or
pt-online-schema-change for large tables, when configured); before every
UPDATE, DELETE and INSERT the affected rows are kept, so that
'dbfleet exec rollback ID' can undo it.

Progress goes to stderr, the outcome to stdout. Exit status: 0 when every
statement succeeded (or the dry run planned them all), 1 otherwise.
Needs sql.execute.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError{fmt.Errorf("want INSTANCE[/DB] and a SQL file (or - for stdin), got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			instance, database, _ := strings.Cut(args[0], "/")
			if instance == "" {
				return usageError{fmt.Errorf("%q: want INSTANCE or INSTANCE/DB", args[0])}
			}
			o, err := x.options(cmd.Flags())
			if err != nil {
				return err
			}
			var kind engine.Kind
			if eng != "" {
				if kind, err = engine.ParseKind(eng); err != nil {
					return usageError{err}
				}
			}
			script, err := e.readScript(args[1])
			if err != nil {
				return err
			}
			var ex executor.Execution
			req := api.ExecRequest{Instance: instance, Database: database, SQL: script, Engine: kind, Options: o, Ref: ref}
			if err := e.call(cmd, "POST", "/api/v1/executions", req, &ex); err != nil {
				return err
			}
			return e.follow(cmd, ex, x.detach)
		},
	}
	x.add(cmd.Flags())
	cmd.Flags().StringVar(&eng, "engine", "", "the engine the script was written for (refused if the instance runs another)")
	cmd.Flags().StringVar(&ref, "ref", "", "an idempotency key: the same key returns the execution it started (the same request) or is refused (another request); ticket:* is reserved for work orders")
	cmd.AddCommand(e.execListCmd(), e.execShowCmd(), e.execRollbackCmd(), e.execCancelCmd(), e.execResumeCmd())
	return cmd
}

// readScript reads a file, or stdin for "-".
func (e *env) readScript(name string) (string, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(e.stdin)
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return string(b), nil
}

func oneExecution(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("want exactly one execution id, got %d arguments", len(args))}
	}
	if n, err := strconv.ParseInt(args[0], 10, 64); err != nil || n < 1 {
		return usageError{fmt.Errorf("invalid execution id %q", args[0])}
	}
	return nil
}

func (e *env) getExecution(cmd *cobra.Command, id string) (executor.Execution, error) {
	var ex executor.Execution
	err := e.call(cmd, "GET", "/api/v1/executions/"+url.PathEscape(id), nil, &ex)
	return ex, err
}

// follow waits for an execution, reporting progress on stderr, then
// prints it; detach prints only its id.
func (e *env) follow(cmd *cobra.Command, ex executor.Execution, detach bool) error {
	if detach {
		return e.print(ex, func(w io.Writer) {
			fmt.Fprintf(w, "Execution %d queued on %s: follow it with dbfleet exec show %d --watch\n", ex.ID, execWhere(ex), ex.ID)
		})
	}
	ex, err := e.watch(cmd, ex, time.Second/2)
	if err != nil {
		return err
	}
	if err := e.print(ex, func(w io.Writer) { execDetail(w, ex) }); err != nil {
		return err
	}
	return execExit(ex)
}

// execExit is exit status 1 unless the execution succeeded.
func execExit(ex executor.Execution) error {
	if ex.State == executor.StateDone {
		return nil
	}
	msg := fmt.Sprintf("execution %d is %s", ex.ID, ex.State)
	if ex.Error != "" {
		msg += ": " + ex.Error
	}
	return exitError{code: 1, err: errors.New(msg)}
}

// watch polls until the execution ends, printing each statement's
// outcome and throttling changes to stderr.
func (e *env) watch(cmd *cobra.Command, ex executor.Execution, every time.Duration) (executor.Execution, error) {
	id := strconv.FormatInt(int64(ex.ID), 10)
	seen := map[int]string{}
	throttle := ""
	for {
		for _, s := range ex.Statements {
			key := s.State + "\x00" + s.Note
			if seen[s.Seq] == key || s.State == executor.StatePending {
				continue
			}
			seen[s.Seq] = key
			line := fmt.Sprintf("[%d/%d] %-8s line %d: %s", s.Seq, len(ex.Statements), s.State, s.Line, execSnippet(s.SQL, 50))
			if s.Note != "" {
				line += " (" + s.Note + ")"
			}
			if s.Error != "" {
				line += ": " + s.Error
			}
			fmt.Fprintln(e.stderr, line)
		}
		if ex.Throttle != throttle {
			throttle = ex.Throttle
			if throttle != "" {
				fmt.Fprintf(e.stderr, "paused: %s\n", throttle)
			} else {
				fmt.Fprintln(e.stderr, "resumed")
			}
		}
		if executor.Terminal(ex.State) {
			return ex, nil
		}
		select {
		case <-cmd.Context().Done():
			return ex, exitError{code: 1, err: fmt.Errorf("stopped watching execution %d (%s); it goes on on the server", ex.ID, ex.State)}
		case <-time.After(every):
		}
		var err error
		if ex, err = e.getExecution(cmd, id); err != nil {
			if errors.Is(cmd.Context().Err(), context.Canceled) {
				return ex, exitError{code: 1, err: fmt.Errorf("stopped watching execution %s; it goes on on the server", id)}
			}
			return ex, err
		}
	}
}

func execWhere(ex executor.Execution) string {
	if ex.Database != "" {
		return ex.Instance + "/" + ex.Database
	}
	return ex.Instance
}

func execSnippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func execDuration(ex executor.Execution) string {
	if ex.StartedAt.IsZero() || ex.FinishedAt.IsZero() {
		return "-"
	}
	return ex.FinishedAt.Sub(ex.StartedAt).Round(time.Millisecond).String()
}

// execDetail prints an execution and its statements.
func execDetail(w io.Writer, ex executor.Execution) {
	kind := "Execution"
	if ex.DryRun {
		kind = "Dry run"
	}
	fmt.Fprintf(w, "%s %d on %s: %s (%d/%d statements, %d rows, %s)\n", kind, ex.ID, execWhere(ex), ex.State, ex.Done, ex.Total, ex.RowsAffected, execDuration(ex))
	if ex.RollbackOf != 0 {
		fmt.Fprintf(w, "Rolls back execution %d.\n", ex.RollbackOf)
	}
	if ex.Throttle != "" {
		fmt.Fprintf(w, "Paused: %s\n", ex.Throttle)
	}
	if ex.Error != "" {
		fmt.Fprintf(w, "Error: %s\n", ex.Error)
	}
	fmt.Fprintln(w)
	if ex.DryRun {
		row(w, "#", "LINE", "STATEMENT", "EST.ROWS", "CHUNKS", "ALGORITHM", "LOCK", "ROLLBACK")
		for _, s := range ex.Statements {
			chunks := ""
			if s.Plan.Chunked {
				chunks = fmt.Sprintf("of %d", s.Plan.ChunkSize)
			}
			est := ""
			if s.Plan.EstimatedRows > 0 {
				est = strconv.FormatInt(s.Plan.EstimatedRows, 10)
			}
			row(w, s.Seq, s.Line, execSnippet(s.SQL, 50), est, chunks, s.Plan.Algorithm, execSnippet(s.Plan.Lock, 40), execSnippet(s.Plan.Rollback, 50))
		}
		return
	}
	row(w, "#", "LINE", "STATE", "ROWS", "TIME", "STATEMENT", "NOTE")
	for _, s := range ex.Statements {
		note := s.Note
		if s.Error != "" {
			note = "error: " + s.Error
		}
		took := ""
		if s.Duration > 0 {
			took = s.Duration.Round(time.Millisecond).String()
		}
		row(w, s.Seq, s.Line, s.State, s.RowsAffected, took, execSnippet(s.SQL, 50), execSnippet(note, 140))
	}
	if !ex.DryRun && ex.Done > 0 {
		fmt.Fprintf(w, "\nUndo: dbfleet exec rollback %d (--print shows the SQL)\n", ex.ID)
	}
}

func (e *env) execListCmd() *cobra.Command {
	var instance, state, ref, user string
	var limit int
	c := &cobra.Command{
		Use:   "list",
		Short: "List executions, newest first (yours only without sql.execute)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"instance": instance, "state": state, "ref": ref, "requested_by": user} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			var out []executor.Execution
			if err := e.call(cmd, "GET", "/api/v1/executions?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			return e.print(out, func(w io.Writer) {
				row(w, "ID", "INSTANCE", "STATE", "STATEMENTS", "ROWS", "BY", "CREATED", "TOOK", "REF")
				for _, ex := range out {
					state := ex.State
					if ex.DryRun {
						state += " (dry run)"
					}
					if ex.RollbackOf != 0 {
						state += fmt.Sprintf(" (rollback of %d)", ex.RollbackOf)
					}
					row(w, ex.ID, execWhere(ex), state, fmt.Sprintf("%d/%d", ex.Done, ex.Total), ex.RowsAffected, ex.RequestedBy, ago(ex.CreatedAt), execDuration(ex), ex.Ref)
				}
			})
		},
	}
	c.Flags().StringVar(&instance, "instance", "", "only executions on this instance")
	c.Flags().StringVar(&state, "state", "", "only executions in this state (queued, running, done, failed, cancelled, in_doubt)")
	c.Flags().StringVar(&ref, "ref", "", "only executions with this reference")
	c.Flags().StringVar(&user, "user", "", "only executions requested by this user")
	c.Flags().IntVar(&limit, "limit", 0, "at most this many (default 100)")
	return c
}

func (e *env) execShowCmd() *cobra.Command {
	var watch, sql bool
	c := &cobra.Command{
		Use:   "show ID [--watch]",
		Short: "Show an execution: its statements, their outcome and timing, and how each can be undone",
		Args:  oneExecution,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			ex, err := e.getExecution(cmd, args[0])
			if err != nil {
				return err
			}
			if watch {
				if ex, err = e.watch(cmd, ex, time.Second); err != nil {
					return err
				}
			}
			err = e.print(ex, func(w io.Writer) {
				execDetail(w, ex)
				if sql {
					fmt.Fprintf(w, "\n%s\n", ex.SQL)
				}
			})
			if err != nil || !watch {
				return err
			}
			return execExit(ex)
		},
	}
	c.Flags().BoolVar(&watch, "watch", false, "follow it until it ends (exit 1 unless it succeeded)")
	c.Flags().BoolVar(&sql, "sql", false, "also print the script")
	return c
}

func (e *env) execRollbackCmd() *cobra.Command {
	var x execFlags
	var print bool
	c := &cobra.Command{
		Use:   "rollback ID [--dry-run] [--print]",
		Short: "Undo an execution: run its rollback script (before-images, reverse DDL) as a new execution",
		Long: `Run the rollback of execution ID as a new execution on the same instance:
the rows its UPDATE, DELETE and INSERT statements changed are put back from
their before-images, newest first, and its DDL is reversed where a reverse
is defined (ADD COLUMN -> DROP COLUMN, CREATE -> DROP, RENAME back).
--print only prints the rollback SQL, to review it or submit it as a ticket.`,
		Args: oneExecution,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			if print {
				var rb executor.RollbackScript
				if err := e.call(cmd, "GET", "/api/v1/executions/"+args[0]+"/rollback", nil, &rb); err != nil {
					return err
				}
				return e.print(rb, func(w io.Writer) {
					for _, n := range rb.Notes {
						fmt.Fprintf(w, "-- NOTE: %s\n", n)
					}
					if rb.SQL == "" {
						fmt.Fprintf(w, "-- execution %d committed nothing that can be undone\n", rb.Execution)
					}
					io.WriteString(w, rb.SQL)
				})
			}
			o, err := x.options(cmd.Flags())
			if err != nil {
				return err
			}
			var ex executor.Execution
			if err := e.call(cmd, "POST", "/api/v1/executions/"+args[0]+"/rollback", executor.RollbackRequest{Options: o}, &ex); err != nil {
				return err
			}
			return e.follow(cmd, ex, x.detach)
		},
	}
	x.add(c.Flags())
	c.Flags().BoolVar(&print, "print", false, "print the rollback SQL instead of running it")
	return c
}

func (e *env) execCancelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel an execution (a running one stops at its next statement or chunk)",
		Args:  oneExecution,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var ex executor.Execution
			if err := e.call(cmd, "POST", "/api/v1/executions/"+args[0]+"/cancel", nil, &ex); err != nil {
				return err
			}
			return e.print(ex, func(w io.Writer) {
				if ex.State == executor.StateCancelled {
					fmt.Fprintf(w, "Execution %d cancelled.\n", ex.ID)
				} else {
					fmt.Fprintf(w, "Execution %d stops at its next statement or chunk.\n", ex.ID)
				}
			})
		},
	}
}

func (e *env) execResumeCmd() *cobra.Command {
	var inDoubt string
	var detach bool
	c := &cobra.Command{
		Use:   "resume ID [--in-doubt done|rerun]",
		Short: "Resume a failed, cancelled or in-doubt execution after its last completed statement or chunk",
		Long: `Resume execution ID after its last completed statement or chunk. A
statement the server was running when it stopped is "in doubt": look at
the database, then say whether it took effect (--in-doubt done: go on
after it) or not (--in-doubt rerun: run it again).`,
		Args: oneExecution,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			switch inDoubt {
			case "", "done", "rerun":
			default:
				return usageError{fmt.Errorf("--in-doubt %q: want done or rerun", inDoubt)}
			}
			var ex executor.Execution
			if err := e.call(cmd, "POST", "/api/v1/executions/"+args[0]+"/resume", api.ExecResume{InDoubt: executor.InDoubt(inDoubt)}, &ex); err != nil {
				return err
			}
			return e.follow(cmd, ex, detach)
		},
	}
	c.Flags().StringVar(&inDoubt, "in-doubt", "", "for a statement in doubt: done (it took effect) or rerun (it did not)")
	c.Flags().BoolVar(&detach, "detach", false, "return at once instead of following it")
	return c
}
