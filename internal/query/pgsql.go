package query

import (
	"context"
	"fmt"
	"slices"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// pgSchemaOf is the schema an unqualified table resolves to. The console
// sets search_path to public; pg_catalog is searched first implicitly,
// and every relation of pg_catalog starts with "pg_".
func pgSchemaOf(rel string) string {
	if strings.HasPrefix(rel, "pg_") {
		return "pg_catalog"
	}
	return "public"
}

// pgSystemSchemas hold the catalogs: a grant must name their relations
// (a database grant does not cover them), so that pg_authid's password
// hashes, pg_stat_activity's statements of other sessions and pg_stats'
// column values are never read through a grant on the database.
var pgSystemSchemas = []string{"pg_catalog", "information_schema", "pg_toast"}

// pgAccess is the access to relation schema.rel of database db.
func pgAccess(db, schema, rel string) access {
	a := access{DB: db, Table: schema + "." + rel}
	if slices.Contains(pgSystemSchemas, schema) || strings.HasPrefix(schema, "pg_temp") || strings.HasPrefix(schema, "pg_toast_temp") {
		a.need = needTable
	}
	return a
}

// statisticsTables hold column values (histograms, most common values,
// min and max): they are refused to callers masking applies to, granted
// or not.
var statisticsTables = map[string]bool{
	"pg_catalog.pg_stats":              true,
	"pg_catalog.pg_stats_ext":          true,
	"pg_catalog.pg_stats_ext_exprs":    true,
	"pg_catalog.pg_statistic":          true,
	"pg_catalog.pg_statistic_ext_data": true,
	"mysql.column_stats":               true,
}

// refuseMaskedStatistics refuses statistics tables to a masked caller.
func refuseMaskedStatistics(as []access, masked bool) error {
	if !masked {
		return nil
	}
	for _, a := range as {
		key := a.Table
		if a.need == needDatabase {
			key = strings.ToLower(a.DB) + "." + strings.ToLower(a.Table)
		}
		if statisticsTables[key] {
			return refuseRule(RuleCatalogMasked, "%s holds column values (histograms, common values): it is not shown to callers masking rules apply to", key)
		}
	}
	return nil
}

// planPostgres checks one parsed PostgreSQL statement and plans it: only
// SELECT (and VALUES, TABLE), EXPLAIN (ANALYZE of reads only) and SHOW of
// allowed settings pass. in.db is the database the session is in.
func planPostgres(parsed *sql.Parsed, in checkInput) (*plan, error) {
	raw := parsed.PG
	p := &plan{}
	var err error
	switch x := raw.Node.(type) {
	case *pg.Node_SelectStmt:
		if err := checkPGTree(raw, in.allow, in.params); err != nil {
			return nil, err
		}
		if p.access, err = pgTables(raw, in.db); err != nil {
			return nil, err
		}
		if err := refuseMaskedStatistics(p.access, in.masked); err != nil {
			return nil, err
		}
		p.kind = KindSelect
		sel := x.SelectStmt
		if in.limit > 0 && !pgHasLimit(sel) {
			sel.LimitCount = pg.MakeAConstIntNode(int64(in.limit+1), -1)
			sel.LimitOption = pg.LimitOption_LIMIT_OPTION_COUNT
		}
		db := in.db
		p.lineage = func(ctx context.Context, s Schema, _ names) ([]lineage, error) {
			a := &pgLineage{ctx: ctx, schema: s, db: db}
			return a.query(sel, nil, nil)
		}
	case *pg.Node_ExplainStmt:
		return planPGExplain(raw, x.ExplainStmt, in)
	case *pg.Node_VariableShowStmt:
		name := x.VariableShowStmt.Name
		if strings.EqualFold(name, "all") {
			return nil, refuseRule(RuleSetting, "SHOW ALL is not allowed: it lists every setting, secret ones included; SHOW one setting")
		}
		if err := in.allow.pgSettingAllowed(name); err != nil {
			return nil, err
		}
		p.kind, p.access = KindShow, []access{{}}
	default:
		return nil, refuseRule(RuleStatement, "%s statements are not allowed: only SELECT, VALUES, TABLE, SHOW and EXPLAIN", pgStmtName(raw))
	}
	if len(p.access) == 0 {
		p.access = []access{{}}
	}
	return p, nil
}

// pgHasLimit: the query has a row count of its own (LIMIT ALL and
// LIMIT NULL do not count).
func pgHasLimit(sel *pg.SelectStmt) bool {
	c := sel.LimitCount
	if c == nil {
		return false
	}
	if k := c.GetAConst(); k != nil && k.Isnull {
		return false
	}
	return true
}

// planPGExplain checks EXPLAIN. Its VERBOSE output and the non-text
// formats are refused to callers masking applies to.
func planPGExplain(raw *pg.Node, x *pg.ExplainStmt, in checkInput) (*plan, error) {
	analyze := false
	for _, o := range x.Options {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		switch strings.ToLower(d.Defname) {
		case "analyze":
			analyze = defTrue(d.Arg)
		case "verbose":
			if in.masked && defTrue(d.Arg) {
				return nil, refuseRule(RuleExplain, "EXPLAIN (VERBOSE) is not allowed to callers masking rules apply to; use EXPLAIN without it")
			}
		case "format":
			if f := defString(d.Arg); in.masked && !strings.EqualFold(f, "text") {
				return nil, refuseRule(RuleExplain, "EXPLAIN (FORMAT %s) is not allowed to callers masking rules apply to; use the text format", strings.ToUpper(f))
			}
		}
	}
	q := x.Query
	switch q.Node.(type) {
	case *pg.Node_SelectStmt:
	case *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt, *pg.Node_MergeStmt:
		if analyze {
			return nil, refuseRule(RuleExplain, "EXPLAIN ANALYZE of %s is not allowed: it would run the write", pgStmtName(q))
		}
	default:
		return nil, refuseRule(RuleExplain, "EXPLAIN of %s is not allowed", pgStmtName(q))
	}
	if err := checkPGTree(raw, in.allow, 0); err != nil {
		return nil, err
	}
	p := &plan{kind: KindExplain}
	var err error
	if p.access, err = pgTables(q, in.db); err != nil {
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

// pgStmtName turns a node's type (DeleteStmt, CreateTableAsStmt) into
// words (DELETE, CREATE TABLE AS).
func pgStmtName(n *pg.Node) string {
	if n == nil || n.Node == nil {
		return "empty"
	}
	m := sql.PGNodeMessage(n)
	if m == nil {
		return "unknown"
	}
	return statementName(m)
}

func defTrue(arg *pg.Node) bool {
	if arg == nil {
		return true
	}
	switch a := arg.Node.(type) {
	case *pg.Node_Boolean:
		return a.Boolean.Boolval
	case *pg.Node_Integer:
		return a.Integer.Ival != 0
	case *pg.Node_String_:
		switch strings.ToLower(a.String_.Sval) {
		case "false", "off", "0", "no":
			return false
		}
	}
	return true
}

func defString(arg *pg.Node) string {
	if arg == nil {
		return ""
	}
	if s := arg.GetString_(); s != nil {
		return s.Sval
	}
	return fmt.Sprint(arg)
}

// funcNameParts splits a function's name into its schema ("" when
// unqualified) and name; ok is false for a name of more than two parts.
func funcNameParts(names []*pg.Node) (schema, name string, ok bool) {
	parts := stringList(names)
	if len(parts) != len(names) {
		return "", "", false
	}
	switch len(parts) {
	case 1:
		return "", parts[0], true
	case 2:
		return parts[0], parts[1], true
	}
	return "", "", false
}

func funcName(f *pg.FuncCall) string {
	_, name, _ := funcNameParts(f.Funcname)
	return name
}

// checkPGTree refuses, anywhere in the statement, what could write, lock,
// wait or reach outside the database: every function and operator must
// be on the allow-list; parameters beyond params (the arguments the
// caller binds) are refused. Built-in functions called without a schema are
// qualified with pg_catalog in the tree, so that the server calls the
// function that was checked and not one of the same name in public.
func checkPGTree(n *pg.Node, allow *allowLists, params int) error {
	var err error
	sql.WalkPG(n, func(m proto.Message) bool {
		if err != nil {
			return false
		}
		switch x := m.(type) {
		case *pg.FuncCall:
			err = checkPGFunc(x, allow)
		case *pg.A_Expr:
			err = checkPGOperator(x, allow)
		case *pg.RangeTableSample:
			if _, method, _ := funcNameParts(x.Method); method != "system" && method != "bernoulli" {
				err = refuseRule(RuleFunction, "TABLESAMPLE method %s is not allowed (SYSTEM and BERNOULLI are)", strings.Join(stringList(x.Method), "."))
			}
		case *pg.ParamRef:
			if x.Number >= 1 && int(x.Number) <= params {
				break
			}
			err = invalidRule(RuleSyntax, "parameters ($%d) are not supported: write the value", x.Number)
		case *pg.SelectStmt:
			if x.IntoClause != nil {
				err = refuseRule(RuleInto, "SELECT ... INTO is not allowed: it creates a table")
			} else if len(x.LockingClause) > 0 {
				err = refuseRule(RuleLockingRead, "SELECT ... FOR UPDATE/SHARE is not allowed: it locks rows")
			}
		case *pg.CommonTableExpr:
			if x.Ctequery != nil && x.Ctequery.GetSelectStmt() == nil {
				err = refuseRule(RuleDataModifyingWith, "WITH %s AS (%s ...) is not allowed: a data-modifying WITH writes", x.Ctename, pgStmtName(x.Ctequery))
			}
		}
		return err == nil
	})
	return err
}

func checkPGFunc(f *pg.FuncCall, allow *allowLists) error {
	schema, name, ok := funcNameParts(f.Funcname)
	if !ok {
		return notAllowed(strings.Join(stringList(f.Funcname), ".") + "()")
	}
	builtin, err := allow.pgAllowed(schema, name)
	if err != nil {
		return err
	}
	if builtin && schema == "" {
		f.Funcname = []*pg.Node{pg.MakeStrNode("pg_catalog"), pg.MakeStrNode(name)}
	}
	if builtin && name == "current_setting" {
		if len(f.Args) == 0 {
			return nil // the server refuses it
		}
		c := f.Args[0].GetAConst()
		if c == nil || c.GetSval() == nil {
			return refuseRule(RuleSetting, "current_setting() needs the setting's name as a string constant, so that the console can check it")
		}
		return allow.pgSettingAllowed(c.GetSval().Sval)
	}
	return nil
}

func checkPGOperator(x *pg.A_Expr, allow *allowLists) error {
	switch x.Kind {
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		return nil // keywords, read as comparisons
	}
	schema, op, ok := funcNameParts(x.Name)
	if !ok {
		return refuseRule(RuleOperator, "operator %s is not on the console's allow-list of operators", strings.Join(stringList(x.Name), "."))
	}
	return allow.pgOperatorAllowed(schema, op)
}

// pgTables lists the tables a statement reads as "schema.table" in db.
// CTE names are not tables where they are visible (see mysqlTables); in a
// WITH RECURSIVE every CTE of the list is visible to every other.
func pgTables(n *pg.Node, db string) ([]access, error) {
	c := &pgTableCollector{db: db, seen: map[access]bool{}}
	c.walk(n)
	return c.out, c.err
}

type pgTableCollector struct {
	db     string
	frames []*cteFrame
	seen   map[access]bool
	out    []access
	err    error
}

func (c *pgTableCollector) isCTE(name string) bool {
	t := &tableCollector{frames: c.frames}
	return t.isCTE(name)
}

func withClauseOf(m proto.Message) *pg.WithClause {
	switch x := m.(type) {
	case *pg.SelectStmt:
		return x.WithClause
	case *pg.InsertStmt:
		return x.WithClause
	case *pg.UpdateStmt:
		return x.WithClause
	case *pg.DeleteStmt:
		return x.WithClause
	case *pg.MergeStmt:
		return x.WithClause
	}
	return nil
}

func (c *pgTableCollector) walk(m proto.Message) {
	sql.WalkPG(m, func(msg proto.Message) bool {
		if c.err != nil {
			return false
		}
		if w := withClauseOf(msg); w != nil {
			f := &cteFrame{self: -1, recursive: w.Recursive}
			for _, n := range w.Ctes {
				f.names = append(f.names, n.GetCommonTableExpr().GetCtename())
			}
			c.frames = append(c.frames, f)
			for i, n := range w.Ctes {
				f.visible, f.self = i, i
				if w.Recursive {
					f.visible = len(f.names)
				}
				c.walk(n)
			}
			f.visible, f.self = len(f.names), -1
			sql.WalkPGChildren(msg, "with_clause", func(m proto.Message) bool {
				c.walk(m)
				return false
			})
			c.frames = c.frames[:len(c.frames)-1]
			return false
		}
		if rv, ok := msg.(*pg.RangeVar); ok {
			if rv.Schemaname == "" && rv.Catalogname == "" && c.isCTE(rv.Relname) {
				return false
			}
			if rv.Catalogname != "" && rv.Catalogname != c.db {
				c.err = refuseRule(RuleOtherDatabase, "%s.%s.%s is in another database than %s", rv.Catalogname, rv.Schemaname, rv.Relname, c.db)
				return false
			}
			schema := rv.Schemaname
			if schema == "" {
				schema = pgSchemaOf(rv.Relname)
			}
			a := pgAccess(c.db, schema, rv.Relname)
			if !c.seen[a] {
				c.seen[a] = true
				c.out = append(c.out, a)
			}
			return false
		}
		return true
	})
}

// ---- lineage ----

// pgSystemColumns can be named but are not part of *; they hold no data.
var pgSystemColumns = []string{"ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"}

type pgLineage struct {
	ctx    context.Context
	schema Schema
	db     string
	depth  int
}

func (a *pgLineage) with(w *pg.WithClause, parent *scope, env *cteBind) (*cteBind, error) {
	if w == nil {
		return env, nil
	}
	for _, n := range w.Ctes {
		cte := n.GetCommonTableExpr()
		sel := cte.GetCtequery().GetSelectStmt()
		if sel == nil {
			return nil, lineageErr("WITH %s: not a query", cte.Ctename)
		}
		names := stringList(cte.Aliascolnames)
		var cols []lineage
		var err error
		if w.Recursive && sel.Op == pg.SetOperation_SETOP_UNION && sel.Larg != nil {
			cols, err = a.recursive(cte.Ctename, names, sel, parent, env)
		} else {
			cols, err = a.query(sel, parent, env)
			if err == nil {
				cols, err = renamePartial(cols, names)
			}
		}
		if err != nil {
			return nil, err
		}
		env = &cteBind{name: cte.Ctename, cols: cols, next: env}
	}
	return env, nil
}

func (a *pgLineage) recursive(name string, names []string, sel *pg.SelectStmt, parent *scope, env *cteBind) ([]lineage, error) {
	cur, err := a.query(sel.Larg, parent, env)
	if err == nil {
		cur, err = renamePartial(cur, names)
	}
	if err != nil {
		return nil, err
	}
	for range 20 {
		bound := &cteBind{name: name, cols: cur, next: env}
		full, err := a.query(sel, parent, bound)
		if err == nil {
			full, err = renamePartial(full, names)
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
	return nil, lineageErr("recursive CTE %s: columns did not settle", name)
}

func stringList(ns []*pg.Node) []string {
	var out []string
	for _, n := range ns {
		if s := n.GetString_(); s != nil {
			out = append(out, s.Sval)
		}
	}
	return out
}

// renamePartial applies an alias column list, which in PostgreSQL may
// name only the first columns.
func renamePartial(ls []lineage, names []string) ([]lineage, error) {
	if len(names) == 0 {
		return ls, nil
	}
	if len(names) > len(ls) {
		return nil, lineageErr("%d column names for %d columns", len(names), len(ls))
	}
	out := make([]lineage, len(ls))
	copy(out, ls)
	for i, n := range names {
		if out[i].wide {
			return nil, lineageErr("a column list cannot be matched to a result of unknown width")
		}
		out[i].name = n
	}
	return out, nil
}

func (a *pgLineage) query(sel *pg.SelectStmt, parent *scope, env *cteBind) ([]lineage, error) {
	if sel == nil {
		return nil, lineageErr("empty query")
	}
	env, err := a.with(sel.WithClause, parent, env)
	if err != nil {
		return nil, err
	}
	if sel.Op != pg.SetOperation_SETOP_NONE && sel.Op != pg.SetOperation_SET_OPERATION_UNDEFINED {
		l, err := a.query(sel.Larg, parent, env)
		if err != nil {
			return nil, err
		}
		r, err := a.query(sel.Rarg, parent, env)
		if err != nil {
			return nil, err
		}
		return unionLineage([][]lineage{l, r}), nil
	}
	sc := &scope{parent: parent, names: exactNames}
	if len(sel.ValuesLists) > 0 {
		var rows [][]lineage
		for _, row := range sel.ValuesLists {
			var ls []lineage
			for i, e := range row.GetList().GetItems() {
				l, err := a.expr(e, sc, env)
				if err != nil {
					return nil, err
				}
				l.name = fmt.Sprintf("column%d", i+1)
				ls = append(ls, l)
			}
			rows = append(rows, ls)
		}
		return unionLineage(rows), nil
	}
	for _, item := range sel.FromClause {
		star, err := a.from(item, sc, env)
		if err != nil {
			return nil, err
		}
		sc.star = append(sc.star, star...)
	}
	var out []lineage
	for _, t := range sel.TargetList {
		rt := t.GetResTarget()
		if rt == nil {
			return nil, lineageErr("unexpected select-list item")
		}
		if cr := rt.Val.GetColumnRef(); cr != nil && isStar(cr) {
			ls, err := a.starRef(cr, sc)
			if err != nil {
				return nil, err
			}
			out = append(out, ls...)
			continue
		}
		l, err := a.expr(rt.Val, sc, env)
		if err != nil {
			return nil, err
		}
		if rt.Name != "" {
			l.name = rt.Name
		} else {
			l.name = pgOutputName(rt.Val)
		}
		out = append(out, l)
	}
	return out, nil
}

func isStar(cr *pg.ColumnRef) bool {
	return len(cr.Fields) > 0 && cr.Fields[len(cr.Fields)-1].GetAStar() != nil
}

// starRef expands * or [[db.]schema.]t.*.
func (a *pgLineage) starRef(cr *pg.ColumnRef, sc *scope) ([]lineage, error) {
	q := stringList(cr.Fields[:len(cr.Fields)-1])
	switch len(q) {
	case 0:
		return starOf(sc, nil), nil
	case 3:
		if q[0] != a.db {
			return nil, lineageErr("%s is another database", q[0])
		}
		q = q[1:]
	}
	var r *relation
	switch len(q) {
	case 1:
		r = sc.findRel("", q[0])
	case 2:
		r = sc.findRel(q[0], q[1])
	}
	if r == nil {
		return nil, lineageErr("unknown table in %s.*", strings.Join(q, "."))
	}
	return r.star(), nil
}

// pgOutputName is the name PostgreSQL gives an unaliased column, where it
// is predictable.
func pgOutputName(n *pg.Node) string {
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef:
		f := stringList(x.ColumnRef.Fields)
		if len(f) == len(x.ColumnRef.Fields) && len(f) > 0 {
			return f[len(f)-1]
		}
	case *pg.Node_TypeCast:
		return pgOutputName(x.TypeCast.Arg)
	case *pg.Node_FuncCall:
		return funcName(x.FuncCall)
	}
	return ""
}

func (a *pgLineage) from(n *pg.Node, sc *scope, env *cteBind) ([]lineage, error) {
	switch x := n.Node.(type) {
	case *pg.Node_RangeVar:
		r, err := a.table(x.RangeVar, env)
		if err != nil {
			return nil, err
		}
		if al := x.RangeVar.Alias; al != nil {
			r.name, r.qual = al.Aliasname, ""
			if r.cols, err = renamePartial(r.cols, stringList(al.Colnames)); err != nil {
				return nil, err
			}
		}
		sc.rels = append(sc.rels, r)
		return r.star(), nil
	case *pg.Node_RangeSubselect:
		parent := sc.parent
		if x.RangeSubselect.Lateral {
			parent = sc
		}
		cols, err := a.query(x.RangeSubselect.Subquery.GetSelectStmt(), parent, env)
		if err != nil {
			return nil, err
		}
		r := &relation{cols: cols}
		if al := x.RangeSubselect.Alias; al != nil {
			r.name = al.Aliasname
			if r.cols, err = renamePartial(r.cols, stringList(al.Colnames)); err != nil {
				return nil, err
			}
		}
		sc.rels = append(sc.rels, r)
		return r.star(), nil
	case *pg.Node_JoinExpr:
		j := x.JoinExpr
		before := len(sc.rels)
		left, err := a.from(j.Larg, sc, env)
		if err != nil {
			return nil, err
		}
		right, err := a.from(j.Rarg, sc, env)
		if err != nil {
			return nil, err
		}
		using := stringList(j.UsingClause)
		if j.IsNatural {
			using = naturalColumns(exactNames, left, right)
		}
		star := joinStar(exactNames, left, right, using)
		if j.JoinUsingAlias != nil {
			sc.rels = append(sc.rels, &relation{name: j.JoinUsingAlias.Aliasname, cols: star[:min(len(using), len(star))]})
		}
		if j.Alias != nil { // an aliased join hides the tables inside it
			sc.rels = sc.rels[:before]
			cols, err := renamePartial(star, stringList(j.Alias.Colnames))
			if err != nil {
				return nil, err
			}
			sc.rels = append(sc.rels, &relation{name: j.Alias.Aliasname, cols: cols})
			return cols, nil
		}
		return star, nil
	case *pg.Node_RangeTableSample:
		return a.from(x.RangeTableSample.Relation, sc, env)
	case *pg.Node_RangeFunction:
		srcs, err := a.collect(n, sc, env)
		if err != nil {
			return nil, err
		}
		r := &relation{unknown: true, any: srcs}
		if al := x.RangeFunction.Alias; al != nil {
			r.name = al.Aliasname
		} else if fs := x.RangeFunction.Functions; len(fs) > 0 {
			if items := fs[0].GetList().GetItems(); len(items) > 0 {
				if f := items[0].GetFuncCall(); f != nil {
					r.name = funcName(f)
				}
			}
		}
		sc.rels = append(sc.rels, r)
		return r.star(), nil
	case *pg.Node_RangeTableFunc, *pg.Node_JsonTable:
		srcs, err := a.collect(n, sc, env)
		if err != nil {
			return nil, err
		}
		r := &relation{unknown: true, any: srcs}
		var al *pg.Alias
		if t := n.GetRangeTableFunc(); t != nil {
			al = t.Alias
		} else if t := n.GetJsonTable(); t != nil {
			al = t.Alias
		}
		if al != nil {
			r.name = al.Aliasname
		}
		sc.rels = append(sc.rels, r)
		return r.star(), nil
	}
	return nil, lineageErr("cannot follow the columns of FROM item %s", pgStmtName(n))
}

func (a *pgLineage) table(rv *pg.RangeVar, env *cteBind) (*relation, error) {
	if rv.Schemaname == "" && rv.Catalogname == "" {
		if b, ok := env.lookup(rv.Relname); ok {
			return &relation{name: rv.Relname, cols: b.cols}, nil
		}
	}
	schema := rv.Schemaname
	if schema == "" {
		schema = pgSchemaOf(rv.Relname)
	}
	table := schema + "." + rv.Relname
	info, ok, err := a.schema.Table(a.ctx, a.db, table)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, lineageErr("table %s does not exist or its columns are not visible to the query account", table)
	}
	r := &relation{name: rv.Relname, qual: schema}
	if info.View {
		if r.cols, err = a.view(table, info); err != nil {
			return nil, err
		}
	} else {
		for _, c := range info.Columns {
			r.cols = append(r.cols, lineage{name: c.Name, srcs: []Col{{DB: a.db, Table: table, Column: c.Name}}, direct: true, hidden: c.Hidden})
		}
	}
	for _, sys := range pgSystemColumns {
		r.cols = append(r.cols, lineage{name: sys, hidden: true})
	}
	return r, nil
}

func (a *pgLineage) view(table string, info TableInfo) ([]lineage, error) {
	if info.Definition == "" {
		return nil, lineageErr("view %s: its definition is not visible to the query account, so masking cannot be guaranteed", table)
	}
	if a.depth >= maxViewDepth {
		return nil, lineageErr("view %s: views nested deeper than %d", table, maxViewDepth)
	}
	def, err := sql.Parse(sql.Postgres, strings.TrimSpace(info.Definition))
	if err != nil || def.PG.GetSelectStmt() == nil {
		return nil, lineageErr("view %s: cannot parse its definition", table)
	}
	sub := &pgLineage{ctx: a.ctx, schema: a.schema, db: a.db, depth: a.depth + 1}
	ls, err := sub.query(def.PG.GetSelectStmt(), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("view %s: %w", table, err)
	}
	var names []string
	for _, c := range info.Columns {
		names = append(names, c.Name)
	}
	out, err := renameCols(ls, names)
	if err != nil {
		return nil, lineageErr("view %s: its columns do not match its definition", table)
	}
	return out, nil
}

// columnRef resolves a column reference that is not a star: a column, or
// (one bare name that is no column) a whole row of a FROM item.
func (a *pgLineage) columnRef(cr *pg.ColumnRef, sc *scope) (lineage, error) {
	f := stringList(cr.Fields)
	if len(f) != len(cr.Fields) || len(f) == 0 {
		return lineage{}, lineageErr("unsupported column reference")
	}
	if len(f) == 4 {
		if f[0] != a.db {
			return lineage{}, lineageErr("%s is another database", f[0])
		}
		f = f[1:]
	}
	var l lineage
	ok := false
	switch len(f) {
	case 1:
		if l, ok = sc.column("", "", f[0]); !ok {
			if r := sc.findRel("", f[0]); r != nil {
				return lineage{name: f[0], srcs: r.whole()}, nil
			}
		}
	case 2:
		if l, ok = sc.column("", f[0], f[1]); !ok {
			if r := sc.findRel(f[0], f[1]); r != nil {
				return lineage{name: f[1], srcs: r.whole()}, nil
			}
		}
	case 3:
		l, ok = sc.column(f[0], f[1], f[2])
	}
	if !ok {
		return lineage{}, lineageErr("cannot resolve column %s", strings.Join(f, "."))
	}
	l.name = f[len(f)-1]
	return l, nil
}

// expr is the lineage of one select-list expression.
func (a *pgLineage) expr(n *pg.Node, sc *scope, env *cteBind) (lineage, error) {
	if cr := n.GetColumnRef(); cr != nil && !isStar(cr) {
		return a.columnRef(cr, sc)
	}
	srcs, err := a.collect(n, sc, env)
	return lineage{srcs: srcs}, err
}

// collect gathers every source column an expression (or FROM item) reads.
func (a *pgLineage) collect(n *pg.Node, sc *scope, env *cteBind) ([]Col, error) {
	var srcs []Col
	var err error
	sql.WalkPG(n, func(m proto.Message) bool {
		if err != nil {
			return false
		}
		switch x := m.(type) {
		case *pg.ColumnRef:
			if isStar(x) {
				ls, e := a.starRef(x, sc)
				err = e
				srcs = addCols(srcs, allSrcs(ls)...)
				return false
			}
			l, e := a.columnRef(x, sc)
			err = e
			srcs = addCols(srcs, l.srcs...)
			return false
		case *pg.SubLink:
			if x.Testexpr != nil {
				s, e := a.collect(x.Testexpr, sc, env)
				if e != nil {
					err = e
					return false
				}
				srcs = addCols(srcs, s...)
			}
			ls, e := a.query(x.Subselect.GetSelectStmt(), sc, env)
			err = e
			srcs = addCols(srcs, allSrcs(ls)...)
			return false
		case *pg.SelectStmt:
			ls, e := a.query(x, sc, env)
			err = e
			srcs = addCols(srcs, allSrcs(ls)...)
			return false
		case *pg.FuncCall:
			// COUNT tells how many values there are, never what they are.
			if strings.EqualFold(funcName(x), "count") {
				return false
			}
		}
		return true
	})
	return srcs, err
}
