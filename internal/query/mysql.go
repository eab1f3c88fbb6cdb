package query

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// planMySQL checks one parsed MySQL-family statement and plans it: only
// SELECT (and TABLE), SHOW (a safe subset), EXPLAIN and DESCRIBE pass.
// A SELECT without a LIMIT gets one in its tree (limit+1, so truncation
// shows) before the tree is rendered.
func planMySQL(parsed *sql.Parsed, in checkInput) (*plan, error) {
	top := parsed.MySQL
	p := &plan{}
	var err error
	switch x := top.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
		if err := checkMySQLTree(top, in.allow); err != nil {
			return nil, err
		}
		if p.access, err = mysqlTables(top, in.db); err != nil {
			return nil, err
		}
		if err := refuseMaskedStatistics(p.access, in.masked); err != nil {
			return nil, err
		}
		p.kind = KindSelect
		if in.limit > 0 {
			addMySQLLimit(top, in.limit+1)
		}
		d, db := in.dialect, in.db
		p.lineage = func(ctx context.Context, s Schema, n names) ([]lineage, error) {
			a := &myLineage{ctx: ctx, schema: s, db: db, dialect: d, names: n}
			return a.query(top, nil, nil)
		}
	case *ast.ExplainStmt:
		return planMySQLExplain(x, in)
	case *ast.ShowStmt:
		return planMySQLShow(x, top, in)
	default:
		return nil, refuseRule(RuleStatement, "%s statements are not allowed: only SELECT, SHOW, EXPLAIN and DESCRIBE", statementName(top))
	}
	if len(p.access) == 0 {
		p.access = []access{{}}
	}
	return p, nil
}

// planMySQLExplain checks EXPLAIN (and DESCRIBE t). MariaDB evaluates
// const tables (lookups by primary key) while planning and prints their
// values in EXPLAIN FORMAT=JSON, so that format (and EXPLAIN ANALYZE)
// is refused to callers masking applies to; the tabular EXPLAIN stays.
func planMySQLExplain(x *ast.ExplainStmt, in checkInput) (*plan, error) {
	if x.PlanDigest != "" || x.SQLDigest != "" || x.Explore {
		return nil, refuseRule(RuleExplain, "EXPLAIN of a digest is not allowed; explain a statement")
	}
	switch st := x.Stmt.(type) {
	case *ast.ShowStmt: // DESCRIBE t
		if x.Analyze {
			return nil, refuseRule(RuleExplain, "EXPLAIN ANALYZE applies to queries only")
		}
		return planMySQLShow(st, x, in)
	case *ast.SelectStmt, *ast.SetOprStmt:
	case *ast.InsertStmt, *ast.UpdateStmt, *ast.DeleteStmt:
		if x.Analyze {
			return nil, refuseRule(RuleExplain, "EXPLAIN ANALYZE of %s is not allowed: it would run the write", statementName(st))
		}
	default:
		return nil, refuseRule(RuleExplain, "EXPLAIN of %s is not allowed", statementName(st))
	}
	if x.Analyze {
		if in.dialect == sql.MariaDB {
			return nil, refuseRule(RuleExplain, "EXPLAIN ANALYZE is not allowed on MariaDB: its ANALYZE statement runs the query and prints values it read; use EXPLAIN")
		}
		if in.masked {
			return nil, refuseRule(RuleExplain, "EXPLAIN ANALYZE is not allowed to callers masking rules apply to: it may print values it read; use EXPLAIN")
		}
	}
	switch f := strings.ToLower(x.Format); {
	case f == "" || f == "row" || f == "traditional":
		if !x.Analyze {
			x.Format = "TRADITIONAL" // the grammar's default, "row", is TiDB's name
		}
	case f == "json" || f == "tree" && in.dialect != sql.MariaDB:
		if in.masked {
			return nil, refuseRule(RuleExplain, "EXPLAIN FORMAT=%s is not allowed to callers masking rules apply to: the server prints values it read while planning (const tables); use the tabular EXPLAIN", strings.ToUpper(f))
		}
	default:
		return nil, refuseRule(RuleExplain, "EXPLAIN FORMAT=%s is not allowed (TRADITIONAL and JSON are)", strings.ToUpper(f))
	}
	if err := checkMySQLTree(x, in.allow); err != nil {
		return nil, err
	}
	p := &plan{kind: KindExplain}
	var err error
	if p.access, err = mysqlTables(x.Stmt, in.db); err != nil {
		return nil, err
	}
	if err := refuseMaskedStatistics(p.access, in.masked); err != nil {
		return nil, err
	}
	if len(p.access) == 0 {
		p.access = []access{{}}
	}
	return p, nil
}

