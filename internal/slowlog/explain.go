package slowlog

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	pgquery "github.com/pganalyze/pg_query_go/v6"
	tidb "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // value expressions for the MySQL parser

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/audit"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// refusedFuncs are functions a SELECT may not call to be explained: they
// wait, lock or burn CPU should a server evaluate them while planning.
var refusedFuncs = map[string]bool{
	"sleep": true, "benchmark": true, "get_lock": true, "release_lock": true, "release_all_locks": true,
	"is_free_lock": true, "is_used_lock": true, "master_pos_wait": true, "source_pos_wait": true,
	"load_file": true, "pg_sleep": true, "pg_sleep_for": true, "pg_sleep_until": true,
	"pg_advisory_lock": true, "pg_advisory_xact_lock": true, "dblink": true, "dblink_exec": true,
}

// explainable checks that an example is one plain SELECT (a UNION of
// SELECTs, WITH ... SELECT) that EXPLAIN may look at: no INTO, no locking
// clause, no waiting or locking function. It returns the statement to
// explain.
func explainable(k engine.Kind, example string) (string, error) {
	stmt := strings.TrimSpace(example)
	stmt = strings.TrimRight(stmt, "; \t\r\n")
	switch {
	case stmt == "":
		return "", errkind.New(errkind.Invalid, "the class has no example statement")
	case strings.HasSuffix(stmt, strings.TrimSpace(truncatedMark)):
		return "", errkind.New(errkind.Invalid, "the example was truncated when stored (longer than %d bytes)", maxExample)
	}
	switch {
	case mysqlFamily(k):
		return stmt, checkMySQLSelect(stmt)
	case k == engine.Postgres:
		return stmt, checkPostgresSelect(stmt)
	}
	return "", errkind.New(errkind.Invalid, "EXPLAIN is for SQL engines; %s has none", k)
}

type selectChecker struct{ err error }

func (v *selectChecker) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.SelectStmt:
		if x.SelectIntoOpt != nil {
			v.err = errkind.New(errkind.Invalid, "the example writes a file or variables (SELECT ... INTO): not explained")
		}
		if x.LockInfo != nil && x.LockInfo.LockType != ast.SelectLockNone {
			v.err = errkind.New(errkind.Invalid, "the example takes locks (FOR UPDATE / LOCK IN SHARE MODE): not explained")
		}
	case *ast.FuncCallExpr:
		if refusedFuncs[x.FnName.L] {
			v.err = errkind.New(errkind.Invalid, "the example calls %s(): not explained", x.FnName.O)
		}
	}
	return n, v.err != nil
}

func (v *selectChecker) Leave(n ast.Node) (ast.Node, bool) { return n, v.err == nil }

func checkMySQLSelect(stmt string) error {
	nodes, _, err := tidb.New().Parse(stmt, "", "")
	if err != nil {
		return errkind.New(errkind.Invalid, "the example does not parse as a SELECT (%s): EXPLAIN runs only on SELECTs", firstLine(err.Error()))
	}
	if len(nodes) != 1 {
		return errkind.New(errkind.Invalid, "the example holds %d statements: EXPLAIN runs only on one SELECT", len(nodes))
	}
	switch nodes[0].(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
	default:
		return errkind.New(errkind.Invalid, "the example is not a SELECT: EXPLAIN runs only on SELECTs, never on statements that change data")
	}
	v := &selectChecker{}
	nodes[0].Accept(v)
	return v.err
}

