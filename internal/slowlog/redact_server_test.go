package slowlog_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/slowlog"
)

// TestExamplesAreRedacted uploads security finding 10's statements: what
// is stored and shown carries no plaintext secret, and an example stored
// before the redaction was widened is redacted when read.
func TestExamplesAreRedacted(t *testing.T) {
	f := newFixture(t, openStore(t, filepath.Join(t.TempDir(), "store.db")))
	f.addInstanceOn(t, "alias", "maria", engine.MariaDB, 3306, "u", "p")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	stmts := []string{
		"UPDATE users SET password_hash = SHA2('Hunter2-PlainText',256), pwd = 'Hunter3-Plain' WHERE id = 7",
		"CREATE USER 'sec_evil'@'%' IDENTIFIED BY 'evilpw'",
		"INSERT INTO api_clients (name, client_secret) VALUES ('billing', 'cs-Plain-42')",
		"SELECT * FROM users WHERE name = 'bob' AND `Reset_Token` = 'rt-Plain-7'",
	}
	var lg strings.Builder
	fmt.Fprintf(&lg, "# Time: %s\n", at.Format("060102 15:04:05"))
	for _, s := range stmts {
		fmt.Fprintf(&lg, "# User@Host: app[app] @  [10.0.0.1]\n# Query_time: 0.2  Lock_time: 0  Rows_sent: 0  Rows_examined: 1\nSET timestamp=%d;\n%s;\n", at.Unix(), s)
	}
	if _, err := f.svc.Upload(f.ctx, "maria", strings.NewReader(lg.String())); err != nil {
		t.Fatal(err)
	}
	plain := []string{"Hunter2-PlainText", "Hunter3-Plain", "evilpw", "cs-Plain-42", "rt-Plain-7"}
	rows, err := f.db.QueryContext(f.ctx, "SELECT example, distillate FROM slowlog_classes")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var ex, dist string
		if err := rows.Scan(&ex, &dist); err != nil {
			t.Fatal(err)
		}
		n++
		for _, p := range plain {
			if strings.Contains(ex+dist, p) {
				t.Errorf("stored example holds %q: %s", p, ex)
			}
		}
	}
	rows.Close()
	if n != len(stmts) {
		t.Fatalf("%d classes stored, want %d", n, len(stmts))
	}
	all := slowlog.Filter{Since: at.Add(-time.Hour), Until: at.Add(time.Hour)}
	upd := slowlog.QueryID(slowlog.Fingerprint(stmts[0]))
	d, err := f.svc.Class(f.ctx, f.dba, "maria", upd, all)
	if err != nil {
		t.Fatal(err)
	}
	if want := "UPDATE users SET password_hash = SHA2('***',256), pwd = '***' WHERE id = 7"; d.Example != want {
		t.Errorf("example %q, want %q", d.Example, want)
	}

	// Stored in clear by an earlier version: redacted on the way out.
	if _, err := f.db.ExecContext(f.ctx, "UPDATE slowlog_classes SET example = ? WHERE query_id = ?", stmts[0], upd); err != nil {
		t.Fatal(err)
	}
	if d, err := f.svc.Class(f.ctx, f.dba, "maria", upd, all); err != nil || strings.Contains(d.Example, "Hunter") {
		t.Errorf("example stored in clear is shown as %q (%v)", d.Example, err)
	}
}
