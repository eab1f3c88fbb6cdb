// Package sqldbtest runs store tests on every metadata dialect: a migrated
// SQLite file in a temp dir and a fresh database on a throwaway PostgreSQL
// server (started once per test binary, by the first test that needs it;
// never under -short).
package sqldbtest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/testenv"
	"github.com/dbfleet/dbfleet/migrations"
)

// shared is the PostgreSQL server of this test binary, started by the
// first test that asks for a PostgreSQL store. Test helpers are the one
// place such state is allowed.
var shared = struct {
	pg *testenv.Shared[*testenv.Postgres]
	mu sync.Mutex
	n  int
}{pg: testenv.Share(func(tb testing.TB) *testenv.Postgres { return testenv.StartPostgres(tb) })}

// Main runs the tests and then stops the shared PostgreSQL if a test
// started it (testenv.Main, goroutine-leak check included). Use it as
//
//	func TestMain(m *testing.M) { os.Exit(sqldbtest.Main(m)) }
//
// Tests that need PostgreSQL are skipped under -short; otherwise, without
// PostgreSQL binaries they are skipped, or fail under CI=true. SQLite tests
// always run.
func Main(m *testing.M, opts ...goleak.Option) int {
	return testenv.Main(m, opts...)
}

// SQLite returns a migrated SQLite store in a temp dir.
func SQLite(t testing.TB) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), filepath.Join(t.TempDir(), "dbfleet.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background(), migrations.FS, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return db
}

// PostgresURL returns the URL of a fresh, empty database on the shared
// server. The package's TestMain must call Main.
func PostgresURL(t testing.TB) string {
	t.Helper()
	pg := shared.pg.Get(t)
	shared.mu.Lock()
	shared.n++
	name := fmt.Sprintf("t%d_%d", os.Getpid(), shared.n)
	shared.mu.Unlock()
	pg.CreateDatabase(t, name)
	return pg.URL(name)
}

// Postgres returns a migrated store in a fresh database on the shared server.
func Postgres(t testing.TB) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), PostgresURL(t))
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background(), migrations.FS, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("migrate postgres: %v", err)
	}
	return db
}

// Each runs fn as a subtest on each dialect.
func Each(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}
