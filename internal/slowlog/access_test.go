package slowlog_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/query"
	"github.com/dbfleet/dbfleet/internal/slowlog"
)

// TestExampleAccess: a class's example is shown as the query console's
// grants and masking rules allow (security finding 10): a developer
// without a grant on the instance gets the fingerprint only, with a grant
// and a masking rule the example with every literal hidden, with a grant
// and no masking rule the (redacted) example, as a DBA does.
func TestExampleAccess(t *testing.T) {
	f := newFixture(t, openStore(t, filepath.Join(t.TempDir(), "store.db")))
	f.addInstanceOn(t, "alias", "maria", engine.MariaDB, 3306, "u", "p")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const upd = "UPDATE users SET password_hash = SHA2('Hunter2-PlainText',256), pwd = 'Hunter3-Plain', phone = '13812345678' WHERE email = 'alice@example.com'"
	lg := fmt.Sprintf("# Time: %s\n# User@Host: app[app] @  [10.0.0.1]\n# Thread_id: 8  Schema: shop  QC_hit: No\n# Query_time: 0.2  Lock_time: 0  Rows_sent: 0  Rows_examined: 1\nSET timestamp=%d;\n%s;\n",
		at.Format("060102 15:04:05"), at.Unix(), upd)
	if _, err := f.svc.Upload(f.ctx, "maria", strings.NewReader(lg)); err != nil {
		t.Fatal(err)
	}
	id := slowlog.QueryID(slowlog.Fingerprint(upd))
	all := slowlog.Filter{Since: at.Add(-time.Hour), Until: at.Add(time.Hour)}
	redacted := "UPDATE users SET password_hash = SHA2('***',256), pwd = '***', phone = '13812345678' WHERE email = 'alice@example.com'"
	normalized := "UPDATE users SET password_hash = SHA2(?,?), pwd = ?, phone = ? WHERE email = ?"

	var explainRefusal string // what a developer is told who may not EXPLAIN
	check := func(step string, who string, access slowlog.Access, example, note string) {
		t.Helper()
		pr := f.dev
		if who == "dba" {
			pr = f.dba
		}
		d, err := f.svc.Class(f.ctx, pr, "maria", id, all)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if d.ExampleAccess != access || d.Example != example || !strings.Contains(d.ExampleNote, note) || (note == "") != (d.ExampleNote == "") {
			t.Errorf("%s: %s sees %q %q (note %q), want %q %q (note %q)", step, who, d.ExampleAccess, d.Example, d.ExampleNote, access, example, note)
		}
		if d.Fingerprint != slowlog.Fingerprint(upd) || d.Calls != 1 {
			t.Errorf("%s: class %+v", step, d.TopClass)
		}
		if access != slowlog.AccessFull {
			if d.Explainable || d.WhyNot == "" {
				t.Errorf("%s: explainable %v (%q)", step, d.Explainable, d.WhyNot)
			}
			// Refused by the console (no grant) or here (masked).
			if _, err := f.svc.Explain(f.ctx, pr, "maria", id); errkind.Of(err) != errkind.Forbidden || !strings.Contains(err.Error(), explainRefusal) {
				t.Errorf("%s: EXPLAIN for %s: %v, want a refusal with %q", step, who, err, explainRefusal)
			}
		}
	}
	explainRefusal = "user dev (role developer) has no query grant on instance maria; a DBA can grant one"
	check("no grant", "dev", slowlog.AccessNone, "", "user dev (role developer) has no query grant on instance maria")
	check("no grant", "dba", slowlog.AccessFull, redacted, "")
	if _, err := f.query.AddGrant(f.ctx, f.dba, query.NewGrant{User: "dev", Instance: "maria", Database: "shop"}); err != nil {
		t.Fatal(err)
	}
	check("a grant", "dev", slowlog.AccessFull, redacted, "")
	if _, err := f.query.AddMask(f.ctx, f.dba, query.MaskRule{Column: "*phone*", Kind: query.MaskPhone}); err != nil {
		t.Fatal(err)
	}
	explainRefusal = "EXPLAIN would show the example's literals, which masking rules on instance maria hide from user dev"
	check("a grant and a mask", "dev", slowlog.AccessNormalized, normalized, "masking rules apply to you (dev) on instance maria")
	check("a grant and a mask", "dba", slowlog.AccessFull, redacted, "")

	// Without a console nobody sees examples, and nothing is explained.
	f.svc.Examples, f.svc.Explainer = nil, nil
	if d, err := f.svc.Class(f.ctx, f.dba, "maria", id, all); err != nil || d.Example != "" || !strings.Contains(d.ExampleNote, "no query console") || d.Explainable {
		t.Errorf("no console: %+v %v", d, err)
	}
	if _, err := f.svc.Explain(f.ctx, f.dba, "maria", id); errkind.Of(err) != errkind.Unavailable {
		t.Errorf("no console: EXPLAIN: %v", err)
	}
}
