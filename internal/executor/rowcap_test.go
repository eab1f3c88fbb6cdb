package executor

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// TestDeclaredRows: a script whose data changes affect more rows than
// declared (plus executor.declared_rows_margin) is stopped; the
// transaction that went past the cap is rolled back before its COMMIT,
// nothing after it runs, and the error says declared against actual.
func TestDeclaredRows(t *testing.T) {
	e := newEnv(t)
	svc, _ := e.service(Config{DeclaredRowsMargin: 10})
	for _, eng := range []struct {
		instance string
		db       *sql.DB
	}{{"m1", e.my}, {"pg1", e.pg}} {
		for _, tc := range []struct {
			name   string
			script string
			opts   Options
			// want: the execution's state, the rows changed afterwards
			// (v = 1), words of the failed statement's error.
			state   string
			changed string
			failed  int
			errText []string
		}{
			{name: "5 declared, 50 updated", script: "UPDATE rc SET v = 1 WHERE id <= 50; UPDATE rc SET v = 1 WHERE id = 100",
				opts: Options{DeclaredRows: 5}, state: StateFailed, changed: "0", failed: 1,
				errText: []string{"changed 50 row(s)", "6 allowed: 5 declared", "rolled back before COMMIT"}},
			{name: "within the margin", script: "UPDATE rc SET v = 1 WHERE id <= 54",
				opts: Options{DeclaredRows: 50}, state: StateDone, changed: "54"},
			{name: "exactly declared", script: "DELETE FROM rc WHERE id > 190; UPDATE rc SET v = 1 WHERE id <= 10",
				opts: Options{DeclaredRows: 20}, state: StateDone, changed: "10"},
			{name: "the total counts, continue_on_error does not", script: "UPDATE rc SET v = 1 WHERE id <= 8; UPDATE rc SET v = 1 WHERE id > 8 AND id <= 16; UPDATE rc SET v = 1 WHERE id = 200",
				opts: Options{DeclaredRows: 10, ContinueOnError: true}, state: StateFailed, changed: "8", failed: 2,
				errText: []string{"changed 8 row(s), 16 in all with the 8 committed before it", "11 allowed: 10 declared"}},
			{name: "chunks: the one past the cap rolls back", script: "UPDATE rc SET v = 1 WHERE id > 0",
				opts: Options{DeclaredRows: 30, ChunkSize: 20}, state: StateFailed, changed: "20", failed: 1,
				errText: []string{"chunk 2: more rows than declared: it changed 20 row(s), 40 in all with the 20 committed before it", "33 allowed"}},
			{name: "max_rows without a declared count", script: "UPDATE rc SET v = 1 WHERE id <= 3",
				opts: Options{MaxRows: 2}, state: StateFailed, changed: "0", failed: 1, errText: []string{"more than the max_rows 2"}},
			{name: "no declared count: no cap", script: "UPDATE rc SET v = 1 WHERE id > 0", state: StateDone, changed: "200"},
		} {
			t.Run(eng.instance+"/"+tc.name, func(t *testing.T) {
				outer := e.t
				e.t = t
				defer func() { e.t = outer }()
				e.exec(eng.db, "DROP TABLE IF EXISTS rc", "CREATE TABLE rc (id INT PRIMARY KEY, v INT NOT NULL)")
				ins := "INSERT INTO rc SELECT seq, 0 FROM seq_1_to_200"
				if eng.instance == "pg1" {
					ins = "INSERT INTO rc SELECT g, 0 FROM generate_series(1, 200) g"
				}
				e.exec(eng.db, ins)
				if eng.instance == "pg1" {
					e.exec(eng.db, "ANALYZE rc")
				}
				if tc.opts.ChunkSize == 0 {
					tc.opts.ChunkSize = -1
				}
				ex := e.run(svc, eng.instance, tc.script, tc.opts)
				if ex.State != tc.state {
					t.Fatalf("state %s (%s), want %s", ex.State, ex.Error, tc.state)
				}
				if got := e.scalar(eng.db, "SELECT COUNT(*) FROM rc WHERE v = 1"); got != tc.changed {
					t.Errorf("rows changed %s, want %s", got, tc.changed)
				}
				if tc.failed == 0 {
					return
				}
				s := stmtBySeq(t, ex, tc.failed)
				for _, w := range tc.errText {
					if s.State != StateFailed || !strings.Contains(s.Error, w) || !strings.Contains(ex.Error, w) {
						t.Errorf("statement %d %s %q (execution: %q), want %q", tc.failed, s.State, s.Error, ex.Error, w)
					}
				}
				for _, after := range ex.Statements[tc.failed:] {
					if after.State != StatePending {
						t.Errorf("statement %d after the stop: %s", after.Seq, after.State)
					}
				}
			})
		}
	}
}

