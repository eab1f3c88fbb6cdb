package sqlreview

func ruleAddConstraintNotValid() *Rule {
	return &Rule{
		ID: "statement-add-constraint-not-valid", Level: LevelWarning, Engines: forPostgres,
		Summary: "CHECK and FOREIGN KEY constraints on existing tables are added NOT VALID",
		Explain: "ADD CONSTRAINT ... CHECK or FOREIGN KEY scans the whole table under a lock that blocks writes. Add " +
			"it NOT VALID (instant), then VALIDATE CONSTRAINT in a separate statement, which only takes a weak lock. " +
			"Tables created in the same script are exempt.",
		Check: func(c *Check, s *Stmt) {
			if s.Op != OpAlterTable || s.Alter == nil || createdInFile(c, s) {
				return
			}
			for _, a := range s.Alter.Actions {
				if (a.Kind == ActAddCheck || a.Kind == ActAddForeignKey) && !a.NotValid {
					what := "CHECK"
					if a.Kind == ActAddForeignKey {
						what = "FOREIGN KEY"
					}
					c.Report(s, a.Pos, "add it NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a later statement",
						"adding a %s constraint to %s scans the table while blocking writes", what, s.Table.Name)
				}
			}
		},
	}
}