// addMySQLLimit gives a query without a LIMIT one of n rows.
func addMySQLLimit(n ast.StmtNode, rows int) {
	limit := &ast.Limit{Count: ast.NewValueExpr(uint64(rows), "", "")}
	switch x := n.(type) {
	case *ast.SelectStmt:
		if x.Limit == nil && x.Kind != ast.SelectStmtKindValues {
			x.Limit = limit
		}
	case *ast.SetOprStmt:
		if x.Limit == nil {
			x.Limit = limit
		}
	}
}

var camel = regexp.MustCompile(`([a-z])([A-Z])`)

// statementName turns *ast.CreateTableStmt into CREATE TABLE.
func statementName(n any) string {
	t := reflect.TypeOf(n)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := strings.TrimSuffix(t.Name(), "Stmt")
	return strings.ToUpper(camel.ReplaceAllString(name, "$1 $2"))
}

// mysqlSystemDatabases hold the server's catalogs and accounts: a grant
// must name them (an instance grant does not cover them).
var mysqlSystemDatabases = []string{"information_schema", "mysql", "performance_schema", "sys"}

// readerBlind reports whether db is a MariaDB/MySQL system database that
// no reader account may read, whatever a grant names: mysql (accounts and
// their password hashes), performance_schema (other sessions'
// statements), sys (views over both). information_schema is another
// matter: every account reads it, and sees there only what it may read.
func readerBlind(db string) bool {
	for _, sys := range []string{"mysql", "performance_schema", "sys"} {
		if strings.EqualFold(db, sys) {
			return true
		}
	}
	return false
}

// mysqlAccess is the access to a table (or, with table empty, a
// database) of the MySQL family.
func mysqlAccess(db, table string) access {
	a := access{DB: db, Table: table}
	for _, sys := range mysqlSystemDatabases {
		if strings.EqualFold(db, sys) {
			a.need = needDatabase
		}
	}
	return a
}

// planMySQLShow allows the SHOW statements that show metadata the caller
// is granted: databases and tables filtered by the grants, a granted
// table's columns, indexes and definition, and the server's settings.
// Their WHERE and LIKE may not hold subqueries (they would read tables no
// grant was checked for).
func planMySQLShow(x *ast.ShowStmt, top ast.Node, in checkInput) (*plan, error) {
	if err := checkShowExpr(x); err != nil {
		return nil, err
	}
	if err := checkMySQLTree(top, in.allow); err != nil {
		return nil, err
	}
	p := &plan{kind: KindShow}
	db := x.DBName
	if db == "" {
		db = in.db
	}
	needDB := func() error {
		if db == "" {
			return refuseRule(RuleNoDatabase, "no database: name one (INSTANCE/DB, or FROM db)")
		}
		return nil
	}
	switch x.Tp {
	case ast.ShowDatabases:
		p.access = []access{{}}
		p.filter = &rowFilter{databases: true}
	case ast.ShowTables, ast.ShowTableStatus:
		if err := needDB(); err != nil {
			return nil, err
		}
		p.access = []access{mysqlAccess(db, "")}
		p.filter = &rowFilter{db: db}
	case ast.ShowColumns, ast.ShowIndex, ast.ShowCreateTable, ast.ShowCreateView:
		if x.Table == nil {
			return nil, refuseRule(RuleShow, "SHOW without a table")
		}
		if x.Table.Schema.O != "" {
			db = x.Table.Schema.O
		}
		if err := needDB(); err != nil {
			return nil, err
		}
		p.access = []access{mysqlAccess(db, x.Table.Name.O)}
	case ast.ShowCreateDatabase:
		if err := needDB(); err != nil {
			return nil, err
		}
		p.access = []access{mysqlAccess(db, "")}
	case ast.ShowTriggers:
		if err := needDB(); err != nil {
			return nil, err
		}
		p.access = []access{mysqlAccess(db, "*")} // trigger bodies of every table
	case ast.ShowVariables, ast.ShowStatus, ast.ShowEngines, ast.ShowCharset, ast.ShowCollation,
		ast.ShowWarnings, ast.ShowErrors, ast.ShowPlugins, ast.ShowPrivileges:
		p.access = []access{{}}
	default:
		return nil, refuseRule(RuleShow, "this SHOW statement is not allowed in the query console (allowed: DATABASES, TABLES, TABLE STATUS, COLUMNS, INDEX, CREATE TABLE/VIEW/DATABASE, TRIGGERS, VARIABLES, STATUS, ENGINES, CHARSET, COLLATION, WARNINGS, ERRORS, PLUGINS, PRIVILEGES)")
	}
	return p, nil
}

