package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// mysqlSystemDBs are never granted to a reader, whatever a grant names.
var mysqlSystemDBs = []string{"mysql", "sys", "performance_schema", "information_schema"}

// mysqlAccount is user@host.
type mysqlAccount struct{ user, host string }

// sql is the account as DDL names it: `user`@`host` (MariaDB and MySQL
// read quoted identifiers there as they read strings).
func (a mysqlAccount) sql(d sql.Dialect) string {
	return sql.QuoteIdent(d, a.user) + "@" + sql.QuoteIdent(d, a.host)
}

// errNoSuchAccount: SHOW GRANTS FOR an account that does not exist.
var errNoSuchAccount = errors.New("no such account")

// mysqlShowGrants runs SHOW GRANTS FOR acct (SQL text of user@host), or
// for the current user when acct is empty.
func mysqlShowGrants(ctx context.Context, c engine.Conn, acct string) ([]string, error) {
	q := "SHOW GRANTS"
	if acct != "" {
		q += " FOR " + acct
	}
	rows, _, err := c.Query(ctx, 0, q)
	if err != nil {
		var se *engine.ServerError
		if errors.As(err, &se) && se.Code == 1141 { // ER_NONEXISTING_GRANT
			return nil, errNoSuchAccount
		}
		return nil, err
	}
	out := make([]string, 0, len(rows.Values))
	for _, r := range rows.All() {
		if len(r) > 0 {
			out = append(out, r.String(0))
		}
	}
	return out, nil
}

// mysqlFold reports whether the server compares database names
// case-insensitively (lower_case_table_names is not 0).
func mysqlFold(ctx context.Context, c engine.Conn) (bool, error) {
	rows, _, err := c.Query(ctx, 1, "SELECT @@lower_case_table_names")
	if err != nil {
		return false, err
	}
	if len(rows.Values) != 1 || len(rows.Values[0]) != 1 {
		return false, errors.New("no lower_case_table_names")
	}
	return FormatValue(rows.Values[0][0]) != "0", nil
}

// ---- SHOW GRANTS lines ----

// grantLine is one line of SHOW GRANTS: privileges on an object, a role,
// or a proxy grant.
type grantLine struct {
	roles []string    // GRANT role[, role] TO ...
	privs []grantPriv // GRANT privs ON object TO ...
	// kind: "global" (*.*), "db" (db.*), "table" (db.t), or a routine
	// kind (PROCEDURE, FUNCTION, PACKAGE, PACKAGE BODY); "proxy".
	kind string
	// db is the database, or for kind db the pattern as the server shows
	// it (wildcards and their escapes kept); name is the table or routine;
	// for a proxy grant, db@name is the proxied account.
	db, name    string
	grantOption bool // WITH GRANT OPTION (roles: WITH ADMIN OPTION)
	// limits are the account's resource limits the line shows.
	limits map[string]int64
}

type grantPriv struct {
	name string   // upper case, e.g. "SELECT", "SHOW VIEW"
	cols []string // column privilege
}

