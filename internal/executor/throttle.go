package executor

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// throttler tells whether chunks should pause: a replica of the target
// lags more than MaxLag (or its lag is unknown: replication stopped), or
// the target runs more than MaxThreadsRunning threads.
type throttler struct {
	r        *runner
	loaded   bool
	replicas []replica
	// commits are this execution's recent commits, by their position in
	// the primary's log (MariaDB GTID, PostgreSQL WAL LSN): a replica that
	// has not applied one lags at least since it committed. This measures
	// lag to the millisecond, where Seconds_Behind_Master counts seconds
	// and trails.
	commits   []commitPos
	noCommits bool // the server cannot tell a commit's position
	// lagging: paused for lag, which must fall to half the limit to resume.
	lagging bool
}

// commitPos is where a commit is in the primary's log.
type commitPos struct {
	domain string // MariaDB replication domain; "" for PostgreSQL
	seq    uint64
	at     time.Time
}

type replica struct {
	name string
	conn engine.Conn
}

func newThrottler(r *runner) *throttler { return &throttler{r: r} }

func (t *throttler) close() {
	for _, rp := range t.replicas {
		if rp.conn != nil {
			rp.conn.Close()
		}
	}
}

// load connects to the other instances of the target's cluster.
func (t *throttler) load(ctx context.Context) {
	t.loaded = true
	r := t.r
	in, err := r.s.inv.GetInstance(ctx, r.ex.Instance)
	if err != nil || in.Cluster == "" {
		return
	}
	all, err := r.s.inv.ListInstances(ctx, inventory.InstanceFilter{Cluster: in.Cluster})
	if err != nil {
		r.log.Warn("list the cluster's replicas for throttling", "err", err)
		return
	}
	for _, other := range all {
		if other.Name == in.Name {
			continue
		}
		t.replicas = append(t.replicas, replica{name: other.Name})
	}
}

// committed notes the position of the session's last commit.
func (t *throttler) committed(ctx context.Context) {
	r := t.r
	if t.noCommits || r.opts.MaxLag.D() <= 0 {
		return
	}
	q := "SELECT @@last_gtid"
	if r.d == sql.Postgres {
		q = "SELECT pg_current_wal_lsn()::text"
	}
	rows, _, err := r.sess.Query(ctx, 1, q)
	if err != nil || len(rows.Values) == 0 {
		t.noCommits = true // MySQL has no @@last_gtid; lag from Seconds_Behind_Master only
		return
	}
	if pos, ok := parsePositions(r.d, rows.String(0, 0)); ok && len(pos) == 1 {
		pos[0].at = time.Now()
		t.commits = append(t.commits, pos[0])
		if len(t.commits) > 10000 {
			t.commits = t.commits[len(t.commits)-10000:]
		}
	}
}

// parsePositions reads a MariaDB GTID list ("0-1-100,1-2-7") or a
// PostgreSQL LSN ("16/B374D848").
func parsePositions(d sql.Dialect, s string) ([]commitPos, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, false
	}
	if d == sql.Postgres {
		hi, lo, ok := strings.Cut(s, "/")
		h, err1 := strconv.ParseUint(hi, 16, 32)
		l, err2 := strconv.ParseUint(lo, 16, 32)
		if !ok || err1 != nil || err2 != nil {
			return nil, false
		}
		return []commitPos{{seq: h<<32 | l}}, true
	}
	var out []commitPos
	for _, g := range strings.Split(s, ",") {
		parts := strings.Split(strings.TrimSpace(g), "-")
		if len(parts) != 3 {
			return nil, false
		}
		n, err := strconv.ParseUint(parts[2], 10, 64)
		if err != nil {
			return nil, false
		}
		out = append(out, commitPos{domain: parts[0], seq: n})
	}
	return out, true
}

// commitLag is how long the oldest commit the replica (at applied) has
// not applied has been waiting; 0 when it has them all.
func (t *throttler) commitLag(applied []commitPos, now time.Time) time.Duration {
	for _, c := range t.commits {
		done := false
		for _, a := range applied {
			if a.domain == c.domain && a.seq >= c.seq {
				done = true
			}
		}
		if !done {
			return now.Sub(c.at)
		}
	}
	return 0
}

