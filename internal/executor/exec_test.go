package executor

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// counterScript increments counter row k once per statement, with a
// chunked statement (hits of 3000 rows, chunks of 100) in the middle.
func counterScript(n int) string {
	var b strings.Builder
	for k := 1; k <= n; k++ {
		fmt.Fprintf(&b, "UPDATE counter SET n = n + 1 WHERE id = %d;\n", k)
		if k == n/2 {
			b.WriteString("UPDATE hits SET n = n + 1 WHERE id > 0;\n")
		}
	}
	return b.String()
}

func counterFixture(e *tenv, n int) {
	e.exec(e.my,
		"CREATE TABLE counter (id INT PRIMARY KEY, n INT NOT NULL)",
		fmt.Sprintf("INSERT INTO counter SELECT seq, 0 FROM seq_1_to_%d", n),
		"CREATE TABLE hits (id INT PRIMARY KEY, n INT NOT NULL)",
		"INSERT INTO hits SELECT seq, 0 FROM seq_1_to_3000",
	)
}

// everyOnce checks that each statement ran exactly once.
func everyOnce(e *tenv, n int) {
	e.t.Helper()
	if got := e.scalar(e.my, "SELECT GROUP_CONCAT(DISTINCT n) FROM counter"); got != "1" {
		e.t.Errorf("counter values %s, want all 1: %s", got, e.scalar(e.my, "SELECT GROUP_CONCAT(CONCAT(id, '=', n)) FROM counter WHERE n <> 1"))
	}
	if got := e.scalar(e.my, "SELECT GROUP_CONCAT(DISTINCT n) FROM hits"); got != "1" {
		e.t.Errorf("hits values %s, want all 1", got)
	}
}

func TestResumeAfterStopNeverRunsTwice(t *testing.T) {
	e := newEnv(t)
	const n = 40
	counterFixture(e, n)
	cfg := Config{ChunkSize: 100, StopGrace: 30 * time.Second}
	svc, stop := e.service(cfg)

	// Stop the server while the chunked statement is half way.
	chunks := make(chan struct{}, 100)
	unsub := svc.Subscribe(func(ev Event) {
		if ev.Statement == n/2+1 && strings.Contains(ev.Message, "chunk(s)") {
			select {
			case chunks <- struct{}{}:
			default:
			}
		}
	})
	id, err := svc.Start(e.ctx, Request{Instance: "m1", Database: e.db, SQL: counterScript(n)})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		select {
		case <-chunks:
		case <-time.After(time.Minute):
			t.Fatal("no chunk progress")
		}
	}
	stop()
	unsub()
	ex, err := svc.Get(e.ctx, tester, id)
	if err != nil {
		t.Fatal(err)
	}
	mid := stmtBySeq(t, ex, n/2+1)
	if ex.State != StateRunning || mid.State != StateRunning || mid.Chunks < 5 || mid.Chunks >= 30 {
		t.Fatalf("after stop: execution %s, chunked statement %s with %d chunks; want both running part way", ex.State, mid.State, mid.Chunks)
	}
	if got := e.scalar(e.my, "SELECT COUNT(*) FROM hits WHERE n = 1"); got != fmt.Sprint(mid.RowsAffected) {
		t.Errorf("rows committed %s, recorded %d", got, mid.RowsAffected)
	}

	// A new server resumes it.
	svc2, _ := e.service(cfg)
	ex = e.wait(svc2, id)
	e.done(ex)
	everyOnce(e, n)
	if mid := stmtBySeq(t, ex, n/2+1); mid.Chunks != 30 || mid.RowsAffected != 3000 {
		t.Errorf("chunked statement: %d chunks, %d rows; want 30 and 3000", mid.Chunks, mid.RowsAffected)
	}
	rb, err := svc2.RollbackScript(e.ctx, tester, id)
	if err != nil || !rb.Complete || strings.Count(rb.SQL, "UPDATE `") != n+30 {
		t.Errorf("rollback after resume: %v complete=%v statements=%d", err, rb.Complete, strings.Count(rb.SQL, "UPDATE `"))
	}
}

