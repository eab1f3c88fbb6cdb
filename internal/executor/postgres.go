package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// pgSelectText prints a SELECT made of parts of a statement's tree (its
// WHERE, its FROM items): sql.Parse reads an empty SELECT, fill hangs the
// parts on its tree, and Parsed.Render prints it.
func pgSelectText(fill func(*pg.SelectStmt)) (string, error) {
	p, err := sql.Parse(sql.Postgres, "SELECT")
	if err != nil {
		return "", err
	}
	fill(p.PG.GetSelectStmt())
	out, err := p.Render()
	if err != nil {
		return "", fmt.Errorf("print statement: %w", err)
	}
	return out, nil
}

// pgExprText prints an expression (through SELECT WHERE expr).
func pgExprText(e *pg.Node) (string, error) {
	out, err := pgSelectText(func(sel *pg.SelectStmt) { sel.WhereClause = e })
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(out, "SELECT WHERE "), nil
}

// pgFromText prints FROM items (through SELECT FROM items).
func pgFromText(items []*pg.Node) (string, error) {
	out, err := pgSelectText(func(sel *pg.SelectStmt) { sel.FromClause = items })
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(out, "SELECT FROM "), nil
}

// pgParseExpr parses an expression (with $n placeholders) built by the
// executor (a chunk's key range).
func pgParseExpr(text string) (*pg.Node, error) {
	p, err := sql.Parse(sql.Postgres, "SELECT WHERE "+text)
	if err != nil {
		return nil, fmt.Errorf("build condition: %w", err)
	}
	return p.PG.GetSelectStmt().WhereClause, nil
}

// render prints a statement from its tree as the executor changed it (a
// chunk's range added to its WHERE, a RETURNING clause): Parsed.Render.
func render(p *sql.Parsed) (string, error) {
	out, err := p.Render()
	if err != nil {
		return "", fmt.Errorf("print statement: %w", err)
	}
	return out, nil
}

// pgImageCols lists t's columns as text, qualified with q.
func pgImageCols(t *table, q string) string {
	cols := make([]string, len(t.Cols))
	for i, c := range t.Cols {
		cols[i] = q + "." + sql.QuoteIdent(sql.Postgres, c.Name) + "::text"
	}
	return strings.Join(cols, ", ")
}