// checkShowExpr refuses subqueries (and so tables) in SHOW ... WHERE
// and LIKE: the statement's grant covers the SHOW's target only.
func checkShowExpr(x *ast.ShowStmt) error {
	c := &showExprChecker{}
	for _, e := range []ast.Node{x.Where, x.Pattern} {
		if e == nil || reflect.ValueOf(e).IsNil() {
			continue
		}
		e.Accept(c)
		if c.found {
			return refuseRule(RuleShowSubquery, "SHOW ... WHERE and LIKE may not hold a subquery: it would read tables no grant was checked for")
		}
	}
	return nil
}

type showExprChecker struct{ found bool }

func (c *showExprChecker) Enter(n ast.Node) (ast.Node, bool) {
	switch n.(type) {
	case *ast.SubqueryExpr, *ast.ExistsSubqueryExpr, *ast.CompareSubqueryExpr, *ast.TableName, *ast.SelectStmt, *ast.SetOprStmt:
		c.found = true
	}
	return n, c.found
}

func (c *showExprChecker) Leave(n ast.Node) (ast.Node, bool) { return n, !c.found }

// checkMySQLTree refuses, anywhere in the statement, what could write,
// lock, wait or reach outside the database: every function, aggregate
// and window function must be on the allow-list.
func checkMySQLTree(n ast.Node, allow *allowLists) error {
	c := &mysqlChecker{allow: allow}
	n.Accept(c)
	return c.err
}

type mysqlChecker struct {
	allow *allowLists
	err   error
}

func (c *mysqlChecker) Enter(n ast.Node) (ast.Node, bool) {
	if c.err != nil {
		return n, true
	}
	switch x := n.(type) {
	case *ast.FuncCallExpr:
		c.err = c.allow.mysqlAllowed(x.Schema.O, x.FnName.L)
	case *ast.AggregateFuncExpr:
		c.err = c.allow.mysqlAllowed("", strings.ToLower(x.F))
	case *ast.WindowFuncExpr:
		c.err = c.allow.mysqlAllowed("", strings.ToLower(x.Name))
	case *ast.VariableExpr:
		if x.Value != nil {
			c.err = refuseRule(RuleAssignment, "assigning variables (@%s := ...) is not allowed", x.Name)
		}
	case *ast.SelectStmt:
		if x.SelectIntoOpt != nil {
			c.err = refuseRule(RuleInto, "SELECT ... INTO is not allowed: it writes to files or variables")
		} else if x.LockInfo != nil && x.LockInfo.LockType != ast.SelectLockNone {
			c.err = refuseRule(RuleLockingRead, "SELECT ... %s is not allowed: it locks rows", strings.ToUpper(x.LockInfo.LockType.String()))
		}
	}
	return n, c.err != nil
}

