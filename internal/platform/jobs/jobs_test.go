package jobs

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(crashEnv); spec != "" {
		os.Exit(crashChild(spec))
	}
	os.Exit(sqldbtest.Main(m))
}

func newQueue(db *sqldb.DB, ttl time.Duration) *Queue {
	q := NewQueue(db, slog.New(slog.DiscardHandler))
	q.LeaseTTL = ttl
	return q
}

func TestEnqueueClaimComplete(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		q := newQueue(db, 10*time.Second)
		id, err := q.Enqueue(ctx, NewJob{Kind: "a", Payload: map[string]int{"n": 1}, DedupeKey: "k1"})
		if err != nil || id == 0 {
			t.Fatalf("enqueue: %d %v", id, err)
		}
		// A second job with the same dedupe key while the first is queued
		// is not added.
		if id2, err := q.Enqueue(ctx, NewJob{Kind: "a", DedupeKey: "k1"}); err != nil || id2 != 0 {
			t.Fatalf("dedupe: got id %d err %v, want 0", id2, err)
		}
		// A job in the future is not due; another kind is not claimed.
		if _, err := q.Enqueue(ctx, NewJob{Kind: "a", RunAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Enqueue(ctx, NewJob{Kind: "b"}); err != nil {
			t.Fatal(err)
		}
		j, err := q.Claim(ctx, []string{"a"})
		if err != nil || j == nil || j.ID != id || j.State != Running || j.Attempts != 1 || j.LockedBy != q.Holder() {
			t.Fatalf("claim: %+v %v", j, err)
		}
		var p struct{ N int }
		if err := j.Decode(&p); err != nil || p.N != 1 {
			t.Fatalf("payload: %+v %v", p, err)
		}
		if j2, err := q.Claim(ctx, []string{"a"}); err != nil || j2 != nil {
			t.Fatalf("second claim: %+v %v, want nothing due", j2, err)
		}
		// Once running, the dedupe key is free again.
		if id3, err := q.Enqueue(ctx, NewJob{Kind: "a", DedupeKey: "k1", RunAt: time.Now().Add(time.Hour)}); err != nil || id3 == 0 {
			t.Fatalf("enqueue after claim: %d %v", id3, err)
		}
		if err := q.Complete(ctx, j, nil); err != nil {
			t.Fatal(err)
		}
		got, err := q.Get(ctx, id)
		if err != nil || got.State != Done || got.FinishedAt.IsZero() {
			t.Fatalf("after complete: %+v %v", got, err)
		}
		if err := q.Complete(ctx, j, nil); !errors.Is(err, ErrLost) {
			t.Fatalf("completing twice: %v, want ErrLost", err)
		}
	})
}

func TestRetryAndPermanentFailure(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		q := newQueue(db, 10*time.Second)
		id, _ := q.Enqueue(ctx, NewJob{Kind: "a", MaxAttempts: 2})
		j, _ := q.Claim(ctx, []string{"a"})
		if err := q.Complete(ctx, j, errors.New("boom")); err != nil {
			t.Fatal(err)
		}
		got, _ := q.Get(ctx, id)
		if got.State != Queued || got.LastError != "boom" || !got.RunAt.After(time.Now()) {
			t.Fatalf("after a failed attempt: %+v, want queued for later with the error", got)
		}
		// Make it due again and fail the last attempt.
		db.ExecContext(ctx, "UPDATE jobs SET run_at = 0 WHERE id = ?", id)
		j, _ = q.Claim(ctx, []string{"a"})
		if j == nil || j.Attempts != 2 {
			t.Fatalf("second claim: %+v", j)
		}
		q.Complete(ctx, j, errors.New("boom again"))
		if got, _ := q.Get(ctx, id); got.State != Failed || got.LastError != "boom again" {
			t.Fatalf("after the last attempt: %+v, want failed", got)
		}
		// A permanent error fails at once.
		id, _ = q.Enqueue(ctx, NewJob{Kind: "a"})
		j, _ = q.Claim(ctx, []string{"a"})
		q.Complete(ctx, j, Permanent(errors.New("bad payload")))
		if got, _ := q.Get(ctx, id); got.State != Failed || got.Attempts != 1 {
			t.Fatalf("permanent error: %+v, want failed after 1 attempt", got)
		}
	})
}

