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
	out := &ReviewReport{Statements: rep.Summary.Statements, Reviewer: "dbfleet sqlreview", Manual: rep.NeedsManualReview, Estimates: rep.Estimates,
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

// destroyFinding is an error finding when the script destroys data (DROP,
// TRUNCATE, DROP PARTITION, CREATE OR REPLACE TABLE...) and the requester
// has not confirmed it in the form field the flow names (confirm-destroy
// on <review>); the confirmation is then part of the ticket, and a flow
// without such a field cannot run these statements at all. A data-change
// (kind="dml") review refuses them through its rules already.
func destroyFinding(r *stepRun, c *reviewCfg, tgt TargetVars, script string) *Finding {
	if c.kind == "dml" {
		return nil
	}
	var what []string
	var at *Finding
	for i, st := range readScript(dialect(engine.Kind(tgt.Engine)), script) {
		if st.Class.Destroys != "" {
			if at == nil {
				at = &Finding{Statement: i + 1, Line: st.Line, Column: st.Column, Rule: RuleDestroyConfirmation, Level: "error"}
			}
			what = append(what, st.Class.Destroys)
		}
	}
	if at == nil {
		return nil
	}
	list := strings.Join(what, ", ")
	if c.confirm == "" {
		at.Message = "the script destroys data (" + list + ") and this flow has no confirmation for it"
		at.Fix = "use a flow whose <review> names a confirm-destroy field"
		return at
	}
	if ok, _ := r.t.Form[c.confirm].(bool); ok {
		return nil
	}
	label := c.confirm
	if f := r.flow.Field(c.confirm); f != nil && f.Label != "" {
		label = f.Label
	}
	at.Message = "the script destroys data (" + list + "): the requester has not confirmed it (" + label + ")"
	at.Fix = "submit the ticket again with " + label + " checked"
	return at
}

// estimateNote is what the review step's summary says of the rows: the
// EXPLAIN estimate of each data change next to the requester's count.
func estimateNote(r *stepRun, c *reviewCfg, rep *ReviewReport) string {
	declared, ok := r.t.Form[c.rows].(float64)
	if !ok {
		return ""
	}
	if len(rep.Estimates) == 0 {
		return fmt.Sprintf("; rows declared %s, no EXPLAIN estimate", formatNumber(declared))
	}
	var parts []string
	var total int64
	for _, e := range rep.Estimates {
		parts = append(parts, fmt.Sprintf("statement %d (%s) ~%d", e.Statement, e.Verb, e.Rows))
		total += e.Rows
	}
	return fmt.Sprintf("; rows declared %s, EXPLAIN estimates %d: %s", formatNumber(declared), total, strings.Join(parts, ", "))
}

// estimateFinding warns the approvers when EXPLAIN expects more rows
// than the requester declared.
func estimateFinding(r *stepRun, c *reviewCfg, rep *ReviewReport) *Finding {
	declared, ok := r.t.Form[c.rows].(float64)
	if !ok || len(rep.Estimates) == 0 {
		return nil
	}
	var total int64
	for _, e := range rep.Estimates {
		total += e.Rows
	}
	if float64(total) <= declared {
		return nil
	}
	first := rep.Estimates[0]
	return &Finding{Statement: first.Statement, Rule: RuleDeclaredRows, Level: "warning",
		Message: fmt.Sprintf("EXPLAIN estimates %d rows; the requester declared %s", total, formatNumber(declared)),
		Fix:     "check the WHERE clauses, or correct the declared count"}
}

// RuleDeclaredRows marks the warning that EXPLAIN expects more rows than
// the requester declared.
const RuleDeclaredRows = "declared-rows"

// RuleDestroyConfirmation marks the review finding of a script that
// destroys data without the requester's confirmation.
const RuleDestroyConfirmation = "destroy-confirmation"

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
	destroy := destroyFinding(r, c, tgt, script)
	if destroy != nil {
		rep.Findings = append(rep.Findings, *destroy)
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
	rowsNote := ""
	if c.rows != "" {
		if f := estimateFinding(r, c, rep); f != nil {
			rep.Findings = append(rep.Findings, *f)
		}
		rowsNote = estimateNote(r, c, rep)
	}
	rv := summarize(rep)
	summary := fmt.Sprintf("%s: %s, %s, %s (%s)%s", rv.Level, plural(rv.Statements, "statement", "statements"),
		plural(rv.Errors, "error", "errors"), plural(rv.Warnings, "warning", "warnings"), rep.Reviewer, rowsNote)
	res := map[string]any{"summary": summary, "review": rv, "findings": rep.Findings, "reviewer": rep.Reviewer}
	if len(rep.Estimates) > 0 {
		res["estimates"] = rep.Estimates
	}
	fail := destroy != nil || (c.failOn == "error" && rv.Errors > 0) || (c.failOn == "warning" && (rv.Errors > 0 || rv.Warnings > 0))
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
