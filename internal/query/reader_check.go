package query

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// What `instance check` and `query reader show` report of the account
// queries log in as.

// CheckInstance reports, for `dbfleet instance check`, whether the
// accounts user reads on in log in as are fine: "ok", "missing" or "too
// powerful" (and what). Each kind of reader is a finding of its own:
// "reader" (the grant reader) and "reader-all" (the read-all reader); a
// DBA-set credential, which serves every read, is the one finding
// "reader". It implements inventory.ExtraCheck.
func (s *Service) CheckInstance(ctx context.Context, in inventory.Instance) []inventory.CheckFinding {
	if !readerEngine(in.Engine) {
		return nil
	}
	var out []inventory.CheckFinding
	for _, kind := range readerKindsOf(in.Engine) {
		f, dba := s.checkReader(ctx, in, kind)
		out = append(out, f)
		if dba {
			break
		}
	}
	return out
}

// Check statuses.
const (
	ReaderOK          = "ok"
	ReaderMissing     = "missing"
	ReaderTooPowerful = "too powerful"
	ReaderError       = "error"
)

// checkName is the finding's name for a reader of kind.
func checkName(kind readerKind) string {
	if kind == readerAll {
		return "reader-all"
	}
	return "reader"
}

// checkReader judges the account reads of kind on in log in as; dba
// reports it is a DBA-set credential (which serves every kind).
func (s *Service) checkReader(ctx context.Context, in inventory.Instance, kind readerKind) (f inventory.CheckFinding, dba bool) {
	f = inventory.CheckFinding{Name: checkName(kind)}
	fail := func(status, format string, args ...any) (inventory.CheckFinding, bool) {
		f.Status, f.Detail = status, fmt.Sprintf(format, args...)
		return f, dba
	}
	t, err := s.inv.Target(ctx, in.Name)
	if err != nil {
		return fail(ReaderError, "%v", err)
	}
	t.User, t.Password = "", ""
	// The credential user reads on in log in as: in's own DBA-set one,
	// else its home's (DBA-set or managed).
	r, ok, err := s.credFor(ctx, s.db, in.Name)
	if err == nil && !ok {
		home, herr := s.readerHome(ctx, in)
		if herr != nil {
			return fail(ReaderError, "%v", herr)
		}
		if r, ok, err = s.credFor(ctx, s.db, home.Name); err == nil && !ok {
			r, ok, err = s.readerRowFor(ctx, s.db, home.Name, kind)
		}
	}
	if err != nil {
		return fail(ReaderError, "%v", err)
	}
	if !ok {
		return fail(ReaderMissing, "no %s yet: it is created on first use, or now with: dbfleet query reader sync %s", readerLabel(kind), in.Name)
	}
	what := "managed account"
	if !r.managed {
		dba, f.Name = true, checkName(readerGrants)
		what = "DBA-set account"
	}
	logins, err := s.logins(t, r)
	if err != nil {
		return fail(ReaderError, "%v", err)
	}
	var conn engine.Conn
	for _, l := range logins {
		if conn, err = s.engines.Open(ctx, l); err == nil || errkind.Of(err) != errkind.Unauthorized {
			break
		}
	}
	if err != nil {
		if errkind.Of(err) == errkind.Unauthorized {
			admin, aerr := s.inv.Connect(ctx, in.Name, "")
			if aerr == nil {
				exists, xerr := accountExists(ctx, admin, in.Engine, r.user, r.host)
				admin.Close()
				if xerr == nil && !exists && r.managed {
					return fail(ReaderMissing, "account %s does not exist on the server; re-create it with: dbfleet query reader sync %s", accountLabel(r), in.Name)
				}
			}
			return fail(ReaderError, "the server refuses the %s %s: %v", what, accountLabel(r), err)
		}
		return fail(ReaderError, "log in as the %s %s: %v", what, accountLabel(r), err)
	}
	defer conn.Close()
	var too, can []string
	if in.Engine == engine.Postgres || in.Engine == engine.Redis {
		admin, aerr := s.inv.Connect(ctx, in.Name, "")
		if aerr != nil {
			return fail(ReaderError, "inspect the account with the inventory's account: %v", aerr)
		}
		defer admin.Close()
		if in.Engine == engine.Redis {
			too, can, err = redisPower(ctx, admin, r.user)
		} else {
			too, can, err = pgPower(ctx, admin, s.inv, in.Name, r.user)
		}
	} else {
		too, can, err = mysqlPower(ctx, conn, in.Engine)
	}
	if err != nil {
		return fail(ReaderError, "read the privileges of %s: %v", accountLabel(r), err)
	}
	if len(too) > 0 {
		return fail(ReaderTooPowerful, "%s (%s %s)", strings.Join(too, ", "), what, accountLabel(r))
	}
	may := "nothing granted yet"
	if len(can) > 0 {
		may = strings.Join(can, "; ")
	}
	return fail(ReaderOK, "%s %s: %s", what, accountLabel(r), may)
}

