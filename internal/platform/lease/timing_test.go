package lease

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The timing of Run (when it tries, renews, gives up) over a leases table
// in memory whose clock is synctest's: the real table's expiry uses the
// database's clock, which a test cannot advance. Expiry on the real stores
// is TestExpiry's.

// table is an in-memory leases table shared by the managers of a test.
type table struct {
	mu     sync.Mutex
	rows   map[string]row
	calls  map[string][]time.Time // TryAcquire calls per holder
	hang   chan struct{}          // when set, TryAcquire waits for it or its ctx
	broken error                  // when set, TryAcquire fails with it
}

type row struct {
	holder  string
	expires time.Time
}

// tableStore is one manager's view of a table.
type tableStore struct {
	t      *table
	holder string
	ttl    time.Duration
}

func (s tableStore) TryAcquire(ctx context.Context, name string) (bool, error) {
	s.t.mu.Lock()
	s.t.calls[s.holder] = append(s.t.calls[s.holder], time.Now())
	hang, broken := s.t.hang, s.t.broken
	s.t.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	if broken != nil {
		return false, broken
	}
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	now := time.Now()
	if r, ok := s.t.rows[name]; ok && r.holder != s.holder && now.Before(r.expires) {
		return false, nil
	}
	s.t.rows[name] = row{s.holder, now.Add(s.ttl)}
	return true, nil
}

func (s tableStore) Release(ctx context.Context, name string) error {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	if r, ok := s.t.rows[name]; ok && r.holder == s.holder {
		delete(s.t.rows, name)
	}
	return nil
}

func (t *table) set(f func(t *table)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(t)
}

func (t *table) row(name string) (row, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.rows[name]
	return r, ok
}

func (t *table) callsOf(holder string) []time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]time.Time(nil), t.calls[holder]...)
}

// fakeManagers returns n managers over one in-memory table.
func fakeManagers(n int, ttl time.Duration) (*table, []*Manager) {
	tb := &table{rows: map[string]row{}, calls: map[string][]time.Time{}}
	ms := make([]*Manager, n)
	for i := range ms {
		m := NewManager(nil, slog.New(slog.DiscardHandler))
		m.TTL = ttl
		m.store = tableStore{tb, m.holder, ttl}
		ms[i] = m
	}
	return tb, ms
}

// runner records when a leased loop ran.
type runner struct {
	mu            sync.Mutex
	running, most int
	starts        []time.Time
	stops         []time.Time
}

func (r *runner) loop(ctx context.Context) error {
	r.mu.Lock()
	r.running++
	r.most = max(r.most, r.running)
	r.starts = append(r.starts, time.Now())
	r.mu.Unlock()
	<-ctx.Done()
	r.mu.Lock()
	r.running--
	r.stops = append(r.stops, time.Now())
	r.mu.Unlock()
	return nil
}

func (r *runner) get() (most int, starts, stops []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.most, append([]time.Time(nil), r.starts...), append([]time.Time(nil), r.stops...)
}

const ttl = 15 * time.Second

// Of two processes running the same loop, exactly one runs it, for as long
// as it renews; when it stops, the other takes over within a renewal
// period (TTL/3).
func TestRunOneAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, ms := fakeManagers(2, ttl)
		var ra, rb runner
		actx, acancel := context.WithCancel(t.Context())
		bctx, bcancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { ms[0].Run(actx, "loop", ra.loop) })
		synctest.Wait()
		wg.Go(func() { ms[1].Run(bctx, "loop", rb.loop) })
		// Many renewals and many tries of b; off the TTL/3 grid so that no
		// tick falls on the instant the test looks.
		time.Sleep(10*ttl + ttl/6)
		if most, starts, _ := ra.get(); most != 1 || len(starts) != 1 {
			t.Fatalf("a ran %d times (at most %d at once), want once", len(starts), most)
		}
		if _, starts, _ := rb.get(); len(starts) != 0 {
			t.Fatalf("b ran while a held the lease")
		}
		stopped := time.Now()
		acancel()
		time.Sleep(ttl / 3)
		_, starts, _ := rb.get()
		if len(starts) != 1 {
			t.Fatalf("b started %d times within TTL/3 of a stopping, want once", len(starts))
		}
		if d := starts[0].Sub(stopped); d > ttl/3 {
			t.Errorf("b took over %s after a stopped, want within TTL/3 (%s)", d, ttl/3)
		}
		if _, _, stops := ra.get(); len(stops) != 1 || stops[0].After(starts[0]) {
			t.Errorf("a stopped at %v, b started at %v: two runners at once", stops, starts[0])
		}
		bcancel()
		wg.Wait()
	})
}

