package query

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/inventory"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// pgRoleAttrs are the attributes a PostgreSQL reader role has: it may log
// in, with a connection limit, and nothing more; NOINHERIT so that even a
// role granted to it by hand gives it nothing without SET ROLE.
var pgRoleAttrs = fmt.Sprintf("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT CONNECTION LIMIT %d", readerConnLimit)

// pgSystemSchema reports whether schema is PostgreSQL's own: never
// granted to a reader (what PUBLIC may read there, it reads anyway).
func pgSystemSchema(s string) bool {
	return strings.HasPrefix(s, "pg_") || s == "information_schema"
}

// pgq quotes a PostgreSQL identifier.
func pgq(s string) string { return sql.QuoteIdent(sql.Postgres, s) }

// pgStrings runs a query returning text columns.
func pgStrings(ctx context.Context, c engine.Conn, q string, args ...any) ([][]string, error) {
	rows, _, err := c.Query(ctx, 0, q, args...)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(rows.Values))
	for i, r := range rows.Values {
		out[i] = make([]string, len(r))
		for j, v := range r {
			out[i][j] = FormatValue(v)
		}
	}
	return out, nil
}

// pgExec runs a statement; password is hidden from any error.
func pgExec(ctx context.Context, c engine.Conn, stmt, password string) error {
	if _, err := c.Exec(ctx, stmt); err != nil {
		return engine.Redact(err, password)
	}
	return nil
}

// pgSyncReader makes the PostgreSQL reader role exist with its attributes
// (and password), a member of no role, and with CONNECT on the databases
// of sc, USAGE on their granted schemas (every non-system schema for a
// database-wide grant), SELECT on ALL TABLES IN those schemas and default
// privileges for tables the inventory's account creates there later;
// nothing else in any database (in those of only, when not nil: the rest
// is left as it is). Role DDL reaches streaming replicas.
func pgSyncReader(ctx context.Context, admin engine.Conn, inv *inventory.Service, home string, a readerAccount, sc readerScope, only map[string]bool, res *syncResult) error {
	role := pgq(a.user)
	pw, err := sql.QuotePlainString(sql.Postgres, a.password)
	if err != nil {
		return fmt.Errorf("the reader's password: %w", err)
	}
	rows, err := pgStrings(ctx, admin, `SELECT rolsuper::text, rolcreatedb::text, rolcreaterole::text, rolreplication::text, rolbypassrls::text,
		rolinherit::text, rolcanlogin::text, rolconnlimit::text FROM pg_roles WHERE rolname = $1`, a.user)
	if err != nil {
		return fmt.Errorf("read the reader role: %w", err)
	}
	if len(rows) == 0 {
		if err := pgExec(ctx, admin, fmt.Sprintf("CREATE ROLE %s WITH %s PASSWORD %s", role, pgRoleAttrs, pw), a.password); err != nil {
			return fmt.Errorf("create the reader role: %w", err)
		}
		res.changes = append(res.changes, "created role "+a.user)
	} else {
		r := rows[0]
		want := []string{"false", "false", "false", "false", "false", "false", "true", fmt.Sprint(readerConnLimit)}
		if !slices.Equal(r, want) || a.setPassword {
			st := fmt.Sprintf("ALTER ROLE %s WITH %s", role, pgRoleAttrs)
			if a.setPassword {
				st += " PASSWORD " + pw
			}
			if err := pgExec(ctx, admin, st, a.password); err != nil {
				return fmt.Errorf("set the reader role's attributes: %w", err)
			}
			if !slices.Equal(r, want) {
				res.changes = append(res.changes, "attributes "+pgRoleAttrs)
			}
			if a.setPassword {
				res.changes = append(res.changes, "new password")
			}
		}
	}
	// Settings attached to the role (ALTER ROLE ... SET) could undo the
	// read-only session: none.
	sets, err := pgStrings(ctx, admin, `SELECT coalesce(d.datname, '') FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase
		WHERE s.setrole = to_regrole($1)`, a.user)
	if err != nil {
		return fmt.Errorf("read the reader role's settings: %w", err)
	}
	for _, s := range sets {
		st := fmt.Sprintf("ALTER ROLE %s RESET ALL", role)
		if s[0] != "" {
			st = fmt.Sprintf("ALTER ROLE %s IN DATABASE %s RESET ALL", role, pgq(s[0]))
		}
		if err := pgExec(ctx, admin, st, ""); err != nil {
			return fmt.Errorf("reset the reader role's settings: %w", err)
		}
		res.changes = append(res.changes, "reset role settings")
	}
	return pgApplyScope(ctx, admin, inv, home, a.user, sc, only, res)
}