func checkPostgresSelect(stmt string) error {
	tree, err := pgquery.Parse(stmt)
	if err != nil {
		return errkind.New(errkind.Invalid, "the example does not parse as a SELECT (%s): EXPLAIN runs only on SELECTs", firstLine(err.Error()))
	}
	if len(tree.Stmts) != 1 {
		return errkind.New(errkind.Invalid, "the example holds %d statements: EXPLAIN runs only on one SELECT", len(tree.Stmts))
	}
	sel := tree.Stmts[0].GetStmt().GetSelectStmt()
	if sel == nil {
		return errkind.New(errkind.Invalid, "the example is not a SELECT: EXPLAIN runs only on SELECTs, never on statements that change data")
	}
	var check func(s *pgquery.SelectStmt) error
	check = func(s *pgquery.SelectStmt) error {
		if s == nil {
			return nil
		}
		if s.GetIntoClause() != nil {
			return errkind.New(errkind.Invalid, "the example creates a table (SELECT ... INTO): not explained")
		}
		if len(s.GetLockingClause()) > 0 {
			return errkind.New(errkind.Invalid, "the example takes locks (FOR UPDATE/SHARE): not explained")
		}
		for _, cte := range s.GetWithClause().GetCtes() {
			q := cte.GetCommonTableExpr().GetCtequery()
			if q.GetSelectStmt() == nil {
				return errkind.New(errkind.Invalid, "the example's WITH clause changes data: not explained")
			}
			if err := check(q.GetSelectStmt()); err != nil {
				return err
			}
		}
		if err := check(s.GetLarg()); err != nil {
			return err
		}
		return check(s.GetRarg())
	}
	if err := check(sel); err != nil {
		return err
	}
	js, err := pgquery.ParseToJSON(stmt)
	if err == nil {
		for f := range refusedFuncs {
			if strings.Contains(js, `{"sval":"`+f+`"}`) {
				return errkind.New(errkind.Invalid, "the example calls %s(): not explained", f)
			}
		}
		if strings.Contains(js, `"ParamRef"`) {
			return errkind.New(errkind.Invalid, "the example has parameters ($1...) as pg_stat_statements normalizes statements: EXPLAIN needs literal values (or PostgreSQL 16's GENERIC_PLAN)")
		}
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// ExplainResult is the plan of a class's example.
type ExplainResult struct {
	Instance  string        `json:"instance"`
	QueryID   string        `json:"query_id"`
	Database  string        `json:"database,omitempty"`
	Statement string        `json:"statement"`
	Columns   []string      `json:"columns"`
	Rows      [][]any       `json:"rows"`
	Took      time.Duration `json:"took_ns"`
}

// sessioner opens a connection of its own (SET SESSION carries over).
type sessioner interface {
	Session(ctx context.Context) (engine.Conn, error)
}

// Explain runs EXPLAIN on a class's example, on the instance, read-only:
// only a single SELECT is explained, in a read-only session, with a
// statement timeout; only for a caller who may see the whole example.
func (s *Service) Explain(ctx context.Context, p auth.Principal, instance, queryID string) (ExplainResult, error) {
	if err := p.Require(auth.SlowlogRead); err != nil {
		return ExplainResult{}, err
	}
	in, err := s.instance(ctx, instance)
	if err != nil {
		return ExplainResult{}, err
	}
	switch access, err := s.access(ctx, p, in.Name); {
	case err != nil:
		return ExplainResult{}, err
	case access == AccessNone:
		_, note := exampleFor(access, p, in.Name, in.Engine, "", "")
		return ExplainResult{}, errkind.New(errkind.Forbidden, "refused: %s", note)
	case access == AccessNormalized:
		return ExplainResult{}, errkind.New(errkind.Forbidden, "%s", maskedExplain(p, in.Name))
	}
	c, err := s.findClass(ctx, in, queryID)
	if err != nil {
		return ExplainResult{}, err
	}
	stmt, err := explainable(in.Engine, c.ex)
	if err != nil {
		return ExplainResult{}, err
	}
	timeout := s.ExplainTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	conn, err := s.inv.Connect(ctx, instance, c.exDB)
	if err != nil {
		return ExplainResult{}, err
	}
	defer conn.Close()
	if sp, ok := conn.(sessioner); ok {
		sess, err := sp.Session(ctx)
		if err != nil {
			return ExplainResult{}, fmt.Errorf("explain on %q: %w", instance, err)
		}
		defer sess.Close()
		conn = sess
	}
	var setup []string
	query := "EXPLAIN " + stmt
	secs := strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64)
	switch in.Engine {
	case engine.MariaDB:
		setup = []string{"SET SESSION TRANSACTION READ ONLY"}
		query = "SET STATEMENT max_statement_time=" + secs + " FOR EXPLAIN " + stmt
	case engine.MySQL:
		setup = []string{"SET SESSION TRANSACTION READ ONLY", "SET SESSION max_execution_time=" + strconv.FormatInt(timeout.Milliseconds(), 10)}
	case engine.TiDB:
		setup = []string{"SET SESSION max_execution_time=" + strconv.FormatInt(timeout.Milliseconds(), 10)}
	case engine.Postgres:
		setup = []string{"SET statement_timeout = " + strconv.FormatInt(timeout.Milliseconds(), 10), "SET default_transaction_read_only = on"}
	}
	for _, q := range setup {
		if _, err := conn.Exec(ctx, q); err != nil {
			return ExplainResult{}, fmt.Errorf("explain on %q: %s: %w", instance, q, err)
		}
	}
	start := s.now()
	rows, _, err := conn.Query(ctx, 1000, query)
	if err != nil {
		return ExplainResult{}, fmt.Errorf("explain on %q: %w", instance, err)
	}
	res := ExplainResult{Instance: instance, QueryID: c.qid, Database: c.exDB, Statement: "EXPLAIN " + stmt,
		Columns: rows.Columns, Rows: rows.Values, Took: s.now().Sub(start)}
	for _, r := range res.Rows {
		for i, v := range r {
			if b, ok := v.([]byte); ok {
				r[i] = string(b)
			}
		}
	}
	if err := audit.Record(ctx, s.db, "slowlog.explain", instance, map[string]any{"query_id": c.qid}); err != nil {
		return ExplainResult{}, err
	}
	return res, nil
}
