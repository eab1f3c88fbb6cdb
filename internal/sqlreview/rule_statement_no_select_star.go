package sqlreview

func ruleNoSelectStar() *Rule {
	return &Rule{
		ID: "statement-no-select-star", Level: LevelWarning, Engines: forAll,
		Summary: "No SELECT *",
		Explain: "SELECT * reads every column (defeating covering indexes), breaks INSERT ... SELECT and views when a " +
			"column is added, and hides which columns the code depends on. Name the columns. SELECT * inside EXISTS " +
			"is fine and not flagged.",
		Check: func(c *Check, s *Stmt) {
			if s.DML == nil {
				return
			}
			for _, pos := range s.DML.SelectStar {
				c.Report(s, pos, "list the columns you need", "SELECT * in %s", s.Verb)
			}
		},
	}
}