// The holder renews every TTL/3, so the lease never comes within 2/3 TTL
// of expiring while the loop runs.
func TestRenewalCadence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, ms := fakeManagers(1, ttl)
		var r runner
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { ms[0].Run(ctx, "loop", r.loop); close(done) }()
		time.Sleep(10*ttl + ttl/6)
		calls := tb.callsOf(ms[0].Holder())
		if len(calls) != 31 {
			t.Errorf("%d acquire calls in 10 TTLs, want 1 + 30 renewals", len(calls))
		}
		for i := 1; i < len(calls); i++ {
			if d := calls[i].Sub(calls[i-1]); d != ttl/3 {
				t.Errorf("renewal %d came %s after the previous, want TTL/3 (%s)", i, d, ttl/3)
			}
		}
		cancel()
		<-done
		if _, ok := tb.row("loop"); ok {
			t.Error("the lease was not released when Run ended")
		}
	})
}

// When a renewal does not answer, the loop stops within 2/3 TTL of the
// last successful renewal, before the lease can expire and another process
// start the loop too.
func TestStopsWhenRenewalHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, ms := fakeManagers(1, ttl)
		var r runner
		var mu sync.Mutex
		var changes []bool
		ms[0].OnChange = func(_ string, held bool) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, held)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { ms[0].Run(ctx, "loop", r.loop); close(done) }()
		time.Sleep(ttl + ttl/6) // renewed at TTL/3, 2TTL/3, TTL
		lastRenewal := time.Now().Add(-ttl / 6)
		tb.set(func(t *table) { t.hang = make(chan struct{}) })
		time.Sleep(ttl)
		_, _, stops := r.get()
		if len(stops) != 1 {
			t.Fatalf("the loop kept running a TTL after the store stopped answering")
		}
		if d := stops[0].Sub(lastRenewal); d > 2*ttl/3 {
			t.Errorf("the loop stopped %s after the last renewal, want within 2/3 TTL", d)
		}
		mu.Lock()
		if len(changes) != 2 || !changes[0] || changes[1] {
			t.Errorf("OnChange saw %v, want [true false]", changes)
		}
		mu.Unlock()
		cancel()
		<-done
	})
}

// A renewal that finds the lease taken (it expired and another process
// took it) stops the loop at once.
func TestStopsWhenLeaseTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, ms := fakeManagers(1, ttl)
		var r runner
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { ms[0].Run(ctx, "loop", r.loop); close(done) }()
		time.Sleep(ttl / 6)
		taken := time.Now()
		tb.set(func(t *table) { t.rows["loop"] = row{"other", time.Now().Add(time.Hour)} })
		time.Sleep(ttl / 3)
		_, _, stops := r.get()
		if len(stops) != 1 || stops[0].Sub(taken) > ttl/3 {
			t.Fatalf("loop stops %v after the lease was taken at %v, want one within TTL/3", stops, taken)
		}
		if r, _ := tb.row("loop"); r.holder != "other" {
			t.Error("stopping released a lease another process holds")
		}
		cancel()
		<-done
	})
}

// While the store fails, Run keeps trying every TTL/3 and starts the loop
// once the store answers.
func TestRetriesWhileStoreFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tb, ms := fakeManagers(1, ttl)
		tb.set(func(t *table) { t.broken = errors.New("connection refused") })
		var r runner
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { ms[0].Run(ctx, "loop", r.loop); close(done) }()
		time.Sleep(ttl + ttl/6)
		if _, starts, _ := r.get(); len(starts) != 0 {
			t.Fatal("the loop ran without the lease")
		}
		if n := len(tb.callsOf(ms[0].Holder())); n != 4 {
			t.Errorf("%d tries in a TTL, want 4 (at once, then every TTL/3)", n)
		}
		tb.set(func(t *table) { t.broken = nil })
		healed := time.Now()
		time.Sleep(ttl / 3)
		if _, starts, _ := r.get(); len(starts) != 1 || starts[0].Sub(healed) > ttl/3 {
			t.Errorf("loop starts %v after the store healed at %v, want one within TTL/3", starts, healed)
		}
		cancel()
		<-done
	})
}
