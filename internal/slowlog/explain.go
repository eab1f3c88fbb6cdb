package slowlog

import (
	"context"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// EXPLAIN of a class's example goes through the query console, for the
// caller: its statement checks, grants, masking, statement timeout,
// re-rendering and least-privilege account apply, and it audits the run.
// slowlog reads no SQL of its own here.

// ExplainRequest asks the console to explain an example.
type ExplainRequest struct {
	Instance string
	// Database is the example's database ("" for none).
	Database string
	// Statement is the example; the console runs EXPLAIN of it.
	Statement string
	// Timeout lowers the console's statement timeout (0: the console's).
	Timeout time.Duration
}

// ExplainOutput is the console's answer.
type ExplainOutput struct {
	// RanOn is the instance that answered (a replica of the instance's
	// cluster, possibly).
	RanOn   string
	Columns []string
	Rows    [][]any
	Notes   []string
	Took    time.Duration
}

// Explainer runs EXPLAIN of an example through the query console, for p;
// app wires it to query.Service.Run.
type Explainer interface {
	Explain(ctx context.Context, p auth.Principal, req ExplainRequest) (ExplainOutput, error)
}

// ExplainResult is the plan of a class's example.
type ExplainResult struct {
	Instance  string        `json:"instance"`
	RanOn     string        `json:"ran_on,omitempty"`
	QueryID   string        `json:"query_id"`
	Database  string        `json:"database,omitempty"`
	Statement string        `json:"statement"`
	Columns   []string      `json:"columns"`
	Rows      [][]any       `json:"rows"`
	Notes     []string      `json:"notes,omitempty"`
	Took      time.Duration `json:"took_ns"`
}

// explainStatement is the statement to explain, or why there is none,
// from what is stored alone: whether the statement may run is the
// console's decision.
func explainStatement(k engine.Kind, example string) (string, error) {
	d, ok := sqlDialect(k)
	if !ok {
		return "", errkind.New(errkind.Invalid, "EXPLAIN is for SQL engines; %s has none", k)
	}
	stmt := strings.TrimRight(strings.TrimSpace(example), "; \t\r\n")
	switch {
	case stmt == "":
		return "", errkind.New(errkind.Invalid, "the class has no example statement")
	case strings.HasSuffix(stmt, strings.TrimSpace(truncatedMark)):
		return "", errkind.New(errkind.Invalid, "the example was truncated when stored (longer than %d bytes)", maxExample)
	}
	// What the console's read-only session can explain: MariaDB and MySQL
	// refuse EXPLAIN of a write there (error 1792), PostgreSQL plans it.
	switch c := sqlfe.LexClass(d, stmt); {
	case c.Kind == sqlfe.KindQuery:
	case c.Kind == sqlfe.KindDML && d == sqlfe.Postgres:
	case c.Kind == sqlfe.KindDML:
		return "", errkind.New(errkind.Invalid, "the example is %s %s: MariaDB and MySQL refuse EXPLAIN of a write in the console's read-only session", article(c.Verb), c.Verb)
	default:
		return "", errkind.New(errkind.Invalid, "the example is %s %s statement: EXPLAIN takes queries and data changes", article(c.Verb), c.Verb)
	}
	for _, t := range sqlfe.Tokens(stmt, d) {
		text := t.Text(stmt)
		switch {
		case d == sqlfe.Postgres && t.Kind == sqlfe.Word && len(text) > 1 && text[0] == '$' && isDigit(text[1]):
			return "", errkind.New(errkind.Invalid, "the example has parameters ($1...) as pg_stat_statements normalizes statements: EXPLAIN needs literal values")
		case d != sqlfe.Postgres && t.Kind == sqlfe.Punct && text == "?":
			return "", errkind.New(errkind.Invalid, "the example is the server's normalized digest text (? for values): EXPLAIN needs literal values")
		}
	}
	return stmt, nil
}

// Explain runs EXPLAIN of a class's example through the query console,
// for p: a caller without a query grant on the instance gets the
// console's refusal; one under masking rules is refused here (a plan
// shows the literals the rules hide).
func (s *Service) Explain(ctx context.Context, p auth.Principal, instance, queryID string) (ExplainResult, error) {
	if err := p.Require(auth.SlowlogRead); err != nil {
		return ExplainResult{}, err
	}
	in, err := s.instance(ctx, instance)
	if err != nil {
		return ExplainResult{}, err
	}
	c, err := s.findClass(ctx, in, queryID)
	if err != nil {
		return ExplainResult{}, err
	}
	if s.Explainer == nil {
		return ExplainResult{}, errkind.New(errkind.Unavailable, "EXPLAIN on demand runs through the query console, which this server lacks")
	}
	access, err := s.access(ctx, p, in.Name)
	if err != nil {
		return ExplainResult{}, err
	}
	stmt, why := explainStatement(in.Engine, c.ex)
	switch {
	case access == AccessNone:
		// The console refuses with its rule (no grant on the instance).
		if why != nil {
			stmt = c.ex
		}
	case access == AccessNormalized:
		return ExplainResult{}, &refusal{rule: RuleMaskedExample, err: errkind.New(errkind.Forbidden, "%s", maskedExplain(p, in.Name))}
	case why != nil:
		return ExplainResult{}, why
	}
	out, err := s.Explainer.Explain(ctx, p, ExplainRequest{Instance: in.Name, Database: c.exDB, Statement: stmt, Timeout: s.ExplainTimeout})
	if err != nil {
		return ExplainResult{}, err
	}
	return ExplainResult{Instance: in.Name, RanOn: out.RanOn, QueryID: c.qid, Database: c.exDB, Statement: "EXPLAIN " + stmt,
		Columns: out.Columns, Rows: out.Rows, Notes: out.Notes, Took: out.Took}, nil
}

func article(w string) string {
	if w != "" && strings.ContainsRune("AEIOU", rune(w[0])) {
		return "an"
	}
	return "a"
}