func (c *mysqlChecker) Leave(n ast.Node) (ast.Node, bool) { return n, c.err == nil }

// mysqlTables lists the tables a statement reads, qualified with their
// database. Names of common table expressions are not tables where they
// are visible: in the statement after the WITH, and in a CTE's own body
// only the CTEs defined before it (and itself when recursive). CTE names
// compare exactly: a name the server might read as a table is checked as
// one.
func mysqlTables(n ast.Node, defaultDB string) ([]access, error) {
	c := &tableCollector{defaultDB: defaultDB, seen: map[access]bool{}}
	n.Accept(c)
	return c.out, c.err
}

type cteFrame struct {
	owner     ast.Node // the statement whose WITH this is
	names     []string
	visible   int // names[:visible] are visible
	self      int // index of the recursive CTE being defined, or -1
	recursive bool
}

type tableCollector struct {
	defaultDB string
	frames    []*cteFrame
	seen      map[access]bool
	out       []access
	err       error
}

func (c *tableCollector) isCTE(name string) bool {
	for i := len(c.frames) - 1; i >= 0; i-- {
		f := c.frames[i]
		for j := 0; j < f.visible; j++ {
			if f.names[j] == name {
				return true
			}
		}
		if f.self >= 0 && f.recursive && f.names[f.self] == name {
			return true
		}
	}
	return false
}

func withOf(n ast.Node) *ast.WithClause {
	switch x := n.(type) {
	case *ast.SelectStmt:
		return x.With
	case *ast.SetOprStmt:
		return x.With
	case *ast.SetOprSelectList:
		return x.With
	}
	return nil
}

func (c *tableCollector) Enter(n ast.Node) (ast.Node, bool) {
	if c.err != nil {
		return n, true
	}
	if w := withOf(n); w != nil {
		f := &cteFrame{owner: n, self: -1, recursive: w.IsRecursive}
		for _, cte := range w.CTEs {
			f.names = append(f.names, cte.Name.O)
		}
		c.frames = append(c.frames, f)
	}
	switch x := n.(type) {
	case *ast.CommonTableExpression:
		f := c.frames[len(c.frames)-1]
		for i, name := range f.names {
			if name == x.Name.O {
				f.visible, f.self = i, i
				f.recursive = f.recursive || x.IsRecursive
				break
			}
		}
	case *ast.TableName:
		if x.Schema.O == "" && c.isCTE(x.Name.O) {
			return n, true
		}
		db := x.Schema.O
		if db == "" {
			db = c.defaultDB
		}
		if db == "" {
			c.err = refuseRule(RuleNoDatabase, "table %s has no database and none was chosen: query INSTANCE/DB, or write db.%s", x.Name.O, x.Name.O)
			return n, true
		}
		a := mysqlAccess(db, x.Name.O)
		if !c.seen[a] {
			c.seen[a] = true
			c.out = append(c.out, a)
		}
	}
	return n, false
}

func (c *tableCollector) Leave(n ast.Node) (ast.Node, bool) {
	switch n.(type) {
	case *ast.WithClause:
		f := c.frames[len(c.frames)-1]
		f.visible, f.self = len(f.names), -1
	}
	if len(c.frames) > 0 && c.frames[len(c.frames)-1].owner == n {
		c.frames = c.frames[:len(c.frames)-1]
	}
	return n, c.err == nil
}

// ---- lineage ----

// cteBind binds a CTE's name to its columns for the blocks that see it.
type cteBind struct {
	name string
	cols []lineage
	next *cteBind
}

func (b *cteBind) lookup(name string) (*cteBind, bool) {
	for ; b != nil; b = b.next {
		if b.name == name {
			return b, true
		}
	}
	return nil, false
}

// renameCols applies a column-name list (CTE (a, b), derived table, view).
func renameCols(ls []lineage, names []string) ([]lineage, error) {
	if len(names) == 0 {
		return ls, nil
	}
	for _, l := range ls {
		if l.wide {
			return nil, lineageErr("a column list cannot be matched to a result of unknown width")
		}
	}
	if len(names) != len(ls) {
		return nil, lineageErr("%d column names for %d columns", len(names), len(ls))
	}
	out := make([]lineage, len(ls))
	for i, l := range ls {
		l.name = names[i]
		out[i] = l
	}
	return out, nil
}

