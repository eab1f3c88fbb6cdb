package sqlreview

func ruleWhereEqualNull() *Rule {
	return &Rule{
		ID: "statement-where-no-equal-null", Level: LevelError, Engines: forAll,
		Summary: "WHERE does not compare with NULL by = or <>",
		Explain: "col = NULL and col <> NULL are never true (the result is NULL): the statement matches no row, " +
			"silently. Write col IS NULL or col IS NOT NULL.",
		Check: func(c *Check, s *Stmt) {
			if s.DML == nil {
				return
			}
			for _, pos := range s.DML.EqualNull {
				c.Report(s, pos, "write IS NULL or IS NOT NULL", "comparison with NULL by = or <> is never true")
			}
		},
	}
}