// crash leaves the store as a process killed at a given point would:
// statement seq running, with a unit in state unit (or none).
func crash(t *testing.T, e *tenv, id ID, seq int, unit string) {
	t.Helper()
	err := e.store.InTx(e.ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(e.ctx, "UPDATE exec_executions SET state = ?, started_at = ? WHERE id = ?", StateRunning, sqldb.Now(), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(e.ctx, "UPDATE exec_statements SET state = ? WHERE execution_id = ? AND seq < ?", StateDone, id, seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(e.ctx, "UPDATE exec_statements SET state = ? WHERE execution_id = ? AND seq = ?", StateRunning, id, seq); err != nil {
			return err
		}
		if unit == "" {
			return nil
		}
		_, err := tx.ExecContext(e.ctx, `INSERT INTO exec_units (statement_id, seq, state, started_at)
			SELECT id, 1, ?, ? FROM exec_statements WHERE execution_id = ? AND seq = ?`, unit, sqldb.Now(), id, seq)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCrashRecovery(t *testing.T) {
	for _, tc := range []struct {
		name     string
		unit     string  // the unit statement 2 had when the process died
		applied  bool    // whether its change had committed
		decision InDoubt // the human's decision, when in doubt
		want     string  // counter values after
	}{
		// Recorded as started, never committed: rerun without asking.
		{name: "started", unit: unitStarted, applied: false, want: "1,1,1"},
		// COMMIT under way: in doubt; it had committed; the human says done.
		{name: "committing, done", unit: unitCommitting, applied: true, decision: InDoubtDone, want: "1,1,1"},
		// COMMIT under way, it had not committed; the human says rerun.
		{name: "committing, rerun", unit: unitCommitting, applied: false, decision: InDoubtRerun, want: "1,1,1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.exec(e.my, "CREATE TABLE counter (id INT PRIMARY KEY, n INT NOT NULL)", "INSERT INTO counter VALUES (1, 0), (2, 0), (3, 0)")
			// Queue it with no server running, then play the crashed process.
			svc := NewService(e.store, e.inv, Config{PollInterval: 50 * time.Millisecond}, discard)
			id, err := svc.Start(e.ctx, Request{Instance: "m1", Database: e.db,
				SQL: "UPDATE counter SET n = n + 1 WHERE id = 1; UPDATE counter SET n = n + 1 WHERE id = 2; UPDATE counter SET n = n + 1 WHERE id = 3"})
			if err != nil {
				t.Fatal(err)
			}
			e.exec(e.my, "UPDATE counter SET n = 1 WHERE id = 1")
			if tc.applied {
				e.exec(e.my, "UPDATE counter SET n = 1 WHERE id = 2")
			}
			crash(t, e, id, 2, tc.unit)

			svc2, _ := e.service(Config{})
			ex := e.wait(svc2, id)
			if tc.decision == "" {
				e.done(ex)
			} else {
				if ex.State != StateInDoubt || stmtBySeq(t, ex, 2).State != StateInDoubt || stmtBySeq(t, ex, 3).State != StatePending {
					t.Fatalf("want in doubt at statement 2: %s %s %s", ex.State, stmtBySeq(t, ex, 2).State, ex.Error)
				}
				if got := e.scalar(e.my, "SELECT n FROM counter WHERE id = 3"); got != "0" {
					t.Fatalf("statement 3 ran while 2 was in doubt")
				}
				err := svc2.Resume(e.ctx, id, "")
				if errkind.Of(err) != errkind.Invalid {
					t.Errorf("resume without a decision: %v", err)
				}
				if err := svc2.Resume(e.ctx, id, tc.decision); err != nil {
					t.Fatal(err)
				}
				e.done(e.wait(svc2, id))
			}
			if got := e.scalar(e.my, "SELECT GROUP_CONCAT(n ORDER BY id) FROM counter"); got != tc.want {
				t.Errorf("counters %s, want %s", got, tc.want)
			}
		})
	}

	// A DDL statement left running is in doubt: nothing tells whether it ran.
	t.Run("ddl", func(t *testing.T) {
		e := newEnv(t)
		e.exec(e.my, "CREATE TABLE t (id INT PRIMARY KEY)")
		svc := NewService(e.store, e.inv, Config{}, discard)
		id, err := svc.Start(e.ctx, Request{Instance: "m1", Database: e.db, SQL: "ALTER TABLE t ADD COLUMN a INT; ALTER TABLE t ADD COLUMN b INT"})
		if err != nil {
			t.Fatal(err)
		}
		crash(t, e, id, 1, "")
		svc2, _ := e.service(Config{})
		ex := e.wait(svc2, id)
		if ex.State != StateInDoubt || !strings.Contains(stmtBySeq(t, ex, 1).Error, "may or may not have taken effect") {
			t.Fatalf("want in doubt: %s %+v", ex.State, stmtBySeq(t, ex, 1))
		}
		e.exec(e.my, "ALTER TABLE t ADD COLUMN a INT") // a human checks and finds it did not run: does it and says done
		if err := svc2.Resume(e.ctx, id, InDoubtDone); err != nil {
			t.Fatal(err)
		}
		e.done(e.wait(svc2, id))
		if got := e.scalar(e.my, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't'"); got != "3" {
			t.Errorf("columns %s, want 3", got)
		}
	})
}

func TestThrottleOnReplicaLag(t *testing.T) {
	e := newEnv(t)
	e.exec(e.my, "CREATE TABLE big (id INT PRIMARY KEY, v INT)", "INSERT INTO big SELECT seq, seq FROM seq_1_to_3000")
	e.replica()
	rep := srv(t).cluster.Replicas()[0]
	rep.Exec(t, "STOP SLAVE SQL_THREAD")
	t.Cleanup(func() { rep.Exec(t, "START SLAVE SQL_THREAD") })

	svc, _ := e.service(Config{})
	var mu sync.Mutex
	var events []string
	svc.Subscribe(func(ev Event) {
		if ev.State == "throttled" || ev.Message == "throttling ended" {
			mu.Lock()
			events = append(events, ev.State+": "+ev.Message)
			mu.Unlock()
		}
	})
	id, err := svc.Start(e.ctx, Request{Instance: "m1", Database: e.db, SQL: "DELETE FROM big WHERE v > 0",
		Options: Options{ChunkSize: 200, MaxLag: Duration(time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var ex Execution
	for {
		if ex, err = svc.Get(e.ctx, tester, id); err != nil {
			t.Fatal(err)
		}
		if ex.Throttle != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(ex.Throttle, "replica m2: lag unknown (its SQL thread is stopped)") {
		t.Fatalf("throttle = %q, want the stopped SQL thread named", ex.Throttle)
	}
	time.Sleep(time.Second)
	if got := e.scalar(e.my, "SELECT COUNT(*) FROM big"); got != "3000" {
		t.Errorf("%s rows left while throttled, want all 3000 (no chunk may run)", got)
	}
	rep.Exec(t, "START SLAVE SQL_THREAD")
	ex = e.wait(svc, id)
	e.done(ex)
	if got := e.scalar(e.my, "SELECT COUNT(*) FROM big"); got != "0" {
		t.Errorf("%s rows left", got)
	}
	if ex.Throttle != "" {
		t.Errorf("throttle still %q", ex.Throttle)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) < 2 || !strings.HasPrefix(events[0], "throttled: replica m2") || events[len(events)-1] != "running: throttling ended" {
		t.Errorf("events %q", events)
	}
}

func TestThrottleOnThreadsRunning(t *testing.T) {
	e := newEnv(t)
	e.exec(e.my, "CREATE TABLE big (id INT PRIMARY KEY, v INT)", "INSERT INTO big SELECT seq, seq FROM seq_1_to_1000")
	svc, _ := e.service(Config{})
	// Six sessions busy for 2 s.
	var wg sync.WaitGroup
	busy := time.Now()
	for range 6 {
		wg.Go(func() { e.my.ExecContext(e.ctx, "SELECT SLEEP(2)") })
	}
	time.Sleep(200 * time.Millisecond)
	ex := e.run(svc, "m1", "UPDATE big SET v = v + 1", Options{ChunkSize: 100, MaxThreadsRunning: 4, MaxLag: -1})
	e.done(ex)
	wg.Wait()
	if took := time.Since(busy); took < 2*time.Second {
		t.Errorf("finished %s after the load began: it did not wait for the load to pass", took)
	}
	if s := stmtBySeq(t, ex, 1); s.RowsAffected != 1000 {
		t.Errorf("rows %d", s.RowsAffected)
	}
}

func TestStatementTimeout(t *testing.T) {
	e := newEnv(t)
	e.exec(e.my, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (1, 1), (2, 2), (3, 3)")
	e.exec(e.pg, "CREATE TABLE t (id int PRIMARY KEY, v int)", "INSERT INTO t VALUES (1, 1)")
	svc, _ := e.service(Config{})
	began := time.Now()
	ex := e.run(svc, "m1", "UPDATE t SET v = v + SLEEP(2) WHERE id > 0; UPDATE t SET v = 0", Options{Timeout: Duration(500 * time.Millisecond)})
	if ex.State != StateFailed || !strings.Contains(ex.Error, "exceeded the statement timeout of 500ms") || time.Since(began) > 5*time.Second {
		t.Errorf("mariadb: %s %q after %s", ex.State, ex.Error, time.Since(began))
	}
	if got := e.scalar(e.my, "SELECT GROUP_CONCAT(v ORDER BY id) FROM t"); got != "1,2,3" {
		t.Errorf("rows changed by a timed-out or later statement: %s", got)
	}
	if s := stmtBySeq(t, ex, 2); s.State != StatePending {
		t.Errorf("statement after the failure: %s, want pending (stop on first error)", s.State)
	}
	ex = e.run(svc, "pg1", "SELECT pg_sleep(5)", Options{Timeout: Duration(300 * time.Millisecond)})
	if ex.State != StateFailed || !strings.Contains(ex.Error, "exceeded the statement timeout of 300ms") {
		t.Errorf("postgres: %s %q", ex.State, ex.Error)
	}
}

func TestContinueOnError(t *testing.T) {
	e := newEnv(t)
	e.exec(e.my, "CREATE TABLE t (id INT PRIMARY KEY)")
	svc, _ := e.service(Config{})
	ex := e.run(svc, "m1", "INSERT INTO t VALUES (1); INSERT INTO nope VALUES (1); INSERT INTO t VALUES (2)", Options{ContinueOnError: true})
	if ex.State != StateFailed || ex.Error != "1 statement(s) failed" {
		t.Errorf("state %s %q", ex.State, ex.Error)
	}
	if s := stmtBySeq(t, ex, 2); s.State != StateFailed || !strings.Contains(s.Error, "nope") {
		t.Errorf("statement 2: %s %q", s.State, s.Error)
	}
	if got := e.scalar(e.my, "SELECT GROUP_CONCAT(id ORDER BY id) FROM t"); got != "1,2" {
		t.Errorf("rows %s", got)
	}
	// Resume reruns only the failed statement once its cause is fixed.
	e.exec(e.my, "CREATE TABLE nope (id INT PRIMARY KEY)")
	if err := svc.Resume(e.ctx, ex.ID, ""); err != nil {
		t.Fatal(err)
	}
	e.done(e.wait(svc, ex.ID))
	if got := e.scalar(e.my, "SELECT GROUP_CONCAT(id ORDER BY id) FROM t"); got != "1,2" {
		t.Errorf("rows after resume %s", got)
	}
	if got := e.scalar(e.my, "SELECT COUNT(*) FROM nope"); got != "1" {
		t.Errorf("nope rows %s", got)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	e := newEnv(t)
	mariaFixture(e)
	e.exec(e.pg, "CREATE TABLE t (id int PRIMARY KEY, v int)", "INSERT INTO t SELECT g, g FROM generate_series(1, 5000) g", "ANALYZE t")
	svc, _ := e.service(Config{})
	before := e.myState("items", "tags")
	binlog := e.scalar(e.my, "SELECT @@global.gtid_binlog_pos")
	script := `USE ` + e.db + `;
UPDATE items SET qty = 0 WHERE id > 100;
DELETE FROM items WHERE id < 50;
INSERT INTO items (name) VALUES ('a'), ('b');
ALTER TABLE items ADD COLUMN extra INT;
ALTER TABLE items MODIFY note VARCHAR(10);
CREATE TABLE x (id INT PRIMARY KEY);
DROP TABLE tags;`
	ex := e.run(svc, "m1", script, Options{DryRun: true, ChunkSize: 500, BackupDone: true})
	e.done(ex)
	sameState(t, "dry run", before, e.myState("items", "tags"))
	if got := e.scalar(e.my, "SELECT @@global.gtid_binlog_pos"); got != binlog {
		t.Errorf("the dry run wrote to the binary log: %s -> %s", binlog, got)
	}
	for _, s := range ex.Statements {
		if s.State != StatePlanned {
			t.Errorf("statement %d: %s, want planned", s.Seq, s.State)
		}
	}
	if p := stmtBySeq(t, ex, 2).Plan; p.EstimatedRows < 1000 || !p.Chunked || p.ChunkSize != 500 || !strings.Contains(p.Rollback, "before-image") {
		t.Errorf("UPDATE plan: %+v", p)
	}
	if p := stmtBySeq(t, ex, 4).Plan; p.EstimatedRows != 2 || !strings.Contains(p.Rollback, "DELETE the inserted rows") {
		t.Errorf("INSERT plan: %+v", p)
	}
	if p := stmtBySeq(t, ex, 5).Plan; p.Algorithm != "INSTANT (predicted)" || !strings.Contains(p.Rollback, "DROP COLUMN `extra`") || p.TableBytes == 0 {
		t.Errorf("ADD COLUMN plan: %+v", p)
	}
	if p := stmtBySeq(t, ex, 6).Plan; p.Algorithm != "COPY (predicted)" || !strings.HasPrefix(p.Lock, "SHARED") {
		t.Errorf("MODIFY plan: %+v", p)
	}
	if p := stmtBySeq(t, ex, 8).Plan; !strings.Contains(p.Rollback, "not available: DROP TABLE destroys data") {
		t.Errorf("DROP TABLE plan: %+v", p)
	}
	if rb, _ := svc.RollbackScript(e.ctx, tester, ex.ID); rb.SQL != "" {
		t.Errorf("a dry run has a rollback: %s", rb.SQL)
	}

	pex := e.run(svc, "pg1", "UPDATE t SET v = 0 WHERE id <= 4000; CREATE INDEX CONCURRENTLY tv ON t (v); ALTER TABLE t ADD COLUMN w int", Options{DryRun: true})
	e.done(pex)
	if got := e.scalar(e.pg, "SELECT sum(v) FROM t"); got != "12502500" {
		t.Errorf("postgres rows changed by a dry run: sum %s", got)
	}
	if got := e.scalar(e.pg, "SELECT count(*) FROM pg_indexes WHERE tablename = 't'"); got != "1" {
		t.Errorf("postgres index created by a dry run")
	}
	if p := stmtBySeq(t, pex, 1).Plan; p.EstimatedRows < 3000 || !p.Chunked {
		t.Errorf("postgres UPDATE plan: %+v", p)
	}
	if p := stmtBySeq(t, pex, 2).Plan; !strings.HasPrefix(p.Lock, "SHARE UPDATE EXCLUSIVE") || p.Rollback != `DROP INDEX CONCURRENTLY "tv"` {
		t.Errorf("postgres CREATE INDEX plan: %+v", p)
	}
	if p := stmtBySeq(t, pex, 3).Plan; !strings.HasPrefix(p.Lock, "ACCESS EXCLUSIVE") || p.Algorithm != "transactional" {
		t.Errorf("postgres ALTER plan: %+v", p)
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t)
	e.exec(e.my, "CREATE TABLE t (id INT PRIMARY KEY)")
	svc, _ := e.service(Config{})
	for _, tc := range []struct {
		req  Request
		kind errkind.Kind
		msg  string
	}{
		{Request{Instance: "m1", SQL: "DELETE FROM t;\nDROP TABLE t"}, errkind.Invalid, "statement 2 (line 2, column 1): DROP TABLE t is refused unless a backup was taken first"},
		{Request{Instance: "m1", SQL: "START TRANSACTION; DELETE FROM t; COMMIT"}, errkind.Invalid, "transaction control"},
		{Request{Instance: "m1", SQL: "SELECT 'x"}, errkind.Invalid, "script: line 1, column 8: unterminated ' quote"},
		{Request{Instance: "pg1", SQL: "SELECT 1;\nSELEC 2"}, errkind.Invalid, `script: line 2, column 1: syntax error at or near "SELEC"`},
		{Request{Instance: "m1", SQL: "SELECT 1", Engine: "postgres"}, errkind.Invalid, "written for postgres but instance \"m1\" runs mariadb"},
		{Request{Instance: "nope", SQL: "SELECT 1"}, errkind.NotFound, `instance "nope" not found`},
		{Request{Instance: "m1", SQL: "SELECT 1", Options: Options{OSC: "sometimes"}}, errkind.Invalid, `osc "sometimes"`},
		{Request{Instance: "m1", SQL: "SELECT 1", Options: Options{OSC: OSCAlways}}, errkind.Invalid, "pt-online-schema-change is not configured"},
		{Request{Instance: "m1", SQL: "  "}, errkind.Invalid, "empty"},
	} {
		tc.req.Database = e.db
		_, err := svc.Start(e.ctx, tc.req)
		if errkind.Of(err) != tc.kind || err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: %v (%v), want %v %q", tc.req.SQL, err, errkind.Of(err), tc.kind, tc.msg)
		}
	}
	list, err := svc.List(e.ctx, tester, Filter{})
	if err != nil || len(list) != 0 {
		t.Errorf("refused requests stored: %d %v", len(list), err)
	}
	ex := e.run(svc, "m1", "DROP TABLE t", Options{BackupDone: true})
	e.done(ex)
	if s := ex.Statements[0]; !strings.Contains(s.Rollback, "restore it from the backup") {
		t.Errorf("DROP TABLE rollback: %q", s.Rollback)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	e.exec(e.my, "CREATE TABLE big (id INT PRIMARY KEY, v INT)", "INSERT INTO big SELECT seq, 0 FROM seq_1_to_3000")
	svc, _ := e.service(Config{})
	started := make(chan struct{}, 1)
	svc.Subscribe(func(ev Event) {
		if strings.Contains(ev.Message, "chunk(s)") {
			select {
			case started <- struct{}{}:
			default:
			}
		}
	})
	// 300 chunks: cancelled after the first.
	id, err := svc.Start(e.ctx, Request{Instance: "m1", Database: e.db, SQL: "UPDATE big SET v = 1; UPDATE big SET v = 2",
		Options: Options{ChunkSize: 10}})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if err := svc.Cancel(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	ex := e.wait(svc, id)
	s := stmtBySeq(t, ex, 1)
	if ex.State != StateCancelled || s.State != StateFailed || !strings.Contains(s.Note, "committed (the rollback covers them)") {
		t.Fatalf("cancel: %s; statement %s %q %q", ex.State, s.State, s.Note, s.Error)
	}
	if got := e.scalar(e.my, "SELECT COUNT(*) FROM big WHERE v = 1"); got != fmt.Sprint(s.RowsAffected) || s.RowsAffected == 3000 {
		t.Errorf("rows changed %s, recorded %d", got, s.RowsAffected)
	}
	if err := svc.Cancel(e.ctx, id); errkind.Of(err) != errkind.Conflict {
		t.Errorf("cancel twice: %v", err)
	}
	rid, err := svc.Rollback(e.ctx, id, RollbackRequest{})
	if err != nil {
		t.Fatal(err)
	}
	e.done(e.wait(svc, rid))
	if got := e.scalar(e.my, "SELECT COUNT(*) FROM big WHERE v <> 0"); got != "0" {
		t.Errorf("%s rows still changed after rollback", got)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	e := newEnv(t)
	svc := NewService(e.store, e.inv, Config{}, discard)
	id, err := svc.Start(e.ctx, Request{Instance: "m1", Database: e.db, SQL: "SELECT 1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := svc.Wait(ctx, id); err == nil {
		t.Error("Wait returned for an execution no server runs")
	}
	if err := svc.Cancel(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	if ex, _ := svc.Get(e.ctx, tester, id); ex.State != StateCancelled {
		t.Errorf("queued execution cancelled: %s", ex.State)
	}
}

func TestOnlineSchemaChangeTool(t *testing.T) {
	const tool = "/usr/bin/pt-online-schema-change"
	if _, err := os.Stat(tool); err != nil {
		if testenv.Required() {
			t.Fatalf("%s: %v (apt-get install percona-toolkit)", tool, err)
		}
		t.Skipf("%s not installed (apt-get install percona-toolkit)", tool)
	}
	e := newEnv(t)
	e.exec(e.my, "CREATE TABLE osc_t (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(40) NOT NULL, v INT)",
		"INSERT INTO osc_t (name, v) SELECT CONCAT('n', seq), seq FROM seq_1_to_5000",
		"ANALYZE TABLE osc_t") // table sizes come from statistics
	e.exec(e.my, "CREATE TABLE small_t (id INT PRIMARY KEY, v INT)")
	before := e.myState("osc_t")
	// Tables from 64 KiB go through the tool; small_t stays below.
	svc, _ := e.service(Config{OSCPath: tool, OSCMinBytes: 64 << 10})
	ex := e.run(svc, "m1", "ALTER TABLE osc_t ADD INDEX idx_name (name), ADD COLUMN w INT NOT NULL DEFAULT 7; ALTER TABLE small_t ADD INDEX (v)",
		Options{MaxLag: Duration(5 * time.Second)})
	e.done(ex)
	s := stmtBySeq(t, ex, 1)
	if s.Note != "ran with pt-online-schema-change" || s.Plan.Algorithm != "pt-online-schema-change" {
		t.Errorf("large table: %q %q", s.Note, s.Plan.Algorithm)
	}
	if s := stmtBySeq(t, ex, 2); s.Note != "ran with ALGORITHM=INPLACE, LOCK=NONE" {
		t.Errorf("small table: %q", s.Note)
	}
	if got := e.scalar(e.my, "SELECT COUNT(*) FROM osc_t WHERE w = 7"); got != "5000" {
		t.Errorf("rows after the tool: %s", got)
	}
	if got := e.scalar(e.my, "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'osc_t' AND INDEX_NAME = 'idx_name'"); got != "1" {
		t.Errorf("index after the tool: %s", got)
	}
	if got := e.scalar(e.my, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"); got != "2" {
		t.Errorf("tables left by the tool: %s", got)
	}
	rid, err := svc.Rollback(e.ctx, ex.ID, RollbackRequest{})
	if err != nil {
		t.Fatal(err)
	}
	e.done(e.wait(svc, rid))
	sameState(t, "after rollback", before, e.myState("osc_t"))

	// The tool failing is the statement failing, with its words.
	ex = e.run(svc, "m1", "ALTER TABLE osc_t ADD COLUMN bad INT NOT NULL DEFAULT 'x'", Options{OSC: OSCAlways})
	if ex.State != StateFailed || !strings.Contains(ex.Error, "pt-online-schema-change") {
		t.Errorf("failing tool: %s %q", ex.State, ex.Error)
	}
}

// A statement that outlasts the shutdown grace is interrupted; its
// transaction rolls back, and the next server runs it again, once.
func TestShutdownInterruptsLongStatement(t *testing.T) {
	e := newEnv(t)
	e.exec(e.my, "CREATE TABLE c (id INT PRIMARY KEY, n INT NOT NULL)", "INSERT INTO c VALUES (1, 0), (2, 0), (3, 0)")
	cfg := Config{StopGrace: 300 * time.Millisecond}
	svc, stop := e.service(cfg)
	running := make(chan struct{}, 1)
	svc.Subscribe(func(ev Event) {
		if ev.Statement == 1 && ev.State == StateRunning {
			select {
			case running <- struct{}{}:
			default:
			}
		}
	})
	id, err := svc.Start(e.ctx, Request{Instance: "m1", Database: e.db, SQL: "UPDATE c SET n = n + 1 + SLEEP(1) WHERE id > 0",
		Options: Options{ChunkSize: -1}})
	if err != nil {
		t.Fatal(err)
	}
	<-running
	time.Sleep(200 * time.Millisecond)
	began := time.Now()
	stop()
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("shutdown took %s: the statement was not interrupted after the grace", took)
	}
	ex, _ := svc.Get(e.ctx, tester, id)
	if ex.State != StateRunning || ex.Statements[0].State != StateRunning {
		t.Fatalf("after an interrupted shutdown: %s / %s %q", ex.State, ex.Statements[0].State, ex.Statements[0].Error)
	}
	if got := e.scalar(e.my, "SELECT SUM(n) FROM c"); got != "0" {
		t.Fatalf("the interrupted statement left changes: sum %s", got)
	}
	svc2, _ := e.service(cfg)
	e.done(e.wait(svc2, id))
	if got := e.scalar(e.my, "SELECT GROUP_CONCAT(n ORDER BY id) FROM c"); got != "1,1,1" {
		t.Errorf("counters %s, want 1,1,1", got)
	}
}

// The executor's tables work the same on a PostgreSQL metadata store.
func TestPostgresMetadataStore(t *testing.T) {
	e := newEnvOn(t, pgStore(t))
	e.exec(e.my, "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t SELECT seq, seq FROM seq_1_to_500")
	before := e.myState("t")
	svc, _ := e.service(Config{})
	ex := e.run(svc, "m1", "UPDATE t SET v = v * 2; DELETE FROM t WHERE id > 400; INSERT INTO t VALUES (1000, 1); ALTER TABLE t ADD COLUMN w INT; UPDATE nope SET x = 1",
		Options{ChunkSize: 100, ContinueOnError: true})
	if ex.State != StateFailed || stmtBySeq(t, ex, 1).Chunks != 5 || stmtBySeq(t, ex, 5).State != StateFailed {
		t.Fatalf("%s %q", ex.State, ex.Error)
	}
	list, err := svc.List(e.ctx, tester, Filter{Instance: "m1", State: StateFailed})
	if err != nil || len(list) != 1 || list[0].RowsAffected != 601 || list[0].Done != 4 {
		t.Fatalf("list: %+v %v", list, err)
	}
	rid, err := svc.Rollback(e.ctx, ex.ID, RollbackRequest{})
	if err != nil {
		t.Fatal(err)
	}
	e.done(e.wait(svc, rid))
	sameState(t, "after rollback", before, e.myState("t"))
	if err := svc.Resume(e.ctx, ex.ID, ""); err != nil {
		t.Fatal(err)
	}
	if ex := e.wait(svc, ex.ID); ex.State != StateFailed || !strings.Contains(ex.Error, "1 statement(s) failed") {
		t.Errorf("resumed: %s %q", ex.State, ex.Error)
	}
	entries, err := audit.NewLog(e.store).List(e.ctx, audit.Filter{Action: "exec."})
	if err != nil || len(entries) != 3 {
		t.Errorf("audit: %d entries %v", len(entries), err)
	}
}

// TestEventsNameTheInstance: an execution's start and end events name
// the instance it runs on (alerting silences it while it runs).
func TestEventsNameTheInstance(t *testing.T) {
	e := newEnv(t)
	e.exec(e.my, "CREATE TABLE t (id INT PRIMARY KEY)")
	svc, _ := e.service(Config{})
	var mu sync.Mutex
	var got []string
	svc.Subscribe(func(ev Event) {
		if ev.Statement == 0 && ev.State != StateQueued {
			mu.Lock()
			got = append(got, ev.State+"@"+ev.Instance)
			mu.Unlock()
		}
	})
	e.done(e.run(svc, "m1", "INSERT INTO t VALUES (1)", Options{}))
	events := func() string { // the end event follows the recorded state
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(got, " ")
	}
	for deadline := time.Now().Add(10 * time.Second); events() != "running@m1 done@m1" && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if s := events(); s != "running@m1 done@m1" {
		t.Fatalf("execution events = %q, want running@m1 done@m1", s)
	}
}