type myLineage struct {
	ctx     context.Context
	schema  Schema
	db      string
	dialect sql.Dialect
	names   names
	depth   int
}

func (a *myLineage) query(n ast.Node, parent *scope, env *cteBind) ([]lineage, error) {
	switch x := n.(type) {
	case *ast.SelectStmt:
		return a.selectStmt(x, parent, env)
	case *ast.SetOprStmt:
		env, err := a.with(x.With, parent, env)
		if err != nil {
			return nil, err
		}
		return a.query(x.SelectList, parent, env)
	case *ast.SetOprSelectList:
		env, err := a.with(x.With, parent, env)
		if err != nil {
			return nil, err
		}
		var branches [][]lineage
		for _, sel := range x.Selects {
			ls, err := a.query(sel, parent, env)
			if err != nil {
				return nil, err
			}
			branches = append(branches, ls)
		}
		return unionLineage(branches), nil
	case *ast.SubqueryExpr:
		return a.query(x.Query, parent, env)
	}
	return nil, lineageErr("cannot follow the columns of a %T", n)
}

func (a *myLineage) with(w *ast.WithClause, parent *scope, env *cteBind) (*cteBind, error) {
	if w == nil {
		return env, nil
	}
	for _, cte := range w.CTEs {
		var cols []lineage
		var err error
		if w.IsRecursive || cte.IsRecursive {
			cols, err = a.recursive(cte, parent, env)
		} else {
			cols, err = a.query(cte.Query, parent, env)
			if err == nil {
				cols, err = renameCols(cols, ciNames(cte.ColNameList))
			}
		}
		if err != nil {
			return nil, err
		}
		env = &cteBind{name: cte.Name.O, cols: cols, next: env}
	}
	return env, nil
}

func ciNames(l []ast.CIStr) []string {
	out := make([]string, len(l))
	for i, n := range l {
		out[i] = n.O
	}
	return out
}

// recursive follows a recursive CTE to a fixed point: the first branch
// (the anchor), then the whole body with the CTE bound to what is known so
// far, merged, until nothing changes.
func (a *myLineage) recursive(cte *ast.CommonTableExpression, parent *scope, env *cteBind) ([]lineage, error) {
	body := cte.Query.Query
	so, ok := body.(*ast.SetOprStmt)
	if !ok || so.SelectList == nil || len(so.SelectList.Selects) == 0 {
		cols, err := a.query(body, parent, env)
		if err != nil {
			return nil, err
		}
		return renameCols(cols, ciNames(cte.ColNameList))
	}
	env0, err := a.with(so.With, parent, env)
	if err != nil {
		return nil, err
	}
	cur, err := a.query(so.SelectList.Selects[0], parent, env0)
	if err == nil {
		cur, err = renameCols(cur, ciNames(cte.ColNameList))
	}
	if err != nil {
		return nil, err
	}
	for range 20 {
		bound := &cteBind{name: cte.Name.O, cols: cur, next: env}
		full, err := a.query(body, parent, bound)
		if err == nil {
			full, err = renameCols(full, ciNames(cte.ColNameList))
		}
		if err != nil {
			return nil, err
		}
		next := unionLineage([][]lineage{cur, full})
		if sameLineage(next, cur) {
			return cur, nil
		}
		cur = next
	}
	return nil, lineageErr("recursive CTE %s: columns did not settle", cte.Name.O)
}

