package cli

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/dbfleet/dbfleet/internal/verify"
)

func (e *env) verifyCmd() *cobra.Command {
	var opts verify.Options
	var maxLag time.Duration
	var repair, wait bool
	var repairOn string
	cmd := &cobra.Command{
		Use:   "verify CLUSTER",
		Short: "Compare every replica of a cluster with its primary at the same GTID, chunk by chunk, and name each differing row",
		Long: `Compare every replica of a MariaDB cluster with its primary, chunk by chunk on
the primary key, at the same GTID: the replicas stop, the primary opens a
consistent snapshot, the replicas run up to the snapshot's GTID
(START SLAVE UNTIL master_gtid_pos) and both sides checksum the same key
ranges. Lock-free and safe with ROW binary logs. Throttled on replica lag and
on the primary's running threads; an interrupted check resumes after its last
chunk. See docs/verify.md.

--repair fixes the differing rows (through the primary, so the fix
replicates; --repair-on replica writes on the replica with its binary log off)
and checks the tables again.

Without --no-wait the command shows progress and then the result; with it,
it prints the run's id for 'dbfleet verify show ID'.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("want exactly one cluster name, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			opts.MaxLag = maxLag.String()
			if repair || cmd.Flags().Changed("repair-on") {
				opts.Repair = repairOn
			}
			if err := opts.Validate(); err != nil {
				return usageError{err}
			}
			var run verify.Run
			if err := e.call(cmd, "POST", "/api/v1/verify", map[string]any{"cluster": args[0], "options": opts}, &run); err != nil {
				return err
			}
			if !wait {
				return e.print(run, func(w io.Writer) { fmt.Fprintf(w, "verify run %d queued: dbfleet verify show %d\n", run.ID, run.ID) })
			}
			return e.waitVerify(cmd, run.ID)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Database, "database", "", "check only this database")
	f.StringVar(&opts.Table, "table", "", "check only this table (needs --database)")
	f.IntVar(&opts.ChunkSize, "chunk-size", 1000, "rows per chunk")
	f.BoolVar(&repair, "repair", false, "fix the differing rows, then check those tables again")
	f.StringVar(&repairOn, "repair-on", verify.RepairPrimary, "where --repair writes: primary (replicates, needs binlog_format=STATEMENT for its session) or replica (sql_log_bin=0)")
	f.DurationVar(&maxLag, "max-lag", 2*time.Second, "replica lag limit: sync windows last at most half of it and wait until replicas are within it")
	f.IntVar(&opts.MaxThreadsRunning, "max-threads-running", 25, "pause while the primary runs more threads")
	f.BoolVar(&wait, "wait", true, "show progress and wait for the result (--wait=false: print the run id and return)")
	cmd.AddCommand(e.verifyShowCmd(), e.verifyListCmd())
	return cmd
}

// waitVerify shows a run's progress on stderr until it ends, then prints it.
func (e *env) waitVerify(cmd *cobra.Command, id int64) error {
	path := "/api/v1/verify/" + strconv.FormatInt(id, 10)
	last := ""
	for {
		var run verify.Run
		if err := e.call(cmd, "GET", path, nil, &run); err != nil {
			return err
		}
		if run.State == verify.StateDone || run.State == verify.StateFailed {
			if last != "" {
				fmt.Fprintln(e.stderr)
			}
			if err := e.printVerify(run); err != nil {
				return err
			}
			if run.State == verify.StateFailed {
				return exitError{code: 1, err: fmt.Errorf("verify run %d failed: %s", run.ID, run.Error)}
			}
			if n := remaining(run); n > 0 {
				return exitError{code: 2, err: fmt.Errorf("verify run %d: %d row(s) differ", run.ID, n)}
			}
			return nil
		}
		p := run.Progress
		pct := ""
		if p.EstRows > 0 {
			pct = fmt.Sprintf(" (~%d%%)", min(99, 100*p.RowsChecked/p.EstRows))
		}
		line := fmt.Sprintf("\rverify %d %s: tables %d/%d, %d chunks, %d rows%s, %d differing rows ", run.ID, run.State,
			p.TablesDone, p.Tables, p.Chunks, p.RowsChecked, pct, p.DiffRows)
		if line != last {
			fmt.Fprint(e.stderr, line)
			last = line
		}
		select {
		case <-cmd.Context().Done():
			return cmd.Context().Err()
		case <-time.After(time.Second):
		}
	}
}

// remaining is how many rows still differ: pass 1's when nothing was
// re-checked, else the re-check's.
func remaining(r verify.Run) int {
	if r.Progress.Rechecked {
		return r.Progress.RecheckDiffs
	}
	if r.Options.Repair != "" && r.Progress.DiffRows > 0 && r.Progress.Repaired == r.Progress.DiffRows {
		return 0
	}
	return r.Progress.DiffRows
}

func (e *env) printVerify(run verify.Run) error {
	return e.print(run, func(w io.Writer) {
		p := run.Progress
		fmt.Fprintf(w, "run\t%d\ncluster\t%s\nstate\t%s\n", run.ID, run.Cluster, run.State)
		if run.Error != "" {
			fmt.Fprintf(w, "error\t%s\n", run.Error)
		}
		fmt.Fprintf(w, "checked\t%d tables, %d chunks, %d rows\n", p.TablesDone, p.Chunks, p.RowsChecked)
		fmt.Fprintf(w, "differences\t%d chunks, %d rows\n", p.DiffChunks, p.DiffRows)
		if run.Options.Repair != "" {
			fmt.Fprintf(w, "repaired\t%d rows (on the %s)\n", p.Repaired, run.Options.Repair)
			if p.Rechecked {
				fmt.Fprintf(w, "re-check\t%d rows differ\n", p.RecheckDiffs)
			}
		}
		for _, t := range run.Tables {
			if t.State == verify.TableSkipped || t.State == verify.TableFailed {
				fmt.Fprintf(w, "table %s.%s\t%s: %s\n", t.Schema, t.Table, t.State, t.Error)
			}
		}
		if len(run.Chunks) > 0 {
			fmt.Fprintln(w)
			row(w, "PASS", "REPLICA", "TABLE", "CHUNK", "RANGE", "ROWS PRIMARY", "ROWS REPLICA", "GTID")
			for _, c := range run.Chunks {
				row(w, c.Pass, c.Replica, c.Schema+"."+c.Table, c.Index, chunkRange(c.Lower, c.Upper), c.PrimaryRows, c.ReplicaRows, c.GTID)
			}
		}
		if len(run.Rows) > 0 {
			fmt.Fprintln(w)
			row(w, "PASS", "REPLICA", "TABLE", "KEY", "DIFFERENCE", "REPAIRED")
			for _, r := range run.Rows {
				rep := ""
				switch {
				case r.Repaired:
					rep = "yes"
				case r.RepairError != "":
					rep = "failed: " + r.RepairError
				}
				row(w, r.Pass, r.Replica, r.Schema+"."+r.Table, r.Key.String(), r.Kind, rep)
			}
		}
	})
}

func chunkRange(lo, up verify.Key) string {
	l, u := "first", "last"
	if lo != nil {
		l = lo.String()
	}
	if up != nil {
		u = up.String()
	}
	return "(" + l + ", " + u + "]"
}

func (e *env) verifyShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a consistency check: progress, differing chunks and rows, repairs and re-check",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{errors.New("want exactly one verify run id")}
			}
			if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
				return usageError{fmt.Errorf("verify run id %q: want a number", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			var run verify.Run
			if err := e.call(cmd, "GET", "/api/v1/verify/"+args[0], nil, &run); err != nil {
				return err
			}
			return e.printVerify(run)
		},
	}
}

func (e *env) verifyListCmd() *cobra.Command {
	var cluster string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List consistency checks, newest first",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := e.checkOutput(); err != nil {
				return err
			}
			q := url.Values{}
			if cluster != "" {
				q.Set("cluster", cluster)
			}
			q.Set("limit", strconv.Itoa(limit))
			var runs []verify.Run
			if err := e.call(cmd, "GET", "/api/v1/verify?"+q.Encode(), nil, &runs); err != nil {
				return err
			}
			return e.print(runs, func(w io.Writer) {
				row(w, "ID", "CLUSTER", "STATE", "TABLES", "ROWS", "DIFF CHUNKS", "DIFF ROWS", "REPAIRED", "STARTED", "BY")
				for _, r := range runs {
					p := r.Progress
					by := r.RequestedBy
					if r.Schedule != "" {
						by = r.Schedule
					}
					row(w, r.ID, r.Cluster, r.State, fmt.Sprintf("%d/%d", p.TablesDone, p.Tables), p.RowsChecked, p.DiffChunks, p.DiffRows, p.Repaired, ago(r.StartedAt), by)
				}
			})
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "only this cluster's checks")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many runs")
	return cmd
}