// readerLabel names a kind of reader in messages.
func readerLabel(kind readerKind) string {
	if kind == readerAll {
		return "read-all reader (for DBAs)"
	}
	return "reader"
}

func accountLabel(r credRow) string {
	if r.host != "" {
		return r.user + "@" + r.host
	}
	return r.user
}

// ShowReader describes the readers that queries on instance log in as
// (the grant reader, then the read-all reader), each with what the server
// reports of it now.
func (s *Service) ShowReader(ctx context.Context, by auth.Principal, instance string) ([]Reader, error) {
	if err := by.Require(auth.QueryGrant); err != nil {
		return nil, err
	}
	in, home, err := s.homeOf(ctx, instance)
	if err != nil {
		return nil, err
	}
	out, err := s.readersOf(ctx, by, home)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errkind.New(errkind.NotFound, "instance %q has no managed reader yet; it is created on first use, or now with: dbfleet query reader sync %s", instance, instance)
	}
	for i := range out {
		f, _ := s.checkReader(ctx, in, readerKind(out[i].Kind))
		out[i].Check = &f
	}
	return out, nil
}

// mysqlPower reads the grants of the account c is logged in as and says
// what makes it too powerful for a reader (any global privilege but
// USAGE, any privilege but SELECT and SHOW VIEW, access to a system
// database, GRANT OPTION, a role or a proxy grant), and what it may read.
func mysqlPower(ctx context.Context, c engine.Conn, k engine.Kind) (too, can []string, err error) {
	fold, err := mysqlFold(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	lines, err := mysqlShowGrants(ctx, c, "")
	if err != nil {
		return nil, nil, err
	}
	d, err := sql.ParseDialect(string(k))
	if err != nil {
		return nil, nil, err
	}
	return mysqlJudge(d, lines, fold)
}

// mysqlJudge is mysqlPower over SHOW GRANTS lines.
func mysqlJudge(d sql.Dialect, lines []string, fold bool) (too, can []string, err error) {
	for _, l := range lines {
		g, ok, err := parseGrant(d, l)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue
		}
		if len(g.roles) > 0 {
			too = append(too, "role "+strings.Join(g.roles, ", "))
			continue
		}
		if g.grantOption {
			too = append(too, "GRANT OPTION on "+g.label())
		}
		if g.kind == "proxy" {
			too = append(too, "PROXY on "+g.label())
			continue
		}
		var extra []string
		for _, p := range g.privs {
			switch {
			case p.name == "USAGE":
			case g.kind == "global":
				extra = append(extra, p.name)
			case p.name == "SELECT" || (p.name == "SHOW VIEW" && (g.kind == "db" || g.kind == "table")):
			default:
				extra = append(extra, p.name)
			}
		}
		if len(extra) > 0 {
			too = append(too, strings.Join(extra, ", ")+" on "+g.label())
		}
		if g.kind == "global" {
			continue
		}
		if sys := systemDB(g.db, g.kind != "db", fold); sys != "" && len(g.privs) > 0 {
			too = append(too, fmt.Sprintf("reads the system database %s (%s)", sys, g.label()))
			continue
		}
		if len(extra) == 0 && (g.kind == "db" || g.kind == "table") {
			can = append(can, g.label())
		}
	}
	if len(can) > 0 {
		can = []string{"SELECT on " + strings.Join(can, ", ")}
	}
	return too, can, nil
}

