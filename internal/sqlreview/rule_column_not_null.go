package sqlreview

func ruleColumnNotNull() *Rule {
	return &Rule{
		ID: "column-not-null", Level: LevelOff, Engines: forAll,
		Summary: "Columns are NOT NULL",
		Explain: "NULL makes comparisons three-valued (a = NULL is never true), needs IS NULL everywhere, and costs " +
			"indexes and the optimizer extra work. Declare columns NOT NULL with a sensible default unless 'unknown' " +
			"is a real value. Off by default; turn it on where the team agrees.",
		Check: func(c *Check, s *Stmt) {
			for _, x := range newColumns(s) {
				col := x.c
				if col.NotNull || col.PrimaryKey || col.Generated || (c.Postgres() && x.isModify()) {
					continue
				}
				c.Report(s, x.pos(), "declare it NOT NULL DEFAULT ...", "column %s is nullable", col.Name)
			}
		},
	}
}
