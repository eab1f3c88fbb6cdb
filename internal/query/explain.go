package query

import (
	"context"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// Explain runs EXPLAIN of one statement (req.Statement is the statement
// to explain, not an EXPLAIN) for p, with exactly the checks of an
// EXPLAIN typed in the console: p's grants on every table it reads, the
// allow-lists, the read-only session and timeout, and the tabular format
// (the one that prints no values). The statement is wrapped in EXPLAIN
// in its syntax tree, never by pasting text. It is audited as query.run
// with explain set.
func (s *Service) Explain(ctx context.Context, p auth.Principal, req Request) (*Result, error) {
	start := s.now()
	ctx = withSentNote(ctx)
	res, err := s.explain(ctx, p, req)
	s.record(ctx, p, "query.run", req, map[string]any{"explain": true}, res, err, s.now().Sub(start))
	return res, err
}

func (s *Service) explain(ctx context.Context, p auth.Principal, req Request) (*Result, error) {
	j, err := s.begin(ctx, p, req.Instance, req.Database, req.Statement, req.Limit, req.Timeout, req.Primary)
	if err != nil {
		return nil, err
	}
	if j.in.Engine == engine.Redis {
		return nil, refuseRule(RuleEngine, "EXPLAIN needs an SQL instance; %s is %s", j.in.Name, j.in.Engine)
	}
	if err := s.plan(j, req.Statement, wrapExplain); err != nil {
		return nil, err
	}
	return s.finish(ctx, j)
}

// wrapExplain makes the parsed statement the query of a tabular EXPLAIN.
func wrapExplain(parsed *sql.Parsed) error {
	switch {
	case parsed.MySQL != nil:
		switch parsed.MySQL.(type) {
		case *ast.ExplainStmt, *ast.ExplainForStmt, *ast.ShowStmt:
			return refuseRule(RuleExplain, "give the statement to explain, not an EXPLAIN or SHOW")
		}
		parsed.MySQL = &ast.ExplainStmt{Stmt: parsed.MySQL, Format: "row"}
	case parsed.PG != nil:
		switch parsed.PG.Node.(type) {
		case *pg.Node_ExplainStmt, *pg.Node_VariableShowStmt:
			return refuseRule(RuleExplain, "give the statement to explain, not an EXPLAIN or SHOW")
		}
		parsed.PG = &pg.Node{Node: &pg.Node_ExplainStmt{ExplainStmt: &pg.ExplainStmt{Query: parsed.PG}}}
	}
	return nil
}