// TestDeclaredRowsUncountable: with a cap, statements whose changes the
// cap cannot count (a procedure, DO, a query or SET calling a stored
// function that writes) are refused at submission, naming the statement;
// nothing runs. Without a cap they run as before.
func TestDeclaredRowsUncountable(t *testing.T) {
	e := newEnv(t)
	svc, _ := e.service(Config{DeclaredRowsMargin: 10})
	e.exec(e.my, "CREATE TABLE rc (id INT PRIMARY KEY, v INT NOT NULL)", "INSERT INTO rc SELECT seq, 0 FROM seq_1_to_200",
		"CREATE FUNCTION rcf() RETURNS INT DETERMINISTIC MODIFIES SQL DATA BEGIN UPDATE rc SET v = 1; RETURN 1; END",
		"CREATE PROCEDURE rcp() UPDATE rc SET v = 1")
	e.exec(e.pg, "CREATE TABLE rc (id INT PRIMARY KEY, v INT NOT NULL)", "INSERT INTO rc SELECT g, 0 FROM generate_series(1, 200) g",
		"CREATE PROCEDURE rcp() LANGUAGE SQL AS $$ UPDATE rc SET v = 1 $$")
	dbs := map[string]*sql.DB{"m1": e.my, "pg1": e.pg}
	for _, tc := range []struct {
		instance, script string
		// refused: words of the error; "" means it is accepted.
		refused string
	}{
		{"m1", "CALL rcp()", "statement 1 (line 1, column 1): CALL is refused with declared_rows"},
		{"m1", "UPDATE rc SET v = 0 WHERE id = 1;\nDO rcf()", "statement 2 (line 2, column 1): DO is refused"},
		{"m1", "SELECT rcf()", "SELECT calling a stored function is refused"},
		{"m1", "SET @x = rcf()", "SET calling a stored function is refused"},
		{"pg1", "CALL rcp()", "CALL is refused"},
		{"pg1", "DO $$ BEGIN UPDATE rc SET v = 1; END $$", "DO is refused"},
		{"m1", "SELECT COUNT(*), MAX(v) FROM rc; UPDATE rc SET v = 0 WHERE id = 1", ""},
	} {
		t.Run(tc.instance+"/"+tc.script, func(t *testing.T) {
			outer := e.t
			e.t = t
			defer func() { e.t = outer }()
			id, err := svc.Start(e.ctx, Request{Instance: tc.instance, Database: e.db, SQL: tc.script, Options: Options{DeclaredRows: 5}, RequestedBy: "tester"})
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				e.done(e.wait(svc, id))
				return
			}
			if !errkind.Is(err, errkind.Invalid) || !strings.Contains(err.Error(), tc.refused) {
				t.Fatalf("start: %v, want %q", err, tc.refused)
			}
			if got := e.scalar(dbs[tc.instance], "SELECT COUNT(*) FROM rc WHERE v = 1"); got != "0" {
				t.Errorf("rows changed by a refused script: %s", got)
			}
		})
	}
	// No cap: a procedure runs as written.
	e.done(e.run(svc, "m1", "CALL rcp()", Options{}))
	if got := e.scalar(e.my, "SELECT COUNT(*) FROM rc WHERE v = 1"); got != "200" {
		t.Errorf("rows changed by CALL without a cap: %s", got)
	}
}
