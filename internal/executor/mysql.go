package executor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/format"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	driver "github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/sql"
)

const myRestoreFlags = format.DefaultRestoreFlags | format.RestoreStringWithoutDefaultCharset | format.RestoreStringEscapeBackslash

// restore prints part of a MySQL tree (a FROM clause, a condition) back as
// SQL, for the before-images built around it; whole statements are printed
// by Parsed.Render (render).
func restore(n ast.Node) (string, error) {
	var sb strings.Builder
	if err := n.Restore(format.NewRestoreCtx(myRestoreFlags, &sb)); err != nil {
		return "", fmt.Errorf("print statement: %w", err)
	}
	return sb.String(), nil
}

// singleTable returns the only table of a FROM/UPDATE clause.
func singleTable(refs *ast.TableRefsClause) (*ast.TableSource, *ast.TableName, bool) {
	if refs == nil || refs.TableRefs == nil || refs.TableRefs.Right != nil {
		return nil, nil, false
	}
	ts, ok := refs.TableRefs.Left.(*ast.TableSource)
	if !ok {
		return nil, nil, false
	}
	tn, ok := ts.Source.(*ast.TableName)
	return ts, tn, ok
}

// myImageCols lists t's columns for a before-image: TIMESTAMP columns as
// UNIX_TIMESTAMP(), so that the image does not depend on time_zone, FLOAT
// as DOUBLE.
func myImageCols(t *table) string { return myImageColsOf(t, "") }

// myImageColsOf qualifies the columns with qual (a quoted alias) if set.
func myImageColsOf(t *table, qual string) string {
	cols := make([]string, len(t.Cols))
	for i, c := range t.Cols {
		q := sql.QuoteIdent(sql.MySQL, c.Name)
		if qual != "" {
			q = qual + "." + q
		}
		switch c.Type {
		case "timestamp":
			q = "UNIX_TIMESTAMP(" + q + ")"
		case "float":
			// MariaDB prints FLOAT with 6 digits, which loses bits;
			// widened to DOUBLE it prints exactly.
			q = "(" + q + " + 0e0)"
		}
		cols[i] = q
	}
	return strings.Join(cols, ", ")
}

func quoteList(d sql.Dialect, names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = sql.QuoteIdent(d, n)
	}
	return strings.Join(q, ", ")
}

// myExplainRows is the optimizer's row estimate of the first table in
// EXPLAIN's answer; -1 when unknown.
func myExplainRows(ctx context.Context, conn engine.Conn, text string) int64 {
	rows, _, err := conn.Query(ctx, 20, "EXPLAIN "+text)
	if err != nil || len(rows.Values) == 0 {
		return -1
	}
	for i, c := range rows.Columns {
		if strings.EqualFold(c, "rows") {
			var best int64 = -1
			for _, r := range rows.All() {
				if n, ok := engine.Int64(r[i]); ok && n > best {
					best = n
				}
			}
			return best
		}
	}
	return -1
}

// planMySQLDML plans an UPDATE, DELETE, INSERT or REPLACE on conn (the
// session). A statement the MySQL grammar did not parse runs as written,
// without rollback.
func planMySQLDML(ctx context.Context, conn engine.Conn, s *stmt) (*dmlOp, error) {
	op := &dmlOp{verb: s.Verb, sql: s.Text, estimate: -1}
	if s.tree != nil && s.tree.Rewritten {
		// The grammar read a normalised text (a /*M! comment opened,
		// MariaDB syntax blanked): images and chunks built from its tree
		// might not be the statement the server runs.
		op.noRollback("the MySQL grammar read the statement normalised (%s): it runs as written, in one unit", notes(s.tree))
		return op, nil
	}
	switch n := s.my.(type) {
	case *ast.UpdateStmt:
		if _, _, ok := singleTable(n.TableRefs); !ok || n.MultipleTable {
			var quals []string
			for _, a := range n.List {
				quals = append(quals, a.Column.Table.O)
			}
			return op, planMyMultiTable(ctx, conn, s, op, n.TableRefs, n.Where, quals, n.List)
		}
		return op, planMyUpdateDelete(ctx, conn, s, op, n.TableRefs, n.MultipleTable, n.Where, n.Order, n.Limit, n.List)
	case *ast.DeleteStmt:
		if n.IsMultiTable {
			var quals []string
			if n.Tables != nil {
				for _, t := range n.Tables.Tables {
					quals = append(quals, t.Name.O)
				}
			}
			return op, planMyMultiTable(ctx, conn, s, op, n.TableRefs, n.Where, quals, nil)
		}
		return op, planMyUpdateDelete(ctx, conn, s, op, n.TableRefs, n.IsMultiTable, n.Where, n.Order, n.Limit, nil)
	case *ast.InsertStmt:
		return op, planMyInsert(ctx, conn, s, op, n)
	case nil:
		op.noRollback("%s", s.noTree)
		return op, nil
	}
	op.noRollback("%s has no before-image support", s.Verb)
	return op, nil
}

