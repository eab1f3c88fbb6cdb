package verify

import (
	"context"

	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// sessioner is what engine adapters that can pin a session offer.
type sessioner interface {
	Session(ctx context.Context) (engine.Conn, error)
}

// node is one connected instance.
type node struct {
	name string
	conn engine.Conn
}

// runner executes one run.
type runner struct {
	s        *Service
	run      Run
	opts     Options
	log      *slog.Logger
	primary  node
	replicas []node
	spent    spent
	// win is the open sync window, shared by the tables checked in it.
	win *window
	// hash is the row hash every node can compute (HashMD5 when one has
	// no CRC32C).
	hash string
}

// spent is where a table's check spent its time, for the log.
type spent struct {
	sync, bounds, checksum, rows, save time.Duration
	windows, chunks                    int
}

// Execute runs (or resumes) a run: pass 1 checks every table; with a
// repair mode, the differing rows are fixed and the tables that differed
// are checked again (pass 2). A run interrupted continues after the last
// chunk it recorded.
func (s *Service) Execute(ctx context.Context, id int64) error {
	st := store{s.db}
	run, err := st.getRun(ctx, id, false)
	if err != nil {
		return err
	}
	if run.State == StateDone || run.State == StateFailed {
		return nil
	}
	if err := st.setRun(ctx, id, StateRunning, ""); err != nil {
		return err
	}
	r := &runner{s: s, run: run, opts: run.Options.withDefaults(), log: s.log.With("run", id, "cluster", run.Cluster)}
	err = r.execute(ctx)
	r.close()
	if ctx.Err() != nil {
		// Stopped (shutdown, lost lease): the job runs again and resumes.
		return ctx.Err()
	}
	state, msg := StateDone, ""
	if err != nil {
		state, msg = StateFailed, err.Error()
		r.log.Warn("verify run failed", "err", err)
	}
	if serr := st.setRun(context.WithoutCancel(ctx), id, state, msg); serr != nil {
		return serr
	}
	return nil
}

func (r *runner) close() {
	if r.primary.conn != nil {
		r.primary.conn.Close()
	}
	for _, n := range r.replicas {
		n.conn.Close()
	}
}

func (r *runner) connect(ctx context.Context) error {
	c, err := r.s.topology(ctx, r.run.Cluster)
	if err != nil {
		return err
	}
	conn, err := r.s.inv.Connect(ctx, c.primary, "")
	if err != nil {
		return fmt.Errorf("primary %s: %w", c.primary, err)
	}
	r.primary = node{name: c.primary, conn: conn}
	if _, ok := conn.(sessioner); !ok {
		return errkind.New(errkind.Invalid, "primary %s: its adapter cannot hold a session", c.primary)
	}
	r.hash = HashCRC64
	if err := r.pickHash(ctx, r.primary); err != nil {
		return err
	}
	for _, name := range c.replicas {
		conn, err := r.s.inv.Connect(ctx, name, "")
		if err != nil {
			return fmt.Errorf("replica %s: %w", name, err)
		}
		r.replicas = append(r.replicas, node{name: name, conn: conn})
		if err := r.pickHash(ctx, r.replicas[len(r.replicas)-1]); err != nil {
			return err
		}
		rep, err := conn.Replication(ctx)
		if err != nil {
			return fmt.Errorf("replica %s: replication status: %w", name, err)
		}
		if rep.Source == nil {
			return errkind.New(errkind.Invalid, "replica %s follows no source: it cannot be compared at the primary's GTID", name)
		}
		if !rep.Source.IORunning || !rep.Source.SQLRunning {
			// A previous run may have been killed inside a sync window:
			// a replica stopped without an error is restarted.
			if rep.Source.LastError != "" {
				return errkind.New(errkind.Unavailable, "replica %s is not replicating (io=%t sql=%t): %s", name, rep.Source.IORunning, rep.Source.SQLRunning, rep.Source.LastError)
			}
			if _, err := conn.Exec(ctx, "START SLAVE"); err != nil {
				return fmt.Errorf("replica %s: restart replication: %w", name, err)
			}
		}
		if strings.EqualFold(rep.Source.UsingGTID, "no") {
			return errkind.New(errkind.Invalid, "replica %s does not replicate with GTIDs (Using_Gtid=No): it cannot be stopped at the primary's GTID", name)
		}
	}
	return nil
}

// pickHash falls back to MD5 when n is older than MariaDB 10.8 (no
// CRC32C).
func (r *runner) pickHash(ctx context.Context, n node) error {
	v, err := n.conn.Version(ctx)
	if err != nil {
		return fmt.Errorf("%s: version: %w", n.name, err)
	}
	var major, minor int
	fmt.Sscanf(v, "%d.%d", &major, &minor)
	if major < 10 || (major == 10 && minor < 8) {
		r.hash = HashMD5
	}
	return nil
}

func (r *runner) execute(ctx context.Context) error {
	defer r.endWindow(ctx)
	if err := r.connect(ctx); err != nil {
		return err
	}
	st := store{r.s.db}
	for pass := 1; pass <= 2; pass++ {
		tables, err := st.tables(ctx, r.run.ID)
		if err != nil {
			return err
		}
		var failures []string
		for _, ts := range tables {
			if ts.Pass != pass || ts.State != TablePending {
				continue
			}
			t, err := r.describe(ctx, ts)
			if err == nil {
				err = r.checkTable(ctx, pass, t)
			}
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if errkind.Of(err) == errkind.Unavailable {
					return err // a node is gone: stop, the job retries and resumes
				}
				failures = append(failures, fmt.Sprintf("%s.%s: %v", ts.Schema, ts.Table, err))
				if serr := st.setTable(ctx, r.run.ID, pass, Table{Schema: ts.Schema, Name: ts.Table}, TableFailed, err.Error()); serr != nil {
					return serr
				}
				continue
			}
			if err := st.setTable(ctx, r.run.ID, pass, t, TableDone, ""); err != nil {
				return err
			}
		}
		r.endWindow(ctx) // replication runs again before any repair
		if len(failures) > 0 {
			return fmt.Errorf("%d table(s) could not be checked: %s", len(failures), strings.Join(failures, "; "))
		}
		if pass == 2 || r.opts.Repair == "" {
			return nil
		}
		again, err := r.repair(ctx)
		if err != nil {
			return err
		}
		if len(again) == 0 {
			return nil
		}
		for _, t := range again {
			if _, found := find(tables, 2, t); found {
				continue // resumed run: pass 2 already recorded
			}
			if err := st.addTable(ctx, r.s.db, r.run.ID, 2, discovered{Table: t}, TablePending, ""); err != nil {
				return fmt.Errorf("verify run %d: queue re-check of %s: %w", r.run.ID, t, err)
			}
		}
	}
	return nil
}

