package flows

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/query"
)

// rawExportFlow exports with no review and no approval: the export block
// alone must refuse what the console refuses.
const rawExportFlow = `<flow name="rawexport" title="Export, no review">
  <form><field name="target" type="database" required="true"/><field name="sql" type="sql" required="true"/></form>
  <workflow><export id="x" max-rows="1000"/></workflow>
</flow>`

// exportEnv is a fixture with the shipped data-export flow, rawexport, the
// dev instances (env dev) and the databases of security finding 8 on the
// shared MariaDB: sec_shop.users (phone numbers) and sec_secret.keys.
// dev has a query grant on maria-dev/sec_shop only, dev2 none; a masking
// rule covers phone on maria-dev.
func exportEnv(t *testing.T) *fixture {
	files := exampleFlows(t, "data-export")
	files["rawexport.xml"] = rawExportFlow
	f := newFixture(t, sqliteStore(t), files)
	f.addDevInstances()
	shared.maria.Exec(t,
		"DROP DATABASE IF EXISTS sec_shop", "DROP DATABASE IF EXISTS sec_secret",
		"CREATE DATABASE sec_shop", "CREATE DATABASE sec_secret",
		"CREATE TABLE sec_shop.users (id INT PRIMARY KEY, phone VARCHAR(20), email VARCHAR(50))",
		"INSERT INTO sec_shop.users VALUES (1, '13812345678', 'alice@example.com'), (2, '13987654321', 'bob@example.org')",
		"CREATE TABLE sec_secret.`keys` (id INT PRIMARY KEY, secret VARCHAR(50))",
		"INSERT INTO sec_secret.`keys` VALUES (1, 'TOPSECRET-KEY-42')")
	ctx, dba := f.as("dba")
	if _, err := f.query.AddGrant(ctx, dba, query.NewGrant{User: "dev", Instance: "maria-dev", Database: "sec_shop", Reason: "finding 8"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.query.AddMask(ctx, dba, query.MaskRule{Instance: "maria-dev", Column: "phone", Kind: query.MaskPhone}); err != nil {
		t.Fatal(err)
	}
	return f
}

// exportAudit is the audit entry of action on instance that names the
// ticket (none: the zero entry).
func (f *fixture) exportAudit(instance, action string, ticket int64) audit.Entry {
	f.t.Helper()
	es, err := audit.NewLog(f.db).List(context.Background(), audit.Filter{Target: instance, Action: action, Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range es {
		if e.Detail["ticket"] == ticketTarget(ticket) {
			return e
		}
	}
	return audit.Entry{}
}

// approveStep approves ticket id's current step as user.
func (f *fixture) approveStep(user string, id int64) {
	f.t.Helper()
	tk := f.wait(id, StateWaitingApproval)
	ctx, p := f.as(user)
	step := tk.Step
	if _, err := f.svc.Approve(ctx, p, id, Decision{Step: &step}); err != nil {
		f.t.Fatalf("approve ticket %d as %s: %v", id, user, err)
	}
}

// download is the CSV attached to a finished export ticket.
func (f *fixture) download(tk *Ticket) string {
	f.t.Helper()
	if len(tk.Attachments) != 1 {
		f.t.Fatalf("ticket %d: attachments %+v", tk.ID, tk.Attachments)
	}
	ctx, p := f.as("dba")
	_, body, err := f.svc.Download(ctx, p, tk.ID, tk.Attachments[0].ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(body)
}

// Security finding 8 against a real MariaDB: the data-export flow ran
// SELECT ... INTO OUTFILE (a file written on the database host) and read
// what the requester's grants, the masks and the console's function checks
// would not let through. Exports now run through the query console as the
// requester: the finding's payloads, submitted by a developer without a
// grant on the instance and by one granted the database only with phone
// masked, are refused with the console's rule (at review, before anyone
// approves; by the export block itself in a flow without a review) and
// audited with the ticket; no file appears; a plain export still works,
// with phone masked.
func TestExportFinding8(t *testing.T) {
	f := exportEnv(t)
	// Where could the server write? secure_file_priv names a directory,
	// or is empty or NULL: on MariaDB both mean anywhere the server's
	// user may write (on MySQL NULL turns file writes off).
	var priv sql.NullString
	if err := shared.maria.DB(t, "").QueryRow("SELECT @@secure_file_priv").Scan(&priv); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if priv.Valid && priv.String != "" {
		dir = priv.String
	}
	// The server does write there when asked directly: the test below
	// would prove nothing otherwise.
	probe := filepath.Join(dir, uniq("probe")+".txt")
	shared.maria.Exec(t, "SELECT 1 INTO OUTFILE '"+probe+"'")
	if _, err := os.Stat(probe); err != nil {
		t.Fatalf("the server did not write %s itself: %v", probe, err)
	}
	os.Remove(probe)
	findingPath := "/var/lib/mysql-files/export.txt"
	_, statErr := os.Stat(findingPath)
	findingExisted := statErr == nil
	ourPath := filepath.Join(dir, uniq("export")+".txt")

	outfile := "SELECT id, phone, email FROM users INTO OUTFILE '" + findingPath + "'"
	outfileHere := "SELECT id, phone, email FROM users INTO OUTFILE '" + ourPath + "'"
	loadFile := "SELECT LOAD_FILE('/etc/hostname') f, (SELECT secret FROM sec_secret.keys LIMIT 1) s, (SELECT GROUP_CONCAT(phone) FROM sec_shop.users) p"
	noLoadFile := "SELECT (SELECT secret FROM sec_secret.keys LIMIT 1) s, (SELECT GROUP_CONCAT(phone) FROM sec_shop.users) p"
	for _, tc := range []struct {
		name, user, flow, sql string
		rule                  string
	}{
		{"outfile, no grant", "dev2", "data-export", outfile, query.RuleInto},
		{"outfile where the server writes, no grant", "dev2", "data-export", outfileHere, query.RuleInto},
		{"load_file, no grant", "dev2", "data-export", loadFile, query.RuleFunction},
		{"plain, no grant", "dev2", "data-export", "SELECT id, phone, email FROM users", query.RuleNoGrant},
		{"outfile, database grant", "dev", "data-export", outfile, query.RuleInto},
		{"load_file, database grant", "dev", "data-export", loadFile, query.RuleFunction},
		{"other database, database grant", "dev", "data-export", noLoadFile, query.RuleNotGranted},
		{"locking read", "dev", "data-export", "SELECT id FROM users FOR UPDATE", query.RuleLockingRead},
		// No review: the export block refuses on its own.
		{"outfile, no review", "dev", "rawexport", outfileHere, query.RuleInto},
		{"load_file, no review", "dev2", "rawexport", loadFile, query.RuleFunction},
		{"other database, no review", "dev", "rawexport", noLoadFile, query.RuleNotGranted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.in(t)
			fields := map[string]any{"target": "maria-dev/sec_shop", "sql": tc.sql}
			if tc.flow == "data-export" {
				fields["reason"] = "need the data for analysis"
			}
			tk := f.wait(f.submit(tc.user, tc.flow, fields).ID, StateFailed)
			if tc.flow == "data-export" {
				want := fmt.Sprintf("statement 1 line 1 col 1: %s: the query console refuses this export as %s: ", tc.rule, tc.user)
				if tk.Steps[0].State != StepFailed || tk.Steps[1].State != StepPending || !strings.Contains(tk.Error, want) {
					t.Fatalf("the review did not refuse it with %q: %s (steps %+v)", want, tk.Error, tk.Steps)
				}
			} else if want := fmt.Sprintf("the query console refused the export as %s (rule %s): ", tc.user, tc.rule); !strings.Contains(tk.Error, want) {
				t.Fatalf("error %q, want %q", tk.Error, want)
			}
			if len(tk.Attachments) != 0 {
				t.Fatalf("attachments %+v", tk.Attachments)
			}
			e := f.exportAudit("maria-dev", "query.refused", tk.ID)
			if e.User != tc.user || e.Detail["rule"] != tc.rule || e.Detail["export"] != true || (e.Detail["check"] == true) != (tc.flow == "data-export") {
				t.Fatalf("audit entry %+v", e)
			}
		})
	}
	if _, err := os.Stat(ourPath); !os.IsNotExist(err) {
		t.Fatalf("%s exists after the refused exports (%v)", ourPath, err)
	}
	if _, err := os.Stat(findingPath); !findingExisted && !os.IsNotExist(err) {
		t.Fatalf("%s exists after the refused exports (%v)", findingPath, err)
	}

	// What the grant covers exports, once a DBA approves (on dev too),
	// with phone masked, audited as query.export with the ticket. The
	// finding's GROUP_CONCAT(phone) comes out masked as well.
	for _, tc := range []struct{ sql, csv string }{
		{"SELECT id, phone, email FROM users ORDER BY id", "id,phone,email\n1,138****5678,alice@example.com\n2,139****4321,bob@example.org\n"},
		{"SELECT GROUP_CONCAT(phone ORDER BY id) p FROM sec_shop.users", ""},
	} {
		tk := f.submit("dev", "data-export", map[string]any{"target": "maria-dev/sec_shop", "sql": tc.sql, "reason": "need the data for analysis"})
		f.approveStep("dba", tk.ID)
		tk = f.wait(tk.ID, StateDone)
		got := f.download(tk)
		if tc.csv != "" && got != tc.csv {
			t.Fatalf("%s: csv %q, want %q", tc.sql, got, tc.csv)
		}
		if strings.Contains(got, "13812345678") || strings.Contains(got, "13987654321") || !strings.Contains(got, "****") {
			t.Fatalf("%s: a phone number in clear: %q", tc.sql, got)
		}
		if !strings.Contains(tk.Steps[2].Summary, "masked: p") && !strings.Contains(tk.Steps[2].Summary, "masked: phone") {
			t.Fatalf("%s: summary %q", tc.sql, tk.Steps[2].Summary)
		}
		e := f.exportAudit("maria-dev", "query.export", tk.ID)
		if e.User != "dev" || fmt.Sprint(e.Detail["masked"]) == "" || e.Detail["export"] != true {
			t.Fatalf("%s: audit entry %+v", tc.sql, e)
		}
	}
}

// An export reads as the ticket's requester on PostgreSQL too: their
// grants, the masks, the allow-list of functions.
func TestExportPostgres(t *testing.T) {
	f := newFixture(t, sqliteStore(t), map[string]string{"rawexport.xml": rawExportFlow})
	db := pgDB(t, f.pgD)
	for _, q := range []string{
		"CREATE TABLE users (id int PRIMARY KEY, phone text, email text)",
		"INSERT INTO users VALUES (1, '13812345678', 'alice@example.com'), (2, '13987654321', 'bob@example.org')",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	ctx, dba := f.as("dba")
	if _, err := f.query.AddGrant(ctx, dba, query.NewGrant{User: "dev", Instance: "pg-1", Database: f.pgD}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.query.AddMask(ctx, dba, query.MaskRule{Instance: "pg-1", Column: "phone", Kind: query.MaskPhone}); err != nil {
		t.Fatal(err)
	}
	target := "pg-1/" + f.pgD
	for _, tc := range []struct{ user, sql, csv, err string }{
		{"dev", "SELECT id, phone, email FROM users ORDER BY id", "id,phone,email\n1,138****5678,alice@example.com\n2,139****4321,bob@example.org\n", ""},
		{"dev", "SELECT pg_read_file('/etc/hostname')", "", "(rule function-not-allowed)"},
		{"dev", "SELECT * INTO stolen FROM users", "", "(rule into)"},
		{"dev", "SELECT nextval('s')", "", "(rule function-not-allowed)"},
		{"dev2", "SELECT id FROM users", "", "(rule no-grant)"},
		{"dba", "SELECT phone FROM users ORDER BY id", "phone\n13812345678\n13987654321\n", ""},
	} {
		tk := f.submit(tc.user, "rawexport", map[string]any{"target": target, "sql": tc.sql})
		if tc.err != "" {
			tk = f.wait(tk.ID, StateFailed)
			if !strings.Contains(tk.Error, tc.err) {
				t.Fatalf("%s as %s: error %q, want %q", tc.sql, tc.user, tk.Error, tc.err)
			}
			continue
		}
		tk = f.wait(tk.ID, StateDone)
		if got := f.download(tk); got != tc.csv {
			t.Fatalf("%s as %s: csv %q, want %q", tc.sql, tc.user, got, tc.csv)
		}
	}
	if _, err := db.Exec("SELECT 1 FROM stolen"); err == nil {
		t.Fatal("SELECT ... INTO created a table")
	}
}

// The requester's account as it stands when the export runs: a disabled
// account exports nothing, and the role is never above the one the ticket
// was submitted with nor above the current one.
func TestExportPrincipal(t *testing.T) {
	f := exportEnv(t)
	admin := auth.Principal{User: "root", Role: auth.Admin}
	change := func(user string, c auth.UserChange) {
		t.Helper()
		if _, err := f.auth.UpdateUser(audit.WithActor(context.Background(), audit.Actor{User: "root"}), admin, "192.0.2.1", user, c); err != nil {
			t.Fatal(err)
		}
	}
	ctx, dba := f.as("dba")
	if _, err := f.query.AddGrant(ctx, dba, query.NewGrant{User: "dba2", Instance: "maria-dev", Database: "sec_shop"}); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	developer, dbaRole := auth.Developer, auth.DBA
	const masked, clear = "phone\n138****5678\n", "phone\n13812345678\n"
	for _, tc := range []struct {
		name, user   string
		before       auth.UserChange // after submitting, before the approval
		after        auth.UserChange // undoes it
		csv, refused string
	}{
		{"disabled", "dev", auth.UserChange{Disabled: &yes}, auth.UserChange{Disabled: &no}, "", "requester dev, whose account is disabled"},
		{"promoted after submitting", "dev", auth.UserChange{Role: &dbaRole}, auth.UserChange{Role: &developer}, masked, ""},
		{"demoted after submitting", "dba2", auth.UserChange{Role: &developer}, auth.UserChange{Role: &dbaRole}, masked, ""},
		{"a DBA", "dba2", auth.UserChange{}, auth.UserChange{}, clear, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.in(t)
			tk := f.submit(tc.user, "data-export", map[string]any{"target": "maria-dev/sec_shop", "sql": "SELECT phone FROM users WHERE id = 1", "reason": "need the data for analysis"})
			f.wait(tk.ID, StateWaitingApproval)
			if tc.before != (auth.UserChange{}) {
				change(tc.user, tc.before)
				defer change(tc.user, tc.after)
			}
			f.approveStep("dba", tk.ID)
			if tc.refused != "" {
				tk = f.wait(tk.ID, StateFailed)
				if !strings.Contains(tk.Error, tc.refused) || len(tk.Attachments) != 0 {
					t.Fatalf("error %q, attachments %+v; want %q", tk.Error, tk.Attachments, tc.refused)
				}
				return
			}
			tk = f.wait(tk.ID, StateDone)
			if got := f.download(tk); got != tc.csv {
				t.Fatalf("csv %q, want %q", got, tc.csv)
			}
		})
	}
}

// No block has a built-in fallback: without the query console (or any
// other service a block calls) work orders refuse to start, naming what is
// missing; there is no other way to read data for a ticket or run its SQL.
func TestServiceNeedsEveryBlock(t *testing.T) {
	f := newFixture(t, sqliteStore(t), nil)
	full := Options{DB: f.db, Catalog: f.cat, Queue: f.queue, Inventory: f.inv, Reviewer: f.svc.reviewer, Executor: f.exec, Provisioner: f.exec, Exporter: f.query, Users: f.auth}
	if _, err := NewService(full); err != nil {
		t.Fatalf("every service wired: %v", err)
	}
	for _, tc := range []struct {
		drop func(*Options)
		want string
	}{
		{func(o *Options) { o.Exporter = nil }, "the query console (Exporter: export blocks)"},
		{func(o *Options) { o.Users = nil }, "the accounts (Users: export blocks)"},
		{func(o *Options) { o.Executor = nil }, "the executor (Executor: execute blocks)"},
		{func(o *Options) { o.Reviewer = nil }, "the SQL review engine (Reviewer: review blocks)"},
		{func(o *Options) { o.Provisioner = nil }, "the executor (Provisioner: create-database and create-account blocks)"},
	} {
		o := full
		tc.drop(&o)
		if svc, err := NewService(o); err == nil || svc != nil || !strings.Contains(err.Error(), "work orders need "+tc.want) {
			t.Errorf("without %s: %v", tc.want, err)
		}
	}
}
