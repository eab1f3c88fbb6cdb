package flows

import (
	"context"
	"fmt"
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
)

// The review block asks the SQL review engine (Reviewer) about a step's
// SQL, with the ticket's target connected for the live-schema checks.

// review reviews script for tgt; kind is the step's ddl, dml or "".
// A target whose live schema cannot be read (connection refused, unknown
// database, no privilege on the catalogs) fails the review with the
// reason: a review that silently skipped the live checks would pass
// statements nobody checked against the real tables.
func (s *Service) review(ctx context.Context, tgt TargetVars, script, kind string) (*ReviewReport, error) {
	req := sqlreview.Request{Engine: tgt.Engine, SQL: script, Env: tgt.Env, Cluster: tgt.Cluster, Kind: kind, Database: tgt.Database}
	where := tgt.Instance
	if tgt.Database != "" {
		where += "/" + tgt.Database
	}
	if tgt.Instance != "" {
		conn, err := s.inv.Connect(ctx, tgt.Instance, tgt.Database)
		if err != nil {
			return nil, fmt.Errorf("review cannot read the live schema of %s: %w", where, err)
		}
		defer conn.Close()
		req.Conn = conn
	}
	rep, err := s.reviewer.Review(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("review: %w", err)
	}
	if req.Conn != nil && !rep.Live {
		reason := "live-schema checks stopped"
		for _, f := range rep.Findings {
			if f.Rule == sqlreview.RuleLive {
				reason = f.Message
			}
		}
		return nil, errkind.New(errkind.Unavailable, "review cannot read the live schema of %s: %s", where, reason)
	}
	out := &ReviewReport{Statements: rep.Summary.Statements, Reviewer: "dbfleet sqlreview", Manual: rep.NeedsManualReview,
		// review.kinds speaks the one vocabulary of internal/sql.
		Kinds: scriptKinds(readScript(dialect(engine.Kind(tgt.Engine)), script))}
	if rep.Live {
		out.Reviewer += " (live schema of " + tgt.Instance + ")"
	}
	for _, f := range rep.Findings {
		out.Findings = append(out.Findings, Finding{Statement: f.Statement, Line: f.Line, Column: f.Column,
			Rule: f.Rule, Level: string(f.Level), Message: f.Message, Fix: f.Fix, Explanation: rep.Explanations[f.Rule]})
	}
	return out, nil
}

func (s *Service) runReview(ctx context.Context, r *stepRun) (outcome, error) {
	c := r.step.cfg.(*reviewCfg)
	tgt, err := s.stepTarget(ctx, r, c.target)
	if err != nil {
		return outcome{}, err
	}
	script := r.field(c.sql)
	rep, err := s.review(ctx, tgt, script, c.kind)
	if err != nil {
		return outcome{}, err
	}
	if ec := r.flow.exportCfgOf(c.sql); ec != nil {
		// The SQL feeds an export: ask the query console now what it
		// would refuse, before anyone is asked to approve it.
		f, err := s.exportFinding(ctx, r, ec, script)
		if err != nil {
			return outcome{}, err
		}
		if f != nil {
			rep.Findings = append(rep.Findings, *f)
		}
	}
	rv := summarize(rep)
	summary := fmt.Sprintf("%s: %s, %s, %s (%s)", rv.Level, plural(rv.Statements, "statement", "statements"),
		plural(rv.Errors, "error", "errors"), plural(rv.Warnings, "warning", "warnings"), rep.Reviewer)
	res := map[string]any{"summary": summary, "review": rv, "findings": rep.Findings, "reviewer": rep.Reviewer}
	fail := (c.failOn == "error" && rv.Errors > 0) || (c.failOn == "warning" && (rv.Errors > 0 || rv.Warnings > 0))
	if fail {
		var lines []string
		for i, f := range rep.Findings {
			if i == 5 {
				lines = append(lines, fmt.Sprintf("and %d more", len(rep.Findings)-5))
				break
			}
			lines = append(lines, fmt.Sprintf("statement %d line %d col %d: %s: %s", f.Statement, f.Line, f.Column, f.Rule, f.Message))
		}
		// Keep the findings with the failed step.
		if err := s.storeResult(ctx, r, res); err != nil {
			return outcome{}, err
		}
		return outcome{}, errkind.New(errkind.Invalid, "review found %s: %s", plural(rv.Errors+rv.Warnings, "problem", "problems"), strings.Join(lines, "; "))
	}
	return done(res)
}