// check returns why chunks should pause now, "" to go on.
func (t *throttler) check(ctx context.Context) string {
	r := t.r
	if n := r.opts.MaxThreadsRunning; n > 0 {
		running, err := t.threadsRunning(ctx)
		if err != nil {
			r.log.Warn("read threads running", "err", err)
		} else if running > n {
			return fmt.Sprintf("%s runs %d threads (limit %d)", r.ex.Instance, running, n)
		}
	}
	maxLag := r.opts.MaxLag.D()
	if maxLag <= 0 {
		return ""
	}
	if !t.loaded {
		t.load(ctx)
	}
	for i := range t.replicas {
		rp := &t.replicas[i]
		if rp.conn == nil {
			c, err := r.s.inv.Connect(ctx, rp.name, "")
			if err != nil {
				r.log.Warn("replica unreachable: not counted for throttling", "replica", rp.name, "err", err)
				continue
			}
			rp.conn = c
		}
		rep, err := rp.conn.Replication(ctx)
		if err != nil {
			r.log.Warn("replica status unreadable: not counted for throttling", "replica", rp.name, "err", err)
			continue
		}
		if rep.Source == nil {
			continue // not a replica (any more)
		}
		if rep.Source.LagSeconds == nil {
			why := "replication stopped"
			if rep.Source.IORunning && !rep.Source.SQLRunning {
				why = "its SQL thread is stopped"
			}
			return fmt.Sprintf("replica %s: lag unknown (%s)", rp.name, why)
		}
		lag := time.Duration(*rep.Source.LagSeconds * float64(time.Second))
		applied := rep.GTIDSlave
		if r.d == sql.Postgres {
			applied = rep.GTIDCurrent
		}
		if pos, ok := parsePositions(r.d, applied); ok {
			lag = max(lag, t.commitLag(pos, time.Now()))
		}
		limit := maxLag
		if t.lagging {
			limit = maxLag / 2 // resume only once it has mostly caught up
		}
		if lag > limit {
			t.lagging = true
			return fmt.Sprintf("replica %s lags %s (limit %s)", rp.name, lag.Round(time.Second/10), maxLag)
		}
	}
	t.lagging = false
	if r.d == sql.Postgres {
		// Standbys the inventory may not list, as the primary sees them.
		rows, _, err := r.pool.Query(ctx, 20, `SELECT application_name::text, COALESCE(EXTRACT(EPOCH FROM replay_lag), 0)::float8
			FROM pg_stat_replication WHERE replay_lag IS NOT NULL`)
		if err == nil {
			for _, row := range rows.All() {
				f, _ := row[1].(float64)
				if lag := time.Duration(f * float64(time.Second)); lag > maxLag {
					return fmt.Sprintf("standby %s replays %s behind (limit %s)", row.String(0), lag.Round(time.Second/10), maxLag)
				}
			}
		}
	}
	return ""
}

func (t *throttler) threadsRunning(ctx context.Context) (int, error) {
	r := t.r
	if r.d == sql.Postgres {
		rows, _, err := r.pool.Query(ctx, 1, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend'")
		if err != nil {
			return 0, err
		}
		return count(rows, 0, "active backends")
	}
	rows, _, err := r.pool.Query(ctx, 1, "SHOW GLOBAL STATUS LIKE 'Threads_running'")
	if err != nil {
		return 0, err
	}
	return count(rows, 1, "Threads_running")
}

// count reads column c of the only row as a count.
func count(rows *engine.Rows, c int, what string) (int, error) {
	if rows.Len() == 0 {
		return 0, fmt.Errorf("no %s count", what)
	}
	n, ok := engine.Int64(rows.Row(0).Value(c))
	if !ok {
		return 0, fmt.Errorf("%s: %q is not a count", what, rows.String(0, c))
	}
	return int(n), nil
}

// wait pauses while the throttler says so, recording why on the
// execution; it returns errStopped or errCancelled when those come first.
func (r *runner) wait() error {
	if r.opts.MaxLag.D() <= 0 && r.opts.MaxThreadsRunning <= 0 {
		return nil
	}
	for {
		why := r.throttle.check(r.hard)
		if why != r.throttledFor {
			r.throttledFor = why
			if err := r.s.st.setThrottle(r.hard, r.id, why); err != nil {
				return err
			}
			if why != "" {
				r.log.Info("throttled", "why", why)
				r.s.publish(Event{Execution: r.id, Ref: r.ex.Ref, State: "throttled", Message: why})
			} else {
				r.s.publish(Event{Execution: r.id, Ref: r.ex.Ref, State: StateRunning, Message: "throttling ended"})
			}
		}
		if why == "" {
			return nil
		}
		select {
		case <-r.soft.Done():
			return errStopped
		case <-time.After(r.s.cfg.ThrottleInterval):
		}
		if err := r.checkpoint(); err != nil {
			return err
		}
	}
}