func TestLockKeySerialises(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		q := newQueue(db, 10*time.Second)
		a, _ := q.Enqueue(ctx, NewJob{Kind: "a", LockKey: "ticket:1"})
		b, _ := q.Enqueue(ctx, NewJob{Kind: "a", LockKey: "ticket:1"})
		c, _ := q.Enqueue(ctx, NewJob{Kind: "a", LockKey: "ticket:2"})
		j1, _ := q.Claim(ctx, []string{"a"})
		j2, _ := q.Claim(ctx, []string{"a"})
		if j1 == nil || j1.ID != a || j2 == nil || j2.ID != c {
			t.Fatalf("claims: %v %v, want %d then %d (b waits for a)", j1, j2, a, c)
		}
		if j, _ := q.Claim(ctx, []string{"a"}); j != nil {
			t.Fatalf("claimed %d while its lock key is held", j.ID)
		}
		q.Complete(ctx, j1, nil)
		if j, _ := q.Claim(ctx, []string{"a"}); j == nil || j.ID != b {
			t.Fatalf("after a finished: %+v, want %d", j, b)
		}
	})
}

// A worker that stops heartbeating (it died) loses the job to another once
// the lease expires; the first worker can then no longer complete it.
func TestExpiredLeaseIsReclaimed(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		dead, alive := newQueue(db, 300*time.Millisecond), newQueue(db, 300*time.Millisecond)
		id, _ := dead.Enqueue(ctx, NewJob{Kind: "a", LockKey: "x"})
		jd, _ := dead.Claim(ctx, []string{"a"})
		if jd == nil {
			t.Fatal("no claim")
		}
		if j, _ := alive.Claim(ctx, []string{"a"}); j != nil {
			t.Fatal("claimed a job whose lease is valid")
		}
		// Expiry is the database's clock, which synctest cannot fake:
		// this test waits for it.
		time.Sleep(400 * time.Millisecond)
		ja, err := alive.Claim(ctx, []string{"a"})
		if err != nil || ja == nil || ja.ID != id || ja.Attempts != 2 || ja.LockedBy != alive.Holder() {
			t.Fatalf("reclaim: %+v %v", ja, err)
		}
		if err := dead.Heartbeat(ctx, id); !errors.Is(err, ErrLost) {
			t.Fatalf("heartbeat of the old holder: %v, want ErrLost", err)
		}
		if err := dead.Complete(ctx, jd, nil); !errors.Is(err, ErrLost) {
			t.Fatalf("complete by the old holder: %v, want ErrLost", err)
		}
		if err := alive.Complete(ctx, ja, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// A worker on the real stores runs a job to done, and stopping it mid-job
// hands the job back (queued, unlocked) for the next start. The timing of
// heartbeats, hand-back and polling is tested with synctest in
// timing_test.go.
func TestWorkerRunsAndHandsBack(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		q := newQueue(db, 10*time.Second)
		started := make(chan struct{}, 1)
		h := func(ctx context.Context, j *Job) error {
			var p struct{ Block bool }
			j.Decode(&p)
			if !p.Block {
				return nil
			}
			started <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}
		wctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { (&Worker{Queue: q, Handlers: map[string]Handler{"a": h}}).Run(wctx) })
		done, _ := q.Enqueue(ctx, NewJob{Kind: "a"})
		// The real store's state is polled: nothing signals a completion.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if j, _ := q.Get(ctx, done); j.State == Done {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the job was not done within 10 s")
			}
		}
		blocked, _ := q.Enqueue(ctx, NewJob{Kind: "a", Payload: map[string]bool{"block": true}})
		<-started
		stop()
		wg.Wait()
		if j, _ := q.Get(ctx, blocked); j.State != Queued || j.LockedBy != "" || j.Attempts != 0 {
			t.Fatalf("job after stopping the worker: %+v, want queued again, unlocked, the attempt not counted", j)
		}
	})
}

