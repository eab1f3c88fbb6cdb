package sqlreview

func ruleNonTransactional() *Rule {
	return &Rule{
		ID: "statement-non-transactional", Level: LevelWarning, Engines: forPostgres,
		Summary: "Statements that cannot run in a transaction are flagged",
		Explain: "CREATE/DROP INDEX CONCURRENTLY, VACUUM, CREATE/DROP DATABASE, REINDEX CONCURRENTLY and ALTER " +
			"SYSTEM fail inside a transaction block. A script that wraps its statements in one transaction (as many " +
			"migration tools do) fails on them, and they cannot be rolled back with the rest.",
		Check: func(c *Check, s *Stmt) {
			if s.NonTransactional != "" {
				c.Report(s, -1, "run it as its own step, outside any transaction", "%s", s.NonTransactional)
			}
		},
	}
}
