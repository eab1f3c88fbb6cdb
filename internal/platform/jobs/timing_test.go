package jobs

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The worker's timing (heartbeats, stopping when a heartbeat fails or
// hangs, handing back on stop, polling) over a jobs table in memory whose
// clock is synctest's: the real table's lease expiry uses the database's
// clock, which a test cannot advance. Claims and expiry on the real stores
// are the other tests'.

// memJobs is an in-memory jobs table shared by the queues of a test.
type memJobs struct {
	mu         sync.Mutex
	jobs       map[int64]*memJob
	next       int64
	heartbeats []time.Time
	hang       chan struct{} // when set, Heartbeat waits for it or its ctx
	released   int
}

type memJob struct {
	kind        string
	state       State
	lockedBy    string
	lockedUntil time.Time
	attempts    int
	runAt       time.Time
}

// memClaims is one queue's view of a memJobs.
type memClaims struct {
	m *memJobs
	q *Queue
}

func (c memClaims) Claim(ctx context.Context, kinds []string) (*Job, error) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	now := time.Now()
	for id := int64(1); id <= c.m.next; id++ {
		j := c.m.jobs[id]
		if j == nil || !slices.Contains(kinds, j.kind) {
			continue
		}
		due := j.state == Queued && !j.runAt.After(now)
		expired := j.state == Running && j.lockedUntil.Before(now)
		if !due && !expired {
			continue
		}
		j.state, j.lockedBy, j.lockedUntil = Running, c.q.Holder(), now.Add(c.q.ttl())
		j.attempts++
		return &Job{ID: id, Kind: j.kind, State: Running, Attempts: j.attempts, LockedBy: j.lockedBy}, nil
	}
	return nil, nil
}

func (c memClaims) Heartbeat(ctx context.Context, id int64) error {
	c.m.mu.Lock()
	c.m.heartbeats = append(c.m.heartbeats, time.Now())
	hang := c.m.hang
	c.m.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	j := c.m.jobs[id]
	if j.state != Running || j.lockedBy != c.q.Holder() {
		return ErrLost
	}
	j.lockedUntil = time.Now().Add(c.q.ttl())
	return nil
}

func (c memClaims) Complete(ctx context.Context, job *Job, herr error) error {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	j := c.m.jobs[job.ID]
	if j.state != Running || j.lockedBy != c.q.Holder() {
		return ErrLost
	}
	j.state = Done
	if herr != nil {
		j.state = Failed
	}
	return nil
}

func (c memClaims) Release(ctx context.Context, job *Job) error {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	j := c.m.jobs[job.ID]
	if j.state == Running && j.lockedBy == c.q.Holder() {
		j.state, j.lockedBy = Queued, ""
		j.attempts-- // a hand-back is not an attempt
		c.m.released++
	}
	return nil
}

// add enqueues a job of kind without waking any worker.
func (m *memJobs) add(kind string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	m.jobs[m.next] = &memJob{kind: kind, state: Queued, runAt: time.Now()}
	return m.next
}

func (m *memJobs) get(id int64) memJob {
	m.mu.Lock()
	defer m.mu.Unlock()
	return *m.jobs[id]
}

func (m *memJobs) do(f func(m *memJobs)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

const ttl = 30 * time.Second

// memQueues returns n queues (processes) over one in-memory table.
func memQueues(n int) (*memJobs, []*Queue) {
	m := &memJobs{jobs: map[int64]*memJob{}}
	qs := make([]*Queue, n)
	for i := range qs {
		q := NewQueue(nil, slog.New(slog.DiscardHandler))
		q.LeaseTTL = ttl
		q.claims = memClaims{m, q}
		qs[i] = q
	}
	return m, qs
}

// handlerLog records a handler's runs.
type handlerLog struct {
	mu     sync.Mutex
	starts []time.Time
	ends   []time.Time
	errs   []error
}

// sleeper is a handler that works for d unless its ctx ends first.
func (h *handlerLog) sleeper(d time.Duration) Handler {
	return func(ctx context.Context, j *Job) error {
		h.mu.Lock()
		h.starts = append(h.starts, time.Now())
		h.mu.Unlock()
		var err error
		select {
		case <-time.After(d):
		case <-ctx.Done():
			err = ctx.Err()
		}
		h.mu.Lock()
		h.ends = append(h.ends, time.Now())
		h.errs = append(h.errs, err)
		h.mu.Unlock()
		return err
	}
}

func (h *handlerLog) get() (starts, ends []time.Time, errs []error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.starts...), append([]time.Time(nil), h.ends...), append([]error(nil), h.errs...)
}

// runWorkers runs a worker per queue until the returned stop is called.
func runWorkers(qs []*Queue, h Handler, poll time.Duration) (stop []context.CancelFunc, wait func()) {
	var wg sync.WaitGroup
	for _, q := range qs {
		ctx, cancel := context.WithCancel(context.Background())
		stop = append(stop, cancel)
		wg.Go(func() {
			(&Worker{Queue: q, Handlers: map[string]Handler{"slow": h}, Poll: poll}).Run(ctx)
		})
	}
	return stop, wg.Wait
}