// pgApplyScope gives role exactly the privileges of sc in every database,
// or in those of only when it is not nil (database-level privileges are
// brought in line everywhere: they are one shared catalog).
func pgApplyScope(ctx context.Context, admin engine.Conn, inv *inventory.Service, home, user string, sc readerScope, only map[string]bool, res *syncResult) error {
	role := pgq(user)
	members, err := pgStrings(ctx, admin, `SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = to_regrole($1) ORDER BY 1`, user)
	if err != nil {
		return fmt.Errorf("read the reader's role memberships: %w", err)
	}
	for _, m := range members {
		if err := pgExec(ctx, admin, fmt.Sprintf("REVOKE %s FROM %s", pgq(m[0]), role), ""); err != nil {
			return fmt.Errorf("revoke role %s from the reader: %w", m[0], err)
		}
		res.changes = append(res.changes, "revoked role "+m[0])
	}
	dbs, err := pgStrings(ctx, admin, "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1")
	if err != nil {
		return fmt.Errorf("list databases: %w", err)
	}
	acl, err := pgStrings(ctx, admin, "SELECT d.datname, a.privilege_type FROM pg_database d, aclexplode(d.datacl) a WHERE a.grantee = to_regrole($1)", user)
	if err != nil {
		return fmt.Errorf("read the reader's database privileges: %w", err)
	}
	dbPrivs := map[string][]string{}
	for _, a := range acl {
		dbPrivs[a[0]] = append(dbPrivs[a[0]], a[1])
	}
	// Databases the inventory's account cannot enter are skipped, not fatal.
	var skipped []string
	for _, d := range dbs {
		db := d[0]
		schemas, wanted := sc.DBs[db]
		wanted = wanted || sc.All
		if sc.All {
			schemas = nil
		}
		have := dbPrivs[db]
		switch {
		case wanted && !slices.Equal(have, []string{"CONNECT"}):
			if len(have) > 0 {
				if err := pgExec(ctx, admin, fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM %s", pgq(db), role), ""); err != nil {
					return fmt.Errorf("revoke on database %s: %w", db, err)
				}
			}
			if err := pgExec(ctx, admin, fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s", pgq(db), role), ""); err != nil {
				return fmt.Errorf("grant CONNECT on database %s: %w", db, err)
			}
			res.changes = append(res.changes, "CONNECT only on database "+db)
		case !wanted && len(have) > 0:
			if err := pgExec(ctx, admin, fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM %s", pgq(db), role), ""); err != nil {
				return fmt.Errorf("revoke on database %s: %w", db, err)
			}
			res.changes = append(res.changes, "revoked "+strings.Join(have, ", ")+" on database "+db)
		}
		if only != nil && !only[db] {
			continue
		}
		conn, err := inv.Connect(ctx, home, db)
		if err != nil {
			skipped = append(skipped, db)
			continue
		}
		err = pgSyncDB(ctx, conn, db, user, wanted, schemas, res)
		conn.Close()
		if err != nil {
			return fmt.Errorf("database %s: %w", db, err)
		}
	}
	if len(skipped) > 0 {
		res.changes = append(res.changes, "could not enter databases "+strings.Join(skipped, ", "))
	}
	if res.granted == nil {
		res.granted = []string{}
	}
	return nil
}

