package sqlreview

func ruleNoCascade() *Rule {
	return &Rule{
		ID: "statement-no-cascade", Level: LevelWarning, Engines: forAll,
		Summary: "No CASCADE: no DROP/TRUNCATE ... CASCADE, no ON DELETE CASCADE",
		Explain: "DROP ... CASCADE and TRUNCATE ... CASCADE (PostgreSQL) also drop or empty every object that depends " +
			"on the target (views, foreign keys, other tables), which the review does not list. ON DELETE CASCADE " +
			"turns one DELETE into deletes across tables that nobody reviewed. Drop dependents explicitly; delete " +
			"child rows in the application or the ticket.",
		Check: func(c *Check, s *Stmt) {
			if s.Cascade {
				c.Report(s, s.findWord("CASCADE", 0), "drop the dependent objects explicitly and use RESTRICT (the default)", "%s ... CASCADE also removes every dependent object", s.Verb)
			}
			fks := newForeignKeys(s)
			if s.Op == OpAlterTable && s.Alter != nil {
				for _, a := range s.Alter.Actions {
					if a.Kind == ActAddColumn && a.Column != nil && a.Column.RefOnDeleteCascade {
						fks = append(fks, &ForeignKey{Pos: a.Pos, OnDeleteCascade: true})
					}
				}
			}
			for _, fk := range fks {
				if fk.OnDeleteCascade {
					c.Report(s, s.findWord("CASCADE", max(fk.Pos, 0)), "use ON DELETE RESTRICT and delete child rows explicitly", "foreign key with ON DELETE CASCADE on %s", s.Table.Name)
				}
			}
		},
	}
}
