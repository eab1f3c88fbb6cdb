package cli_test

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/dbfleet/dbfleet/internal/flows"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// smtpServer is a tiny SMTP receiver: enough of RFC 5321 for a client to
// deliver mail, keeping every message.
type smtpServer struct {
	addr string
	mu   sync.Mutex
	mail []string // DATA of each message
}

func startSMTP(t *testing.T) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(c)
	say := func(line string) { io.WriteString(c, line+"\r\n") }
	say("220 localhost test SMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			say("250-localhost")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "HELO"):
			say("250 localhost")
		case strings.HasPrefix(cmd, "DATA"):
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			s.mu.Lock()
			s.mail = append(s.mail, b.String())
			s.mu.Unlock()
			say("250 queued")
		case strings.HasPrefix(cmd, "QUIT"):
			say("221 bye")
			return
		default: // MAIL, RCPT, RSET, NOOP
			say("250 ok")
		}
	}
}

func (s *smtpServer) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.mail...)
}

// hookServer receives chat webhooks.
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func startHooks(t *testing.T) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		h.mu.Lock()
		h.bodies = append(h.bodies, m)
		h.mu.Unlock()
		io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) texts() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, b := range h.bodies {
		raw, _ := json.Marshal(b)
		out = append(out, string(raw))
	}
	return out
}

// server is a `dbfleet serve` child process.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