// pgPower says what makes role user too powerful for a reader (superuser
// or another role attribute, membership in any role, ownership of
// anything, any privilege but SELECT, USAGE and CONNECT, any explicit
// privilege on a system catalog), and what it may read. It looks with
// the inventory's account (admin) into every database.
func pgPower(ctx context.Context, admin engine.Conn, inv *inventory.Service, home, user string) (too, can []string, err error) {
	attrs, err := pgStrings(ctx, admin, `SELECT rolsuper::text, rolcreaterole::text, rolcreatedb::text, rolreplication::text, rolbypassrls::text
		FROM pg_roles WHERE rolname = $1`, user)
	if err != nil {
		return nil, nil, err
	}
	if len(attrs) == 0 {
		return nil, nil, fmt.Errorf("role %s does not exist", user)
	}
	for i, name := range []string{"SUPERUSER", "CREATEROLE", "CREATEDB", "REPLICATION", "BYPASSRLS"} {
		if attrs[0][i] == "true" {
			too = append(too, name)
		}
	}
	shared := []string{
		`SELECT 'member of role ' || r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = to_regrole($1)`,
		`SELECT 'owns database ' || datname FROM pg_database WHERE datdba = to_regrole($1)`,
		`SELECT a.privilege_type || ' on database ' || d.datname FROM pg_database d, aclexplode(d.datacl) a
			WHERE a.grantee = to_regrole($1) AND a.privilege_type <> 'CONNECT'`,
		`SELECT a.privilege_type || ' on tablespace ' || t.spcname FROM pg_tablespace t, aclexplode(t.spcacl) a WHERE a.grantee = to_regrole($1)`,
	}
	if rows, err := pgStrings(ctx, admin, "SELECT (to_regclass('pg_catalog.pg_parameter_acl') IS NOT NULL)::text"); err == nil && len(rows) == 1 && rows[0][0] == "true" {
		shared = append(shared, `SELECT a.privilege_type || ' on parameter ' || p.parname FROM pg_parameter_acl p, aclexplode(p.paracl) a WHERE a.grantee = to_regrole($1)`)
	}
	for _, q := range shared {
		rows, err := pgStrings(ctx, admin, q, user)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rows {
			too = append(too, r[0])
		}
	}
	dbs, err := pgStrings(ctx, admin, "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1")
	if err != nil {
		return nil, nil, err
	}
	perDB := `SELECT 'owns ' || CASE c.relkind WHEN 'S' THEN 'sequence ' WHEN 'v' THEN 'view ' ELSE 'table ' END || n.nspname || '.' || c.relname
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relowner = to_regrole($1)
		UNION ALL SELECT 'owns schema ' || nspname FROM pg_namespace WHERE nspowner = to_regrole($1)
		UNION ALL SELECT 'owns routine ' || n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proowner = to_regrole($1)
		UNION ALL SELECT a.privilege_type || ' on ' || n.nspname || '.' || c.relname
				|| CASE WHEN n.nspname ~ '^pg_' OR n.nspname = 'information_schema' THEN ' (a system catalog)' ELSE '' END
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
			WHERE a.grantee = to_regrole($1) AND (a.privilege_type <> 'SELECT' OR n.nspname ~ '^pg_' OR n.nspname = 'information_schema')
		UNION ALL SELECT a.privilege_type || ' (' || t.attname || ') on ' || n.nspname || '.' || c.relname
			FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(t.attacl) a
			WHERE a.grantee = to_regrole($1) AND (a.privilege_type <> 'SELECT' OR n.nspname ~ '^pg_' OR n.nspname = 'information_schema')
		UNION ALL SELECT a.privilege_type || ' on schema ' || n.nspname FROM pg_namespace n, aclexplode(n.nspacl) a
			WHERE a.grantee = to_regrole($1) AND (a.privilege_type <> 'USAGE' OR n.nspname ~ '^pg_' OR n.nspname = 'information_schema')
		UNION ALL SELECT a.privilege_type || ' on routine ' || n.nspname || '.' || p.proname
			FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, aclexplode(p.proacl) a WHERE a.grantee = to_regrole($1)
		UNION ALL SELECT 'default ' || a.privilege_type || ' on new ' || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences'
				WHEN 'f' THEN 'functions' WHEN 'T' THEN 'types' ELSE 'schemas' END || coalesce(' in ' || n.nspname, '')
			FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
			WHERE a.grantee = to_regrole($1) AND NOT (d.defaclobjtype = 'r' AND a.privilege_type = 'SELECT')
		UNION ALL SELECT a.privilege_type || ' on large object ' || l.oid FROM pg_largeobject_metadata l, aclexplode(l.lomacl) a
			WHERE a.grantee = to_regrole($1) AND a.privilege_type <> 'SELECT'`
	readable := `SELECT n.nspname FROM pg_namespace n, aclexplode(n.nspacl) a
		WHERE a.grantee = to_regrole($1) AND a.privilege_type = 'USAGE' AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ORDER BY 1`
	for _, d := range dbs {
		db := d[0]
		conn, err := inv.Connect(ctx, home, db)
		if err != nil {
			continue // what the inventory's account cannot enter, nor can it be judged
		}
		rows, err := pgStrings(ctx, conn, perDB, user)
		if err == nil {
			for _, r := range rows {
				too = append(too, r[0]+" in database "+db)
			}
			var schemas [][]string
			if schemas, err = pgStrings(ctx, conn, readable, user); err == nil {
				for _, s := range schemas {
					can = append(can, db+"/"+s[0])
				}
			}
		}
		conn.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("database %s: %w", db, err)
		}
	}
	if len(too) > 12 {
		too = append(too[:12], fmt.Sprintf("and %d more", len(too)-12))
	}
	sort.Strings(can)
	if len(can) > 0 {
		can = []string{"SELECT on " + strings.Join(can, ", ")}
	}
	return too, can, nil
}
