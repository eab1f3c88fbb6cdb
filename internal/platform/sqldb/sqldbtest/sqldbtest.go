// Package sqldbtest runs store tests on every metadata dialect: a migrated
// SQLite file in a temp dir and a fresh database on a throwaway PostgreSQL
// server (started once per test binary by Main).
package sqldbtest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/testenv"
	"github.com/dbfleet/dbfleet/migrations"
)

// shared is the PostgreSQL server of this test binary, started by Main.
// Test helpers are the one place such state is allowed.
var shared struct {
	pg *testenv.Postgres
	mu sync.Mutex
	n  int
}

// Main starts the shared PostgreSQL, runs the tests and stops it. Use it as
//
//	func TestMain(m *testing.M) { os.Exit(sqldbtest.Main(m)) }
//
// Without PostgreSQL binaries the package is skipped, or fails under CI=true.
func Main(m *testing.M) int {
	return testenv.RunMain(m, func(tb testing.TB) { shared.pg = testenv.StartPostgres(tb) })
}

// MainWith is Main for a package that shares more servers: setup starts
// them (with the same testing.TB, so they stop after the tests too).
func MainWith(m *testing.M, setup func(tb testing.TB)) int {
	return testenv.RunMain(m, func(tb testing.TB) {
		shared.pg = testenv.StartPostgres(tb)
		setup(tb)
	})
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
	if shared.pg == nil {
		t.Fatal("sqldbtest: no shared PostgreSQL; call sqldbtest.Main from TestMain")
	}
	shared.mu.Lock()
	shared.n++
	name := fmt.Sprintf("t%d_%d", os.Getpid(), shared.n)
	shared.mu.Unlock()
	shared.pg.CreateDatabase(t, name)
	return shared.pg.URL(name)
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
