package sqlreview

func ruleNoTrigger() *Rule {
	return &Rule{
		ID: "table-no-trigger", Level: LevelWarning, Engines: forAll,
		Summary: "No triggers",
		Explain: "Triggers run hidden work inside every write, slow bulk changes, break statement-based replication " +
			"assumptions and are invisible to whoever reads the application code. Online schema-change tools need " +
			"triggers of their own and refuse tables that have some.",
		Check: func(c *Check, s *Stmt) {
			if s.Op == OpCreateTrigger {
				c.Report(s, -1, "", "CREATE TRIGGER is not allowed")
			}
		},
	}
}