func (a *myLineage) selectStmt(x *ast.SelectStmt, parent *scope, env *cteBind) ([]lineage, error) {
	env, err := a.with(x.With, parent, env)
	if err != nil {
		return nil, err
	}
	sc := &scope{parent: parent, names: a.names}
	if x.Kind == ast.SelectStmtKindValues {
		var rows [][]lineage
		for _, row := range x.Lists {
			var ls []lineage
			for _, e := range row.Values {
				l, err := a.expr(e, sc, env)
				if err != nil {
					return nil, err
				}
				l.name = ""
				ls = append(ls, l)
			}
			rows = append(rows, ls)
		}
		return unionLineage(rows), nil
	}
	if x.From != nil && x.From.TableRefs != nil {
		star, err := a.from(x.From.TableRefs, sc, env)
		if err != nil {
			return nil, err
		}
		sc.star = star
	}
	if x.Kind == ast.SelectStmtKindTable || x.Fields == nil {
		return starOf(sc, nil), nil
	}
	var out []lineage
	for _, f := range x.Fields.Fields {
		if f.WildCard != nil {
			if f.WildCard.Table.O == "" {
				out = append(out, starOf(sc, nil)...)
				continue
			}
			r := sc.findRel(f.WildCard.Schema.O, f.WildCard.Table.O)
			if r == nil {
				return nil, lineageErr("unknown table %s in %s.*", f.WildCard.Table.O, f.WildCard.Table.O)
			}
			out = append(out, starOf(sc, r)...)
			continue
		}
		l, err := a.expr(f.Expr, sc, env)
		if err != nil {
			return nil, err
		}
		if f.AsName.O != "" {
			l.name = f.AsName.O
		}
		out = append(out, l)
	}
	return out, nil
}

// from adds the FROM items of a block to sc (each one visible to the
// LATERAL items after it) and returns what * expands to.
func (a *myLineage) from(n ast.ResultSetNode, sc *scope, env *cteBind) ([]lineage, error) {
	switch x := n.(type) {
	case *ast.Join:
		left, err := a.from(x.Left, sc, env)
		if err != nil || x.Right == nil {
			return left, err
		}
		right, err := a.from(x.Right, sc, env)
		if err != nil {
			return nil, err
		}
		using := make([]string, len(x.Using))
		for i, u := range x.Using {
			using[i] = u.Name.O
		}
		if x.NaturalJoin {
			using = naturalColumns(a.names, left, right)
		}
		if x.Tp == ast.RightJoin && len(using) > 0 {
			// The server may order a RIGHT JOIN's columns from the right:
			// do not guess, every column may hold any of their values.
			return []lineage{{wide: true, srcs: allSrcs(append(left, right...))}}, nil
		}
		return joinStar(a.names, left, right, using), nil
	case *ast.TableSource:
		var r *relation
		switch src := x.Source.(type) {
		case *ast.TableName:
			var err error
			if r, err = a.table(src, env); err != nil {
				return nil, err
			}
		case *ast.SelectStmt, *ast.SetOprStmt:
			parent := sc.parent
			if x.Lateral {
				parent = sc
			}
			cols, err := a.query(src, parent, env)
			if err == nil {
				cols, err = renameCols(cols, ciNames(x.ColumnNames))
			}
			if err != nil {
				return nil, err
			}
			r = &relation{cols: cols}
		case *ast.Join:
			return a.from(src, sc, env)
		default:
			return nil, lineageErr("cannot follow the columns of FROM item %T", x.Source)
		}
		if x.AsName.O != "" {
			r.name, r.qual = x.AsName.O, ""
		}
		sc.rels = append(sc.rels, r)
		return r.star(), nil
	}
	return nil, lineageErr("cannot follow the columns of FROM item %T", n)
}

// table is a FROM item naming a table, a view or a CTE.
func (a *myLineage) table(tn *ast.TableName, env *cteBind) (*relation, error) {
	if tn.Schema.O == "" {
		if b, ok := env.lookup(tn.Name.O); ok {
			return &relation{name: tn.Name.O, cols: b.cols}, nil
		}
	}
	db := tn.Schema.O
	if db == "" {
		db = a.db
	}
	if db == "" {
		return nil, lineageErr("table %s has no database", tn.Name.O)
	}
	info, ok, err := a.schema.Table(a.ctx, db, tn.Name.O)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, lineageErr("table %s.%s does not exist or its columns are not visible to the query account", db, tn.Name.O)
	}
	r := &relation{name: tn.Name.O, qual: db}
	if info.View {
		cols, err := a.view(db, tn.Name.O, info)
		if err != nil {
			return nil, err
		}
		r.cols = cols
		return r, nil
	}
	for _, c := range info.Columns {
		r.cols = append(r.cols, lineage{name: c.Name, srcs: []Col{{DB: db, Table: tn.Name.O, Column: c.Name}}, direct: true, hidden: c.Hidden})
	}
	return r, nil
}

