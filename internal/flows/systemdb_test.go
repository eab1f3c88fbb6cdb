package flows

import (
	"context"
	"fmt"
	"strings"
	"testing"

	examples "github.com/dbfleet/dbfleet/flows"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// exampleFlows returns the shipped flow files named.
func exampleFlows(t *testing.T, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		b, err := examples.Examples.ReadFile(n + ".xml")
		if err != nil {
			t.Fatal(err)
		}
		out[n+".xml"] = string(b)
	}
	return out
}

// addDevInstances adds maria-dev and pg-dev: the shared servers again, in
// env dev, where the shipped flows approve by policy (the set-up of
// security finding 3).
func (f *fixture) addDevInstances() {
	f.t.Helper()
	// Another name for the same machine: an instance is one host and port.
	if _, err := f.inv.AddHost(f.ctx, inventory.Host{Name: "h-dev", Address: "127.0.0.1"}); err != nil {
		f.t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		kind engine.Kind
		port int
		user string
		pw   string
	}{
		{"maria-dev", engine.MariaDB, shared.maria.Port, shared.maria.User, shared.maria.Password},
		{"pg-dev", engine.Postgres, shared.pg.Port, shared.pg.User, shared.pg.Password},
	} {
		if _, err := f.inv.AddCluster(f.ctx, inventory.Cluster{Name: c.name, Engine: c.kind, Env: "dev"}); err != nil {
			f.t.Fatal(err)
		}
		if _, err := f.inv.AddInstance(f.ctx, inventory.NewInstance{Name: c.name, Engine: c.kind, Host: "h-dev", Port: c.port, User: c.user, Password: c.pw, Cluster: c.name, Role: "primary"}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// submitUnchecked creates a ticket the way Submit does but without the
// submit-time refusals: a ticket submitted before a rule existed (by an
// older server) and run or retried now. The blocks must refuse it
// themselves.
func (f *fixture) submitUnchecked(user, flow string, fields map[string]any) int64 {
	f.t.Helper()
	ctx, p := f.as(user)
	fl, ok := f.cat.Get(flow)
	if !ok {
		f.t.Fatalf("no flow %s", flow)
	}
	values, err := fl.Validate(RawFields(fields))
	if err != nil {
		f.t.Fatal(err)
	}
	target, err := f.svc.checkPickers(ctx, fl, values)
	if err != nil {
		f.t.Fatal(err)
	}
	if fl.refusals(values) == nil {
		f.t.Fatalf("%s %v: no submit-time refusal; this helper is for values Submit refuses", flow, fields)
	}
	id, err := f.svc.create(ctx, fl, "", p.User, p.Role, values, target, false)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// auditEntries lists the audit log's entries for target as "actor action: detail".
func (f *fixture) auditEntries(target, action string) []string {
	f.t.Helper()
	entries, err := audit.NewLog(f.db).List(context.Background(), audit.Filter{Target: target, Action: action, Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, fmt.Sprintf("%s %s: %v", e.User, e.Action, e.Detail))
	}
	return out
}

// Security finding 3: the new-account flow granted on the mysql system
// database (UPDATE on mysql.* takes the server over), auto-approved on
// env dev. System databases are refused at submit (403 naming the field,
// the rule and the database, recorded in the audit log) on MariaDB and
// PostgreSQL, for create-account and create-database; a ticket that
// reaches the block anyway fails there with the same reason. Nothing is
// created on the servers.
func TestSystemDatabasesRefused(t *testing.T) {
	f := newFixture(t, sqliteStore(t), exampleFlows(t, "new-account", "new-database"))
	f.addDevInstances()
	refused := func(f *fixture, flow string, fields map[string]any, field, db string) {
		t := f.t
		t.Helper()
		ctx, p := f.as("dev")
		before := len(f.auditEntries("flow/"+flow, "ticket.refused"))
		_, err := f.svc.Submit(ctx, p, SubmitRequest{Flow: flow, Fields: fields})
		kindOf(t, err, errkind.Forbidden, fmt.Sprintf(`field %q: refused by the rule "no system databases": database %q is a`, field, db))
		got := f.auditEntries("flow/"+flow, "ticket.refused")
		if len(got) != before+1 || !strings.HasPrefix(got[0], "dev ticket.refused: ") || !strings.Contains(got[0], fmt.Sprintf("database %q", db)) {
			t.Fatalf("audit after the refusal: %q", got)
		}
	}
	noAccount := func(f *fixture, user string) {
		t := f.t
		t.Helper()
		if n := mariaQuery(t, "", "SELECT COUNT(*) FROM mysql.user WHERE User = ?", user); n != "0" {
			t.Fatalf("account %s exists on MariaDB (%s rows in mysql.user)", user, n)
		}
		if n := mariaQuery(t, "", "SELECT COUNT(*) FROM mysql.db WHERE User = ?", user); n != "0" {
			t.Fatalf("%s holds database grants on MariaDB (%s rows in mysql.db)", user, n)
		}
		var n int
		if err := pgDB(t, "postgres").QueryRow("SELECT count(*) FROM pg_roles WHERE rolname = $1", user).Scan(&n); err != nil || n != 0 {
			t.Fatalf("role %s on PostgreSQL: %d %v", user, n, err)
		}
	}

	t.Run("new-account mariadb", func(t *testing.T) {
		f := f.in(t)
		// The finding's exact payload: ticket submit new-account
		// --field target=<dev instance>/mysql --field user=sec_escal
		// --field privileges=SELECT,UPDATE.
		payload := map[string]any{"target": "maria-dev/mysql", "user": "sec_escal", "privileges": "SELECT,UPDATE", "reason": "app account"}
		refused(f, "new-account", payload, "target", "mysql")
		for _, db := range []string{"MYSQL", "sys", "performance_schema", "Information_Schema", "metrics_schema"} {
			refused(f, "new-account", map[string]any{"target": "maria-dev/" + db, "user": "sec_escal", "privileges": "SELECT,UPDATE", "reason": "app account"}, "target", db)
		}
		if list, _ := f.svc.List(context.Background(), Filter{Flow: "new-account"}); len(list) != 0 {
			t.Fatalf("refused submissions left tickets: %+v", list)
		}
		noAccount(f, "sec_escal")

		// Reached anyway (a ticket from before the rule): the block fails
		// with the same reason, before it creates anything.
		id := f.submitUnchecked("dev", "new-account", payload)
		tk := f.wait(id, StateFailed)
		if !strings.Contains(tk.Error, `refused by the rule "no system databases": database "mysql" is a MariaDB/MySQL system database`) {
			t.Fatalf("error: %s", tk.Error)
		}
		if len(tk.Secrets) != 0 {
			t.Fatalf("a refused step generated a password: %+v", tk.Secrets)
		}
		noAccount(f, "sec_escal")
		if got := f.auditEntries(ticketTarget(id), "ticket.step.fail"); len(got) != 1 || !strings.Contains(got[0], `database "mysql" is a MariaDB/MySQL system database`) {
			t.Fatalf("audit of the failed step: %q", got)
		}
	})

	t.Run("new-account postgres", func(t *testing.T) {
		f := f.in(t)
		for _, db := range []string{"postgres", "template0", "template1", "TEMPLATE1"} {
			refused(f, "new-account", map[string]any{"target": "pg-dev/" + db, "user": "sec_escal_pg", "privileges": "SELECT,UPDATE", "reason": "app account"}, "target", db)
		}
		noAccount(f, "sec_escal_pg")
		id := f.submitUnchecked("dev", "new-account", map[string]any{"target": "pg-dev/postgres", "user": "sec_escal_pg", "privileges": "SELECT,UPDATE", "reason": "app account"})
		tk := f.wait(id, StateFailed)
		if !strings.Contains(tk.Error, `database "postgres" is a PostgreSQL system database`) {
			t.Fatalf("error: %s", tk.Error)
		}
		noAccount(f, "sec_escal_pg")

		// A database the server reports as a template is refused by the
		// block, though no list names it.
		tmpl := uniq("tmpl")
		shared.pg.CreateDatabase(t, tmpl)
		if _, err := pgDB(t, "postgres").Exec("ALTER DATABASE " + tmpl + " IS_TEMPLATE true"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pgDB(t, "postgres").Exec("ALTER DATABASE " + tmpl + " IS_TEMPLATE false") })
		tk = f.submit("dev", "new-account", map[string]any{"target": "pg-dev/" + tmpl, "user": "sec_tmpl", "privileges": "SELECT", "reason": "app account"})
		tk = f.wait(tk.ID, StateFailed)
		if !strings.Contains(tk.Error, fmt.Sprintf(`refused by the rule "no system databases": database %q is a template database on pg-dev`, tmpl)) {
			t.Fatalf("error: %s", tk.Error)
		}
		noAccount(f, "sec_tmpl")
	})

	t.Run("new-database", func(t *testing.T) {
		f := f.in(t)
		for _, c := range []struct{ instance, name string }{
			{"maria-dev", "mysql"}, {"maria-dev", "information_schema"}, {"maria-dev", "performance_schema"}, {"maria-dev", "sys"},
			{"pg-dev", "postgres"}, {"pg-dev", "template1"},
		} {
			refused(f, "new-database", map[string]any{"instance": c.instance, "name": c.name, "reason": "x"}, "name", c.name)
		}
		// MYSQL would be a new database on a case-sensitive server: the
		// block refuses it all the same, and nothing is created.
		// (The form's pattern wants lower case: this ticket stands for one
		// made from a laxer form.)
		fl, _ := f.cat.Get("new-database")
		values := map[string]any{"instance": "maria-dev", "name": "MYSQL", "reason": "x"}
		ctx, p := f.as("dev")
		target, err := f.svc.checkPickers(ctx, fl, values)
		if err != nil {
			t.Fatal(err)
		}
		id, err := f.svc.create(ctx, fl, "", p.User, p.Role, values, target, false)
		if err != nil {
			t.Fatal(err)
		}
		tk := f.wait(id, StateFailed)
		if !strings.Contains(tk.Error, `refused by the rule "no system databases": database "MYSQL" is a MariaDB/MySQL system database; create-database creates application databases only`) {
			t.Fatalf("error: %s", tk.Error)
		}
		if n := mariaQuery(t, "", "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE BINARY SCHEMA_NAME = 'MYSQL'"); n != "0" {
			t.Fatalf("database MYSQL was created")
		}
	})
}