func find(tables []TableState, pass int, t Table) (TableState, bool) {
	for _, ts := range tables {
		if ts.Pass == pass && ts.Schema == t.Schema && ts.Table == t.Name {
			return ts, true
		}
	}
	return TableState{}, false
}

// describe reads a table's columns and key again (they may have changed
// since the run was queued).
func (r *runner) describe(ctx context.Context, ts TableState) (Table, error) {
	ds, err := discover(ctx, r.primary.conn, ts.Schema, ts.Table)
	if err != nil {
		return Table{}, err
	}
	return ds[0].Table, nil
}

// window is a sync point: the primary's snapshot transaction and the GTID
// of that snapshot, at which every replica stands still.
type window struct {
	sess  engine.Conn
	gtid  string
	began time.Time
}

var gtidList = regexp.MustCompile(`^\d+-\d+-\d+(,\d+-\d+-\d+)*$`)

// sync stops the replicas, opens a consistent snapshot on the primary and
// lets every replica apply up to the snapshot's GTID. The replicas are
// stopped before the snapshot: START SLAVE UNTIL cannot go back. (MariaDB
// refuses UNTIL master_gtid_pos while the IO thread runs, so both threads
// stop.)
func (r *runner) sync(ctx context.Context) (*window, error) {
	for _, n := range r.replicas {
		if _, err := n.conn.Exec(ctx, "STOP SLAVE"); err != nil {
			r.resume(ctx)
			return nil, fmt.Errorf("replica %s: stop replication: %w", n.name, err)
		}
	}
	sess, err := r.primary.conn.(sessioner).Session(ctx)
	if err != nil {
		r.resume(ctx)
		return nil, fmt.Errorf("primary %s: %w", r.primary.name, err)
	}
	w := &window{sess: sess, began: time.Now()}
	fail := func(err error) (*window, error) {
		r.release(ctx, w)
		return nil, err
	}
	if _, err := sess.Exec(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT"); err != nil {
		return fail(fmt.Errorf("primary %s: snapshot: %w", r.primary.name, err))
	}
	status, _, err := sess.Query(ctx, 0, "SHOW SESSION STATUS LIKE 'binlog_snapshot_%'")
	if err != nil {
		return fail(fmt.Errorf("primary %s: snapshot position: %w", r.primary.name, err))
	}
	var file string
	var pos int64
	for _, row := range status.Values {
		switch engine.String(row[0]) {
		case "Binlog_snapshot_file":
			file = engine.String(row[1])
		case "Binlog_snapshot_position":
			pos = num(row[1])
		}
	}
	if file == "" {
		return fail(errkind.New(errkind.Invalid, "primary %s has no binary log (log_bin off): replicas cannot be synchronised with it", r.primary.name))
	}
	g, _, err := sess.Query(ctx, 1, "SELECT BINLOG_GTID_POS(?, ?)", file, pos)
	if err != nil {
		return fail(fmt.Errorf("primary %s: GTID of the snapshot: %w", r.primary.name, err))
	}
	if len(g.Values) == 1 {
		w.gtid = engine.String(g.Values[0][0])
	}
	if w.gtid == "" {
		return w, nil // no GTID yet: nothing was ever replicated past the stop
	}
	if !gtidList.MatchString(w.gtid) {
		return fail(fmt.Errorf("primary %s: unexpected snapshot GTID %q", r.primary.name, w.gtid))
	}
	until := "START SLAVE UNTIL master_gtid_pos = " + sql.QuoteString(sql.MariaDB, w.gtid)
	var started []node
	for _, n := range r.replicas {
		// A replica that stopped exactly at G stays stopped: started with
		// UNTIL a position it already reached, its applier would only
		// stop after the next event, past G.
		pos, _, err := n.conn.Query(ctx, 1, "SELECT @@gtid_slave_pos")
		if err != nil {
			return fail(fmt.Errorf("replica %s: position: %w", n.name, err))
		}
		if contains(engine.String(pos.Values[0][0]), w.gtid) {
			continue
		}
		if _, err := n.conn.Exec(ctx, until); err != nil {
			return fail(fmt.Errorf("replica %s: run up to %s: %w", n.name, w.gtid, err))
		}
		started = append(started, n)
	}
	for _, n := range started {
		if err := r.waitUntil(ctx, n, w.gtid); err != nil {
			return fail(err)
		}
	}
	return w, nil
}