// Heartbeats every TTL/3 keep a job that runs longer than the lease TTL
// from being claimed by a second worker that polls all the while.
func TestWorkerHeartbeats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, qs := memQueues(2)
		var h handlerLog
		id := m.add("slow")
		stop, wait := runWorkers(qs[:1], h.sleeper(2*ttl-ttl/6), time.Second)
		synctest.Wait()
		stop2, wait2 := runWorkers(qs[1:], h.sleeper(2*ttl-ttl/6), time.Second)
		time.Sleep(3 * ttl)
		starts, _, errs := h.get()
		if len(starts) != 1 || errs[0] != nil {
			t.Fatalf("the job ran %d times (errors %v), want once, to the end", len(starts), errs)
		}
		if j := m.get(id); j.state != Done || j.lockedBy != qs[0].Holder() || j.attempts != 1 {
			t.Errorf("job %+v, want done by the first worker in one attempt", j)
		}
		m.do(func(m *memJobs) {
			if len(m.heartbeats) != 5 {
				t.Errorf("%d heartbeats in 2 TTL - TTL/6, want 5 (every TTL/3)", len(m.heartbeats))
			}
			for i, at := range m.heartbeats {
				if want := starts[0].Add(time.Duration(i+1) * ttl / 3); !at.Equal(want) {
					t.Errorf("heartbeat %d at %v, want %v", i, at, want)
				}
			}
		})
		stop[0]()
		stop2[0]()
		wait()
		wait2()
	})
}

// A heartbeat that finds the job taken (its lease expired and another
// worker claimed it) stops the handler and does not complete the job.
func TestWorkerStopsWhenHeartbeatLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, qs := memQueues(1)
		var h handlerLog
		id := m.add("slow")
		stop, wait := runWorkers(qs, h.sleeper(time.Hour), time.Second)
		time.Sleep(ttl / 6)
		taken := time.Now()
		m.do(func(m *memJobs) { m.jobs[id].lockedBy = "other" })
		time.Sleep(ttl / 3)
		_, ends, errs := h.get()
		if len(ends) != 1 || ends[0].Sub(taken) > ttl/3 || !errors.Is(errs[0], context.Canceled) {
			t.Fatalf("handler ended %v (%v) after the job was taken at %v, want cancelled within TTL/3", ends, errs, taken)
		}
		if j := m.get(id); j.state != Running || j.lockedBy != "other" {
			t.Errorf("job %+v, want still running under the other worker", j)
		}
		stop[0]()
		wait()
	})
}

// A heartbeat that does not answer stops the handler within 2/3 TTL of
// the last heartbeat, before the lease expires and another worker may
// start the job.
func TestWorkerStopsWhenHeartbeatHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, qs := memQueues(1)
		var h handlerLog
		m.add("slow")
		stop, wait := runWorkers(qs, h.sleeper(time.Hour), time.Second)
		time.Sleep(ttl/3 + ttl/6) // one heartbeat, at TTL/3
		last := time.Now().Add(-ttl / 6)
		m.do(func(m *memJobs) { m.hang = make(chan struct{}) })
		time.Sleep(ttl)
		_, ends, _ := h.get()
		if len(ends) != 1 || ends[0].Sub(last) > 2*ttl/3 {
			t.Fatalf("handler ended %v, last heartbeat %v: want it stopped within 2/3 TTL", ends, last)
		}
		stop[0]()
		wait()
	})
}

// Stopping a worker mid-job hands the job back at once: another worker
// runs it at its next poll, not after the lease expires.
func TestWorkerHandsBackOnStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, qs := memQueues(2)
		var h handlerLog
		id := m.add("slow")
		stop1, wait1 := runWorkers(qs[:1], h.sleeper(ttl/6), time.Second)
		synctest.Wait()
		stop2, wait2 := runWorkers(qs[1:], h.sleeper(ttl/6), time.Second)
		time.Sleep(ttl / 12)
		stop1[0]()
		wait1()
		stopped := time.Now()
		m.do(func(m *memJobs) {
			if j := m.jobs[id]; j.state != Queued || m.released != 1 {
				t.Fatalf("after stopping the worker: job %+v (released %d times), want queued again", j, m.released)
			}
		})
		time.Sleep(time.Second + ttl/6)
		starts, _, _ := h.get()
		if len(starts) != 2 || starts[1].Sub(stopped) > time.Second {
			t.Fatalf("handler starts %v, stopped at %v: want the second worker to start it within a poll", starts, stopped)
		}
		if j := m.get(id); j.state != Done || j.lockedBy != qs[1].Holder() || j.attempts != 1 {
			t.Errorf("job %+v, want done by the second worker", j)
		}
		stop2[0]()
		wait2()
	})
}

// A worker looks at the queue every Poll, and at once when woken.
func TestWorkerPollsAndWakes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, qs := memQueues(1)
		var h handlerLog
		const poll = 10 * time.Second
		stop, wait := runWorkers(qs, h.sleeper(0), poll)
		time.Sleep(poll / 4)
		added := time.Now()
		m.add("slow") // not woken: found at the next poll
		time.Sleep(poll)
		starts, _, _ := h.get()
		if len(starts) != 1 || !starts[0].Equal(added.Add(3*poll/4)) {
			t.Fatalf("handler starts %v, job added at %v: want it found at the next poll, %v", starts, added, added.Add(3*poll/4))
		}
		m.add("slow")
		woken := time.Now()
		qs[0].Wake()
		synctest.Wait()
		if starts, _, _ := h.get(); len(starts) != 2 || !starts[1].Equal(woken) {
			t.Errorf("handler starts %v, woken at %v: want it run at once", starts, woken)
		}
		stop[0]()
		wait()
	})
}
