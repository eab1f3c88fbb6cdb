package flows

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	examples "github.com/dbfleet/dbfleet/flows"
	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/executor"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/sqldb"
	"github.com/dbfleet/dbfleet/internal/query"
)

const changeFlow = `<flow name="change" title="Change">
  <form>
    <field name="target" type="database" required="true"/>
    <field name="sql" type="sql" required="true"/>
  </form>
  <workflow>
    <review id="review"/>
    <approve id="dba" roles="dba" notify="chat">
      <policy env="test" auto="true"/>
    </approve>
    <execute id="run"/>
    <notify channel="chat" text="{{steps.run.summary}}"/>
  </workflow>
  <on-failure><notify channel="chat" title="failed: {{ticket.error}}"/></on-failure>
</flow>`

func kindOf(t *testing.T, err error, k errkind.Kind, contains string) {
	t.Helper()
	if err == nil || errkind.Of(err) != k || !strings.Contains(err.Error(), contains) {
		t.Fatalf("err = %v (kind %v), want kind %v mentioning %q", err, errkind.Of(err), k, contains)
	}
}

// A change on MariaDB (env staging) goes through review, a DBA's approval
// (never the requester's, never a developer's, never twice) and execution;
// everything is on the timeline and in the audit log. Both metadata stores.
func TestChangeEndToEnd(t *testing.T) {
	servers(t)
	for _, store := range []struct {
		name string
		open func(*testing.T) *sqldb.DB
	}{{"sqlite", sqliteStore}, {"postgres", pgStore}} {
		t.Run(store.name, func(t *testing.T) {
			f := newFixture(t, store.open(t), map[string]string{"change.xml": changeFlow})
			script := "CREATE TABLE t (id INT PRIMARY KEY COMMENT 'id', v VARCHAR(10) COMMENT 'value') COMMENT 'test';\n-- a comment; with a semicolon\nINSERT INTO t (id, v) VALUES (1, 'a;b'), (2, 'x');\nUPDATE t SET v = 'y' WHERE id = 2"
			tk := f.submit("dev", "change", map[string]any{"target": "maria-1/" + f.mariaD, "sql": script})
			if tk.Target.Env != "staging" || tk.Target.Instance != "maria-1" || tk.FlowVersion != 1 {
				t.Fatalf("target %+v version %d", tk.Target, tk.FlowVersion)
			}
			tk = f.wait(tk.ID, StateWaitingApproval)
			if tk.Steps[0].State != StepDone || !strings.Contains(tk.Steps[0].Summary, "ok: 3 statements, 0 errors, 0 warnings (dbfleet sqlreview (live schema of maria-1))") {
				t.Fatalf("review step: %+v", tk.Steps[0])
			}
			// The approval request reached the chat with a signed link.
			msgs := f.notes.messages()
			if len(msgs) != 1 || msgs[0].Channel != "chat" || !strings.HasPrefix(msgs[0].Msg.Link, fmt.Sprintf("http://dbfleet.test/tickets/%d/approve?link=", tk.ID)) {
				t.Fatalf("approval request: %+v", msgs)
			}

			step := 1
			ctx, dev := f.as("dev")
			_, err := f.svc.Approve(ctx, dev, tk.ID, Decision{Step: &step})
			kindOf(t, err, errkind.Forbidden, "requested ticket")
			ctx2, dev2 := f.as("dev2")
			_, err = f.svc.Approve(ctx2, dev2, tk.ID, Decision{Step: &step})
			kindOf(t, err, errkind.Forbidden, "may be approved by role dba")
			wrong := 2
			cdba, dba := f.as("dba")
			_, err = f.svc.Approve(cdba, dba, tk.ID, Decision{Step: &wrong})
			kindOf(t, err, errkind.Conflict, "not waiting for a decision")
			if _, err := f.svc.Approve(cdba, dba, tk.ID, Decision{Step: &step, Comment: "looks fine"}); err != nil {
				t.Fatal(err)
			}
			// Approving twice has no second effect.
			_, err = f.svc.Approve(cdba, dba, tk.ID, Decision{Step: &step})
			kindOf(t, err, errkind.Conflict, "")

			tk = f.wait(tk.ID, StateDone)
			if got := mariaQuery(t, f.mariaD, "SELECT GROUP_CONCAT(CONCAT(id, '=', v) ORDER BY id) FROM t"); got != "1=a;b,2=y" {
				t.Fatalf("table after the change: %s", got)
			}
			run := tk.Steps[2]
			if run.State != StepDone || len(run.Statements) != 3 || run.Statements[1].RowsAffected != 2 || run.Statements[1].Line != 3 || !strings.HasPrefix(run.Statements[1].SQL, "INSERT") {
				t.Fatalf("execute step: %+v", run)
			}
			kinds := []string{}
			for _, e := range tk.Timeline {
				kinds = append(kinds, e.Actor+":"+e.Kind)
			}
			want := "dev:submit system:step.start system:step.done system:step.start system:approval.request dba:approve dba:step.done system:step.start system:step.done system:step.start system:step.done system:done"
			if strings.Join(kinds, " ") != want {
				t.Fatalf("timeline\n got %s\nwant %s", strings.Join(kinds, " "), want)
			}
			entries, err := audit.NewLog(f.db).List(context.Background(), audit.Filter{Target: fmt.Sprintf("ticket/%d", tk.ID), Limit: 100})
			if err != nil || len(entries) != len(tk.Timeline) {
				t.Fatalf("audit: %d entries (%v), timeline %d", len(entries), err, len(tk.Timeline))
			}
			if last := f.notes.messages(); len(last) != 2 || !strings.Contains(last[1].Msg.Text, "3 statements on maria-1/"+f.mariaD) {
				t.Fatalf("done notification: %+v", last)
			}
			// A viewer sees the ticket but not its SQL or results.
			_, view := f.as("view")
			seen, err := f.svc.Get(context.Background(), view, tk.ID)
			if err != nil || !seen.Hidden || seen.Form != nil || seen.Steps[2].Statements != nil || strings.Contains(fmt.Sprint(seen.Fields), "INSERT") {
				t.Fatalf("viewer sees %+v (%v)", seen, err)
			}
			// The executor kept the before-images: the requester may read
			// the rollback SQL and submit it as a ticket; a viewer may not.
			if !tk.CanRollback {
				t.Fatal("a ticket run by the executor offers no rollback")
			}
			rb, err := f.svc.RollbackSQL(context.Background(), dev, tk.ID)
			if err != nil || !rb.Complete || len(rb.Executions) != 1 || rb.Instance != "maria-1" || rb.Database != f.mariaD || !strings.Contains(rb.SQL, "DROP TABLE") {
				t.Fatalf("rollback: %+v %v", rb, err)
			}
			_, err = f.svc.RollbackSQL(context.Background(), view, tk.ID)
			kindOf(t, err, errkind.Forbidden, "may not see the SQL")
			back, err := f.svc.SubmitRollback(ctx, dev, tk.ID)
			if err != nil || back.Form["sql"] != rb.SQL {
				t.Fatalf("submit the rollback: %+v %v", back, err)
			}
		})
	}
}