// waitUntil waits for a replica's applier to reach gtid and stop there.
func (r *runner) waitUntil(ctx context.Context, n node, gtid string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		rows, _, err := n.conn.Query(ctx, 0, "SHOW SLAVE STATUS")
		if err != nil {
			return fmt.Errorf("replica %s: replication status: %w", n.name, err)
		}
		st := map[string]string{}
		if len(rows.Values) == 1 {
			for i, c := range rows.Columns {
				st[c] = engine.String(rows.Values[0][i])
			}
		}
		if st["Slave_SQL_Running"] == "No" {
			if st["Last_SQL_Error"] != "" {
				return errkind.New(errkind.Unavailable, "replica %s: applier stopped with an error before %s: %s", n.name, gtid, st["Last_SQL_Error"])
			}
			pos, _, err := n.conn.Query(ctx, 1, "SELECT @@gtid_slave_pos")
			if err != nil {
				return fmt.Errorf("replica %s: position: %w", n.name, err)
			}
			if !contains(engine.String(pos.Values[0][0]), gtid) {
				return errkind.New(errkind.Unavailable, "replica %s stopped at %s, short of the primary's %s", n.name, engine.String(pos.Values[0][0]), gtid)
			}
			return nil
		}
		// Reached G but still running (UNTIL a position the applier
		// already held stops only after one more event): stop it here, and
		// accept it only if it did not go past G.
		if pos, _, err := n.conn.Query(ctx, 1, "SELECT @@gtid_slave_pos"); err == nil && contains(engine.String(pos.Values[0][0]), gtid) {
			if _, err := n.conn.Exec(ctx, "STOP SLAVE"); err != nil {
				return fmt.Errorf("replica %s: stop at %s: %w", n.name, gtid, err)
			}
			pos, _, err := n.conn.Query(ctx, 1, "SELECT @@gtid_slave_pos")
			if err != nil {
				return fmt.Errorf("replica %s: position: %w", n.name, err)
			}
			if at := engine.String(pos.Values[0][0]); beyond(at, gtid) {
				return errkind.New(errkind.Unavailable, "replica %s went past the primary's GTID %s (at %s): try again", n.name, gtid, at)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return errkind.New(errkind.Unavailable, "replica %s did not reach the primary's GTID %s within 60s (io=%s %s)", n.name, gtid, st["Slave_IO_Running"], st["Last_IO_Error"])
		}
		if err := r.s.sleep(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
}

// beyond reports whether position have is past want in a domain of want.
func beyond(have, want string) bool {
	at := seqs(have)
	for d, n := range seqs(want) {
		if at[d] > n {
			return true
		}
	}
	return false
}

func seqs(pos string) map[string]uint64 {
	out := map[string]uint64{}
	for _, g := range strings.Split(pos, ",") {
		if f := strings.Split(strings.TrimSpace(g), "-"); len(f) == 3 {
			var n uint64
			fmt.Sscan(f[2], &n)
			out[f[0]] = n
		}
	}
	return out
}

// contains reports whether GTID position have includes every domain of
// want at least as far.
func contains(have, want string) bool {
	at := seqs(have)
	for d, n := range seqs(want) {
		if at[d] < n {
			return false
		}
	}
	return true
}

// release ends the snapshot and restarts replication, also when ctx is
// done: a replica is never left stopped on purpose.
func (r *runner) release(ctx context.Context, w *window) {
	if w != nil && w.sess != nil {
		w.sess.Close() // ends the snapshot transaction
	}
	r.resume(ctx)
}

func (r *runner) resume(ctx context.Context) {
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, n := range r.replicas {
		// STOP first: an applier started with UNTIL and still running
		// (its position reached before any event came) keeps the UNTIL
		// condition and would stop after the next event.
		if _, err := n.conn.Exec(bg, "STOP SLAVE"); err != nil {
			r.log.Error("restart replication after a sync window", "replica", n.name, "err", err)
		}
		if _, err := n.conn.Exec(bg, "START SLAVE"); err != nil {
			r.log.Error("restart replication after a sync window", "replica", n.name, "err", err)
		}
	}
}

// throttle waits until every replica has applied what the primary had
// committed MaxLag ago (MASTER_GTID_WAIT) and the primary runs no more
// than MaxThreadsRunning threads.
func (r *runner) throttle(ctx context.Context) error {
	maxLag := r.opts.lag()
	for waited := time.Duration(0); ; {
		why := ""
		st, err := r.primary.conn.Status(ctx)
		if err != nil {
			return fmt.Errorf("primary %s: status: %w", r.primary.name, err)
		}
		if n := num(st["Threads_running"]); n > int64(r.opts.MaxThreadsRunning) {
			why = fmt.Sprintf("primary runs %d threads (limit %d)", n, r.opts.MaxThreadsRunning)
		}
		if why == "" {
			pos, _, err := r.primary.conn.Query(ctx, 1, "SELECT @@gtid_binlog_pos")
			if err != nil {
				return fmt.Errorf("primary %s: position: %w", r.primary.name, err)
			}
			g := engine.String(pos.Values[0][0])
			for _, n := range r.replicas {
				if g == "" {
					break
				}
				res, _, err := n.conn.Query(ctx, 1, "SELECT MASTER_GTID_WAIT(?, ?)", g, maxLag.Seconds())
				if err != nil {
					return fmt.Errorf("replica %s: wait for %s: %w", n.name, g, err)
				}
				if num(res.Values[0][0]) != 0 {
					why = fmt.Sprintf("replica %s lags more than %s", n.name, maxLag)
					break
				}
			}
		}
		if why == "" {
			return nil
		}
		if waited > 10*time.Minute {
			return errkind.New(errkind.Unavailable, "paused for more than 10 minutes: %s", why)
		}
		r.log.Info("verify paused", "why", why)
		if err := r.s.sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
		waited += 500 * time.Millisecond
	}
}

// checkTable checks one table in one pass, from where it stopped.
func (r *runner) checkTable(ctx context.Context, pass int, t Table) error {
	plan, err := NewPlan(t)
	if err != nil {
		return err
	}
	plan.Hash = r.hash
	st := store{r.s.db}
	idx, lower, found, err := st.lastChunk(ctx, r.run.ID, pass, t)
	if err != nil {
		return err
	}
	if found && lower == nil {
		return nil // the last chunk reached the end of the table
	}
	if found {
		idx++
	}
	hold := r.opts.lag() / 2
	step := int64(r.opts.ChunkSize)
	r.spent = spent{}
	began := time.Now()
	defer func() {
		sp := r.spent
		r.log.Info("table checked", "table", t.String(), "pass", pass, "took", time.Since(began).Round(time.Millisecond), "windows", sp.windows, "chunks", sp.chunks,
			"sync", sp.sync.Round(time.Millisecond), "bounds", sp.bounds.Round(time.Millisecond), "checksum", sp.checksum.Round(time.Millisecond),
			"rows", sp.rows.Round(time.Millisecond), "save", sp.save.Round(time.Millisecond))
	}()
	for {
		w, err := r.window(ctx)
		if err != nil {
			return err
		}
		done := false
		// A one-column integer key is chunked by value: no query for the
		// bounds, the step adapting to the keys' density.
		intRange, minKey, maxKey, err := r.intRange(ctx, w, plan)
		if err != nil {
			r.endWindow(ctx)
			return err
		}
		for !done && time.Since(w.began) < hold {
			c := Chunk{Index: idx, Lower: lower}
			t0 := time.Now()
			if intRange {
				c.Upper, err = NextIntUpper(lower, minKey, maxKey, step)
			} else {
				c.Upper, err = r.nextUpper(ctx, w, plan, lower)
			}
			r.spent.bounds += time.Since(t0)
			if err != nil {
				r.endWindow(ctx)
				return err
			}
			results, err := r.compare(ctx, w, plan, c)
			if err != nil {
				r.endWindow(ctx)
				return err
			}
			t0 = time.Now()
			if err := st.saveChunk(ctx, r.run.ID, pass, t, c, w.gtid, results); err != nil {
				r.endWindow(ctx)
				return err
			}
			r.spent.save += time.Since(t0)
			r.spent.chunks++
			if intRange && len(results) > 0 {
				step = Adapt(step, results[0].primaryRows, r.opts.ChunkSize)
			}
			lower, idx, done = c.Upper, idx+1, c.Upper == nil
		}
		if done {
			return nil // the window stays open for the next table
		}
	}
}

// window returns the open sync window while it is younger than half of
// MaxLag (tables share it), else ends it, waits for the replicas to catch
// up (throttle) and opens the next.
func (r *runner) window(ctx context.Context) (*window, error) {
	if r.win != nil && time.Since(r.win.began) < r.opts.lag()/2 {
		return r.win, nil
	}
	r.endWindow(ctx)
	if err := r.throttle(ctx); err != nil {
		return nil, err
	}
	t0 := time.Now()
	w, err := r.sync(ctx)
	r.spent.sync += time.Since(t0)
	r.spent.windows++
	if err != nil {
		return nil, err
	}
	r.win = w
	return w, nil
}

// endWindow ends the open window, if any, and restarts replication.
func (r *runner) endWindow(ctx context.Context) {
	if r.win == nil {
		return
	}
	t0 := time.Now()
	r.release(ctx, r.win)
	r.spent.sync += time.Since(t0)
	r.win = nil
}

// intRange reads the smallest and largest key in the snapshot when the
// key is one integer column; ok is false otherwise (or for an empty table).
func (r *runner) intRange(ctx context.Context, w *window, plan *Plan) (ok bool, minKey, maxKey int64, err error) {
	if len(plan.T.Key) != 1 {
		return false, 0, 0, nil
	}
	q, err := plan.KeyRange()
	if err != nil {
		return false, 0, 0, err
	}
	rows, _, err := w.sess.Query(ctx, 1, q)
	if err != nil {
		return false, 0, 0, fmt.Errorf("primary %s: key range of %s: %w", r.primary.name, plan.T, err)
	}
	lo, ok1 := rows.Values[0][0].(int64)
	hi, ok2 := rows.Values[0][1].(int64)
	return ok1 && ok2, lo, hi, nil
}

// nextUpper reads the key of the chunk-size-th row after lower in the
// snapshot; nil when the rest of the table fits in the chunk.
func (r *runner) nextUpper(ctx context.Context, w *window, plan *Plan, lower Key) (Key, error) {
	q, args, err := plan.NextUpper(lower, r.opts.ChunkSize)
	if err != nil {
		return nil, err
	}
	up, _, err := w.sess.Query(ctx, 1, q, args...)
	if err != nil {
		return nil, fmt.Errorf("primary %s: bounds after %s: %w", r.primary.name, lower, err)
	}
	if len(up.Values) == 1 {
		return KeyOf(up.Values[0]), nil
	}
	return nil, nil
}

// compare checksums a chunk on the primary (in the snapshot) and on every
// replica at once, and compares the rows of a chunk that differs.
func (r *runner) compare(ctx context.Context, w *window, plan *Plan, c Chunk) ([]chunkResult, error) {
	q, args, err := plan.Checksum(c)
	if err != nil {
		return nil, err
	}
	results := make([]chunkResult, len(r.replicas))
	var wg sync.WaitGroup
	for i, n := range r.replicas {
		wg.Go(func() {
			results[i].replica = n.name
			rows, _, err := n.conn.Query(ctx, 1, q, args...)
			if err != nil {
				results[i].replicaError = fmt.Errorf("replica %s: checksum of chunk %d of %s: %w", n.name, c.Index, plan.T, err)
				return
			}
			results[i].replicaRows, results[i].replicaSum = num(rows.Values[0][0]), engine.String(rows.Values[0][1])
		})
	}
	t0 := time.Now()
	prow, _, err := w.sess.Query(ctx, 1, q, args...)
	wg.Wait()
	r.spent.checksum += time.Since(t0)
	t0 = time.Now()
	defer func() { r.spent.rows += time.Since(t0) }()
	if err != nil {
		return nil, fmt.Errorf("primary %s: checksum of chunk %d of %s: %w", r.primary.name, c.Index, plan.T, err)
	}
	pRows, pSum := num(prow.Values[0][0]), engine.String(prow.Values[0][1])
	var primaryHashes []KeyHash
	for i := range results {
		res := &results[i]
		if res.replicaError != nil {
			return nil, res.replicaError
		}
		res.primaryRows, res.primarySum = pRows, pSum
		if !res.differs() {
			continue
		}
		hq, hargs, err := plan.RowHashes(c)
		if err != nil {
			return nil, err
		}
		if primaryHashes == nil {
			if primaryHashes, err = keyHashes(ctx, w.sess, hq, hargs, len(plan.T.Key)); err != nil {
				return nil, fmt.Errorf("primary %s: rows of chunk %d of %s: %w", r.primary.name, c.Index, plan.T, err)
			}
		}
		rh, err := keyHashes(ctx, r.replicas[i].conn, hq, hargs, len(plan.T.Key))
		if err != nil {
			return nil, fmt.Errorf("replica %s: rows of chunk %d of %s: %w", res.replica, c.Index, plan.T, err)
		}
		res.rows = DiffRows(primaryHashes, rh)
	}
	return results, nil
}

func keyHashes(ctx context.Context, conn engine.Conn, q string, args []any, keyCols int) ([]KeyHash, error) {
	rows, _, err := conn.Query(ctx, 0, q, args...)
	if err != nil {
		return nil, err
	}
	out := make([]KeyHash, 0, len(rows.Values))
	for _, v := range rows.Values {
		out = append(out, KeyHash{Key: KeyOf(v[:keyCols]), Hash: engine.String(v[keyCols])})
	}
	return out, nil
}

// repair fixes the differing rows of pass 1 and returns the tables to
// check again.
func (r *runner) repair(ctx context.Context) ([]Table, error) {
	st := store{r.s.db}
	rows, err := st.rows(ctx, r.run.ID, 1)
	if err != nil {
		return nil, err
	}
	var todo []RowResult
	var tables []Table
	seen := map[string]bool{}
	for _, row := range rows {
		t := Table{Schema: row.Schema, Name: row.Table}
		if !seen[t.String()] {
			seen[t.String()] = true
			tables = append(tables, t)
		}
		if !row.Repaired && row.RepairError == "" {
			todo = append(todo, row)
		}
	}
	if len(todo) == 0 {
		return tables, nil
	}
	plans := map[string]*Plan{}
	planOf := func(row RowResult) (*Plan, error) {
		k := row.Schema + "." + row.Table
		if p, ok := plans[k]; ok {
			return p, nil
		}
		t, err := r.describe(ctx, TableState{Schema: row.Schema, Table: row.Table})
		if err != nil {
			return nil, err
		}
		p, err := NewPlan(t)
		plans[k] = p
		return p, err
	}
	switch r.opts.Repair {
	case RepairPrimary:
		err = r.repairOnPrimary(ctx, todo, planOf)
	case RepairReplica:
		err = r.repairOnReplicas(ctx, todo, planOf)
	}
	return tables, err
}

// repairOnPrimary writes each row again on the primary, logged as a
// statement so that the replicas execute it on their own data: REPLACE
// with the primary's values, or DELETE when the primary has no such row.
// The row is locked while it is read and written.
func (r *runner) repairOnPrimary(ctx context.Context, todo []RowResult, planOf func(RowResult) (*Plan, error)) error {
	sess, err := r.primary.conn.(sessioner).Session(ctx)
	if err != nil {
		return fmt.Errorf("primary %s: %w", r.primary.name, err)
	}
	defer sess.Close()
	if _, err := sess.Exec(ctx, "SET SESSION binlog_format = 'STATEMENT'"); err != nil {
		return fmt.Errorf("primary %s: repair needs binlog_format=STATEMENT for its session (SUPER or BINLOG ADMIN): %w", r.primary.name, err)
	}
	st := store{r.s.db}
	for _, row := range todo {
		plan, err := planOf(row)
		if err != nil {
			return err
		}
		msg := ""
		if err := r.fixRow(ctx, sess, sess, plan, row.Key, true); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			msg = err.Error()
		}
		if err := st.markRepaired(ctx, r.run.ID, row, msg); err != nil {
			return err
		}
	}
	return nil
}

// fixRow reads the row from src and writes it (or deletes it) on dst. With
// locking, src and dst are the same session and the read and the write are
// one transaction.
func (r *runner) fixRow(ctx context.Context, src, dst engine.Conn, plan *Plan, key Key, locking bool) (err error) {
	if locking {
		if _, err := dst.Exec(ctx, "START TRANSACTION"); err != nil {
			return err
		}
		defer func() {
			if err != nil {
				dst.Exec(context.WithoutCancel(ctx), "ROLLBACK")
				return
			}
			if _, err = dst.Exec(ctx, "COMMIT"); err != nil {
				dst.Exec(context.WithoutCancel(ctx), "ROLLBACK")
			}
		}()
	}
	q, args, err := plan.SelectRow(key, locking)
	if err != nil {
		return err
	}
	cur, _, err := src.Query(ctx, 1, q, args...)
	if err != nil {
		return fmt.Errorf("read %s %s: %w", plan.T, key, err)
	}
	if len(cur.Values) == 1 {
		q, args, err = plan.Replace(cur.Values[0])
	} else {
		q, args, err = plan.Delete(key)
	}
	if err != nil {
		return err
	}
	if _, err := dst.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("write %s %s: %w", plan.T, key, err)
	}
	return nil
}