// pgExplainRows is the planner's row estimate of a DML statement.
func pgExplainRows(ctx context.Context, conn engine.Conn, text string) int64 {
	rows, _, err := conn.Query(ctx, 1, "EXPLAIN (FORMAT JSON) "+text)
	if err != nil || len(rows.Values) == 0 {
		return -1
	}
	var plans []struct {
		Plan struct {
			NodeType string  `json:"Node Type"`
			Rows     float64 `json:"Plan Rows"`
			Plans    []struct {
				Rows float64 `json:"Plan Rows"`
			} `json:"Plans"`
		} `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(rows.String(0, 0)), &plans); err != nil || len(plans) == 0 {
		return -1
	}
	p := plans[0].Plan
	if p.NodeType == "ModifyTable" && len(p.Plans) > 0 {
		return int64(p.Plans[0].Rows)
	}
	return int64(p.Rows)
}

// pgState returns err's SQLSTATE, "" if none.
func pgState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func planPGDML(ctx context.Context, conn engine.Conn, s *stmt) (*dmlOp, error) {
	op := &dmlOp{verb: s.Verb, sql: s.Text, estimate: -1}
	switch n := s.pg.Node.(type) {
	case *pg.Node_UpdateStmt:
		u := n.UpdateStmt
		op.estimate = pgExplainRows(ctx, conn, s.Text)
		var setCols []string
		for _, tgt := range u.TargetList {
			if rt := tgt.GetResTarget(); rt != nil {
				setCols = append(setCols, rt.Name)
			}
		}
		return op, planPGUpdateDelete(ctx, conn, s, op, u.Relation, u.FromClause, u.WithClause, &u.WhereClause, setCols)
	case *pg.Node_DeleteStmt:
		d := n.DeleteStmt
		op.estimate = pgExplainRows(ctx, conn, s.Text)
		return op, planPGUpdateDelete(ctx, conn, s, op, d.Relation, d.UsingClause, d.WithClause, &d.WhereClause, nil)
	case *pg.Node_InsertStmt:
		return op, planPGInsert(ctx, conn, s, op, n.InsertStmt)
	}
	op.estimate = pgExplainRows(ctx, conn, s.Text)
	op.noRollback("%s has no before-image support", s.Verb)
	return op, nil
}

// planPGUpdateDelete: where points into the statement's tree, so that
// chunks can restrict it.
func planPGUpdateDelete(ctx context.Context, conn engine.Conn, s *stmt, op *dmlOp, rel *pg.RangeVar, from []*pg.Node,
	with *pg.WithClause, where **pg.Node, setCols []string) error {
	if ok, err := op.loadTarget(ctx, conn, sql.Postgres, rel.Schemaname, rel.Relname, setCols); err != nil || !ok {
		return err
	}
	t := op.t
	if with != nil {
		op.noRollback("a WITH clause (the before-image would run it twice)")
		return nil
	}
	d := sql.Postgres
	q := sql.QuoteIdent(d, rel.Relname)
	if rel.Alias != nil {
		q = sql.QuoteIdent(d, rel.Alias.Aliasname)
	}
	fromText, err := pgFromText(append([]*pg.Node{{Node: &pg.Node_RangeVar{RangeVar: rel}}}, from...))
	if err != nil {
		return err
	}
	orig := *where
	tree := s.tree // the chunks change and print it while the statement runs
	var whereText string
	if orig != nil {
		if whereText, err = pgExprText(orig); err != nil {
			return err
		}
	}
	op.undoImage()
	op.image = "SELECT " + pgImageCols(t, q) + " FROM " + fromText + whereAnd(whereText, "") + " FOR UPDATE OF " + q
	if len(from) > 0 {
		op.notes = append(op.notes, "joins other tables: runs as one statement, not in chunks")
		return nil
	}
	pkList := make([]string, len(t.PK))
	for i, c := range t.PK {
		pkList[i] = q + "." + sql.QuoteIdent(d, c)
	}
	order := strings.Join(pkList, ", ")
	pkTypes := make([]string, len(t.PK))
	for i, c := range t.PK {
		pkTypes[i] = t.col(c).Type
	}
	op.chunk = &chunker{
		bound: func(lo []any, n int) (string, []any) {
			pred, args := rangePred(d, q, t.PK, pkTypes, lo, nil, dollars(1))
			cols := make([]string, len(pkList))
			for i, c := range pkList {
				cols[i] = c + "::text"
			}
			return fmt.Sprintf("SELECT %s FROM %s%s ORDER BY %s LIMIT 2 OFFSET %d", strings.Join(cols, ", "), fromText, whereAnd(whereText, pred), order, n-1), args
		},
		stmt: func(lo, hi []any) (string, []any, error) {
			pred, args := rangePred(d, q, t.PK, pkTypes, lo, hi, dollars(1))
			rng, err := pgParseExpr(pred)
			if err != nil {
				return "", nil, err
			}
			cond := rng
			if orig != nil {
				cond = pg.MakeBoolExprNode(pg.BoolExprType_AND_EXPR, []*pg.Node{orig, rng}, -1)
			}
			*where = cond
			defer func() { *where = orig }()
			text, err := render(tree)
			return text, args, err
		},
		image: func(lo, hi []any) (string, []any) {
			pred, args := rangePred(d, q, t.PK, pkTypes, lo, hi, dollars(1))
			return "SELECT " + pgImageCols(t, q) + " FROM " + fromText + whereAnd(whereText, pred) + " FOR UPDATE OF " + q, args
		},
	}
	return nil
}

// pgConstText is the text of a literal (A_Const, possibly cast), ok=false
// for anything else; NULL is (nil, true).
func pgConstText(n *pg.Node) (any, bool) {
	if tc := n.GetTypeCast(); tc != nil {
		return pgConstText(tc.Arg)
	}
	c := n.GetAConst()
	if c == nil {
		return nil, false
	}
	if c.Isnull {
		return nil, true
	}
	switch v := c.Val.(type) {
	case *pg.A_Const_Ival:
		return fmt.Sprint(v.Ival.Ival), true
	case *pg.A_Const_Fval:
		return v.Fval.Fval, true
	case *pg.A_Const_Sval:
		return v.Sval.Sval, true
	case *pg.A_Const_Boolval:
		return fmt.Sprint(v.Boolval.Boolval), true
	case *pg.A_Const_Bsval:
		return v.Bsval.Bsval, true
	}
	return nil, false
}

func planPGInsert(ctx context.Context, conn engine.Conn, s *stmt, op *dmlOp, ins *pg.InsertStmt) error {
	op.estimate = pgExplainRows(ctx, conn, s.Text)
	if ok, err := op.loadTarget(ctx, conn, sql.Postgres, ins.Relation.Schemaname, ins.Relation.Relname, nil); err != nil || !ok {
		return err
	}
	t := op.t
	if ins.WithClause != nil {
		op.noRollback("a WITH clause")
		return nil
	}
	d := sql.Postgres
	oc := ins.OnConflictClause
	if oc != nil && oc.Action == pg.OnConflictAction_ONCONFLICT_UPDATE {
		for _, tgt := range oc.TargetList {
			if rt := tgt.GetResTarget(); rt != nil && t.isPK(rt.Name) {
				op.noRollback("ON CONFLICT DO UPDATE changes the primary key column %s", rt.Name)
				return nil
			}
		}
		// The rows it may update: those matching the new rows' unique keys.
		var cols []string
		for _, c := range ins.Cols {
			cols = append(cols, c.GetResTarget().Name)
		}
		if len(cols) == 0 {
			for _, c := range t.Cols {
				cols = append(cols, c.Name)
			}
		}
		var lists []*pg.Node
		if sel := ins.SelectStmt.GetSelectStmt(); sel != nil {
			lists = sel.ValuesLists
		}
		if len(lists) == 0 {
			op.noRollback("ON CONFLICT DO UPDATE without a VALUES list")
			return nil
		}
		var conds []string
		for _, u := range t.Unique {
			var tuples []string
			for _, l := range lists {
				items := l.GetList().Items
				vals := make([]string, len(u))
				for i, c := range u {
					p := -1
					for j, name := range cols {
						if name == c {
							p = j
						}
					}
					if p < 0 || p >= len(items) {
						op.noRollback("unique key column %s has no literal value", c)
						return nil
					}
					v, ok := pgConstText(items[p])
					if !ok {
						op.noRollback("unique key column %s has no literal value", c)
						return nil
					}
					vals[i] = literal(d, v, "")
				}
				tuples = append(tuples, "("+strings.Join(vals, ", ")+")")
			}
			conds = append(conds, "("+quoteList(d, u)+") IN ("+strings.Join(tuples, ", ")+")")
		}
		q := sql.QuoteIdent(d, t.Name)
		op.image = "SELECT " + pgImageCols(t, q) + " FROM " + t.Ref() + " AS " + q + " WHERE " + strings.Join(conds, " OR ") + " FOR UPDATE"
	}
	// RETURNING the primary key tells exactly which rows it wrote.
	ret := make([]*pg.Node, len(t.PK))
	for i, c := range t.PK {
		col := pg.MakeColumnRefNode([]*pg.Node{pg.MakeStrNode(c)}, -1)
		cast := &pg.Node{Node: &pg.Node_TypeCast{TypeCast: &pg.TypeCast{Arg: col, TypeName: &pg.TypeName{Names: []*pg.Node{pg.MakeStrNode("text")}, Location: -1}, Location: -1}}}
		ret[i] = pg.MakeResTargetNodeWithVal(cast, -1)
	}
	saved := ins.ReturningList
	ins.ReturningList = ret
	var err error
	op.sql, err = render(s.tree)
	ins.ReturningList = saved
	if err != nil {
		return err
	}
	op.returning = true
	op.undo = undoInsert
	return nil
}
