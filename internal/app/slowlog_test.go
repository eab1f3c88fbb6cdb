package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/slowlog"
	"github.com/dbfleet/dbfleet/internal/testenv"
)

// call sends a request with a bearer token and a body (a string is sent
// as is, anything else as JSON); it decodes a 2xx answer into out.
func call(t *testing.T, method, url, token string, in, out any) (int, string) {
	t.Helper()
	var body io.Reader
	switch v := in.(type) {
	case nil:
	case string:
		body = strings.NewReader(v)
	default:
		b, _ := json.Marshal(v)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("Authorization", "Bearer "+token)
	if _, ok := in.(string); !ok && in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %.300q: %v", method, url, b, err)
		}
	}
	return resp.StatusCode, string(b)
}

// TestSlowlogExamplesFollowQueryGrants is security finding 10 end to end,
// through the server as it is wired: who sees a slow-query example follows
// the query console's grants and masking rules. On two instances of one
// real MariaDB (one with a masking rule), a developer without a grant sees
// the fingerprint only, one with a grant and a mask rule the literals
// hidden, one with a grant and no mask rule the redacted example; a DBA
// sees the redacted example everywhere.
func TestSlowlogExamplesFollowQueryGrants(t *testing.T) {
	m := testenv.StartMariaDB(t)
	m.Exec(t, "CREATE DATABASE sec_shop",
		"CREATE TABLE sec_shop.users (id INT PRIMARY KEY, phone VARCHAR(20), email VARCHAR(50), password_hash VARCHAR(64), pwd VARCHAR(20))",
		"INSERT INTO sec_shop.users VALUES (1, '13812345678', 'alice@example.com', 'h', 'p'), (2, '139', 'bob@example.org', 'h', 'p')")
	url, _, stop := start(t, t.TempDir(), "admin-password-1", func(c *config.Config) { c.Slowlog.Collect = false })
	defer stop()
	_, admin := login(t, url, "admin", "admin-password-1")
	must := func(code int, body string) {
		t.Helper()
		if code >= 300 {
			t.Fatalf("%d %s", code, body)
		}
	}
	for _, u := range []struct{ name, role string }{{"dba1", "dba"}, {"dev1", "developer"}, {"dev2", "developer"}, {"dev3", "developer"}} {
		must(call(t, "POST", url+"/api/v1/users", admin, map[string]string{"name": u.name, "role": u.role, "password": u.name + "-password"}, nil))
	}
	tok := map[string]string{}
	for _, u := range []string{"dba1", "dev1", "dev2", "dev3"} {
		_, tok[u] = login(t, url, u, u+"-password")
	}
	must(call(t, "POST", url+"/api/v1/hosts", tok["dba1"], map[string]string{"name": "h1", "address": "127.0.0.1"}, nil))
	must(call(t, "POST", url+"/api/v1/hosts", tok["dba1"], map[string]string{"name": "h2", "address": "localhost"}, nil))
	for _, in := range []struct{ name, host string }{{"sec-maria", "h1"}, {"sec-maria-masked", "h2"}} {
		must(call(t, "POST", url+"/api/v1/instances", tok["dba1"], map[string]any{"name": in.name, "engine": "mariadb", "host": in.host,
			"port": m.Port, "user": m.User, "password": m.Password}, nil))
	}

	// The DBA uploads the real slow log of both.
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	stmts := []string{
		"SELECT * FROM users WHERE phone = '13812345678' AND email = 'alice@example.com'",
		"UPDATE users SET password_hash = SHA2('Hunter2-PlainText',256), pwd = 'Hunter3-Plain' WHERE id = 2",
	}
	var lg strings.Builder
	for _, s := range stmts {
		fmt.Fprintf(&lg, "# User@Host: app[app] @  [10.0.0.1]\n# Thread_id: 8  Schema: sec_shop  QC_hit: No\n"+
			"# Query_time: 0.3  Lock_time: 0  Rows_sent: 1  Rows_examined: 2\nSET timestamp=%d;\n%s;\n", at.Unix(), s)
	}
	for _, in := range []string{"sec-maria", "sec-maria-masked"} {
		must(call(t, "POST", url+"/api/v1/instances/"+in+"/slowlog", tok["dba1"], lg.String(), nil))
	}
	must(call(t, "POST", url+"/api/v1/console/grants", tok["dba1"], map[string]string{"user": "dev2", "instance": "sec-maria-masked", "database": "sec_shop"}, nil))
	must(call(t, "POST", url+"/api/v1/console/grants", tok["dba1"], map[string]string{"user": "dev3", "instance": "sec-maria", "database": "sec_shop"}, nil))
	must(call(t, "POST", url+"/api/v1/console/masks", tok["dba1"], map[string]string{"instance": "sec-maria-masked", "column": "*phone*", "kind": "phone"}, nil))

	sel := slowlog.QueryID(slowlog.Fingerprint(stmts[0]))
	upd := slowlog.QueryID(slowlog.Fingerprint(stmts[1]))
	tests := []struct {
		user, instance, id string
		access             slowlog.Access
		example, note      string
	}{
		{"dev1", "sec-maria", sel, slowlog.AccessNone, "", "user dev1 (role developer) has no query grant on instance sec-maria"},
		{"dev1", "sec-maria-masked", upd, slowlog.AccessNone, "", "has no query grant on instance sec-maria-masked"},
		{"dev3", "sec-maria-masked", sel, slowlog.AccessNone, "", "has no query grant"},
		{"dev2", "sec-maria-masked", sel, slowlog.AccessNormalized, "SELECT * FROM users WHERE phone = ? AND email = ?", "masking rules apply to you (dev2)"},
		{"dev2", "sec-maria-masked", upd, slowlog.AccessNormalized, "UPDATE users SET password_hash = SHA2(?,?), pwd = ? WHERE id = ?", "masking rules"},
		{"dev3", "sec-maria", sel, slowlog.AccessFull, stmts[0], ""},
		{"dev3", "sec-maria", upd, slowlog.AccessFull, "UPDATE users SET password_hash = SHA2('***',256), pwd = '***' WHERE id = 2", ""},
		{"dba1", "sec-maria-masked", sel, slowlog.AccessFull, stmts[0], ""},
		{"dba1", "sec-maria", upd, slowlog.AccessFull, "UPDATE users SET password_hash = SHA2('***',256), pwd = '***' WHERE id = 2", ""},
	}
	for _, tt := range tests {
		var d slowlog.ClassDetail
		code, body := call(t, "GET", url+"/api/v1/instances/"+tt.instance+"/slowlog/classes/"+tt.id+"?since=48h", tok[tt.user], nil, &d)
		if code != 200 {
			t.Fatalf("%s on %s: %d %s", tt.user, tt.instance, code, body)
		}
		if d.ExampleAccess != tt.access || d.Example != tt.example || !strings.Contains(d.ExampleNote, tt.note) || (tt.note == "") != (d.ExampleNote == "") {
			t.Errorf("%s on %s, class %s: %q %q (%q), want %q %q (%q)", tt.user, tt.instance, tt.id, d.ExampleAccess, d.Example, d.ExampleNote, tt.access, tt.example, tt.note)
		}
		for _, secret := range []string{"Hunter2", "Hunter3"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s on %s: the answer holds %q", tt.user, tt.instance, secret)
			}
		}
		if tt.id == sel && (tt.access == slowlog.AccessFull) != d.Explainable {
			t.Errorf("%s on %s: explainable %v (%s)", tt.user, tt.instance, d.Explainable, d.WhyNot)
		}
	}

	// EXPLAIN goes through the query console, as the caller (finding 10;
	// finding 2: no parser of slowlog's own).
	explains := []struct {
		user, instance, id string
		code               int
		want               string
	}{
		{"dev1", "sec-maria", sel, 403, `"message": "user dev1 (role developer) has no query grant on instance sec-maria; a DBA can grant one`},
		{"dev1", "sec-maria", sel, 403, `"rule": "no-grant"`},
		{"dev3", "sec-maria-masked", sel, 403, "has no query grant on instance sec-maria-masked"},
		{"dev2", "sec-maria-masked", sel, 403, "masking rules on instance sec-maria-masked hide from user dev2"},
		{"dev2", "sec-maria-masked", sel, 403, `"rule": "masked-example"`},
		{"dev3", "sec-maria", sel, 200, `"select_type"`},
		{"dba1", "sec-maria-masked", sel, 200, `"statement": "EXPLAIN SELECT * FROM users WHERE phone = '13812345678'`},
		{"dev3", "sec-maria", upd, 400, "the example is an UPDATE: MariaDB and MySQL refuse EXPLAIN of a write"},
	}
	for _, tt := range explains {
		var res slowlog.ExplainResult
		code, body := call(t, "POST", url+"/api/v1/instances/"+tt.instance+"/slowlog/classes/"+tt.id+"/explain", tok[tt.user], nil, &res)
		if code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("EXPLAIN as %s on %s: %d %.400s, want %d with %q", tt.user, tt.instance, code, body, tt.code, tt.want)
		}
		if code == 200 && (len(res.Rows) == 0 || res.Database != "sec_shop") {
			t.Errorf("EXPLAIN as %s on %s: %+v", tt.user, tt.instance, res)
		}
	}
	// The console audited the runs and the refusal, as their callers.
	_, audit := call(t, "GET", url+"/api/v1/audit?limit=200", tok["dba1"], nil, nil)
	for _, want := range []string{`"action": "query.run"`, `"user": "dev3"`, `"action": "query.refused"`, `"user": "dev1"`, `"explain": true`, `"statement": "SELECT * FROM users WHERE phone`} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit log lacks %s:\n%.3000s", want, audit)
		}
	}
}