// repairOnReplicas fixes each replica directly, binlog off, inside a sync
// window: the primary's snapshot and the replica stand at the same GTID,
// so the snapshot's row is what the replica must hold.
func (r *runner) repairOnReplicas(ctx context.Context, todo []RowResult, planOf func(RowResult) (*Plan, error)) error {
	if err := r.throttle(ctx); err != nil {
		return err
	}
	w, err := r.sync(ctx)
	if err != nil {
		return err
	}
	defer r.release(ctx, w)
	sessions := map[string]engine.Conn{}
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	st := store{r.s.db}
	for _, row := range todo {
		sess, ok := sessions[row.Replica]
		if !ok {
			var n *node
			for i := range r.replicas {
				if r.replicas[i].name == row.Replica {
					n = &r.replicas[i]
				}
			}
			if n == nil {
				return errkind.New(errkind.NotFound, "replica %s is no longer in cluster %s", row.Replica, r.run.Cluster)
			}
			sp, ok := n.conn.(sessioner)
			if !ok {
				return errkind.New(errkind.Invalid, "replica %s: its adapter cannot hold a session", n.name)
			}
			if sess, err = sp.Session(ctx); err != nil {
				return fmt.Errorf("replica %s: %w", n.name, err)
			}
			sessions[row.Replica] = sess
			if _, err := sess.Exec(ctx, "SET SESSION sql_log_bin = 0"); err != nil {
				return fmt.Errorf("replica %s: repair needs sql_log_bin=0 for its session: %w", n.name, err)
			}
		}
		plan, err := planOf(row)
		if err != nil {
			return err
		}
		msg := ""
		if err := r.fixRow(ctx, w.sess, sess, plan, row.Key, false); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			msg = err.Error()
		}
		if err := st.markRepaired(ctx, r.run.ID, row, msg); err != nil {
			return err
		}
	}
	return nil
}