// On env test the policy approves at once; PostgreSQL runs each statement
// in its own transaction.
func TestAutoApprovedPostgres(t *testing.T) {
	f := newFixture(t, sqliteStore(t), map[string]string{"change.xml": changeFlow})
	tk := f.submit("dev", "change", map[string]any{"target": "pg-1/" + f.pgD, "sql": "CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t SELECT generate_series(1, 5);\nCREATE INDEX CONCURRENTLY t_id ON t (id)"})
	tk = f.wait(tk.ID, StateDone)
	if tk.Steps[1].Summary != "auto-approved (policy for env test)" {
		t.Fatalf("approve step: %+v", tk.Steps[1])
	}
	var n int
	if err := pgDB(t, f.pgD).QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil || n != 5 {
		t.Fatalf("rows: %d %v", n, err)
	}
}

// Review errors stop the ticket with the parser's line and column; the
// on-failure notification goes out.
func TestReviewStopsBadSQL(t *testing.T) {
	f := newFixture(t, sqliteStore(t), map[string]string{"change.xml": changeFlow})
	tk := f.submit("dev", "change", map[string]any{"target": "pg-1/" + f.pgD, "sql": "SELECT 1;\nSELEC 2;"})
	tk = f.wait(tk.ID, StateFailed)
	if !strings.Contains(tk.Error, "statement 2 line 2 col 1: syntax: syntax error at or near \"SELEC\"") {
		t.Fatalf("error: %s", tk.Error)
	}
	msgs := f.notes.messages()
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Msg.Title, "failed: step 1 (SQL review): review found 1 problem") {
		t.Fatalf("failure notification: %+v", msgs)
	}
	// Transaction control is refused by the executor, before anything runs.
	tk = f.submit("dev", "change", map[string]any{"target": "pg-1/" + f.pgD, "sql": "BEGIN;\nSELECT 1;\nCOMMIT"})
	tk = f.wait(tk.ID, StateFailed)
	if !strings.Contains(tk.Error, "BEGIN is not allowed: dbfleet commits each statement") {
		t.Fatalf("error: %s", tk.Error)
	}
	// MariaDB syntax errors carry their position too.
	tk = f.submit("dev", "change", map[string]any{"target": "maria-1/" + f.mariaD, "sql": "UPDATE t SET a = 1 WHERE;"})
	tk = f.wait(tk.ID, StateFailed)
	if !strings.Contains(tk.Error, "statement 1 line 1 col 25: syntax") {
		t.Fatalf("error: %s", tk.Error)
	}
}

// A statement that fails stops the ticket; after a DBA fixes the cause,
// retry goes on from that statement: those that ran do not run again.
func TestFailAndRetry(t *testing.T) {
	f := newFixture(t, sqliteStore(t), map[string]string{"change.xml": changeFlow})
	d := f.mariaD
	shared.maria.Exec(t, "CREATE TABLE "+d+".log (n INT PRIMARY KEY)", "INSERT INTO "+d+".log VALUES (2)")
	tk := f.submit("dev", "change", map[string]any{"target": "maria-p/" + d, "sql": "INSERT INTO log (n) VALUES (1);\nINSERT INTO log (n) VALUES (2);\nINSERT INTO log (n) VALUES (3)"})
	tk = f.wait(tk.ID, StateWaitingApproval)
	if tk.Target.Env != "prod" {
		t.Fatalf("env %s", tk.Target.Env)
	}
	c, dba := f.as("dba")
	step := 1
	if _, err := f.svc.Approve(c, dba, tk.ID, Decision{Step: &step}); err != nil {
		t.Fatal(err)
	}
	tk = f.wait(tk.ID, StateFailed)
	if !strings.Contains(tk.Error, "statement 2 (line 2, column 1)") || !strings.Contains(tk.Error, "Duplicate entry") {
		t.Fatalf("error: %s", tk.Error)
	}
	// Only DBAs retry.
	cd, dev := f.as("dev")
	_, err := f.svc.Retry(cd, dev, tk.ID, RetryRequest{})
	kindOf(t, err, errkind.Forbidden, "ticket.manage")
	shared.maria.Exec(t, "DELETE FROM "+d+".log WHERE n = 2")
	if _, err := f.svc.Retry(c, dba, tk.ID, RetryRequest{Comment: "removed the row in the way"}); err != nil {
		t.Fatal(err)
	}
	tk = f.wait(tk.ID, StateDone)
	if got := mariaQuery(t, d, "SELECT GROUP_CONCAT(n ORDER BY n) FROM log"); got != "1,2,3" {
		t.Fatalf("log after retry: %s (statement 1 ran twice?)", got)
	}
	if tk.ManualSteps != 1 {
		t.Fatalf("manual steps %d, want 1", tk.ManualSteps)
	}
	_, err = f.svc.Retry(c, dba, tk.ID, RetryRequest{})
	kindOf(t, err, errkind.Conflict, "only a failed ticket")
}