// view follows a view's columns through its definition.
func (a *myLineage) view(db, name string, info TableInfo) ([]lineage, error) {
	if info.Definition == "" {
		return nil, lineageErr("view %s.%s: its definition is not visible to the query account (grant it SHOW VIEW), so masking cannot be guaranteed", db, name)
	}
	if a.depth >= maxViewDepth {
		return nil, lineageErr("view %s.%s: views nested deeper than %d", db, name, maxViewDepth)
	}
	def, err := sql.Parse(a.dialect, info.Definition)
	if err != nil || def.MySQL == nil {
		return nil, lineageErr("view %s.%s: cannot parse its definition", db, name)
	}
	sub := &myLineage{ctx: a.ctx, schema: a.schema, db: db, dialect: a.dialect, names: a.names, depth: a.depth + 1}
	ls, err := sub.query(def.MySQL, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("view %s.%s: %w", db, name, err)
	}
	names := make([]string, len(info.Columns))
	for i, c := range info.Columns {
		names[i] = c.Name
	}
	out, err := renameCols(ls, names)
	if err != nil {
		return nil, lineageErr("view %s.%s: its columns do not match its definition", db, name)
	}
	return out, nil
}

// expr is the lineage of one select-list expression.
func (a *myLineage) expr(e ast.ExprNode, sc *scope, env *cteBind) (lineage, error) {
	for {
		p, ok := e.(*ast.ParenthesesExpr)
		if !ok {
			break
		}
		e = p.Expr
	}
	if cn, ok := e.(*ast.ColumnNameExpr); ok {
		l, ok := sc.column(cn.Name.Schema.O, cn.Name.Table.O, cn.Name.Name.O)
		if !ok {
			return lineage{}, lineageErr("cannot resolve column %s", columnText(cn.Name))
		}
		l.name = cn.Name.Name.O
		return l, nil
	}
	c := &exprCollector{a: a, sc: sc, env: env}
	e.Accept(c)
	return lineage{srcs: c.srcs}, c.err
}

func columnText(c *ast.ColumnName) string {
	var parts []string
	for _, p := range []string{c.Schema.O, c.Table.O, c.Name.O} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

type exprCollector struct {
	a    *myLineage
	sc   *scope
	env  *cteBind
	srcs []Col
	err  error
}

func (c *exprCollector) Enter(n ast.Node) (ast.Node, bool) {
	if c.err != nil {
		return n, true
	}
	switch x := n.(type) {
	case *ast.ColumnNameExpr:
		l, ok := c.sc.column(x.Name.Schema.O, x.Name.Table.O, x.Name.Name.O)
		if !ok {
			c.err = lineageErr("cannot resolve column %s", columnText(x.Name))
		}
		c.srcs = addCols(c.srcs, l.srcs...)
		return n, true
	case *ast.SubqueryExpr:
		ls, err := c.a.query(x.Query, c.sc, c.env)
		if err != nil {
			c.err = err
		}
		c.srcs = addCols(c.srcs, allSrcs(ls)...)
		return n, true
	case *ast.AggregateFuncExpr:
		// COUNT tells how many values there are, never what they are.
		if strings.EqualFold(x.F, "count") {
			return n, true
		}
	case *ast.WindowFuncExpr:
		if strings.EqualFold(x.Name, "count") {
			return n, true
		}
	}
	return n, false
}

func (c *exprCollector) Leave(n ast.Node) (ast.Node, bool) { return n, c.err == nil }