func planMyUpdateDelete(ctx context.Context, conn engine.Conn, s *stmt, op *dmlOp, refs *ast.TableRefsClause, multi bool,
	where ast.ExprNode, order *ast.OrderByClause, limit *ast.Limit, set []*ast.Assignment) error {
	op.estimate = myExplainRows(ctx, conn, s.Text)
	_, tn, _ := singleTable(refs)
	if ok, err := op.loadTarget(ctx, conn, sql.MySQL, tn.Schema.O, tn.Name.O, assignedCols(set)); err != nil || !ok {
		return err
	}
	t := op.t
	from, err := restore(refs)
	if err != nil {
		return err
	}
	var whereText, tail string
	if where != nil {
		if whereText, err = restore(where); err != nil {
			return err
		}
	}
	if order != nil {
		t, err := restore(order)
		if err != nil {
			return err
		}
		tail += " " + t
	}
	if limit != nil {
		t, err := restore(limit)
		if err != nil {
			return err
		}
		tail += " " + t
	}
	op.undoImage()
	op.image = "SELECT " + myImageCols(t) + " FROM " + from + whereAnd(whereText, "") + tail + " FOR UPDATE"
	if order != nil || limit != nil {
		op.notes = append(op.notes, "ORDER BY/LIMIT: runs as one statement, not in chunks")
		return nil
	}

	// Chunks: the same statement restricted to a primary-key range.
	rangeExpr := func(lo, hi []any) (ast.ExprNode, []any, error) {
		pred, args := rangePred(sql.MySQL, "", t.PK, nil, lo, hi, questionMarks())
		p, err := sql.Parse(sql.MySQL, "SELECT 1 FROM DUAL WHERE "+pred)
		if err != nil {
			return nil, nil, fmt.Errorf("build chunk range: %w", err)
		}
		return p.MySQL.(*ast.SelectStmt).Where, args, nil
	}
	pkList := quoteList(sql.MySQL, t.PK)
	tree, stmtNode := s.tree, s.my // the chunks change and print it while the statement runs
	op.chunk = &chunker{
		bound: func(lo []any, n int) (string, []any) {
			pred, args := rangePred(sql.MySQL, "", t.PK, nil, lo, nil, questionMarks())
			return "SELECT " + pkList + " FROM " + from + whereAnd(whereText, pred) + " ORDER BY " + pkList + " LIMIT 2 OFFSET " + strconv.Itoa(n-1), args
		},
		stmt: func(lo, hi []any) (string, []any, error) {
			rng, args, err := rangeExpr(lo, hi)
			if err != nil {
				return "", nil, err
			}
			var cond ast.ExprNode = rng
			if where != nil {
				cond = &ast.BinaryOperationExpr{Op: opcode.LogicAnd, L: &ast.ParenthesesExpr{Expr: where}, R: &ast.ParenthesesExpr{Expr: rng}}
			}
			switch n := stmtNode.(type) {
			case *ast.UpdateStmt:
				n.Where = cond
				defer func() { n.Where = where }()
			case *ast.DeleteStmt:
				n.Where = cond
				defer func() { n.Where = where }()
			}
			text, err := render(tree)
			return text, args, err
		},
		image: func(lo, hi []any) (string, []any) {
			pred, args := rangePred(sql.MySQL, "", t.PK, nil, lo, hi, questionMarks())
			return "SELECT " + myImageCols(t) + " FROM " + from + whereAnd(whereText, pred) + " FOR UPDATE", args
		},
	}
	return nil
}

// tableSources lists the tables of a FROM clause's join tree.
func tableSources(n ast.ResultSetNode, out []*ast.TableSource) []*ast.TableSource {
	switch x := n.(type) {
	case *ast.Join:
		out = tableSources(x.Left, out)
		if x.Right != nil {
			out = tableSources(x.Right, out)
		}
	case *ast.TableSource:
		if _, ok := x.Source.(*ast.TableName); ok {
			out = append(out, x)
		}
	}
	return out
}