func startServer(t *testing.T, dir, config string) *server {
	t.Helper()
	addr := filepath.Join(dir, "addr")
	os.Remove(addr)
	s := &server{t: t, logs: &bytes.Buffer{}}
	s.cmd = exec.Command("dbfleet", "serve", "--config", config, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--addr-file", addr)
	s.cmd.Env = append(os.Environ(), "DBFLEET_ADMIN_PASSWORD=correct-horse-battery", "DBFLEET_LOG_LEVEL=warn")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(addr); err == nil && strings.HasSuffix(string(b), "\n") {
			s.url = "http://" + strings.TrimSpace(string(b))
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not start:\n%s", s.logs)
	return nil
}

// kill stops the server the hard way: no shutdown, no cleanup.
func (s *server) kill() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}

type apiUser struct {
	t     *testing.T
	base  string
	token string
}

func (u *apiUser) do(method, path string, in, out any) int {
	u.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u.base+path, body)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u.token != "" {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		json.Unmarshal(raw, out)
	}
	if resp.StatusCode >= 300 && out == nil {
		u.t.Logf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

func (u *apiUser) must(method, path string, in, out any) {
	u.t.Helper()
	var raw json.RawMessage
	code := u.do(method, path, in, &raw)
	if code >= 300 {
		u.t.Fatalf("%s %s: %d %s", method, path, code, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			u.t.Fatal(err)
		}
	}
}

func login(t *testing.T, base, user, password string) *apiUser {
	t.Helper()
	u := &apiUser{t: t, base: base}
	var resp struct{ Token string }
	if code := u.do("POST", "/api/v1/login", map[string]string{"user": user, "password": password}, &resp); code != 200 {
		t.Fatalf("login %s: %d", user, code)
	}
	u.token = resp.Token
	return u
}

func (u *apiUser) ticket(id int64) flows.Ticket {
	u.t.Helper()
	var tk flows.Ticket
	u.must("GET", fmt.Sprintf("/api/v1/tickets/%d", id), nil, &tk)
	return tk
}

// waitTicket polls until the ticket reaches one of states.
func (u *apiUser) waitTicket(id int64, states ...string) flows.Ticket {
	u.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var tk flows.Ticket
	for time.Now().Before(deadline) {
		tk = u.ticket(id)
		for _, s := range states {
			if tk.State == s {
				return tk
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	var b strings.Builder
	for _, e := range tk.Timeline {
		fmt.Fprintf(&b, "  %s %s: %s\n", e.Actor, e.Kind, e.Message)
	}
	u.t.Fatalf("ticket %d is %s (%s), want %v; timeline:\n%s", id, tk.State, tk.Error, states, b.String())
	return tk
}

func (u *apiUser) submit(flow string, fields map[string]any) int64 {
	u.t.Helper()
	var tk flows.Ticket
	u.must("POST", "/api/v1/tickets", flows.SubmitRequest{Flow: flow, Fields: fields}, &tk)
	return tk.ID
}

func (u *apiUser) approve(id int64, step int) {
	u.t.Helper()
	u.must("POST", fmt.Sprintf("/api/v1/tickets/%d/approve", id), flows.Decision{Step: &step, Comment: "ok"}, nil)
}

// TestFlowsEndToEnd runs every example flow from submit to done through
// the API of a real `dbfleet serve`, against real MariaDB and PostgreSQL,
// with approvals by a second user, notifications received by a local chat
// webhook and a local SMTP server, and the server killed (SIGKILL) while a
// statement runs: after the restart the ticket completes and no statement
// ran twice. It logs the dashboard measures of the run.
func TestFlowsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts real servers")
	}
	start := time.Now()
	maria := testenv.StartMariaDB(t)
	pg := testenv.StartPostgres(t)
	smtp := startSMTP(t)
	hooks := startHooks(t)
	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(smtp.addr)
	config := filepath.Join(dir, "dbfleet.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`notify:
  smtp:
    host: %s
    port: %s
    from: dbfleet@example.test
    tls: none
  channels:
    - name: dba-chat
      kind: slack
      url: %s/services/T0/B0/secret
    - name: dba-mail
      kind: email
      to: [dba@example.test]
flows:
  job_lease: 3s
  reload_interval: 500ms
`, host, port, hooks.URL)), 0o600)
	srv := startServer(t, dir, config)
	admin := login(t, srv.url, "admin", "correct-horse-battery")
	for _, u := range []struct{ name, role string }{{"dev", "developer"}, {"dba", "dba"}, {"dba2", "dba"}} {
		admin.must("POST", "/api/v1/users", map[string]string{"name": u.name, "role": u.role, "password": u.name + "-password"}, nil)
	}
	admin.must("POST", "/api/v1/hosts", map[string]any{"name": "h1", "address": "127.0.0.1"}, nil)
	admin.must("POST", "/api/v1/hosts", map[string]any{"name": "h2", "address": "localhost"}, nil)
	admin.must("POST", "/api/v1/clusters", map[string]any{"name": "shop", "engine": "mariadb", "env": "staging"}, nil)
	admin.must("POST", "/api/v1/clusters", map[string]any{"name": "shop-prod", "engine": "mariadb", "env": "prod"}, nil)
	admin.must("POST", "/api/v1/clusters", map[string]any{"name": "reports", "engine": "postgres", "env": "test"}, nil)
	admin.must("POST", "/api/v1/instances", map[string]any{"name": "shop-1", "engine": "mariadb", "host": "h1", "port": maria.Port, "user": maria.User, "password": maria.Password, "cluster": "shop", "role": "primary"}, nil)
	admin.must("POST", "/api/v1/instances", map[string]any{"name": "shop-p", "engine": "mariadb", "host": "h2", "port": maria.Port, "user": maria.User, "password": maria.Password, "cluster": "shop-prod", "role": "primary"}, nil)
	admin.must("POST", "/api/v1/instances", map[string]any{"name": "rep-1", "engine": "postgres", "host": "h1", "port": pg.Port, "user": pg.User, "password": pg.Password, "cluster": "reports", "role": "primary"}, nil)
	dev := login(t, srv.url, "dev", "dev-password")
	dba := login(t, srv.url, "dba", "dba-password")
	dba2 := login(t, srv.url, "dba2", "dba2-password")

	// new-database: approved through the signed link the chat received.
	id := dev.submit("new-database", map[string]any{"instance": "shop-1", "name": "e2eshop", "reason": "the shop"})
	dev.waitTicket(id, flows.StateWaitingApproval)
	var link string
	for _, txt := range hooks.texts() {
		if i := strings.Index(txt, "/tickets/"+fmt.Sprint(id)+"/approve?link="); i >= 0 {
			link = txt[i:]
			link = link[strings.Index(link, "link=")+5 : strings.Index(link, "|")]
		}
	}
	if link == "" {
		t.Fatalf("no approval link reached the chat: %v", hooks.texts())
	}
	if code := dev.do("POST", fmt.Sprintf("/api/v1/tickets/%d/approve", id), flows.Decision{Link: link}, nil); code != http.StatusForbidden {
		t.Fatalf("the requester approving through the link: %d, want 403", code)
	}
	dba.must("POST", fmt.Sprintf("/api/v1/tickets/%d/approve", id), flows.Decision{Link: link}, nil)
	if code := dba2.do("POST", fmt.Sprintf("/api/v1/tickets/%d/approve", id), flows.Decision{Link: link}, nil); code != http.StatusConflict {
		t.Fatalf("a used link: %d, want 409", code)
	}
	dev.waitTicket(id, flows.StateDone)

	// schema-change on it.
	id = dev.submit("schema-change", map[string]any{"target": "shop-1/e2eshop", "reason": "orders table for the shop",
		"sql": "CREATE TABLE orders (\n  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT COMMENT 'id',\n  amount DECIMAL(10,2) NOT NULL DEFAULT 0 COMMENT 'total',\n  PRIMARY KEY (id)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='orders';\nCREATE TABLE counters (\n  id INT NOT NULL COMMENT 'id',\n  n INT NOT NULL DEFAULT 0 COMMENT 'count',\n  PRIMARY KEY (id)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='counters';\nINSERT INTO counters (id, n) VALUES (1, 0)"})
	dev.waitTicket(id, flows.StateWaitingApproval)
	dba.approve(id, 1)
	dev.waitTicket(id, flows.StateDone)

	// data-fix on prod: two DBAs (any two) must approve.
	id = dev.submit("data-fix", map[string]any{"target": "shop-p/e2eshop", "rows": 2, "reason": "seed two orders",
		"sql": "INSERT INTO orders (id, amount) VALUES (1, 5.00), (2, 7.50)"})
	dev.waitTicket(id, flows.StateWaitingApproval)
	dba.approve(id, 1)
	if tk := dev.ticket(id); tk.State != flows.StateWaitingApproval || !strings.Contains(tk.WaitingFor, "1 approval by role dba") {
		t.Fatalf("after one of two prod approvals: %s, waiting for %q", tk.State, tk.WaitingFor)
	}
	if code := dba.do("POST", fmt.Sprintf("/api/v1/tickets/%d/approve", id), flows.Decision{Step: ptr(1)}, nil); code != http.StatusConflict {
		t.Fatalf("approving twice: %d, want 409", code)
	}
	dba2.approve(id, 1)
	dev.waitTicket(id, flows.StateDone)

	// data-export and its CSV: it runs through the query console as dev,
	// who needs a query grant.
	dba.must("POST", "/api/v1/console/grants", map[string]string{"user": "dev", "instance": "shop-1", "database": "e2eshop", "reason": "e2e export"}, nil)
	id = dev.submit("data-export", map[string]any{"target": "shop-1/e2eshop", "reason": "the orders, please", "sql": "SELECT id, amount FROM orders ORDER BY id"})
	dev.waitTicket(id, flows.StateWaitingApproval)
	dba.approve(id, 1)
	tk := dev.waitTicket(id, flows.StateDone)
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/tickets/%d/attachments/%d", srv.url, id, tk.Attachments[0].ID), nil)
	req.Header.Set("Authorization", "Bearer "+dev.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	csvBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(csvBody) != "id,amount\n1,5.00\n2,7.50\n" || !strings.Contains(resp.Header.Get("Content-Disposition"), ".csv") {
		t.Fatalf("export download: %d %q %v", resp.StatusCode, csvBody, resp.Header)
	}

	// new-account on PostgreSQL (env test: approved by policy); the
	// password works, once shown. A system database is refused at submit
	// (403 naming the field).
	var refusal struct{ Error struct{ Message string } }
	if code := dev.do("POST", "/api/v1/tickets", flows.SubmitRequest{Flow: "new-account", Fields: map[string]any{"target": "rep-1/postgres", "user": "e2e_reader", "privileges": []string{"SELECT"}, "reason": "reports"}}, &refusal); code != http.StatusForbidden || !strings.Contains(refusal.Error.Message, `field "target": refused by the rule "no system databases"`) {
		t.Fatalf("new-account on the postgres database: %d %q, want 403", code, refusal.Error.Message)
	}
	pg.CreateDatabase(t, "e2e_reports")
	id = dev.submit("new-account", map[string]any{"target": "rep-1/e2e_reports", "user": "e2e_reader", "privileges": []string{"SELECT"}, "reason": "reports"})
	dev.waitTicket(id, flows.StateDone)
	var cred flows.Credential
	dev.must("POST", fmt.Sprintf("/api/v1/tickets/%d/password", id), map[string]int{"step": 1}, &cred)
	conn, err := sql.Open("pgx", fmt.Sprintf("host=127.0.0.1 port=%d user=e2e_reader password=%s dbname=e2e_reports sslmode=disable", pg.Port, cred.Password))
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Ping(); err != nil {
		t.Fatalf("log in with the generated password: %v", err)
	}
	conn.Close()
	if code := dev.do("POST", fmt.Sprintf("/api/v1/tickets/%d/password", id), map[string]int{"step": 1}, nil); code != http.StatusConflict {
		t.Fatalf("second reveal: %d, want 409", code)
	}

	// nightly-check, started by a DBA now: it mails its result.
	shared := maria.DB(t, "e2eshop")
	shared.Exec("CREATE TABLE nopk (a INT)")
	id = dba.submit("nightly-check", map[string]any{"instance": "shop-1"})
	dba.waitTicket(id, flows.StateDone)
	var mail string
	for _, m := range smtp.messages() {
		if strings.Contains(m, "Nightly check on shop-1") {
			mail = m
		}
	}
	if !strings.Contains(mail, "nopk") || !strings.Contains(mail, "e2eshop") {
		t.Fatalf("the nightly check's mail does not list e2eshop.nopk:\n%s\nall mail: %d", mail, len(smtp.messages()))
	}

	// Bad input through the API: 400 naming the field; 403 for a developer
	// approving.
	var eb struct{ Error struct{ Message string } }
	if code := dev.do("POST", "/api/v1/tickets", flows.SubmitRequest{Flow: "data-fix", Fields: map[string]any{"target": "shop-1/e2eshop", "rows": 0, "sql": "SELECT 1", "reason": "zero rows please"}}, &eb); code != 400 || !strings.Contains(eb.Error.Message, `field "rows"`) {
		t.Fatalf("bad form: %d %q", code, eb.Error.Message)
	}

	// Durability: the server is killed while the second statement of a data
	// fix waits for a row lock the test holds.
	lock, err := shared.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec("SELECT n FROM counters WHERE id = 1 FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	id = dev.submit("data-fix", map[string]any{"target": "shop-1/e2eshop", "rows": 3, "reason": "count and record",
		"sql": "INSERT INTO orders (id, amount) VALUES (10, 1.00);\nUPDATE counters SET n = n + 1 WHERE id = 1;\nINSERT INTO orders (id, amount) VALUES (11, 1.00)"})
	dev.waitTicket(id, flows.StateWaitingApproval)
	dba.approve(id, 1)
	root := maria.DB(t, "")
	waitFor(t, "the UPDATE to wait for the lock", func() bool {
		var n int
		// The executor may first read the rows it changes (for rollback):
		// any statement of it on counters waits for the lock.
		root.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '%counters%' AND info NOT LIKE '%processlist%'").Scan(&n)
		return n >= 1
	})
	srv.kill()
	srv = startServer(t, dir, config)
	dev.base, dba.base = srv.url, srv.url
	time.Sleep(time.Second)
	if err := lock.Commit(); err != nil {
		t.Fatal(err)
	}
	tk = dev.waitTicket(id, flows.StateDone)
	var n, orders int
	shared.QueryRow("SELECT n FROM counters WHERE id = 1").Scan(&n)
	shared.QueryRow("SELECT COUNT(*) FROM orders WHERE id IN (10, 11)").Scan(&orders)
	if n != 1 || orders != 2 {
		t.Fatalf("after the kill: counter %d (want 1), orders %d (want 2)", n, orders)
	}
	resumed := false
	for _, e := range tk.Timeline {
		if e.Kind == "step.resume" {
			resumed = true
		}
	}
	if !resumed {
		t.Fatalf("the timeline does not show the step resumed after the kill")
	}

	// The data fix's rollback: generated by the executor from the
	// before-images, newest first; submitted as a ticket of its own, it
	// puts the data back.
	var rb flows.Rollback
	dev.must("GET", fmt.Sprintf("/api/v1/tickets/%d/rollback", id), nil, &rb)
	del11, upd, del10 := strings.Index(rb.SQL, "11"), strings.Index(rb.SQL, "UPDATE"), strings.LastIndex(rb.SQL, "10")
	if !tk.CanRollback || rb.Instance != "shop-1" || rb.Database != "e2eshop" || rb.Field != "sql" || !rb.Complete || len(rb.Executions) != 1 ||
		!strings.Contains(rb.SQL, "DELETE FROM") || !strings.Contains(rb.SQL, "counters") || del11 < 0 || upd < del11 || del10 < upd {
		t.Fatalf("rollback of ticket %d (can_rollback %v): %+v", id, tk.CanRollback, rb)
	}
	var rbt flows.Ticket
	dev.must("POST", fmt.Sprintf("/api/v1/tickets/%d/rollback", id), nil, &rbt)
	if rbt.Flow != "data-fix" || rbt.Form["sql"] != rb.SQL || rbt.Form["reason"] != "count and record" || !strings.HasPrefix(rbt.Title, fmt.Sprintf("Rollback of #%d", id)) {
		t.Fatalf("the rollback ticket: %+v", rbt)
	}
	dev.waitTicket(rbt.ID, flows.StateWaitingApproval)
	dba.approve(rbt.ID, 1)
	dev.waitTicket(rbt.ID, flows.StateDone)
	shared.QueryRow("SELECT n FROM counters WHERE id = 1").Scan(&n)
	shared.QueryRow("SELECT COUNT(*) FROM orders WHERE id IN (10, 11)").Scan(&orders)
	if n != 0 || orders != 0 {
		t.Fatalf("after the rollback ticket: counter %d (want 0), orders %d (want 0)", n, orders)
	}
	// The schema change's rollback drops what it created; a ticket that
	// executes nothing has none.
	dev.must("GET", "/api/v1/tickets/2/rollback", nil, &rb)
	if !strings.Contains(rb.SQL, "DROP TABLE") || !strings.Contains(rb.SQL, "counters") {
		t.Fatalf("rollback of the schema change: %+v", rb)
	}
	if code := dev.do("GET", "/api/v1/tickets/1/rollback", nil, nil); code != http.StatusNotFound {
		t.Fatalf("rollback of a ticket with no execute step: %d, want 404", code)
	}

	// Every notification went out: approval requests and done messages in
	// the chat (Slack format), the nightly check by mail.
	chat := strings.Join(hooks.texts(), "\n")
	for _, want := range []string{"Approval needed: ticket #1", "Data fix #3 done", "Export #4 ready", `"blocks"`} {
		if !strings.Contains(chat, want) {
			t.Errorf("the chat never got %q", want)
		}
	}

	// The measures of this run.
	var stats []flows.FlowStats
	dev.must("GET", "/api/v1/flows/stats", nil, &stats)
	t.Logf("run of the example flows took %s; measures (GET /api/v1/flows/stats):", time.Since(start).Round(time.Second))
	t.Logf("%-14s %5s %15s %12s %6s", "flow", "done", "no manual step", "median", "queue")
	for _, s := range stats {
		t.Logf("%-14s %5d %8d (%3.0f%%) %12s %6d", s.Flow, s.Done, s.Automatic, 100*s.AutomaticShare, s.MedianDone.Round(10*time.Millisecond), s.Queue)
	}
	for _, s := range stats {
		if s.Queue != 0 || s.Failed != 0 {
			t.Errorf("flow %s: queue %d, failed %d; want none left", s.Flow, s.Queue, s.Failed)
		}
	}
}

func ptr(i int) *int { return &i }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