// pgSyncDB brings role's privileges inside database db (connected as the
// inventory's account on c) in line: when wanted, USAGE and SELECT on
// schemas (nil: every non-system schema); nothing else.
func pgSyncDB(ctx context.Context, c engine.Conn, db, user string, wanted bool, schemas []string, res *syncResult) error {
	role := pgq(user)
	var want []string
	if wanted {
		all, err := pgStrings(ctx, c, "SELECT nspname FROM pg_namespace ORDER BY 1")
		if err != nil {
			return err
		}
		for _, n := range all {
			if !pgSystemSchema(n[0]) && (schemas == nil || slices.Contains(schemas, n[0])) {
				want = append(want, n[0])
			}
		}
	}
	wantSchema := func(s string) bool { return slices.Contains(want, s) }
	exec := func(what, st string) error {
		if err := pgExec(ctx, c, st, ""); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}

	// Relations: SELECT on tables, views, materialized views and foreign
	// tables of wanted schemas is right; anything else goes.
	rels, err := pgStrings(ctx, c, `SELECT n.nspname, c.relname, c.relkind::text, string_agg(a.privilege_type, ',' ORDER BY a.privilege_type)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
		WHERE a.grantee = to_regrole($1) GROUP BY 1, 2, 3
		UNION
		SELECT n.nspname, c.relname, c.relkind::text, 'COLUMN'
		FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(t.attacl) a
		WHERE a.grantee = to_regrole($1)`, user)
	if err != nil {
		return fmt.Errorf("read relation privileges: %w", err)
	}
	for _, r := range rels {
		s, name, kind, privs := r[0], r[1], r[2], r[3]
		if privs == "SELECT" && wantSchema(s) && strings.Contains("rvmfp", kind) {
			continue
		}
		obj := "TABLE"
		if kind == "S" {
			obj = "SEQUENCE"
		}
		if err := exec("revoke on "+s+"."+name, fmt.Sprintf("REVOKE ALL ON %s %s.%s FROM %s", obj, pgq(s), pgq(name), role)); err != nil {
			return err
		}
		res.changes = append(res.changes, fmt.Sprintf("revoked %s on %s.%s.%s", privs, db, s, name))
	}
	// Routines: a reader executes nothing of its own.
	procs, err := pgStrings(ctx, c, `SELECT DISTINCT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace, aclexplode(p.proacl) a WHERE a.grantee = to_regrole($1)`, user)
	if err != nil {
		return fmt.Errorf("read routine privileges: %w", err)
	}
	for _, p := range procs {
		// The argument list is the server's own rendering of the types.
		if err := exec("revoke on routine "+p[0]+"."+p[1], fmt.Sprintf("REVOKE ALL ON ROUTINE %s.%s(%s) FROM %s", pgq(p[0]), pgq(p[1]), p[2], role)); err != nil {
			return err
		}
		res.changes = append(res.changes, fmt.Sprintf("revoked EXECUTE on %s.%s.%s", db, p[0], p[1]))
	}
	// Default privileges: SELECT on future tables of wanted schemas, set
	// by the inventory's account; nothing else.
	defs, err := pgStrings(ctx, c, `SELECT pg_get_userbyid(d.defaclrole), coalesce(n.nspname, ''), d.defaclobjtype::text,
		string_agg(a.privilege_type, ',' ORDER BY a.privilege_type), (d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = current_user))::text
		FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
		WHERE a.grantee = to_regrole($1) GROUP BY 1, 2, 3, 5`, user)
	if err != nil {
		return fmt.Errorf("read default privileges: %w", err)
	}
	objs := map[string]string{"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}
	for _, d := range defs {
		owner, s, typ, privs, mine := d[0], d[1], d[2], d[3], d[4] == "true"
		if mine && typ == "r" && privs == "SELECT" && wantSchema(s) {
			continue
		}
		st := fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s", pgq(owner))
		if s != "" {
			st += " IN SCHEMA " + pgq(s)
		}
		st += fmt.Sprintf(" REVOKE ALL ON %s FROM %s", objs[typ], role)
		if err := exec("revoke default privileges", st); err != nil {
			return err
		}
		res.changes = append(res.changes, fmt.Sprintf("revoked default %s on %s in %s.%s", privs, strings.ToLower(objs[typ]), db, s))
	}
	// Schemas: USAGE on wanted ones.
	nsps, err := pgStrings(ctx, c, `SELECT n.nspname, string_agg(a.privilege_type, ',' ORDER BY a.privilege_type)
		FROM pg_namespace n, aclexplode(n.nspacl) a WHERE a.grantee = to_regrole($1) GROUP BY 1`, user)
	if err != nil {
		return fmt.Errorf("read schema privileges: %w", err)
	}
	usage := map[string]bool{}
	for _, n := range nsps {
		if n[1] == "USAGE" && wantSchema(n[0]) {
			usage[n[0]] = true
			continue
		}
		if err := exec("revoke on schema "+n[0], fmt.Sprintf("REVOKE ALL ON SCHEMA %s FROM %s", pgq(n[0]), role)); err != nil {
			return err
		}
		res.changes = append(res.changes, fmt.Sprintf("revoked %s on schema %s.%s", n[1], db, n[0]))
	}
	for _, s := range want {
		for _, st := range []string{
			fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s", pgq(s), role),
			fmt.Sprintf("GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s", pgq(s), role),
			fmt.Sprintf("ALTER DEFAULT PRIVILEGES IN SCHEMA %s GRANT SELECT ON TABLES TO %s", pgq(s), role),
		} {
			if err := exec("grant on schema "+s, st); err != nil {
				return err
			}
		}
		if !usage[s] {
			res.changes = append(res.changes, fmt.Sprintf("granted USAGE, SELECT on schema %s.%s", db, s))
		}
		res.granted = append(res.granted, db+"/"+s)
	}
	return nil
}

// pgDropRole takes every privilege from a reader role in every database
// and drops it.
func pgDropRole(ctx context.Context, admin engine.Conn, inv *inventory.Service, home, user string, res *syncResult) error {
	rows, err := pgStrings(ctx, admin, "SELECT 1 FROM pg_roles WHERE rolname = $1", user)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	if err := pgApplyScope(ctx, admin, inv, home, user, readerScope{}, nil, res); err != nil {
		return err
	}
	if err := pgExec(ctx, admin, "DROP ROLE IF EXISTS "+pgq(user), ""); err != nil {
		return fmt.Errorf("drop the reader role %s: %w", user, err)
	}
	res.changes = append(res.changes, "dropped role "+user)
	return nil
}