// planMyMultiTable plans a multi-table UPDATE or DELETE that changes one
// table (quals name it by alias or name, "" when unqualified): its
// before-image joins the same tables. It runs as one statement.
func planMyMultiTable(ctx context.Context, conn engine.Conn, s *stmt, op *dmlOp, refs *ast.TableRefsClause, where ast.ExprNode,
	quals []string, set []*ast.Assignment) error {
	op.estimate = myExplainRows(ctx, conn, s.Text)
	if refs == nil || refs.TableRefs == nil {
		op.noRollback("cannot tell the %s's tables", op.verb)
		return nil
	}
	sources := tableSources(refs.TableRefs, nil)
	target := ""
	for _, q := range quals {
		if q == "" && len(sources) == 1 {
			q = sources[0].Source.(*ast.TableName).Name.O
			if sources[0].AsName.O != "" {
				q = sources[0].AsName.O
			}
		}
		if q == "" || target != "" && !strings.EqualFold(q, target) {
			op.noRollback("the %s changes several tables, or its columns are not qualified", op.verb)
			return nil
		}
		target = q
	}
	var ts *ast.TableSource
	for _, src := range sources {
		tn := src.Source.(*ast.TableName)
		if strings.EqualFold(src.AsName.O, target) || src.AsName.O == "" && strings.EqualFold(tn.Name.O, target) {
			ts = src
		}
	}
	if ts == nil {
		op.noRollback("cannot tell which table the %s changes", op.verb)
		return nil
	}
	tn := ts.Source.(*ast.TableName)
	if ok, err := op.loadTarget(ctx, conn, sql.MySQL, tn.Schema.O, tn.Name.O, assignedCols(set)); err != nil || !ok {
		return err
	}
	t := op.t
	from, err := restore(refs)
	if err != nil {
		return err
	}
	qual := sql.QuoteIdent(sql.MySQL, tn.Name.O)
	if ts.AsName.O != "" {
		qual = sql.QuoteIdent(sql.MySQL, ts.AsName.O)
	} else if tn.Schema.O != "" {
		qual = sql.QuoteQualified(sql.MySQL, tn.Schema.O, tn.Name.O)
	}
	op.image = "SELECT " + myImageColsOf(t, qual) + " FROM " + from
	if where != nil {
		w, err := restore(where)
		if err != nil {
			return err
		}
		op.image += " WHERE " + w
	}
	op.image += " FOR UPDATE"
	op.undoImage()
	op.notes = append(op.notes, "joins other tables: runs as one statement, not in chunks")
	return nil
}

// myLiteral is the value of a literal expression, ok=false for anything
// else. isDefault marks DEFAULT.
func myLiteral(e ast.ExprNode) (v any, ok, isDefault bool) {
	switch x := e.(type) {
	case *ast.DefaultExpr:
		return nil, true, true
	case *driver.ValueExpr:
		switch y := x.GetValue().(type) {
		case nil:
			return nil, true, false
		case int64:
			return y, true, false
		case uint64:
			if y <= math.MaxInt64 {
				return int64(y), true, false
			}
			return strconv.FormatUint(y, 10), true, false
		case float64:
			return y, true, false
		case string:
			return y, true, false
		case *driver.MyDecimal:
			return y.String(), true, false
		case driver.BinaryLiteral:
			return []byte(y), true, false
		}
		return nil, false, false
	case *ast.UnaryOperationExpr:
		if x.Op != opcode.Minus {
			return nil, false, false
		}
		v, ok, _ := myLiteral(x.V)
		switch y := v.(type) {
		case int64:
			return -y, ok, false
		case float64:
			return -y, ok, false
		case string:
			return "-" + y, ok, false
		}
	case *ast.ParenthesesExpr:
		return myLiteral(x.Expr)
	}
	return nil, false, false
}