// parseGrant reads one SHOW GRANTS line of a server of dialect d with
// the SQL front end (sql.ParseShowGrant: every line is a GRANT statement,
// read into a TiDB tree); ok is false for lines that grant nothing (SET
// DEFAULT ROLE, MySQL's partial revokes).
func parseGrant(d sql.Dialect, line string) (g grantLine, ok bool, err error) {
	sg, err := sql.ParseShowGrant(d, line)
	if err != nil {
		return g, false, fmt.Errorf("cannot read SHOW GRANTS line: %w", err)
	}
	if sg.Parsed == nil {
		return g, false, nil
	}
	g.limits = sg.Limits
	switch x := sg.Parsed.MySQL.(type) {
	case *ast.GrantRoleStmt:
		for _, r := range x.Roles {
			name := r.Username
			if d != sql.MariaDB && r.Hostname != "" { // MariaDB roles have no host
				name += "@" + r.Hostname
			}
			g.roles = append(g.roles, name)
		}
		g.grantOption = sg.AdminOption
	case *ast.GrantProxyStmt:
		g.kind, g.db, g.name, g.grantOption = "proxy", x.LocalUser.Username, x.LocalUser.Hostname, x.WithGrant
		g.privs = []grantPriv{{name: "PROXY"}}
	case *ast.GrantStmt:
		g.grantOption = x.WithGrant
		for _, p := range x.Privs {
			gp := grantPriv{name: sql.PrivilegeName(d, p)}
			for _, c := range p.Cols {
				gp.cols = append(gp.cols, c.Name.O)
			}
			g.privs = append(g.privs, gp)
		}
		switch {
		case x.Level.Level == ast.GrantLevelGlobal, x.Level.Level == ast.GrantLevelDB && x.Level.DBName == "":
			g.kind = "global" // ON * (the current database, MySQL 5): treated as broad
		case x.Level.Level == ast.GrantLevelDB:
			g.kind, g.db = "db", x.Level.DBName
		default:
			g.kind, g.db, g.name = "table", x.Level.DBName, x.Level.TableName
			switch x.ObjectType {
			case ast.ObjectTypeFunction:
				g.kind = "FUNCTION"
			case ast.ObjectTypeProcedure:
				g.kind = "PROCEDURE"
			}
		}
	}
	return g, true, nil
}

// only reports whether the grant is exactly the privileges named, on
// the whole object (no column list).
func (g grantLine) only(names ...string) bool {
	var got []string
	for _, p := range g.privs {
		if len(p.cols) > 0 {
			return false
		}
		got = append(got, p.name)
	}
	slices.Sort(got)
	slices.Sort(names)
	return slices.Equal(got, names)
}

