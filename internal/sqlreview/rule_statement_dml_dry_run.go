package sqlreview

import "strings"

func ruleDMLDryRun() *Rule {
	return &Rule{
		ID: "statement-dml-dry-run", Level: LevelError, Engines: forAll, Live: true,
		Summary: "The instance accepts INSERT, UPDATE and DELETE statements (EXPLAIN)",
		Explain: "The review asks the instance to EXPLAIN each data change (nothing is executed; on MySQL and MariaDB " +
			"INSERT ... VALUES is left to schema-column): unknown columns, " +
			"type errors and missing privileges show up now instead of halfway through the execution. Statements on " +
			"tables the script itself changes are not explained.",
		Check: func(c *Check, s *Stmt) {
			// MySQL's EXPLAIN of INSERT ... VALUES checks no more than
			// schema-column does; PostgreSQL's also checks the values' types.
			insert := s.Op == OpInsert && (c.Postgres() || (s.DML != nil && s.DML.InsertSelect))
			if s.Op == OpUpdate || s.Op == OpDelete || insert {
				c.rv.explainStart(s)
				pending, _ := c.state["pending"].([]*Stmt)
				c.state["pending"] = append(pending, s)
			}
		},
		Finish: func(c *Check) {
			pending, _ := c.state["pending"].([]*Stmt)
			for _, s := range pending {
				e := c.rv.explainResult(s)
				if !e.ok || e.err == nil {
					continue
				}
				msg := e.err.Error()
				if i := strings.Index(msg, ": query: "); i >= 0 {
					msg = msg[i+len(": query: "):]
				}
				c.Report(s, -1, "", "the instance rejects %s: %s", s.Verb, msg)
			}
		},
	}
}
