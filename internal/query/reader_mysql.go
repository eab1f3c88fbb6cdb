package query

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// mysqlSystemDBs are never granted to a reader, whatever a grant names.
var mysqlSystemDBs = []string{"mysql", "sys", "performance_schema", "information_schema"}

// mysqlAccount is user@host.
type mysqlAccount struct{ user, host string }

func (a mysqlAccount) sql(k engine.Kind) string {
	return readerQuote(k, a.user, true) + "@" + readerQuote(k, a.host, true)
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
		var me *gomysql.MySQLError
		if errors.As(err, &me) && me.Number == 1141 { // ER_NONEXISTING_GRANT
			return nil, errNoSuchAccount
		}
		return nil, err
	}
	out := make([]string, 0, len(rows.Values))
	for _, r := range rows.Values {
		if len(r) > 0 {
			out = append(out, str(r[0]))
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
	grantOption bool
}

type grantPriv struct {
	name string   // upper case, e.g. "SELECT", "SHOW VIEW"
	cols []string // column privilege
}

// grantTok is a token of a SHOW GRANTS line.
type grantTok struct {
	text  string // the word (upper case), the unquoted identifier or string, or the punctuation
	ident bool   // `quoted`
	str   bool   // 'string' or "string"
}

// lexGrant splits a SHOW GRANTS line into words, quoted identifiers,
// strings and punctuation. It reads only what the server prints there.
func lexGrant(s string) ([]grantTok, error) {
	var out []grantTok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '`' || c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\\' && c != '`' && j+1 < len(s) {
					b.WriteByte(s[j+1])
					j++
					continue
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						b.WriteByte(c)
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated %c in %q", c, s)
			}
			out = append(out, grantTok{text: b.String(), ident: c == '`', str: c != '`'})
			i = j + 1
		case strings.IndexByte("(),.*@=", c) >= 0:
			out = append(out, grantTok{text: string(c)})
			i++
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\n\r`'\"(),.*@=", s[j]) < 0 {
				j++
			}
			out = append(out, grantTok{text: strings.ToUpper(s[i:j])})
			i = j
		}
	}
	return out, nil
}

var privName = regexp.MustCompile(`^[A-Z][A-Z_ ]*$`)