// Killing the worker in the middle of a statement loses nothing and runs
// no statement twice: the interrupted statement ran in a transaction that
// the server rolled back, so it runs again once; the others do not.
func TestResumeAfterStopMidStatement(t *testing.T) {
	f := newFixture(t, sqliteStore(t), map[string]string{"change.xml": changeFlow})
	d := f.mariaD
	shared.maria.Exec(t, "CREATE TABLE "+d+".c (id INT PRIMARY KEY, n INT)", "INSERT INTO "+d+".c VALUES (1, 0)", "CREATE TABLE "+d+".log (s INT)")
	// Hold the row the second statement updates.
	blocker := shared.maria.DB(t, d)
	btx, err := blocker.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := btx.Exec("SELECT * FROM c WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	tk := f.submit("dev", "change", map[string]any{"target": "maria-1/" + d, "sql": "INSERT INTO log VALUES (1);\nUPDATE c SET n = n + 1 WHERE id = 1;\nINSERT INTO log VALUES (3)"})
	f.wait(tk.ID, StateWaitingApproval)
	c, dba := f.as("dba")
	step := 1
	if _, err := f.svc.Approve(c, dba, tk.ID, Decision{Step: &step}); err != nil {
		t.Fatal(err)
	}
	f.waitStatement(tk.ID, 2, 1, StmtRunning)
	f.stopWorker() // the server stops while statement 2 waits for the lock
	j := f.statements(tk.ID, 2)
	if j[0].State != StmtDone || j[1].State == StmtDone || j[2].State != StmtPending {
		t.Fatalf("statements after the stop: %+v", j)
	}
	f.startWorker()
	time.Sleep(300 * time.Millisecond)
	if err := btx.Commit(); err != nil { // the lock goes; the dead session's UPDATE is rolled back
		t.Fatal(err)
	}
	tk2 := f.wait(tk.ID, StateDone)
	if got := mariaQuery(t, d, "SELECT n FROM c WHERE id = 1"); got != "1" {
		t.Fatalf("counter = %s, want 1 (the UPDATE must take effect exactly once)", got)
	}
	if got := mariaQuery(t, d, "SELECT GROUP_CONCAT(s ORDER BY s) FROM log"); got != "1,3" {
		t.Fatalf("log = %s, want 1,3", got)
	}
	if !strings.Contains(timelineText(tk2), "resumed (attempt 2)") {
		t.Fatalf("timeline does not show the resume:\n%s", timelineText(tk2))
	}
}

// execution is the execution a ticket step started.
func (f *fixture) execution(id int64, step int) (executor.ID, bool) {
	f.t.Helper()
	rec, err := f.svc.loadStep(context.Background(), f.db, id, step)
	if err != nil {
		f.t.Fatal(err)
	}
	ex, ok, err := execID(rec.result)
	if err != nil {
		f.t.Fatal(err)
	}
	return ex, ok
}

// statements are the statements of a ticket step's execution, as the
// executor has them now.
func (f *fixture) statements(id int64, step int) []executor.Statement {
	f.t.Helper()
	ex, ok := f.execution(id, step)
	if !ok {
		return nil
	}
	_, dba := f.as("dba")
	e, err := f.exec.Get(context.Background(), dba, ex)
	if err != nil {
		f.t.Fatal(err)
	}
	return e.Statements
}

func (f *fixture) waitStatement(id int64, step, idx int, state string) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		j := f.statements(id, step)
		if len(j) > idx && j[idx].State == state {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatalf("statement %d of ticket %d never became %s", idx+1, id, state)
}

// A statement that cannot run in a transaction and was interrupted may or
// may not have run: the ticket stops, and a DBA resolves it.
func TestUnknownStatementNeedsResolution(t *testing.T) {
	f := newFixture(t, sqliteStore(t), map[string]string{"change.xml": changeFlow})
	d := f.mariaD
	tk := f.submit("dev", "change", map[string]any{"target": "maria-1/" + d, "sql": "CREATE TABLE a (id INT PRIMARY KEY);\nCREATE TABLE b (id INT PRIMARY KEY)"})
	f.wait(tk.ID, StateWaitingApproval)
	c, dba := f.as("dba")
	step := 1
	// Pretend the server died while statement 1 (DDL, no transaction) ran.
	f.stopWorker()
	if _, err := f.svc.Approve(c, dba, tk.ID, Decision{Step: &step}); err != nil {
		t.Fatal(err)
	}
	// The execute step's execution, started as the step does, then left
	// by a dying server with statement 1 (DDL: no transaction) running.
	_, dev := f.as("dev")
	ex, err := f.exec.StartTicketStep(context.Background(), executor.TicketKey{Ticket: tk.ID, Step: 3},
		executor.Request{Instance: "maria-1", Database: d, Engine: engine.MariaDB, SQL: "CREATE TABLE a (id INT PRIMARY KEY);\nCREATE TABLE b (id INT PRIMARY KEY)", RequestedBy: dev.User})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE exec_executions SET state = 'running', started_at = 1 WHERE id = ?", "UPDATE exec_statements SET state = 'running' WHERE execution_id = ? AND seq = 1"} {
		if _, err := f.db.ExecContext(context.Background(), q, ex); err != nil {
			t.Fatal(err)
		}
	}
	shared.maria.Exec(t, "CREATE TABLE "+d+".a (id INT PRIMARY KEY)") // it did run
	f.startWorker()
	tk2 := f.wait(tk.ID, StateFailed)
	if !strings.Contains(tk2.Error, "may or may not have committed") {
		t.Fatalf("error: %s", tk2.Error)
	}
	_, err = f.svc.Retry(c, dba, tk.ID, RetryRequest{})
	kindOf(t, err, errkind.Conflict, "resolve=done")
	if _, err := f.svc.Retry(c, dba, tk.ID, RetryRequest{Resolve: "done"}); err != nil {
		t.Fatal(err)
	}
	f.wait(tk.ID, StateDone)
	if got := mariaQuery(t, d, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name IN ('a', 'b')", d); got != "2" {
		t.Fatalf("tables: %s", got)
	}
}

const approvalsFlow = `<flow name="two" title="Two approvals">
  <form><field name="target" type="database" required="true"/><field name="sql" type="sql" required="true"/></form>
  <workflow>
    <approve id="any2" roles="dba" count="2"/>
    <approve id="seq" users="dev2,dba" order="sequence"/>
    <execute/>
  </workflow>
</flow>`

func TestNofMAndSequence(t *testing.T) {
	f := newFixture(t, sqliteStore(t), map[string]string{"two.xml": approvalsFlow})
	tk := f.submit("dev", "two", map[string]any{"target": "maria-1/" + f.mariaD, "sql": "SELECT 1"})
	f.wait(tk.ID, StateWaitingApproval)
	c1, dba := f.as("dba")
	c2, dba2 := f.as("dba2")
	c3, dev2 := f.as("dev2")
	s0, s1 := 0, 1
	got, err := f.svc.Approve(c1, dba, tk.ID, Decision{Step: &s0})
	if err != nil || got.State != StateWaitingApproval || got.WaitingFor != "1 approval by role dba" {
		t.Fatalf("after one of two: %s %q %v", got.State, got.WaitingFor, err)
	}
	if _, err := f.svc.Approve(c2, dba2, tk.ID, Decision{Step: &s0}); err != nil {
		t.Fatal(err)
	}
	f.wait(tk.ID, StateWaitingApproval)
	// Sequence: dev2 first, then dba.
	_, err = f.svc.Approve(c1, dba, tk.ID, Decision{Step: &s1})
	kindOf(t, err, errkind.Forbidden, "waits for dev2's approval first")
	if _, err := f.svc.Approve(c3, dev2, tk.ID, Decision{Step: &s1}); err != nil {
		t.Fatal(err)
	}
	// A double click of dev2 on step 1 cannot approve anything else.
	_, err = f.svc.Approve(c3, dev2, tk.ID, Decision{Step: &s1})
	kindOf(t, err, errkind.Conflict, "already decided")
	if _, err := f.svc.Approve(c1, dba, tk.ID, Decision{Step: &s1}); err != nil {
		t.Fatal(err)
	}
	f.wait(tk.ID, StateDone)

	// Rejection ends a ticket.
	tk = f.submit("dev", "two", map[string]any{"target": "maria-1/" + f.mariaD, "sql": "SELECT 1"})
	f.wait(tk.ID, StateWaitingApproval)
	got, err = f.svc.Reject(c2, dba2, tk.ID, Decision{Step: &s0, Comment: "not now"})
	if err != nil || got.State != StateRejected || got.Error != "rejected by dba2: not now" {
		t.Fatalf("reject: %+v %v", got, err)
	}
	_, err = f.svc.Approve(c1, dba, tk.ID, Decision{Step: &s0})
	kindOf(t, err, errkind.Conflict, "is rejected")
}

