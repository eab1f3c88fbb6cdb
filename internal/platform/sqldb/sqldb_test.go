package sqldb

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
)

func TestRebind(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"SELECT 1", "SELECT 1"},
		{"SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{"SELECT '?' FROM t WHERE a = ?", "SELECT '?' FROM t WHERE a = $1"},
		{`SELECT "we?ird" FROM t WHERE a = ?`, `SELECT "we?ird" FROM t WHERE a = $1`},
		{"SELECT a -- why?\nFROM t WHERE b = ?", "SELECT a -- why?\nFROM t WHERE b = $1"},
		{"SELECT 'it''s?' , ?", "SELECT 'it''s?' , $1"},
		{"INSERT INTO t VALUES (?, ?, ?)", "INSERT INTO t VALUES ($1, $2, $3)"},
		{"SELECT a -- trailing?", "SELECT a -- trailing?"},
	}
	for _, tt := range tests {
		if got := Rebind(Postgres, tt.in); got != tt.want {
			t.Errorf("Rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := Rebind(SQLite, tt.in); got != tt.in {
			t.Errorf("SQLite Rebind changed %q to %q", tt.in, got)
		}
	}
}

// TestCollect: every row is scanned in order; no rows is nil; a scan error
// ends the list with that error.
func TestCollect(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE c (n INTEGER, s TEXT)"); err != nil {
		t.Fatal(err)
	}
	scanN := func(rows *sql.Rows) (int, error) {
		var n int
		var s string
		err := rows.Scan(&n, &s)
		return n, err
	}
	list := func(q string) ([]int, error) {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return nil, err
		}
		return Collect(rows, scanN)
	}
	if got, err := list("SELECT n, s FROM c"); err != nil || got != nil {
		t.Errorf("no rows: %v, %v; want nil, nil", got, err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO c VALUES (3, 'c'), (1, 'a'), (2, 'b')"); err != nil {
		t.Fatal(err)
	}
	if got, err := list("SELECT n, s FROM c ORDER BY s"); err != nil || !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("rows: %v, %v; want [1 2 3]", got, err)
	}
	if got, err := list("SELECT n FROM c"); err == nil || got != nil {
		t.Errorf("scan of one column into two: %v, %v; want an error", got, err)
	}
}
