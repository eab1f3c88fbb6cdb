package flows

import (
	"context"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/migrations"
)

// migrateTo migrates db with the migrations up to and including version.
func migrateTo(t *testing.T, db *sqldb.DB, version string) {
	t.Helper()
	some := fstest.MapFS{}
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sql") {
			return err
		}
		if name := path[strings.LastIndex(path, "/")+1:]; name[:5] <= version {
			b, err := fs.ReadFile(migrations.FS, path)
			if err != nil {
				return err
			}
			some[path] = &fstest.MapFile{Data: b}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background(), some, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
}

// Tickets whose statements the executor work orders had before recorded
// (ticket_statements) stay readable after migration 00018 moved them into
// their step's result: the ticket shows the same statements; such a step
// has no rollback SQL and cannot be resumed. On both metadata stores.
func TestTicketsRunBeforeTheExecutorStayReadable(t *testing.T) {
	servers(t)
	for _, store := range []struct {
		name string
		open func(*testing.T) *sqldb.DB
	}{{"sqlite", func(t *testing.T) *sqldb.DB { return openStore(t, "") }}, {"postgres", func(t *testing.T) *sqldb.DB {
		name := uniq("store")
		shared.pg.CreateDatabase(t, name)
		return openStore(t, shared.pg.URL(name))
	}}} {
		t.Run(store.name, func(t *testing.T) {
			db := store.open(t)
			migrateTo(t, db, "00017")
			f := newFixture(t, db, map[string]string{"change.xml": changeFlow})
			f.stopWorker()
			// Two tickets as the old executor left them: one done, one
			// failed with a statement whose outcome was unknown.
			ok := f.submit("dev", "change", map[string]any{"target": "pg-1/" + f.pgD, "sql": "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1), (2)"})
			bad := f.submit("dev", "change", map[string]any{"target": "pg-1/" + f.pgD, "sql": "CREATE TABLE b (id int);\nCREATE TABLE c (id int)"})
			ctx := context.Background()
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{"UPDATE tickets SET state = 'done', step = 3 WHERE id = ?", []any{ok.ID}},
				{"UPDATE tickets SET state = 'failed', step = 2, error = 'statement 2 may or may not have run' WHERE id = ?", []any{bad.ID}},
				{"UPDATE ticket_steps SET state = 'done', result = '{\"summary\":\"2 statements on pg-1, 2 row(s) affected\"}' WHERE ticket_id = ? AND idx < 3", []any{ok.ID}},
				{"UPDATE ticket_steps SET state = 'done' WHERE ticket_id = ? AND idx < 2", []any{bad.ID}},
				{"UPDATE ticket_steps SET state = 'failed', result = '{}' WHERE ticket_id = ? AND idx = 2", []any{bad.ID}},
				{`INSERT INTO ticket_statements (ticket_id, step_idx, idx, line, sql_text, state, rows_affected, started_at, finished_at, error) VALUES
					(?, 2, 0, 1, 'CREATE TABLE a (id int)', 'done', 0, 1765100000000, 1765100000250, ''),
					(?, 2, 1, 2, 'INSERT INTO a VALUES (1), (2)', 'done', 2, 1765100000300, 1765100000400, '')`, []any{ok.ID, ok.ID}},
				{`INSERT INTO ticket_statements (ticket_id, step_idx, idx, line, sql_text, state, started_at, error) VALUES
					(?, 2, 0, 1, 'CREATE TABLE b (id int)', 'done', 1765100000000, ''),
					(?, 2, 1, 2, 'CREATE TABLE c (id int)', 'unknown', 1765100000500, 'the server stopped while it ran outside a transaction')`, []any{bad.ID, bad.ID}},
			} {
				if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
					t.Fatalf("%s: %v", q.sql, err)
				}
			}
			if err := db.Migrate(ctx, migrations.FS, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, "SELECT 1 FROM ticket_statements"); err == nil {
				t.Fatal("ticket_statements is still there")
			}

			_, dba := f.as("dba")
			tk, err := f.svc.Get(ctx, dba, ok.ID)
			if err != nil {
				t.Fatal(err)
			}
			run := tk.Steps[2]
			if len(run.Statements) != 2 || run.Statements[1].SQL != "INSERT INTO a VALUES (1), (2)" || run.Statements[1].State != StmtDone ||
				run.Statements[1].RowsAffected != 2 || run.Statements[1].Line != 2 || run.Statements[0].Index != 0 ||
				run.Statements[0].FinishedAt.Sub(run.Statements[0].StartedAt).Milliseconds() != 250 || run.Statements[0].StartedAt.UnixMilli() != 1765100000000 {
				t.Fatalf("statements of the old ticket: %+v", run.Statements)
			}
			if _, shown := run.Result[statementsKey]; shown || run.Summary != "2 statements on pg-1, 2 row(s) affected" {
				t.Fatalf("step result: %+v", run.Result)
			}
			if tk.CanRollback {
				t.Fatal("a ticket run by the old executor offers a rollback")
			}
			_, err = f.svc.RollbackSQL(ctx, dba, ok.ID)
			kindOf(t, err, errkind.Invalid, "kept no before-images")

			tk, err = f.svc.Get(ctx, dba, bad.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st := tk.Steps[2].Statements; len(st) != 2 || st[1].State != StmtUnknown || st[1].Error == "" || !st[1].FinishedAt.IsZero() {
				t.Fatalf("statements of the failed old ticket: %+v", st)
			}
			c, _ := f.as("dba")
			_, err = f.svc.Retry(c, dba, bad.ID, RetryRequest{Resolve: "done"})
			kindOf(t, err, errkind.Conflict, "ran before this server's upgrade")
		})
	}
}

// openStore opens a metadata store: SQLite in a temporary directory when
// url is empty.
func openStore(t *testing.T, url string) *sqldb.DB {
	t.Helper()
	if url == "" {
		url = t.TempDir() + "/dbfleet.db"
	}
	db, err := sqldb.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
