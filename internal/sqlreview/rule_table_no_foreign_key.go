package sqlreview

func ruleTableNoForeignKey() *Rule {
	return &Rule{
		ID: "table-no-foreign-key", Level: LevelWarning, Engines: forAll,
		Summary: "No foreign keys",
		Explain: "Foreign keys take locks on the parent table for every child write, block online schema changes " +
			"(pt-online-schema-change and gh-ost cannot copy tables with them cleanly), and do not work across shards. " +
			"Keep referential checks in the application, or turn this rule off where the team relies on them.",
		Check: func(c *Check, s *Stmt) {
			report := func(fk *ForeignKey) {
				c.Report(s, fk.Pos, "drop the FOREIGN KEY / REFERENCES clause and check the reference in the application",
					"foreign key on %s referencing %s", s.Table.Name, fk.Ref.Name)
			}
			switch {
			case s.Op == OpCreateTable && s.Create != nil:
				for _, fk := range s.Create.ForeignKeys {
					report(fk)
				}
			case s.Op == OpAlterTable && s.Alter != nil:
				for _, a := range s.Alter.Actions {
					if a.Kind == ActAddForeignKey && a.ForeignKey != nil {
						report(a.ForeignKey)
					}
					if a.Kind == ActAddColumn && a.Column != nil && a.Column.References != nil {
						report(&ForeignKey{Pos: a.Pos, Ref: *a.Column.References})
					}
				}
			}
		},
	}
}