// Approval links: signed, expiring, single use.
func TestApprovalLinks(t *testing.T) {
	f := newFixture(t, sqliteStore(t), map[string]string{"change.xml": changeFlow})
	tk := f.submit("dev", "change", map[string]any{"target": "maria-1/" + f.mariaD, "sql": "SELECT 1"})
	f.wait(tk.ID, StateWaitingApproval)
	link := f.notes.messages()[0].Msg.Link
	tok := link[strings.Index(link, "link=")+5:]
	info, err := f.svc.CheckLink(context.Background(), tok)
	if err != nil || info.Ticket != tk.ID || info.Step != 1 {
		t.Fatalf("check: %+v %v", info, err)
	}
	// Altered: refused.
	bad := tok[:len(tok)-2] + "AA"
	_, err = f.svc.CheckLink(context.Background(), bad)
	kindOf(t, err, errkind.Forbidden, "not valid")
	// Expired: refused.
	old, _ := f.svc.NewLinkToken(context.Background(), tk.ID, 1, time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	_, err = f.svc.CheckLink(context.Background(), old)
	kindOf(t, err, errkind.Forbidden, "expired")
	// A link still needs an eligible user.
	c, dev2 := f.as("dev2")
	_, err = f.svc.Approve(c, dev2, tk.ID, Decision{Link: tok})
	kindOf(t, err, errkind.Forbidden, "may be approved by role dba")
	c, dba := f.as("dba")
	if _, err := f.svc.Approve(c, dba, tk.ID, Decision{Link: tok}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.CheckLink(context.Background(), tok)
	kindOf(t, err, errkind.Conflict, "already used by dba")
	f.wait(tk.ID, StateDone)
	got, _ := f.svc.Get(context.Background(), dba, tk.ID)
	if got.Approvals[0].Via != "link" {
		t.Fatalf("approval via %q", got.Approvals[0].Via)
	}
}

const accountFlow = `<flow name="account" title="Account">
  <form>
    <field name="target" type="database" required="true"/>
    <field name="db" type="text" required="true"/>
    <field name="user" type="text" required="true"/>
    <field name="privs" type="enum" multiple="true" required="true" options="SELECT,INSERT,UPDATE,DELETE"/>
  </form>
  <workflow>
    <approve auto="true"/>
    <create-database target="target" name="db" charset="utf8mb4"/>
    <create-account user="user" privileges="privs" database="db"/>
  </workflow>
</flow>`

// A database and an account with only the privileges asked for, on both
// engines; the password is shown once, to the requester only.
func TestCreateDatabaseAndAccount(t *testing.T) {
	f := newFixture(t, sqliteStore(t), map[string]string{"account.xml": accountFlow})
	for _, c := range []struct {
		target  string
		connect func(db, user, pw string) (*sql.DB, error)
	}{
		{"maria-1/" + f.mariaD, func(db, user, pw string) (*sql.DB, error) {
			cfg := mysql.NewConfig()
			cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = user, pw, "tcp", fmt.Sprintf("127.0.0.1:%d", shared.maria.Port), db
			return sql.Open("mysql", cfg.FormatDSN())
		}},
		{"pg-1/" + f.pgD, func(db, user, pw string) (*sql.DB, error) {
			return sql.Open("pgx", fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=%s sslmode=disable", shared.pg.Port, user, pw, db))
		}},
	} {
		t.Run(strings.Split(c.target, "-")[0], func(t *testing.T) {
			f := f.in(t)
			db, user := uniq("newdb"), uniq("acct")
			tk := f.submit("dev", "account", map[string]any{"target": c.target, "db": db, "user": user, "privs": []any{"SELECT", "INSERT"}})
			tk = f.wait(tk.ID, StateDone)
			if len(tk.Secrets) != 1 || !tk.Secrets[0].Available {
				t.Fatalf("secrets: %+v", tk.Secrets)
			}
			cd2, dev2 := f.as("dev2")
			_, err := f.svc.RevealPassword(cd2, dev2, tk.ID, 2)
			kindOf(t, err, errkind.Forbidden, "only the requester")
			cd, dev := f.as("dev")
			cred, err := f.svc.RevealPassword(cd, dev, tk.ID, 2)
			if err != nil || len(cred.Password) < 20 || cred.Account != user {
				t.Fatalf("reveal: %+v %v", cred, err)
			}
			_, err = f.svc.RevealPassword(cd, dev, tk.ID, 2)
			kindOf(t, err, errkind.Conflict, "already shown")
			// Nothing stored holds the password.
			var n int
			f.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM ticket_steps WHERE result LIKE ?`, "%"+cred.Password+"%").Scan(&n)
			var m int
			f.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM ticket_events WHERE message LIKE ?`, "%"+cred.Password+"%").Scan(&m)
			var a int
			f.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE detail LIKE ?`, "%"+cred.Password+"%").Scan(&a)
			var x int
			f.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM exec_executions e JOIN exec_statements s ON s.execution_id = e.id
				WHERE e.script LIKE ? OR e.spec LIKE ? OR s.sql_text LIKE ? OR s.error LIKE ?`, "%"+cred.Password+"%", "%"+cred.Password+"%", "%"+cred.Password+"%", "%"+cred.Password+"%").Scan(&x)
			if n+m+a+x != 0 {
				t.Fatalf("the password is stored (%d, %d, %d, %d)", n, m, a, x)
			}
			// Both were recorded and audited as executions of the executor,
			// the password masked.
			for step, kind := range map[int]string{1: executor.KindCreateDatabase, 2: executor.KindCreateAccount} {
				id, ok := f.execution(tk.ID, step)
				if !ok {
					t.Fatalf("step %d recorded no execution", step+1)
				}
				_, dba := f.as("dba")
				ex, err := f.exec.Get(context.Background(), dba, id)
				if err != nil || ex.Kind != kind || ex.State != executor.StateDone || ex.Ref != fmt.Sprintf("ticket:%d:step:%d", tk.ID, step+1) || len(ex.Statements) == 0 {
					t.Fatalf("step %d execution: %+v %v", step+1, ex, err)
				}
				if kind == executor.KindCreateAccount && !strings.Contains(ex.Statements[0].SQL, "'********'") {
					t.Fatalf("account statement as recorded: %q", ex.Statements[0].SQL)
				}
			}
			if entries, err := audit.NewLog(f.db).List(context.Background(), audit.Filter{Action: "exec.provision", Limit: 100}); err != nil || len(entries) < 2 {
				t.Fatalf("audit of the provisioning: %d entries, %v", len(entries), err)
			}
			// The account logs in and has exactly SELECT and INSERT.
			admin := shared.maria.DB(t, "")
			if strings.HasPrefix(c.target, "maria") {
				admin.Exec("CREATE TABLE " + db + ".t (id INT)")
			} else {
				if _, err := pgDB(t, db).Exec("CREATE TABLE t (id int)"); err != nil {
					t.Fatal(err)
				}
			}
			conn, err := c.connect(db, user, cred.Password)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Exec("INSERT INTO t VALUES (1)"); err != nil {
				t.Fatalf("INSERT as %s: %v", user, err)
			}
			var got int
			if err := conn.QueryRow("SELECT COUNT(*) FROM t").Scan(&got); err != nil || got != 1 {
				t.Fatalf("SELECT as %s: %d %v", user, got, err)
			}
			if _, err := conn.Exec("DELETE FROM t"); err == nil {
				t.Fatalf("DELETE as %s succeeded; it was not asked for", user)
			}
		})
	}
	// A bad account name never reaches the server.
	tk := f.submit("dev", "account", map[string]any{"target": "maria-1/" + f.mariaD, "db": uniq("x"), "user": "bob'@'%", "privs": "SELECT"})
	tk = f.wait(tk.ID, StateFailed)
	if !strings.Contains(tk.Error, `account name "bob'@'%"`) {
		t.Fatalf("error: %s", tk.Error)
	}
}

const exportFlow = `<flow name="export" title="Export">
  <access><view roles="dba" users="dev2"/></access>
  <form><field name="target" type="database" required="true"/><field name="sql" type="sql" required="true"/></form>
  <workflow><export id="x" max-rows="2"/></workflow>
</flow>`

func TestExport(t *testing.T) {
	small := strings.NewReplacer(`name="export" title="Export"`, `name="small" title="Small export"`, `max-rows="2"`, `max-bytes="8"`).Replace(exportFlow)
	f := newFixture(t, sqliteStore(t), map[string]string{"export.xml": exportFlow, "small.xml": small})
	cg, dba := f.as("dba")
	for _, g := range []query.NewGrant{{User: "dev", Instance: "maria-1", Database: f.mariaD}, {User: "dev", Instance: "pg-1", Database: f.pgD}} {
		if _, err := f.query.AddGrant(cg, dba, g); err != nil {
			t.Fatal(err)
		}
	}
	shared.maria.Exec(t, "CREATE TABLE "+f.mariaD+".p (id INT, name VARCHAR(20), at DATETIME)",
		"INSERT INTO "+f.mariaD+".p VALUES (1, 'a,b', '2030-01-02 03:04:05'), (2, 'say \"hi\"', NULL), (3, 'c', NULL)")
	tk := f.submit("dev", "export", map[string]any{"target": "maria-1/" + f.mariaD, "sql": "SELECT id, name, at FROM p ORDER BY id"})
	tk = f.wait(tk.ID, StateDone)
	if len(tk.Attachments) != 1 || tk.Attachments[0].Rows != 2 || !strings.Contains(tk.Steps[0].Summary, "stopped at max-rows 2") {
		t.Fatalf("export: %+v %+v", tk.Attachments, tk.Steps[0])
	}
	cv, view := f.as("view")
	_, _, err := f.svc.Download(cv, view, tk.ID, tk.Attachments[0].ID)
	kindOf(t, err, errkind.Forbidden, "may not see the results")
	for _, u := range []string{"dev", "dev2", "dba"} {
		c, p := f.as(u)
		a, body, err := f.svc.Download(c, p, tk.ID, tk.Attachments[0].ID)
		if err != nil || a.ContentType != "text/csv; charset=utf-8" {
			t.Fatalf("download as %s: %v", u, err)
		}
		recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil || len(recs) != 3 || recs[1][1] != "a,b" || recs[2][1] != `say "hi"` || recs[1][2] != "2030-01-02 03:04:05Z" || recs[2][2] != "" {
			t.Fatalf("csv as %s: %q %v", u, recs, err)
		}
	}
	// max-bytes stops the CSV before the row that would pass it.
	tk = f.wait(f.submit("dev", "small", map[string]any{"target": "maria-1/" + f.mariaD, "sql": "SELECT id FROM p ORDER BY id"}).ID, StateDone)
	if tk.Attachments[0].Rows != 2 || tk.Attachments[0].Size != 7 || !strings.Contains(tk.Steps[0].Summary, "stopped at max-bytes 8") {
		t.Fatalf("max-bytes: %+v %q", tk.Attachments, tk.Steps[0].Summary)
	}
	// Only what the console runs exports: a query, reading through its
	// allow-lists.
	tk = f.submit("dev", "export", map[string]any{"target": "maria-1/" + f.mariaD, "sql": "DELETE FROM p"})
	tk = f.wait(tk.ID, StateFailed)
	if !strings.Contains(tk.Error, "(rule statement-not-allowed)") {
		t.Fatalf("error: %s", tk.Error)
	}
	if _, err := pgDB(t, f.pgD).Exec("CREATE SEQUENCE s"); err != nil {
		t.Fatal(err)
	}
	tk = f.submit("dev", "export", map[string]any{"target": "pg-1/" + f.pgD, "sql": "SELECT nextval('s')"})
	tk = f.wait(tk.ID, StateFailed)
	if !strings.Contains(tk.Error, "(rule function-not-allowed)") {
		t.Fatalf("error: %s", tk.Error)
	}
	if n := mariaQuery(t, "", "SELECT COUNT(*) FROM "+f.mariaD+".p"); n != "3" {
		t.Fatalf("%s rows left after the refused DELETE", n)
	}
}

// A form value that fails validation is refused naming the field; a
// picker must name something in the inventory of an allowed engine.
func TestSubmitValidation(t *testing.T) {
	src := `<flow name="v" title="V"><access><submit users="dev2"/></access><form>
<field name="target" type="instance" required="true" engines="postgres"/>
<field name="n" type="number" max="3" message="three at most"/>
</form><workflow><notify channel="c"/></workflow></flow>`
	f := newFixture(t, sqliteStore(t), map[string]string{"v.xml": src})
	c, dev2 := f.as("dev2")
	_, err := f.svc.Submit(c, dev2, SubmitRequest{Flow: "v", Fields: map[string]any{"target": "maria-1"}})
	kindOf(t, err, errkind.Invalid, `field "target": instance "maria-1" runs mariadb; this field takes postgres`)
	_, err = f.svc.Submit(c, dev2, SubmitRequest{Flow: "v", Fields: map[string]any{"target": "nope", "n": 4}})
	kindOf(t, err, errkind.Invalid, `field "n": three at most`)
	_, err = f.svc.Submit(c, dev2, SubmitRequest{Flow: "v", Fields: map[string]any{"target": "nope"}})
	kindOf(t, err, errkind.Invalid, `field "target": instance "nope" not found`)
	cd, dev := f.as("dev")
	_, err = f.svc.Submit(cd, dev, SubmitRequest{Flow: "v", Fields: map[string]any{"target": "pg-1"}})
	kindOf(t, err, errkind.Forbidden, "may be submitted by user dev2")
	_, err = f.svc.Submit(cd, dev, SubmitRequest{Flow: "vv"})
	kindOf(t, err, errkind.NotFound, `no flow "vv" (did you mean "v"?)`)
}

// Editing a flow makes a new version for new tickets; tickets in flight
// keep theirs. An invalid edit keeps the previous version active.
func TestHotReloadAndVersions(t *testing.T) {
	f := newFixture(t, sqliteStore(t), map[string]string{"change.xml": changeFlow})
	old := f.submit("dev", "change", map[string]any{"target": "maria-1/" + f.mariaD, "sql": "SELECT 1"})
	f.wait(old.ID, StateWaitingApproval)
	// The new version has no approval at all.
	f.write("change.xml", strings.Replace(changeFlow, `<approve id="dba" roles="dba" notify="chat">
      <policy env="test" auto="true"/>
    </approve>`, "", 1))
	if err := f.cat.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fl, _ := f.cat.Get("change"); fl.Version != 2 {
		t.Fatalf("version after edit: %d", fl.Version)
	}
	nw := f.submit("dev", "change", map[string]any{"target": "maria-1/" + f.mariaD, "sql": "SELECT 1"})
	if nw.FlowVersion != 2 {
		t.Fatalf("new ticket version %d", nw.FlowVersion)
	}
	f.wait(nw.ID, StateDone)
	if got := f.wait(old.ID, StateWaitingApproval); got.FlowVersion != 1 || len(got.Steps) != 4 {
		t.Fatalf("old ticket: version %d, %d steps", got.FlowVersion, len(got.Steps))
	}
	// An invalid edit: reported with its position; version 2 stays.
	f.write("change.xml", strings.Replace(changeFlow, `<execute id="run"/>`, `<execute id="run" when="form.sq != ''"/>`, 1))
	f.cat.Reload(context.Background())
	probs := f.cat.Problems()
	if len(probs) != 1 || probs[0].Line != 11 || !strings.Contains(probs[0].Msg, `form has no field "sq" (did you mean "sql"?)`) {
		t.Fatalf("problems: %v", probs)
	}
	if fl, _ := f.cat.Get("change"); fl.Version != 2 {
		t.Fatalf("active version after an invalid edit: %d", fl.Version)
	}
	// Restoring the first content reuses version 1.
	f.write("change.xml", changeFlow)
	f.cat.Reload(context.Background())
	if fl, _ := f.cat.Get("change"); fl.Version != 1 || len(f.cat.Problems()) != 0 {
		t.Fatalf("after restoring: version %d, problems %v", fl.Version, f.cat.Problems())
	}
}

// A wait step parks the ticket until its time, through a delayed job.
func TestWaitUntil(t *testing.T) {
	src := `<flow name="later" title="Later"><form>
<field name="target" type="database" required="true"/><field name="sql" type="sql" required="true"/>
<field name="at" type="datetime" required="true"/></form>
<workflow><wait until="at"/><execute/></workflow></flow>`
	f := newFixture(t, sqliteStore(t), map[string]string{"later.xml": src})
	at := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)
	tk := f.submit("dev", "later", map[string]any{"target": "maria-1/" + f.mariaD, "sql": "SELECT 1", "at": at})
	got := f.wait(tk.ID, StateWaiting)
	if !strings.HasPrefix(got.Steps[0].Summary, "waiting until ") {
		t.Fatalf("wait step: %+v", got.Steps[0])
	}
	got = f.wait(tk.ID, StateDone)
	if got.DoneAt.Before(sqldbTime(at)) {
		t.Fatalf("done at %v, before %s", got.DoneAt, at)
	}
	// Cancelling a waiting ticket ends it; its wake-up does nothing.
	at = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	tk = f.submit("dev", "later", map[string]any{"target": "maria-1/" + f.mariaD, "sql": "SELECT 1", "at": at})
	f.wait(tk.ID, StateWaiting)
	c, dev2 := f.as("dev2")
	_, err := f.svc.Cancel(c, dev2, tk.ID, "")
	kindOf(t, err, errkind.Forbidden, "may not cancel")
	c, dev := f.as("dev")
	if got, err := f.svc.Cancel(c, dev, tk.ID, "changed my mind"); err != nil || got.State != StateCancelled {
		t.Fatalf("cancel: %v", err)
	}
}

func sqldbTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// A task runs on its schedule with no requester, and mails its result;
// its export reads with the query grants of the user its schedule names
// (run-as). Without run-as, the export refuses to run.
func TestScheduledTask(t *testing.T) {
	src := `<flow name="check" title="Check" kind="task"><schedule cron="@every 1s" run-as="dba"/>
<form><field name="instance" type="instance" required="true" default="pg-1"/>
<field name="sql" type="sql" default="SELECT datname FROM pg_database WHERE datname = 'postgres'"/></form>
<workflow><export id="q" target="instance"/><notify channel="mail" title="{{steps.q.rows}} row(s)">{{steps.q.preview}}</notify></workflow></flow>`
	nobody := strings.NewReplacer(`name="check"`, `name="nobody"`, ` run-as="dba"`, "").Replace(src)
	f := newFixture(t, sqliteStore(t), map[string]string{"check.xml": src, "nobody.xml": nobody})
	sched := &testScheduler{f: f}
	sched.run(t)
	deadline := time.Now().Add(20 * time.Second)
	var ran, refused bool
	for time.Now().Before(deadline) && !(ran && refused) {
		list, _ := f.svc.List(context.Background(), Filter{Flow: "check", State: StateDone})
		if len(list) > 0 && !ran {
			ran = true
			if !list[0].Scheduled || list[0].Requester != "" {
				t.Fatalf("task ticket: %+v", list[0])
			}
			msgs := f.notes.messages()
			if len(msgs) == 0 || msgs[0].Channel != "mail" || msgs[0].Msg.Title != "1 row(s)" || !strings.Contains(msgs[0].Msg.Text, "datname\npostgres") {
				t.Fatalf("messages: %+v", msgs)
			}
			if e := f.exportAudit("pg-1", "query.export", list[0].ID); e.User != "dba" {
				t.Fatalf("the export's audit entry: %+v", e)
			}
		}
		list, _ = f.svc.List(context.Background(), Filter{Flow: "nobody", State: StateFailed})
		if len(list) > 0 && !refused {
			refused = true
			tk, err := f.svc.Get(context.Background(), mustPrincipal(f, "dba"), list[0].ID)
			if err != nil || !strings.Contains(tk.Error, `a scheduled run has no requester whose query grants an export could use; name a user in the flow's <schedule run-as="USER"/>`) {
				t.Fatalf("task without run-as: %v %+v", err, tk)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !ran || !refused {
		t.Fatalf("the tasks did not run: check done %v, nobody failed %v", ran, refused)
	}
}

func mustPrincipal(f *fixture, user string) auth.Principal {
	_, p := f.as(user)
	return p
}

// cancelOnStart is the real executor, with the ticket cancelled just as
// its execute step starts its execution (before the step could record it).
type cancelOnStart struct {
	*executor.Service
	f *fixture
}

func (c *cancelOnStart) StartTicketStep(ctx context.Context, key executor.TicketKey, req executor.Request) (executor.ID, error) {
	cd, dev := c.f.as("dev")
	if _, err := c.f.svc.Cancel(cd, dev, key.Ticket, "changed my mind"); err != nil {
		c.f.t.Errorf("cancel: %v", err)
	}
	return c.Service.StartTicketStep(ctx, key, req)
}

// A ticket cancelled while its execution is being started never runs it:
// Cancel cannot see an execution not yet recorded, so the step stops it.
func TestCancelWhileStartingExecution(t *testing.T) {
	c := &cancelOnStart{}
	f := newFixtureWith(t, sqliteStore(t), map[string]string{"change.xml": changeFlow}, func(o *Options) {
		c.Service = o.Executor.(*executor.Service)
		o.Executor = c
	})
	c.f = f
	tk := f.submit("dev", "change", map[string]any{"target": "pg-1/" + f.pgD, "sql": "CREATE TABLE never (id int PRIMARY KEY)"})
	f.wait(tk.ID, StateCancelled)
	_, dba := f.as("dba")
	key := fmt.Sprintf("ticket:%d:step:3", tk.ID)
	var ex []executor.Execution
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var err error
		if ex, err = f.exec.List(context.Background(), dba, executor.Filter{Ref: key}); err != nil {
			t.Fatal(err)
		}
		if len(ex) == 1 && executor.Terminal(ex[0].State) {
			break
		}
	}
	if len(ex) != 1 || ex[0].State != executor.StateCancelled {
		t.Fatalf("the step's execution: %+v, want one, cancelled", ex)
	}
	var n int
	if err := pgDB(t, f.pgD).QueryRow("SELECT count(*) FROM pg_tables WHERE tablename = 'never'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("table never: %d %v", n, err)
	}
}

// The form refuses a database the instance does not have; a review that
// cannot read the target's live schema (here an instance that refuses
// connections) fails its step with the reason instead of passing offline.
func TestReviewNeedsLiveSchema(t *testing.T) {
	f := newFixture(t, sqliteStore(t), map[string]string{"change.xml": changeFlow})
	for _, target := range []string{"pg-1/no_such_db", "maria-1/no_such_db"} {
		ctx, p := f.as("dev")
		_, err := f.svc.Submit(ctx, p, SubmitRequest{Flow: "change", Fields: map[string]any{"target": target, "sql": "SELECT 1"}})
		kindOf(t, err, errkind.Invalid, `has no database "no_such_db"`)
	}
	ctx := context.Background()
	var tk *Ticket
	if _, err := f.inv.AddInstance(ctx, inventory.NewInstance{Name: "maria-down", Engine: engine.MariaDB, Host: "h1", Port: 1, User: "u", Password: "p", Cluster: "maria-stg", Role: "replica"}); err != nil {
		t.Fatal(err)
	}
	tk = f.submit("dev", "change", map[string]any{"target": "maria-down/shop", "sql": "CREATE TABLE t (id INT PRIMARY KEY)"})
	tk = f.wait(tk.ID, StateFailed)
	t.Logf("refused: %s", tk.Error)
	if !strings.Contains(tk.Error, "review cannot read the live schema of maria-down/shop") || !strings.Contains(tk.Error, "refused") {
		t.Fatalf("refused connection: %s", tk.Error)
	}
	if tk.Steps[0].State != StepFailed {
		t.Fatalf("review step: %+v", tk.Steps[0])
	}
}

// The shipped flows refuse at review, before anyone approves, the
// statement kinds they do not accept: a data fix refuses DDL, a schema
// change refuses DML, and a schema change that drops or truncates needs
// the requester's confirmation, recorded in the ticket's form.
func TestShippedFlowsEnforceKinds(t *testing.T) {
	read := func(name string) string {
		b, err := fs.ReadFile(examples.Examples, name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	f := newFixture(t, sqliteStore(t), map[string]string{"schema-change.xml": read("schema-change.xml"), "data-fix.xml": read("data-fix.xml")})
	target := "maria-1/" + f.mariaD
	reviewed := func(flow string, fields map[string]any) *Ticket {
		t.Helper()
		fields["target"], fields["reason"] = target, "tested by TestShippedFlowsEnforceKinds"
		tk := f.submit("dev", flow, fields)
		return f.wait(tk.ID, StateFailed, StateWaitingApproval)
	}
	cases := []struct {
		name, flow string
		fields     map[string]any
		err        string // "" when the review passes
	}{
		{"data fix refuses DDL", "data-fix", map[string]any{"sql": "ALTER TABLE t ADD COLUMN c INT", "rows": 1}, "statement-ticket-kind: ALTER TABLE in a data-change ticket"},
		{"data fix refuses TRUNCATE", "data-fix", map[string]any{"sql": "TRUNCATE TABLE t", "rows": 1}, "statement-no-truncate-drop"},
		{"schema change refuses DML", "schema-change", map[string]any{"sql": "CREATE TABLE k (id INT PRIMARY KEY COMMENT 'id') COMMENT 'k';\nDELETE FROM k WHERE id = 1"}, "statement-ticket-kind: DELETE in a schema-change ticket"},
		{"schema change seeds its new table", "schema-change", map[string]any{"sql": "CREATE TABLE k2 (id INT PRIMARY KEY COMMENT 'id') COMMENT 'k2';\nINSERT INTO k2 (id) VALUES (1)"}, ""},
		{"drop without confirmation", "schema-change", map[string]any{"sql": "DROP TABLE IF EXISTS gone"}, "destroy-confirmation: the script destroys data (DROP TABLE gone): the requester has not confirmed it"},
		{"drop confirmed", "schema-change", map[string]any{"sql": "DROP TABLE IF EXISTS gone", "confirm_destroy": true}, ""},
	}
	// Confirmed, the DROP runs (on test, approved by policy): the
	// executor gets the confirmation as its backup declaration.
	t.Run("confirmed drop runs", func(t *testing.T) {
		tk := f.submit("dev", "schema-change", map[string]any{"target": "pg-1/" + f.pgD, "reason": "tested by TestShippedFlowsEnforceKinds",
			"sql": "CREATE TABLE gone (id int PRIMARY KEY);\nDROP TABLE gone", "confirm_destroy": true})
		if tk = f.wait(tk.ID, StateDone, StateFailed); tk.State != StateDone {
			t.Fatalf("state %s: %s", tk.State, tk.Error)
		}
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tk := reviewed(tc.flow, tc.fields)
			switch {
			case tc.err == "" && tk.State != StateWaitingApproval:
				t.Fatalf("state %s, error %s", tk.State, tk.Error)
			case tc.err != "" && (tk.State != StateFailed || tk.Steps[0].State != StepFailed || !strings.Contains(tk.Error, tc.err)):
				t.Fatalf("state %s, error %q, want the review to fail with %q", tk.State, tk.Error, tc.err)
			}
		})
	}
}

// Approvers see, in the review step of the shipped data fix, the EXPLAIN
// estimate of each data change next to the rows the requester declared,
// and a warning when the estimate is larger.
func TestDeclaredRowsEstimate(t *testing.T) {
	b, err := fs.ReadFile(examples.Examples, "data-fix.xml")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, sqliteStore(t), map[string]string{"data-fix.xml": string(b)})
	db := pgDB(t, f.pgD)
	for _, q := range []string{"CREATE TABLE est (id int PRIMARY KEY, v int NOT NULL)", "INSERT INTO est SELECT g, g % 7 FROM generate_series(1, 5000) g", "ANALYZE est"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name, sql string
		rows      int
		summary   string
		warn      bool
	}{
		{"whole table, 5 declared", "UPDATE est SET v = 1 WHERE v >= 0", 5, "rows declared 5, EXPLAIN estimates 5000: statement 1 (UPDATE) ~5000", true},
		{"one row declared", "UPDATE est SET v = 2 WHERE id = 3", 1, "rows declared 1, EXPLAIN estimates 1: statement 1 (UPDATE) ~1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tk := f.submit("dev", "data-fix", map[string]any{"target": "pg-1/" + f.pgD, "sql": tc.sql, "rows": tc.rows, "reason": "tested by TestDeclaredRowsEstimate"})
			tk = f.wait(tk.ID, StateWaitingApproval, StateDone, StateFailed)
			st := tk.Steps[0]
			if st.State != StepDone || !strings.Contains(st.Summary, tc.summary) {
				t.Fatalf("review step %s: %q (ticket error %q)", st.State, st.Summary, tk.Error)
			}
			warned := strings.Contains(fmt.Sprint(st.Result["findings"]), RuleDeclaredRows)
			if warned != tc.warn {
				t.Fatalf("declared-rows warning %v, want %v: %v", warned, tc.warn, st.Result["findings"])
			}
		})
	}
}

// At execution, the shipped data fix passes the declared row count to the
// executor: a fix that changes more rows than declared (plus
// executor.declared_rows_margin, 10% here) is rolled back before its
// COMMIT and the run step fails saying so; one within the margin commits.
func TestDeclaredRowsEnforced(t *testing.T) {
	b, err := fs.ReadFile(examples.Examples, "data-fix.xml")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, sqliteStore(t), map[string]string{"data-fix.xml": string(b)})
	maria := shared.maria.DB(t, f.mariaD)
	pg := pgDB(t, f.pgD)
	for _, q := range []string{"CREATE TABLE fix (id INT PRIMARY KEY, v INT NOT NULL)", "INSERT INTO fix SELECT seq, 0 FROM seq_1_to_100"} {
		if _, err := maria.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"CREATE TABLE fix (id int PRIMARY KEY, v int NOT NULL)", "INSERT INTO fix SELECT g, 0 FROM generate_series(1, 100) g", "ANALYZE fix"} {
		if _, err := pg.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	targets := []struct {
		target  string
		db      *sql.DB
		approve bool // staging: one DBA approves; test: auto-approved
	}{{"maria-1/" + f.mariaD, maria, true}, {"pg-1/" + f.pgD, pg, false}}
	cases := []struct {
		name    string
		sql     string
		rows    int
		changed int    // rows with v = the case's value afterwards
		err     string // the run step's error, "" for a ticket done
	}{
		{"5 declared, 50 updated", "UPDATE fix SET v = 1 WHERE id <= 50", 5, 0,
			"more rows than declared: it changed 50 row(s), more than the 6 allowed: 5 declared plus the margin; rolled back before COMMIT"},
		{"50 declared, 54 updated", "UPDATE fix SET v = 2 WHERE id <= 54", 50, 54, ""},
	}
	for _, tg := range targets {
		for i, tc := range cases {
			t.Run(tg.target[:4]+"/"+tc.name, func(t *testing.T) {
				tk := f.submit("dev", "data-fix", map[string]any{"target": tg.target, "sql": tc.sql, "rows": tc.rows, "reason": "tested by TestDeclaredRowsEnforced"})
				if tg.approve {
					tk = f.wait(tk.ID, StateWaitingApproval)
					cdba, dba := f.as("dba")
					if _, err := f.svc.Approve(cdba, dba, tk.ID, Decision{}); err != nil {
						t.Fatal(err)
					}
				}
				tk = f.wait(tk.ID, StateDone, StateFailed)
				run := tk.Steps[2]
				if tc.err == "" {
					if tk.State != StateDone || run.State != StepDone {
						t.Fatalf("ticket %s, run step %s: %s", tk.State, run.State, tk.Error)
					}
				} else if tk.State != StateFailed || run.State != StepFailed || !strings.Contains(run.Error, tc.err) || !strings.Contains(tk.Error, tc.err) {
					t.Fatalf("ticket %s %q, run step %s %q; want it failed with %q", tk.State, tk.Error, run.State, run.Error, tc.err)
				}
				var n int
				if err := tg.db.QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM fix WHERE v = %d", i+1)).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != tc.changed {
					t.Fatalf("%d row(s) changed, want %d", n, tc.changed)
				}
			})
		}
	}
}