// parseGrant reads one SHOW GRANTS line; ok is false for lines that grant
// nothing (SET DEFAULT ROLE ...).
func parseGrant(line string) (g grantLine, ok bool, err error) {
	toks, err := lexGrant(line)
	if err != nil {
		return g, false, err
	}
	if len(toks) == 0 || toks[0].ident || toks[0].str || toks[0].text != "GRANT" {
		return g, false, nil
	}
	bad := func(what string) (grantLine, bool, error) {
		return grantLine{}, false, fmt.Errorf("cannot read SHOW GRANTS line %q: %s", line, what)
	}
	// Where ON and TO are, outside parentheses.
	on, to, depth := -1, -1, 0
	for i, t := range toks {
		if t.ident || t.str {
			continue
		}
		switch t.text {
		case "(":
			depth++
		case ")":
			depth--
		case "ON":
			if depth == 0 && on < 0 && to < 0 {
				on = i
			}
		case "TO":
			if depth == 0 && to < 0 {
				to = i
			}
		}
	}
	if to < 0 {
		return bad("no TO")
	}
	for i := to + 1; i+1 < len(toks); i++ {
		if !toks[i].ident && !toks[i].str && toks[i].text == "GRANT" && toks[i+1].text == "OPTION" && !toks[i+1].ident && !toks[i+1].str {
			g.grantOption = true
		}
	}
	if on < 0 { // GRANT role[@host][, role] TO ...
		var cur string
		for _, t := range toks[1:to] {
			switch {
			case t.text == "," && !t.ident && !t.str:
				g.roles = append(g.roles, cur)
				cur = ""
			case t.text == "@" && !t.ident && !t.str:
				cur += "@"
			default:
				cur += t.text
			}
		}
		if cur == "" {
			return bad("no role")
		}
		g.roles = append(g.roles, cur)
		return g, true, nil
	}
	// Privileges: words, each with an optional column list.
	var p *grantPriv
	for i := 1; i < on; i++ {
		t := toks[i]
		switch {
		case t.ident || t.str:
			return bad("quoted text among the privileges")
		case t.text == ",":
			p = nil
		case t.text == "(":
			if p == nil {
				return bad("a column list without a privilege")
			}
			for i++; i < on && toks[i].text != ")"; i++ {
				if toks[i].ident {
					p.cols = append(p.cols, toks[i].text)
				}
			}
		case p == nil:
			g.privs = append(g.privs, grantPriv{name: t.text})
			p = &g.privs[len(g.privs)-1]
		default:
			p.name += " " + t.text
		}
	}
	for _, p := range g.privs {
		if !privName.MatchString(p.name) {
			return bad("privilege " + p.name)
		}
	}
	// The object.
	obj := toks[on+1 : to]
	word := func(i int, w string) bool { return i < len(obj) && !obj[i].ident && !obj[i].str && obj[i].text == w }
	switch {
	case len(g.privs) == 1 && g.privs[0].name == "PROXY":
		if len(obj) != 3 || !obj[0].str || !word(1, "@") || !obj[2].str {
			return bad("proxy account")
		}
		g.kind, g.db, g.name = "proxy", obj[0].text, obj[2].text
		return g, true, nil
	case len(obj) == 3 && word(0, "*") && word(1, ".") && word(2, "*"):
		g.kind = "global"
		return g, true, nil
	case len(obj) == 1 && word(0, "*"):
		g.kind = "global" // MySQL 5.x prints "ON *" for the current database; treat as broad
		return g, true, nil
	}
	kind := ""
	for len(obj) > 0 && !obj[0].ident && !obj[0].str && (obj[0].text == "PROCEDURE" || obj[0].text == "FUNCTION" || obj[0].text == "PACKAGE" || obj[0].text == "BODY" || obj[0].text == "TABLE") {
		if obj[0].text != "TABLE" {
			kind = strings.TrimSpace(kind + " " + obj[0].text)
		}
		obj = obj[1:]
	}
	if len(obj) != 3 || !obj[0].ident || !word(1, ".") {
		return bad("object")
	}
	g.db = obj[0].text
	switch {
	case word(2, "*") && kind == "":
		g.kind = "db"
	case obj[2].ident:
		g.kind, g.name = "table", obj[2].text
		if kind != "" {
			g.kind = kind
		}
	default:
		return bad("object")
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
func (g grantLine) privList(k engine.Kind) string {
	parts := make([]string, 0, len(g.privs))
	for _, p := range g.privs {
		if p.name == "USAGE" {
			continue
		}
		s := p.name
		if len(p.cols) > 0 {
			cols := make([]string, len(p.cols))
			for i, c := range p.cols {
				cols[i] = readerQuote(k, c, false)
			}
			s += " (" + strings.Join(cols, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// object renders the grant's object for GRANT or REVOKE.
func (g grantLine) object(k engine.Kind) string {
	switch g.kind {
	case "global":
		return "*.*"
	case "db":
		return readerQuote(k, g.db, false) + ".*"
	case "proxy":
		return mysqlAccount{g.db, g.name}.sql(k)
	case "table":
		return readerQuote(k, g.db, false) + "." + readerQuote(k, g.name, false)
	}
	return g.kind + " " + readerQuote(k, g.db, false) + "." + readerQuote(k, g.name, false)
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
	acct := mysqlAccount{a.user, a.host}.sql(k)
	pw := readerQuote(k, a.password, true)
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
		if !slices.ContainsFunc(lines, func(l string) bool {
			return strings.Contains(l, fmt.Sprintf("MAX_USER_CONNECTIONS %d", readerConnLimit))
		}) {
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
		for _, r := range rows.Values {
			names = append(names, str(r[0]))
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
		g, ok, err := parseGrant(l)
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
				rs := readerQuote(k, role, false)
				if hasHost {
					rs = mysqlAccount{role, host}.sql(k)
				}
				stmts = append(stmts, fmt.Sprintf("REVOKE %s FROM %s", rs, acct))
			}
			what = "role " + strings.Join(g.roles, ", ")
		case g.kind == "db":
			name, wild := unescapeDB(g.db)
			privs := g.privList(k)
			if !wild && want[key(name)] != "" && g.only("SELECT", "SHOW VIEW") && !g.grantOption {
				have[key(name)] = true
				continue
			}
			if privs != "" {
				stmts = append(stmts, fmt.Sprintf("REVOKE %s ON %s FROM %s", privs, g.object(k), acct))
			}
			what = privs + " on " + g.label()
		default:
			if privs := g.privList(k); privs != "" {
				stmts = append(stmts, fmt.Sprintf("REVOKE %s ON %s FROM %s", privs, g.object(k), acct))
				what = privs + " on " + g.label()
			}
		}
		if g.grantOption && len(g.roles) == 0 {
			stmts = append(stmts, fmt.Sprintf("REVOKE GRANT OPTION ON %s FROM %s", g.object(k), acct))
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
		if err := mysqlExec(ctx, admin, fmt.Sprintf("GRANT SELECT, SHOW VIEW ON %s.* TO %s", readerQuote(k, escapeDB(name), false), acct), ""); err != nil {
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
	if err := mysqlExec(ctx, admin, "DROP USER IF EXISTS "+a.sql(k), ""); err != nil {
		return fmt.Errorf("drop the reader account %s@%s: %w", a.user, a.host, err)
	}
	res.changes = append(res.changes, "dropped account "+a.user+"@"+a.host)
	return nil
}