func TestSchedulerFiresOnceAcrossSchedulers(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 1, 59, 30, 0, time.UTC)
		clock := func() time.Time { return now }
		scheds := func() []Schedule {
			return []Schedule{{Name: "nightly", Spec: "0 2 * * *", Job: NewJob{Kind: "task", Payload: map[string]string{"flow": "check"}}}}
		}
		a := &Scheduler{DB: db, Log: slog.New(slog.DiscardHandler), Schedules: scheds, now: clock}
		b := &Scheduler{DB: db, Log: slog.New(slog.DiscardHandler), Schedules: scheds, now: clock}
		count := func() int {
			var n int
			db.QueryRowContext(ctx, "SELECT COUNT(*) FROM jobs WHERE kind = 'task'").Scan(&n)
			return n
		}
		// First sight: nothing fires, the schedule starts counting.
		if n, err := a.RunDue(ctx); err != nil || n != 0 {
			t.Fatalf("first run: %d %v", n, err)
		}
		now = now.Add(time.Minute) // 02:00:30
		var wg sync.WaitGroup
		var total atomic.Int32
		for _, s := range []*Scheduler{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := s.RunDue(ctx)
				if err != nil {
					t.Error(err)
				}
				total.Add(int32(n))
			}()
		}
		wg.Wait()
		if total.Load() != 1 || count() != 1 {
			t.Fatalf("02:00 fired %d times (%d jobs), want once", total.Load(), count())
		}
		q := newQueue(db, time.Minute)
		j, _ := q.Claim(ctx, []string{"task"})
		var f Fired
		if err := j.Decode(&f); err != nil || f.Schedule != "nightly" || !f.At.Equal(time.Date(2030, 1, 1, 2, 0, 0, 0, time.UTC)) || string(f.Payload) != `{"flow":"check"}` {
			t.Fatalf("fired payload: %+v %v", f, err)
		}
		// Three days without a server: caught up once, not three times.
		now = now.Add(72 * time.Hour)
		a.RunDue(ctx)
		b.RunDue(ctx)
		if count() != 2 {
			t.Fatalf("after three missed nights: %d jobs, want 2", count())
		}
		// Not again until the next night.
		now = now.Add(time.Hour)
		a.RunDue(ctx)
		if count() != 2 {
			t.Fatalf("an hour later: %d jobs, want 2", count())
		}
	})
}

func TestParseSchedule(t *testing.T) {
	for _, c := range []struct {
		spec string
		ok   bool
	}{
		{"0 2 * * *", true}, {"@daily", true}, {"@every 10s", true}, {"CRON_TZ=Asia/Shanghai 0 2 * * 1-5", true},
		{"0 2 * *", false}, {"61 * * * *", false}, {"CRON_TZ=Nowhere/Else 0 2 * * *", false}, {"", false},
	} {
		_, err := ParseSchedule(c.spec)
		if (err == nil) != c.ok {
			t.Errorf("ParseSchedule(%q): err %v, want ok=%v", c.spec, err, c.ok)
		}
	}
}

func TestPrune(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		q := newQueue(db, time.Minute)
		old, _ := q.Enqueue(ctx, NewJob{Kind: "a"})
		j, _ := q.Claim(ctx, []string{"a"})
		q.Complete(ctx, j, nil)
		queued, _ := q.Enqueue(ctx, NewJob{Kind: "a", RunAt: time.Now().Add(time.Hour)})
		if n, err := Prune(ctx, db, time.Now().Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("prune: %d %v, want 1", n, err)
		}
		if _, err := q.Get(ctx, old); err == nil {
			t.Error("the finished job is still there")
		}
		if _, err := q.Get(ctx, queued); err != nil {
			t.Errorf("the queued job was pruned: %v", err)
		}
	})
}