func planMyInsert(ctx context.Context, conn engine.Conn, s *stmt, op *dmlOp, n *ast.InsertStmt) error {
	_, tn, ok := singleTable(n.Table)
	if !ok {
		op.noRollback("cannot tell the INSERT's table")
		return nil
	}
	t, err := loadTable(ctx, conn, sql.MySQL, tn.Schema.O, tn.Name.O)
	if err != nil {
		return err
	}
	op.t = t
	// The columns written and the rows of literal expressions.
	var cols []string
	var rows [][]ast.ExprNode
	// INSERT ... SET a = 1 arrives as Columns and one row of Lists.
	for _, c := range n.Columns {
		cols = append(cols, c.Name.O)
	}
	if len(cols) == 0 {
		for _, c := range t.Cols {
			cols = append(cols, c.Name)
		}
	}
	rows = n.Lists
	if n.Select == nil {
		op.estimate = int64(len(rows))
	} else {
		op.estimate = myExplainRows(ctx, conn, s.Text)
	}
	if len(t.PK) == 0 {
		op.noRollback("table %s has no primary key", t)
		return nil
	}
	pos := func(name string) int {
		for i, c := range cols {
			if strings.EqualFold(c, name) {
				return i
			}
		}
		return -1
	}
	pkPos := make([]int, len(t.PK))
	allPK := true
	for i, k := range t.PK {
		pkPos[i] = pos(k)
		allPK = allPK && pkPos[i] >= 0
	}
	plain := !n.IsReplace && !n.IgnoreErr && len(n.OnDuplicate) == 0
	autoPK := len(t.PK) == 1 && t.col(t.PK[0]).AutoInc
	op.undo = undoInsert

	if n.Select != nil {
		switch {
		case !plain:
			op.noRollback("INSERT ... SELECT with IGNORE, REPLACE or ON DUPLICATE KEY UPDATE")
		case allPK:
			sel, err := restore(n.Select)
			if err != nil {
				return err
			}
			op.preSelect = sel
			op.keyPos = pkPos
		case autoPK:
			op.autoInc = true
			op.notes = append(op.notes, "new keys from LAST_INSERT_ID(): consecutive with innodb_autoinc_lock_mode 0 or 1")
		default:
			op.noRollback("the primary key of the inserted rows is not known")
		}
		return nil
	}

	// VALUES or SET: the new keys are literals, or auto-increment values.
	allLiteral, allAuto := true, true
	for _, row := range rows {
		key := make([]any, len(t.PK))
		for i, p := range pkPos {
			if p < 0 || p >= len(row) {
				allLiteral = false
				continue
			}
			v, ok, isDef := myLiteral(row[p])
			if !ok || isDef || v == nil {
				allLiteral = false
				if !(isDef || ok && v == nil || ok && v == int64(0)) {
					allAuto = false
				}
				continue
			}
			allAuto = false
			key[i] = v
		}
		if allLiteral {
			op.newKeys = append(op.newKeys, key)
		}
	}
	switch {
	case allLiteral:
	case allAuto && autoPK && plain:
		op.newKeys = nil
		op.autoInc = true
	default:
		op.newKeys = nil
		op.noRollback("the primary key values are neither all literals nor all auto-increment")
		return nil
	}
	if plain {
		return nil
	}
	if op.autoInc {
		op.noRollback("IGNORE, REPLACE or ON DUPLICATE KEY UPDATE with auto-increment keys")
		return nil
	}
	// Rows the statement may change or replace: those matching any unique
	// key of a new row. Every unique key's values must be literals.
	// Rows are restored by primary key: ON DUPLICATE KEY UPDATE may
	// change any column but that.
	for _, a := range n.OnDuplicate {
		if t.isPK(a.Column.Name.O) {
			op.noRollback("ON DUPLICATE KEY UPDATE changes the primary key column %s", a.Column.Name.O)
			return nil
		}
	}
	var conds []string
	for _, u := range t.Unique {
		var tuples []string
		for _, row := range rows {
			vals := make([]string, len(u))
			for i, c := range u {
				p := pos(c)
				if p < 0 || p >= len(row) {
					op.noRollback("unique key column %s has no literal value", c)
					return nil
				}
				v, ok, isDef := myLiteral(row[p])
				if !ok || isDef {
					op.noRollback("unique key column %s has no literal value", c)
					return nil
				}
				vals[i] = literal(sql.MySQL, v, "")
			}
			tuples = append(tuples, "("+strings.Join(vals, ", ")+")")
		}
		conds = append(conds, "("+quoteList(sql.MySQL, u)+") IN ("+strings.Join(tuples, ", ")+")")
	}
	op.image = "SELECT " + myImageCols(t) + " FROM " + t.Ref() + " WHERE " + strings.Join(conds, " OR ") + " FOR UPDATE"
	return nil
}

// myError returns the MySQL error number in err's chain, 0 if none.
func myError(err error) uint16 {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// assignedCols are the columns a SET list assigns.
func assignedCols(set []*ast.Assignment) []string {
	cols := make([]string, len(set))
	for i, a := range set {
		cols[i] = a.Column.Name.O
	}
	return cols
}