// privList renders privileges for GRANT or REVOKE.
func (g grantLine) privList(d sql.Dialect) string {
	parts := make([]string, 0, len(g.privs))
	for _, p := range g.privs {
		if p.name == "USAGE" {
			continue
		}
		s := p.name
		if len(p.cols) > 0 {
			cols := make([]string, len(p.cols))
			for i, c := range p.cols {
				cols[i] = sql.QuoteIdent(d, c)
			}
			s += " (" + strings.Join(cols, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// object renders the grant's object for GRANT or REVOKE.
func (g grantLine) object(d sql.Dialect) string {
	switch g.kind {
	case "global":
		return "*.*"
	case "db":
		return sql.QuoteIdent(d, g.db) + ".*"
	case "proxy":
		return mysqlAccount{g.db, g.name}.sql(d)
	case "table":
		return sql.QuoteQualified(d, g.db, g.name)
	}
	return g.kind + " " + sql.QuoteQualified(d, g.db, g.name)
}

// label is how the power check names the grant's object.
func (g grantLine) label() string {
	switch g.kind {
	case "global":
		return "*.*"
	case "db":
		return "`" + g.db + "`.*"
	case "proxy":
		return "'" + g.db + "'@'" + g.name + "'"
	case "table":
		return "`" + g.db + "`.`" + g.name + "`"
	}
	return g.kind + " `" + g.db + "`.`" + g.name + "`"
}

// unescapeDB reads a database-level grant pattern: \x is a literal x;
// wildcard reports an unescaped % or _.
func unescapeDB(p string) (name string, wildcard bool) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\' && i+1 < len(p):
			i++
			b.WriteByte(p[i])
		case c == '%' || c == '_':
			wildcard = true
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), wildcard
}

// escapeDB is the database-level grant pattern matching exactly name.
func escapeDB(name string) string {
	return strings.NewReplacer(`\`, `\\`, "_", `\_`, "%", `\%`).Replace(name)
}

// likeMatch matches name against a database-level grant pattern as the
// server does: % any run, _ one character, \ escapes; fold: case-blind.
func likeMatch(pattern, name string, fold bool) bool {
	if fold {
		pattern, name = strings.ToLower(pattern), strings.ToLower(name)
	}
	var match func(p, s string) bool
	match = func(p, s string) bool {
		for len(p) > 0 {
			switch p[0] {
			case '%':
				for i := 0; i <= len(s); i++ {
					if match(p[1:], s[i:]) {
						return true
					}
				}
				return false
			case '_':
				if s == "" {
					return false
				}
				p, s = p[1:], s[1:]
				continue
			case '\\':
				if len(p) > 1 {
					p = p[1:]
				}
			}
			if s == "" || p[0] != s[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
		return s == ""
	}
	return match(pattern, name)
}

// systemDB reports which system database a database-level pattern (or,
// exact, a name) reaches, if any.
func systemDB(pattern string, exact, fold bool) string {
	for _, sys := range mysqlSystemDBs {
		if exact && (pattern == sys || (fold && strings.EqualFold(pattern, sys))) {
			return sys
		}
		if !exact && likeMatch(pattern, sys, fold) {
			return sys
		}
	}
	return ""
}

// ---- synchronising ----

// mysqlExec runs a statement on the admin connection; password is hidden
// from any error that might echo the statement.
func mysqlExec(ctx context.Context, admin engine.Conn, stmt, password string) error {
	if _, err := admin.Exec(ctx, stmt); err != nil {
		return engine.Redact(err, password)
	}
	return nil
}

// mysqlSyncReader makes the MariaDB/MySQL reader account exist with its
// password and connection limit, and gives it SELECT and SHOW VIEW on
// exactly the databases of sc (every non-system database for an
// instance-wide grant), nothing else: no global privilege, no role, no
// table, routine or proxy grant. Account DDL replicates to replicas.
func mysqlSyncReader(ctx context.Context, admin engine.Conn, k engine.Kind, a readerAccount, sc readerScope, res *syncResult) error {
	d, err := sql.ParseDialect(string(k))
	if err != nil {
		return err
	}
	acct := mysqlAccount{a.user, a.host}.sql(d)
	pw, err := sql.QuotePlainString(d, a.password)
	if err != nil {
		return fmt.Errorf("the reader's password: %w", err)
	}
	fold, err := mysqlFold(ctx, admin)
	if err != nil {
		return fmt.Errorf("read lower_case_table_names: %w", err)
	}
	lines, err := mysqlShowGrants(ctx, admin, acct)
	switch {
	case errors.Is(err, errNoSuchAccount):
		if err := mysqlExec(ctx, admin, fmt.Sprintf("CREATE USER %s IDENTIFIED BY %s WITH MAX_USER_CONNECTIONS %d", acct, pw, readerConnLimit), a.password); err != nil {
			return fmt.Errorf("create the reader account: %w", err)
		}
		res.changes = append(res.changes, "created account "+a.user+"@"+a.host)
		lines = nil
	case err != nil:
		return fmt.Errorf("read the reader's grants: %w", err)
	default:
		if a.setPassword {
			if err := mysqlExec(ctx, admin, fmt.Sprintf("ALTER USER %s IDENTIFIED BY %s", acct, pw), a.password); err != nil {
				return fmt.Errorf("set the reader's password: %w", err)
			}
			res.changes = append(res.changes, "new password")
		}
		limited := false
		for _, l := range lines {
			g, ok, err := parseGrant(d, l)
			if err != nil {
				return err
			}
			limited = limited || ok && g.limits["MAX_USER_CONNECTIONS"] == readerConnLimit
		}
		if !limited {
			if err := mysqlExec(ctx, admin, fmt.Sprintf("ALTER USER %s WITH MAX_USER_CONNECTIONS %d", acct, readerConnLimit), ""); err != nil {
				return fmt.Errorf("limit the reader's connections: %w", err)
			}
			res.changes = append(res.changes, fmt.Sprintf("connection limit %d", readerConnLimit))
		}
	}

	// The databases it must read.
	key := func(n string) string {
		if fold {
			return strings.ToLower(n)
		}
		return n
	}
	var names []string
	if sc.All {
		rows, _, err := admin.Query(ctx, 0, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
		if err != nil {
			return fmt.Errorf("list databases: %w", err)
		}
		for _, r := range rows.All() {
			names = append(names, r.String(0))
		}
	} else {
		for db := range sc.DBs {
			names = append(names, db)
		}
	}
	want := map[string]string{}
	for _, n := range names {
		if systemDB(n, true, fold) == "" {
			want[key(n)] = n
		}
	}

	// Revoke what does not belong; note what is there already.
	have := map[string]bool{}
	for _, l := range lines {
		g, ok, err := parseGrant(d, l)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		var stmts []string
		what := ""
		switch {
		case len(g.roles) > 0:
			for _, r := range g.roles {
				role, host, hasHost := strings.Cut(r, "@")
				rs := sql.QuoteIdent(d, role)
				if hasHost {
					rs = mysqlAccount{role, host}.sql(d)
				}
				stmts = append(stmts, fmt.Sprintf("REVOKE %s FROM %s", rs, acct))
			}
			what = "role " + strings.Join(g.roles, ", ")
		case g.kind == "db":
			name, wild := unescapeDB(g.db)
			privs := g.privList(d)
			if !wild && want[key(name)] != "" && g.only("SELECT", "SHOW VIEW") && !g.grantOption {
				have[key(name)] = true
				continue
			}
			if privs != "" {
				stmts = append(stmts, fmt.Sprintf("REVOKE %s ON %s FROM %s", privs, g.object(d), acct))
			}
			what = privs + " on " + g.label()
		default:
			if privs := g.privList(d); privs != "" {
				stmts = append(stmts, fmt.Sprintf("REVOKE %s ON %s FROM %s", privs, g.object(d), acct))
				what = privs + " on " + g.label()
			}
		}
		if g.grantOption && len(g.roles) == 0 {
			stmts = append(stmts, fmt.Sprintf("REVOKE GRANT OPTION ON %s FROM %s", g.object(d), acct))
			what = strings.TrimSpace(what + " GRANT OPTION on " + g.label())
		}
		for _, st := range stmts {
			if err := mysqlExec(ctx, admin, st, ""); err != nil {
				return fmt.Errorf("revoke %s from the reader: %w", what, err)
			}
		}
		if len(stmts) > 0 {
			res.changes = append(res.changes, "revoked "+what)
		}
	}
	// Grant what is missing.
	keys := make([]string, 0, len(want))
	for kk := range want {
		keys = append(keys, kk)
	}
	sort.Strings(keys)
	for _, kk := range keys {
		name := want[kk]
		res.granted = append(res.granted, name)
		if have[kk] {
			continue
		}
		if err := mysqlExec(ctx, admin, fmt.Sprintf("GRANT SELECT, SHOW VIEW ON %s.* TO %s", sql.QuoteIdent(d, escapeDB(name)), acct), ""); err != nil {
			return fmt.Errorf("grant SELECT, SHOW VIEW on %s to the reader: %w", name, err)
		}
		res.changes = append(res.changes, "granted SELECT, SHOW VIEW on "+name)
	}
	if res.granted == nil {
		res.granted = []string{}
	}
	return nil
}

// mysqlDropAccount drops a reader account (it replicates).
func mysqlDropAccount(ctx context.Context, admin engine.Conn, k engine.Kind, a mysqlAccount, res *syncResult) error {
	d, err := sql.ParseDialect(string(k))
	if err != nil {
		return err
	}
	if err := mysqlExec(ctx, admin, "DROP USER IF EXISTS "+a.sql(d), ""); err != nil {
		return fmt.Errorf("drop the reader account %s@%s: %w", a.user, a.host, err)
	}
	res.changes = append(res.changes, "dropped account "+a.user+"@"+a.host)
	return nil
}
