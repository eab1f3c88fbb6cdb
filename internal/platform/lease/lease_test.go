package lease

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { os.Exit(sqldbtest.Main(m)) }

func managers(db *sqldb.DB, ttl time.Duration) (*Manager, *Manager) {
	log := slog.New(slog.DiscardHandler)
	a, b := NewManager(db, log), NewManager(db, log)
	a.TTL, b.TTL = ttl, ttl
	return a, b
}

func TestAcquire(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		a, b := managers(db, 10*time.Second)
		if a.Holder() == b.Holder() {
			t.Fatal("two managers share a holder identity")
		}
		steps := []struct {
			m    *Manager
			want bool
		}{{a, true}, {b, false}, {a, true}, {b, false}}
		for i, s := range steps {
			if got, err := s.m.TryAcquire(ctx, "probe"); err != nil || got != s.want {
				t.Fatalf("step %d: acquired=%v err=%v, want %v", i, got, err, s.want)
			}
		}
		info, ok, err := b.Get(ctx, "probe")
		if err != nil || !ok || info.Holder != a.Holder() || !info.ExpiresAt.After(info.AcquiredAt) {
			t.Fatalf("get: %+v %v %v", info, ok, err)
		}
		// Another lease name is independent.
		if got, _ := b.TryAcquire(ctx, "other"); !got {
			t.Fatal("b could not take an unrelated lease")
		}
		// Releasing hands over at once; releasing what you don't hold does nothing.
		if err := b.Release(ctx, "probe"); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.TryAcquire(ctx, "probe"); got {
			t.Fatal("b took a lease a holds after releasing nothing")
		}
		a.Release(ctx, "probe")
		if got, _ := b.TryAcquire(ctx, "probe"); !got {
			t.Fatal("b could not take a released lease")
		}
	})
}

func TestExpiry(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		a, b := managers(db, 300*time.Millisecond)
		if got, _ := a.TryAcquire(ctx, "x"); !got {
			t.Fatal("a could not acquire")
		}
		if got, _ := b.TryAcquire(ctx, "x"); got {
			t.Fatal("b took a live lease")
		}
		// a "crashes": it stops renewing. After the TTL, b takes over.
		// Expiry is the database's clock, which synctest cannot fake:
		// this test waits for it.
		time.Sleep(400 * time.Millisecond)
		if got, _ := b.TryAcquire(ctx, "x"); !got {
			t.Fatal("b could not take an expired lease")
		}
		info, _, _ := b.Get(ctx, "x")
		if info.Holder != b.Holder() {
			t.Fatalf("holder %q, want b", info.Holder)
		}
	})
}

// TestRunHandsOver runs Run on the real stores: when the holder stops (and
// releases), the other process takes over. The timing (one runner at a
// time, renewal cadence, hand-over within a renewal period) is tested
// with synctest in timing_test.go.
func TestRunHandsOver(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		a, b := managers(db, 300*time.Millisecond)
		running := make(chan string, 2)
		loop := func(name string) func(ctx context.Context) error {
			return func(ctx context.Context) error {
				running <- name
				<-ctx.Done()
				return nil
			}
		}
		actx, acancel := context.WithCancel(context.Background())
		bctx, bcancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { a.Run(actx, "loop", loop("a")) })
		if got := waitRunner(t, running); got != "a" {
			t.Fatalf("first runner %q, want a", got)
		}
		wg.Go(func() { b.Run(bctx, "loop", loop("b")) })
		acancel()
		if got := waitRunner(t, running); got != "b" {
			t.Fatalf("runner after a stopped: %q, want b", got)
		}
		bcancel()
		wg.Wait()
	})
}

func waitRunner(t *testing.T, running <-chan string) string {
	t.Helper()
	select {
	case name := <-running:
		return name
	case <-time.After(10 * time.Second):
		t.Fatal("no loop started within 10 s")
		return ""
	}
}

// TestStopsWhenRowLocked: when the store stops answering (here another
// transaction holds the lease row), the loop must stop before the lease
// could expire, not wait for the store.
func TestStopsWhenRowLocked(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		a, _ := managers(db, 600*time.Millisecond)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		started, stopped := make(chan time.Time, 1), make(chan time.Time, 1)
		go a.Run(ctx, "loop", func(ctx context.Context) error {
			started <- time.Now()
			<-ctx.Done()
			stopped <- time.Now()
			return nil
		})
		<-started
		// Block the store: a transaction writes the lease row and waits.
		hold, release := make(chan struct{}), make(chan struct{})
		go db.InTx(context.Background(), func(tx *sqldb.Tx) error {
			if _, err := tx.ExecContext(context.Background(), "UPDATE leases SET holder = holder WHERE name = ?", "loop"); err != nil {
				t.Error(err)
			}
			close(hold)
			<-release
			return nil
		})
		<-hold
		blocked := time.Now()
		select {
		case at := <-stopped:
			// At most a tick (TTL/3) plus the renewal timeout (TTL/3).
			if d := at.Sub(blocked); d > 600*time.Millisecond {
				t.Errorf("loop stopped %s after the store hung, later than the TTL", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("loop kept running while the store did not answer")
		}
		close(release)
	})
}
