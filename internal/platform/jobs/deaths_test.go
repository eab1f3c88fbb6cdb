package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
	"github.com/dbfleet/dbfleet/migrations"
)

// expireLease makes job id's lease run out now, as if its worker had died
// LeaseTTL ago (leases are on the store's clock, so a fake Go clock cannot
// move them).
func expireLease(t *testing.T, db *sqldb.DB, id int64) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), "UPDATE jobs SET locked_until = 1 WHERE id = ? AND state = 'running'", id); err != nil {
		t.Fatal(err)
	}
}

// logBuffer collects log records for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A job whose worker dies while running it (claimed, then the lease runs
// out without a result) is claimed again MaxDeaths-1 times, then
// quarantined with the reason, logged once at ERROR; ordinary failures do
// not count as deaths.
func TestWorkerDeathsQuarantine(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		var logs logBuffer
		q := NewQueue(db, slog.New(slog.NewTextHandler(&logs, nil)))
		q.LeaseTTL = time.Minute
		q.watchFailures([]string{"advance"})
		id, _ := q.Enqueue(ctx, NewJob{Kind: "advance", LockKey: "ticket:7", MaxAttempts: 1000, Payload: map[string]int{"ticket": 7}})

		// An ordinary failure is retried and is no death.
		j, _ := q.Claim(ctx, []string{"advance"})
		if err := q.Complete(ctx, j, errors.New("store busy")); err != nil {
			t.Fatal(err)
		}
		db.ExecContext(ctx, "UPDATE jobs SET run_at = 0 WHERE id = ?", id)

		for death := 0; death < 3; death++ {
			j, err := q.Claim(ctx, []string{"advance"})
			if err != nil || j == nil || j.ID != id {
				t.Fatalf("claim after %d deaths: %+v %v", death, j, err)
			}
			if j.Deaths != death || j.State != Running || j.ClaimedAt.IsZero() {
				t.Fatalf("claim after %d deaths: deaths %d state %s claimed_at %v", death, j.Deaths, j.State, j.ClaimedAt)
			}
			expireLease(t, db, id) // the worker died
		}
		if j, err := q.Claim(ctx, []string{"advance"}); err != nil || j != nil {
			t.Fatalf("claim after 3 deaths: %+v %v, want nothing (quarantined)", j, err)
		}
		got, _ := q.Get(ctx, id)
		want := regexp.MustCompile(`^worker died 3 times while running it; last claimed by ` + regexp.QuoteMeta(q.Holder()) + ` at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
		if got.State != Quarantined || got.Deaths != 3 || got.Attempts != 4 || !want.MatchString(got.LastError) || got.FinishedAt.IsZero() {
			t.Fatalf("after 3 deaths: state %s deaths %d attempts %d error %q finished %v", got.State, got.Deaths, got.Attempts, got.LastError, got.FinishedAt)
		}
		// Logged once at ERROR, and no later claim logs it again.
		q.Claim(ctx, []string{"advance"})
		if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), "job quarantined") {
			t.Fatalf("log: %d ERROR lines, want 1:\n%s", n, logs.String())
		}
		// It is listed as quarantined, and its owner is told.
		if list, _ := q.List(ctx, Filter{State: Quarantined}); len(list) != 1 || list[0].ID != id {
			t.Fatalf("list quarantined: %+v", list)
		}
		n, err := q.Claim(ctx, []string{noticeKind("advance")})
		if err != nil || n == nil || n.LockKey != "ticket:7" {
			t.Fatalf("notice: %+v %v", n, err)
		}
		var f Failure
		var p struct{ Ticket int }
		if err := n.Decode(&f); err != nil || f.JobID != id || f.State != Quarantined || f.Reason != got.LastError || f.Decode(&p) != nil || p.Ticket != 7 {
			t.Fatalf("notice payload: %+v %+v %v", f, p, err)
		}
		// A job that is not watched gets no notice; MaxDeaths is a setting.
		q.MaxDeaths = 1
		other, _ := q.Enqueue(ctx, NewJob{Kind: "other"})
		q.Claim(ctx, []string{"other"})
		expireLease(t, db, other)
		q.Claim(ctx, []string{"other"})
		if got, _ := q.Get(ctx, other); got.State != Quarantined || !strings.HasPrefix(got.LastError, "worker died 1 times") {
			t.Fatalf("MaxDeaths 1: %+v", got)
		}
		if j, _ := q.Claim(ctx, []string{noticeKind("other")}); j != nil {
			t.Fatalf("notice for an unwatched kind: %+v", j)
		}
	})
}

// The worker runs OnFailure for jobs that failed (a handler error on the
// last attempt, a permanent error, a panic) and for quarantined ones,
// without running the quarantined job's handler again.
func TestWorkerOnFailure(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		q := newQueue(db, time.Minute)
		told := make(chan Failure, 10)
		ran := make(chan int64, 10)
		w := &Worker{Queue: q, Poll: 20 * time.Millisecond,
			Handlers: map[string]Handler{"step": func(ctx context.Context, j *Job) error {
				ran <- j.ID
				var p struct{ Mode string }
				j.Decode(&p)
				switch p.Mode {
				case "panic":
					panic("nil map")
				case "permanent":
					return Permanent(errors.New("bad payload"))
				}
				return errors.New("still failing")
			}},
			OnFailure: map[string]FailureHandler{"step": func(ctx context.Context, f Failure) error {
				told <- f
				return nil
			}},
		}
		// A job whose workers already died twice, with its lease running
		// out: the third death quarantines it.
		dead, _ := q.Enqueue(ctx, NewJob{Kind: "step", Payload: map[string]string{"mode": "crash"}, MaxAttempts: 1000})
		other := newQueue(db, time.Minute)
		other.MaxDeaths = 3
		for range 3 {
			if j, _ := other.Claim(ctx, []string{"step"}); j == nil {
				t.Fatal("no claim")
			}
			expireLease(t, db, dead)
		}
		permanent, _ := q.Enqueue(ctx, NewJob{Kind: "step", Payload: map[string]string{"mode": "permanent"}})
		panicked, _ := q.Enqueue(ctx, NewJob{Kind: "step", Payload: map[string]string{"mode": "panic"}})
		lastTry, _ := q.Enqueue(ctx, NewJob{Kind: "step", Payload: map[string]string{"mode": "error"}, MaxAttempts: 1})
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()

		want := map[int64]string{
			dead:      "quarantined: worker died 3 times while running it",
			permanent: "failed: bad payload",
			panicked:  "failed: job handler panicked: nil map",
			lastTry:   "failed: still failing",
		}
		got := map[int64]string{}
		timeout := time.After(20 * time.Second)
		for len(got) < len(want) {
			select {
			case f := <-told:
				got[f.JobID] = string(f.State) + ": " + f.Reason
			case <-timeout:
				t.Fatalf("told of %v, want %v", got, want)
			}
		}
		for id, w := range want {
			if !strings.HasPrefix(got[id], w) {
				t.Errorf("job %d: told %q, want %q...", id, got[id], w)
			}
		}
		cancel()
		<-done
		close(ran)
		for id := range ran {
			if id == dead {
				t.Error("the quarantined job's handler ran")
			}
		}
	})
}

// crashEnv makes the test binary a worker process whose handler crashes
// the process (a panic in another goroutine, as a fault in C code would);
// its value is the store to open.
const crashEnv = "DBFLEET_JOBS_CRASH_STORE"

// crashChild runs in the re-executed test binary: a worker whose handler
// records that it ran, then crashes the process. It exits 0 when the job
// is no longer runnable.
func crashChild(spec string) int {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	q := NewQueue(db, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	q.LeaseTTL = time.Minute
	w := &Worker{Queue: q, Poll: 10 * time.Millisecond, Handlers: map[string]Handler{"review": func(ctx context.Context, j *Job) error {
		if _, err := db.ExecContext(ctx, "UPDATE jobs SET payload = payload || 'x' WHERE id = ?", j.ID); err != nil {
			return err
		}
		go func() { panic("signal arrived during cgo execution (simulated)") }()
		select {}
	}}}
	go w.Run(ctx)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var state string
		db.QueryRowContext(ctx, "SELECT state FROM jobs WHERE kind = 'review'").Scan(&state)
		if state != "queued" && state != "running" {
			return 0
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 4
}

// A handler that crashes the whole process is run at most MaxDeaths (3)
// times: the fourth start of the process quarantines the job instead of
// running it, and exits normally.
func TestCrashingHandlerIsQuarantined(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			spec := filepath.Join(t.TempDir(), "dbfleet.db")
			if dialect == "postgres" {
				spec = sqldbtest.PostgresURL(t)
			}
			db, err := sqldb.Open(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx, migrations.FS, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			id, err := Enqueue(ctx, db, NewJob{Kind: "review", Payload: "", MaxAttempts: 1000})
			if err != nil {
				t.Fatal(err)
			}
			runs := func() int {
				var p string
				db.QueryRowContext(ctx, "SELECT payload FROM jobs WHERE id = ?", id).Scan(&p)
				return strings.Count(p, "x")
			}
			for start := 1; start <= 4; start++ {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), crashEnv+"="+spec)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				err := cmd.Run()
				code := cmd.ProcessState.ExitCode()
				if start < 4 {
					if code != 2 || !strings.Contains(stderr.String(), "simulated") || runs() != start {
						t.Fatalf("start %d: exit %d (%v), handler ran %d times, want a crash (exit 2) in run %d:\n%s", start, code, err, runs(), start, stderr.String())
					}
					expireLease(t, db, id) // the lease runs out after the crash
					continue
				}
				if code != 0 || runs() != 3 {
					t.Fatalf("start 4: exit %d (%v), handler ran %d times, want exit 0 and 3 runs:\n%s", code, err, runs(), stderr.String())
				}
				if !strings.Contains(stderr.String(), "level=ERROR") || !strings.Contains(stderr.String(), "job quarantined") {
					t.Errorf("start 4 did not log the quarantine at ERROR:\n%s", stderr.String())
				}
			}
			var state, reason string
			db.QueryRowContext(ctx, "SELECT state, last_error FROM jobs WHERE id = ?", id).Scan(&state, &reason)
			if state != "quarantined" || !strings.HasPrefix(reason, "worker died 3 times while running it; last claimed by ") {
				t.Fatalf("job: %s %q", state, reason)
			}
		})
	}
}
