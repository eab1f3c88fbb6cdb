package query

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/engine/postgres"
	"github.com/dbfleet/dbfleet/internal/sql"
)

var update = flag.Bool("update", false, "rewrite allow_gen.go from the live catalogs")

// catalogs is what the servers' own catalogs say.
type catalogs struct {
	helpNames   map[string]bool            // MariaDB help topics under function categories (lower case)
	pgVolatile  map[string]map[string]bool // function name -> its overloads' provolatile values
	pgOps       map[string]map[string]bool // operator -> its functions' provolatile values
	pgSettings  map[string]string          // setting -> category
	pgVisible   map[string]bool            // settings an unprivileged role sees in pg_settings
	mariaServer string
	pgServer    string
}

// helpCategoriesSkipped are help categories of statements, not functions.
var helpCategoriesSkipped = []string{
	"Account Management", "Administration", "Compound Statements", "Data Definition", "Data Manipulation",
	"Data Types", "Help Metadata", "Language Structure", "Plugins", "Procedures", "Table Maintenance",
	"Transactions", "Utility", "User-Defined Functions",
}

var topicName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func readCatalogs(t *testing.T) *catalogs {
	t.Helper()
	ctx := context.Background()
	c := &catalogs{helpNames: map[string]bool{}, pgVolatile: map[string]map[string]bool{}, pgOps: map[string]map[string]bool{},
		pgSettings: map[string]string{}, pgVisible: map[string]bool{}}
	m := servers(t).cluster.Primary().DB(t, "")
	if err := m.QueryRowContext(ctx, "SELECT VERSION()").Scan(&c.mariaServer); err != nil {
		t.Fatal(err)
	}
	rows, err := m.QueryContext(ctx, "SELECT c.name, t.name FROM mysql.help_topic t JOIN mysql.help_category c USING (help_category_id)")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var cat, topic string
		if err := rows.Scan(&cat, &topic); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(helpCategoriesSkipped, cat) {
			continue
		}
		name := strings.ReplaceAll(topic, `\_`, "_")
		for _, suffix := range []string{" Function", " FUNCTION"} {
			name = strings.TrimSuffix(name, suffix)
		}
		if topicName.MatchString(name) {
			c.helpNames[strings.ToLower(name)] = true
		}
	}
	rows.Close()

	pgc, err := postgres.New().Open(ctx, engine.Target{Engine: engine.Postgres, Host: servers(t).pg.Host, Port: servers(t).pg.Port, User: servers(t).pg.User, Password: servers(t).pg.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer pgc.Close()
	pgq := func(q string) [][]any {
		t.Helper()
		r, _, err := pgc.Query(ctx, 0, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return r.Values
	}
	c.pgServer = engine.String(pgq("SELECT version()")[0][0])
	for _, r := range pgq(`SELECT p.proname::text, p.provolatile::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'pg_catalog' AND p.prokind <> 'p'`) {
		name, vol := engine.String(r[0]), engine.String(r[1])
		if c.pgVolatile[name] == nil {
			c.pgVolatile[name] = map[string]bool{}
		}
		c.pgVolatile[name][vol] = true
	}
	for _, r := range pgq(`SELECT o.oprname::text, p.provolatile::text FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode`) {
		op, vol := engine.String(r[0]), engine.String(r[1])
		if c.pgOps[op] == nil {
			c.pgOps[op] = map[string]bool{}
		}
		c.pgOps[op][vol] = true
	}
	for _, r := range pgq(`SELECT name, category FROM pg_settings`) {
		c.pgSettings[strings.ToLower(engine.String(r[0]))] = engine.String(r[1]) // SHOW folds names to lower case
	}
	// What an unprivileged role may see of pg_settings.
	sess, err := pgc.(interface {
		Session(context.Context) (engine.Conn, error)
	}).Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	for _, st := range []string{"DROP ROLE IF EXISTS dbfleet_catalog_probe", "CREATE ROLE dbfleet_catalog_probe NOLOGIN", "SET ROLE dbfleet_catalog_probe"} {
		if _, err := sess.Exec(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	r, _, err := sess.Query(ctx, 0, "SELECT name FROM pg_settings")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range r.Values {
		c.pgVisible[strings.ToLower(engine.String(row[0]))] = true
	}
	for _, st := range []string{"RESET ROLE", "DROP ROLE dbfleet_catalog_probe"} {
		if _, err := sess.Exec(ctx, st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	return c
}

// expected computes the lists from the catalogs and the reviewed parts.
func (c *catalogs) expected() (mysqlFns, pgFns, pgOps, pgSets []string) {
	set := map[string]bool{}
	for n := range c.helpNames {
		if _, ok := mysqlExcluded[n]; !ok {
			set[n] = true
		}
	}
	for n := range mysqlAdded {
		set[n] = true
	}
	mysqlFns = sortedKeys(set)

	set = map[string]bool{}
	for n, vols := range c.pgVolatile {
		if _, ok := pgExcluded[n]; ok || n != strings.ToLower(n) {
			continue
		}
		if slices.ContainsFunc(pgExcludedPrefixes, func(p struct{ prefix, why string }) bool { return strings.HasPrefix(n, p.prefix) }) {
			continue
		}
		if vols["v"] {
			if _, ok := pgVolatileAllowed[n]; !ok {
				continue
			}
		}
		set[n] = true
	}
	pgFns = sortedKeys(set)

	set = map[string]bool{}
	for op, vols := range c.pgOps {
		if !vols["v"] {
			set[op] = true
		}
	}
	pgOps = sortedKeys(set)

	set = map[string]bool{}
	for n, cat := range c.pgSettings {
		if _, ok := pgSettingsExcluded[n]; ok || !c.pgVisible[n] {
			continue
		}
		if slices.ContainsFunc(pgSettingsCategories, func(p string) bool { return strings.HasPrefix(cat, p) }) {
			set[n] = true
		}
	}
	for n := range pgSettingsAdded {
		set[n] = true
	}
	pgSets = sortedKeys(set)
	return
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestAllowListsMatchCatalog checks the generated allow-lists against the
// live catalogs of the test servers (and rewrites them with -update): a
// volatile function on the PostgreSQL list (other than the reviewed
// ones), a listed function or setting missing from the catalog, or a
// setting an unprivileged role may not see fails.
func TestAllowListsMatchCatalog(t *testing.T) {
	c := readCatalogs(t)
	myFns, pgFns, pgOps, pgSets := c.expected()
	if *update {
		writeAllowGen(t, c, myFns, pgFns, pgOps, pgSets)
		return
	}
	for _, n := range mysqlFunctions {
		if !c.helpNames[n] && mysqlAdded[n] == "" {
			t.Errorf("mysql: %s is on the list but not in MariaDB's help tables nor reviewed (mysqlAdded)", n)
		}
		if why, ok := mysqlExcluded[n]; ok {
			t.Errorf("mysql: %s is on the list but excluded: %s", n, why)
		}
	}
	for _, n := range pgFunctions {
		vols, ok := c.pgVolatile[n]
		switch {
		case !ok:
			t.Errorf("postgres: %s is on the list but not in pg_catalog", n)
		case vols["v"] && pgVolatileAllowed[n] == "":
			t.Errorf("postgres: %s is volatile (has a volatile overload) and not reviewed (pgVolatileAllowed)", n)
		}
		if why, ok := pgExcluded[n]; ok {
			t.Errorf("postgres: %s is on the list but excluded: %s", n, why)
		}
	}
	for _, op := range pgOperators {
		if vols, ok := c.pgOps[op]; !ok || vols["v"] {
			t.Errorf("postgres: operator %s is missing from pg_operator or volatile", op)
		}
	}
	for _, n := range pgSettings {
		if pgSettingsAdded[n] != "" {
			continue
		}
		if _, ok := c.pgSettings[n]; !ok {
			t.Errorf("postgres: setting %s is on the list but not in pg_settings", n)
		} else if !c.pgVisible[n] {
			t.Errorf("postgres: setting %s is superuser-only (an unprivileged role does not see it)", n)
		}
	}
	for name, got := range map[string][2][]string{
		"mysqlFunctions": {mysqlFunctions, myFns}, "pgFunctions": {pgFunctions, pgFns},
		"pgOperators": {pgOperators, pgOps}, "pgSettings": {pgSettings, pgSets},
	} {
		if !slices.Equal(got[0], got[1]) {
			t.Errorf("%s differs from what the catalogs and the reviewed lists give (go test ./internal/query -run TestAllowListsMatchCatalog -update):\n%s", name, listDiff(got[0], got[1]))
		}
	}
	for _, secret := range []string{"primary_conninfo", "ssl_key_file", "ssl_passphrase_command", "archive_command", "restore_command", "data_directory", "hba_file", "config_file"} {
		if slices.Contains(pgSettings, secret) {
			t.Errorf("postgres: secret setting %s is on the list", secret)
		}
	}
}

func listDiff(have, want []string) string {
	var b strings.Builder
	for _, n := range want {
		if !slices.Contains(have, n) {
			fmt.Fprintf(&b, "  + %s\n", n)
		}
	}
	for _, n := range have {
		if !slices.Contains(want, n) {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	return b.String()
}

func writeAllowGen(t *testing.T, c *catalogs, myFns, pgFns, pgOps, pgSets []string) {
	var b bytes.Buffer
	b.WriteString("// Code generated by TestAllowListsMatchCatalog -update; DO NOT EDIT.\n\npackage query\n\n")
	list := func(doc, name string, items []string) {
		fmt.Fprintf(&b, "%s\nvar %s = []string{\n", doc, name)
		for _, it := range items {
			fmt.Fprintf(&b, "\t%q,\n", it)
		}
		b.WriteString("}\n\n")
	}
	list(fmt.Sprintf("// mysqlFunctions: the functions of MariaDB's help tables (%s), minus\n// mysqlExcluded, plus mysqlAdded (allow_review.go).", c.mariaServer), "mysqlFunctions", myFns)
	list("// pgFunctions: the pg_catalog functions whose every overload is immutable\n// or stable, minus pgExcluded and pgExcludedPrefixes, plus\n// pgVolatileAllowed (allow_review.go), from "+strings.Fields(c.pgServer)[0]+" "+strings.Fields(c.pgServer)[1]+".", "pgFunctions", pgFns)
	list("// pgOperators: the operators whose functions are immutable or stable.", "pgOperators", pgOps)
	list("// pgSettings: the settings of pgSettingsCategories an unprivileged role\n// sees, minus pgSettingsExcluded, plus pgSettingsAdded.", "pgSettings", pgSets)
	src, err := format.Source(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("allow_gen.go", src, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote allow_gen.go: %d MySQL functions, %d PostgreSQL functions, %d operators, %d settings", len(myFns), len(pgFns), len(pgOps), len(pgSets))
}

// mysqlCalls are calls of allowed functions whose syntax is special; the
// others are called with 0 to 4 arguments until one parses.
var mysqlCalls = map[string]string{
	"position":          "POSITION('a' IN 'abc')",
	"trim":              "TRIM(LEADING 'x' FROM 'xa')",
	"date_add":          "DATE_ADD(NOW(), INTERVAL 1 DAY)",
	"date_sub":          "DATE_SUB(NOW(), INTERVAL 1 DAY)",
	"adddate":           "ADDDATE(NOW(), INTERVAL 1 DAY)",
	"subdate":           "SUBDATE(NOW(), INTERVAL 1 DAY)",
	"cast":              "CAST(1 AS CHAR)",
	"convert":           "CONVERT('a' USING utf8mb4)",
	"get_format":        "GET_FORMAT(DATE, 'USA')",
	"extract":           "EXTRACT(YEAR FROM NOW())",
	"substring":         "SUBSTRING('abc' FROM 2)",
	"substr":            "SUBSTR('abc' FROM 2 FOR 1)",
	"timestampadd":      "TIMESTAMPADD(DAY, 1, NOW())",
	"timestampdiff":     "TIMESTAMPDIFF(DAY, NOW(), NOW())",
	"weight_string":     "WEIGHT_STRING('a' AS CHAR(3))",
	"group_concat":      "GROUP_CONCAT(1 ORDER BY 1 SEPARATOR ';')",
	"count":             "COUNT(DISTINCT 1)",
	"current_timestamp": "CURRENT_TIMESTAMP",
	"current_date":      "CURRENT_DATE",
	"current_time":      "CURRENT_TIME",
	"current_user":      "CURRENT_USER",
	"current_role":      "CURRENT_ROLE",
	"localtime":         "LOCALTIME",
	"localtimestamp":    "LOCALTIMESTAMP",
	"utc_date":          "UTC_DATE",
	"utc_time":          "UTC_TIME",
	"utc_timestamp":     "UTC_TIMESTAMP",
	"default":           "DEFAULT(id)",
	"json_arrayagg":     "JSON_ARRAYAGG(1)",
	"json_objectagg":    "JSON_OBJECTAGG('a', 1)",
	"row_number":        "ROW_NUMBER() OVER ()",
	"rank":              "RANK() OVER (ORDER BY 1)",
	"dense_rank":        "DENSE_RANK() OVER (ORDER BY 1)",
	"percent_rank":      "PERCENT_RANK() OVER (ORDER BY 1)",
	"cume_dist":         "CUME_DIST() OVER (ORDER BY 1)",
	"ntile":             "NTILE(2) OVER (ORDER BY 1)",
	"lead":              "LEAD(1) OVER (ORDER BY 1)",
	"lag":               "LAG(1) OVER (ORDER BY 1)",
	"first_value":       "FIRST_VALUE(1) OVER (ORDER BY 1)",
	"last_value":        "LAST_VALUE(1) OVER (ORDER BY 1)",
	"nth_value":         "NTH_VALUE(1, 1) OVER (ORDER BY 1)",
	"median":            "MEDIAN(1) OVER ()",
	"percentile_cont":   "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY 1) OVER ()",
	"percentile_disc":   "PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY 1) OVER ()",
	"match":             "MATCH (id) AGAINST ('x')",
	"column_get":        "COLUMN_GET(COLUMN_CREATE('a', 1), 'a' AS INT)",
	"interval":          "INTERVAL(1, 2)",
	"if":                "IF(1, 2, 3)",
	"insert":            "INSERT('abc', 1, 1, 'x')",
}

// mysqlCallsOf are the calls of name that the console's grammar parses:
// the special syntax first, then with 1, 2, 3, 0 and 4 arguments.
func mysqlCallsOf(name string) []*sql.Parsed {
	var tries []string
	if c, ok := mysqlCalls[name]; ok {
		// Special syntax: only that call says whether the grammar reads it.
		p, err := sql.Parse(sql.MariaDB, "SELECT "+c+" FROM t")
		if err != nil || p.MySQL == nil || p.Rewritten {
			return nil
		}
		return []*sql.Parsed{p}
	}
	for _, a := range []string{"'1'", "'1', '2'", "'1', '2', '3'", "", "'1', '2', '3', '4'"} {
		tries = append(tries, strings.ToUpper(name)+"("+a+")")
	}
	var out []*sql.Parsed
	for _, call := range tries {
		p, err := sql.Parse(sql.MariaDB, "SELECT "+call+" FROM t")
		if err == nil && p.MySQL != nil && !p.Rewritten {
			out = append(out, p)
		}
	}
	return out
}

// grammarNames are the function names the grammar put in a tree.
func grammarNames(n ast.Node) []string {
	c := &nameCollector{}
	n.Accept(c)
	return c.names
}

type nameCollector struct{ names []string }

func (c *nameCollector) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.FuncCallExpr:
		c.names = append(c.names, x.FnName.L)
	case *ast.AggregateFuncExpr:
		c.names = append(c.names, strings.ToLower(x.F))
	case *ast.WindowFuncExpr:
		c.names = append(c.names, strings.ToLower(x.Name))
	}
	return n, false
}

func (c *nameCollector) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// Every allowed MySQL-family function is called once: its call parses,
// every name the grammar produces for it is on the list (the checks
// accept it), and MariaDB reads the rendered call (no syntax error, no
// renamed function). Functions newer than the test server are logged.
func TestAllowedMySQLFunctionsParse(t *testing.T) {
	allow, err := newAllowLists(AllowedFunctions{})
	if err != nil {
		t.Fatal(err)
	}
	primary := servers(t).cluster.Primary()
	primary.Exec(t, "CREATE DATABASE allowtest", "CREATE TABLE allowtest.t (id INT)")
	t.Cleanup(func() { primary.Exec(t, "DROP DATABASE allowtest") })
	conn := primary.DB(t, "allowtest")
	ctx := context.Background()
	var unparsed, absent []string
	for _, name := range mysqlFunctions {
		calls := mysqlCallsOf(name)
		if len(calls) == 0 {
			unparsed = append(unparsed, name)
			continue
		}
		var read bool
		var last string
		for _, p := range calls {
			if err := checkMySQLTree(p.MySQL, allow); err != nil {
				t.Errorf("%s: %s: the grammar produces %v: %v", name, p.Text, grammarNames(p.MySQL), err)
				read = true
				break
			}
			rendered, err := p.Render()
			if err != nil {
				last = fmt.Sprintf("render %s: %v", p.Text, err)
				continue
			}
			rows, err := conn.QueryContext(ctx, rendered)
			if err == nil {
				rows.Close()
				read = true
				break
			}
			var me *gomysql.MySQLError
			code := 0
			if errors.As(err, &me) {
				code = int(me.Number)
			}
			switch {
			case code == 1064 || code == 1582: // syntax, argument count: try another call
				last = fmt.Sprintf("%q: %v", rendered, err)
				continue
			case code == 1305 && !strings.Contains(strings.ToLower(err.Error()), "."+name+" does not exist"):
				t.Errorf("%s: the rendered call %q names another function: %v", name, rendered, err)
			case code == 1305:
				absent = append(absent, name)
			}
			read = true // the server read the call (a type or value error is fine)
			break
		}
		if !read {
			t.Errorf("%s: MariaDB reads none of the rendered calls; last: %s", name, last)
		}
	}
	if len(unparsed) > 0 {
		t.Logf("no call found that the grammar parses (refused in the console as syntax errors): %s", strings.Join(unparsed, ", "))
	}
	if len(absent) > 0 {
		t.Logf("in the help tables but not in this server (%d): %s", len(absent), strings.Join(absent, ", "))
	}
}

// pgSyntaxCalls are PostgreSQL syntax the parser turns into function
// calls: each must pass the checks.
var pgSyntaxCalls = []string{
	"position('a' in 'abc')", "substring('abc' from 2 for 1)", "substring('abc' similar 'a' escape '#')", "overlay('abc' placing 'x' from 1)",
	"trim(both 'x' from 'xax')", "trim(leading 'x' from 'xa')", "trim(trailing from 'a ')", "extract(year from now())",
	"collation for ('a')", "normalize('a', NFC)", "'a' is normalized", "now() at time zone 'utc'", "'a' similar to 'b'",
	"xmlexists('//a' passing '<a/>')", "(now(), now()) overlaps (now(), now())", "'a' like 'b' escape '#'",
	"current_date", "current_timestamp(2)", "localtime", "current_user", "session_user", "current_catalog",
	"count(*) filter (where true)", "percentile_cont(0.5) within group (order by 1)", "row_number() over ()",
	"1 between 0 and 2", "1 is distinct from 2", "nullif(1, 2)", "coalesce(1, 2)", "greatest(1, 2)",
	"array[1] @> array[1]", "'{\"a\":1}'::jsonb ->> 'a'", "'a' ~* 'A'", "1 = any (array[1])", "'1 day'::interval",
	"xmlelement(name a)", "xmlforest(1 as a)", "json_object('a': 1)", "is_json('1')",
}

// Every allowed PostgreSQL function is a call that parses and passes the
// checks, qualified with pg_catalog in what is sent; and the parser's
// names for special syntax are on the list.
func TestAllowedPostgresFunctionsParse(t *testing.T) {
	allow, err := newAllowLists(AllowedFunctions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range pgFunctions {
		text := "SELECT " + sql.QuoteIdent(sql.Postgres, name) + "()"
		p, err := planSQL(checkInput{dialect: sql.Postgres, text: text, db: "app", allow: allow})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if want := "pg_catalog." + sql.QuoteIdent(sql.Postgres, name) + "()"; !strings.Contains(p.sql, want) && !strings.Contains(p.sql, "pg_catalog."+name+"()") {
			t.Errorf("%s: sends %q, want the call qualified: %s", name, p.sql, want)
		}
	}
	for _, call := range pgSyntaxCalls {
		text := "SELECT " + call
		if strings.Contains(call, "is_json") {
			continue // PostgreSQL 16
		}
		if _, err := planSQL(checkInput{dialect: sql.Postgres, text: text, db: "app", allow: allow}); err != nil {
			if strings.Contains(err.Error(), "cannot parse") {
				t.Logf("%s: %v", text, err)
				continue
			}
			t.Errorf("%s: %v", text, err)
		}
	}
}
