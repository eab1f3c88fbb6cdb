package route

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// BenchmarkRoute: the router's cost per statement, from an autocommit
// session on MariaDB:
//
//	go test -run '^$' -bench Route -benchmem -cpu 1 ./internal/proxy/route/
//
// Goal: well under 1 µs and 0-1 allocations for a point select. On a
// shared machine, read cpu-ns/op (the benchmark thread's CPU time per
// operation) beside ns/op (wall time, which waits for other processes).
func BenchmarkRoute(b *testing.B) {
	long := "SELECT o.id, o.total, o.created_at, c.name, c.email, a.street, a.city, a.zip " +
		"FROM orders o JOIN customers c ON c.id = o.customer_id JOIN addresses a ON a.id = o.address_id " +
		"WHERE o.created_at > '2024-01-01' AND o.status IN ('paid', 'shipped', 'delivered') AND c.country = 'DE' " +
		strings.Repeat("AND o.total > 10 ", 20) + "ORDER BY o.created_at DESC, o.id DESC LIMIT 50"
	for _, bc := range []struct{ name, q, want string }{
		{"point-select", "SELECT id, name, email FROM users WHERE id = 42", "replica read"},
		{"write", "UPDATE users SET last_seen = NOW() WHERE id = 42", "primary write w"},
		{"set", "SET NAMES utf8mb4", "session session r"},
		{"long-select", long, "replica read"},
		{"begin", "BEGIN", "primary tx-begin"},
		{"hinted-select", "/* dbfleet:primary */ SELECT id FROM users WHERE id = 42", "primary hint:primary"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := NewState(sql.MariaDB)
			st.ServerVersion = 101106
			if got := render(Route(st, bc.q)); got != bc.want {
				b.Fatalf("%q: %s, want %s", bc.q, got, bc.want)
			}
			b.SetBytes(int64(len(bc.q)))
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				st.InTx = false
				_ = Route(st, bc.q)
			}
			cpu.report(b)
		})
	}
	// The floor: sql.LexClass alone on the point select.
	b.Run("point-select-lexclass-only", func(b *testing.B) {
		q := "SELECT id, name, email FROM users WHERE id = 42"
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			_ = sql.LexClass(sql.MariaDB, q)
		}
		cpu.report(b)
	})
}

// cpuClock measures a benchmark loop's CPU time on its (locked) thread.
type cpuClock struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuClock {
	runtime.LockOSThread()
	t, ok := threadCPU()
	return cpuClock{t, ok}
}

// report adds cpu-ns/op, the thread's CPU time per operation, which
// other processes on a shared machine disturb less than ns/op.
func (c cpuClock) report(b *testing.B) {
	end, ok := threadCPU()
	runtime.UnlockOSThread()
	if c.ok && ok && b.N > 0 {
		b.ReportMetric(float64(end-c.start)/float64(b.N), "cpu-ns/op")
	}
}

// TestPointSelectDoesNotAllocate: routing ordinary reads and writes
// allocates nothing (BenchmarkRoute measures their cost).
func TestPointSelectDoesNotAllocate(t *testing.T) {
	for _, q := range []string{
		"SELECT id, name, email FROM users WHERE id = 42",
		"UPDATE users SET last_seen = NOW() WHERE id = 42",
		"SELECT balance FROM accounts WHERE id = 7 FOR UPDATE",
		"/* app:checkout */ SELECT COUNT(*) FROM cart_items WHERE cart_id = 99",
		"COMMIT",
		"/* dbfleet:primary */ SELECT id FROM users WHERE id = 42",
		"SELECT id FROM users WHERE id = 42 -- dbfleet:replica",
	} {
		st := NewState(sql.MariaDB)
		if n := testing.AllocsPerRun(50, func() { _ = Route(st, q) }); n != 0 {
			t.Errorf("Route(%q) allocates %v times", q, n)
		}
	}
}
