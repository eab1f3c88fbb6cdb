package sqlreview

import "strings"

func ruleColumnNotNull() *Rule {
	return &Rule{
		ID: "column-not-null", Level: LevelOff, Engines: forAll,
		Summary: "Columns are NOT NULL",
		Explain: "NULL makes comparisons three-valued (a = NULL is never true), needs IS NULL everywhere, and costs " +
			"indexes and the optimizer extra work. Declare columns NOT NULL with a sensible default unless 'unknown' " +
			"is a real value. Off by default; turn it on where the team agrees.",
		Check: func(c *Check, s *Stmt) {
			// Columns of a primary key are NOT NULL whether the key is
			// inline or a table-level PRIMARY KEY (a, b).
			pk := primaryKeyColumns(s)
			if s.Op == OpAlterTable && s.Alter != nil {
				for _, a := range s.Alter.Actions {
					if a.Kind == ActDropNotNull {
						c.Report(s, a.Pos, "keep it NOT NULL", "DROP NOT NULL makes column %s nullable", a.Name)
					}
				}
			}
			for _, x := range newColumns(s) {
				col := x.c
				if col.NotNull || col.PrimaryKey || pk[strings.ToLower(col.Name)] || col.Generated || (c.Postgres() && x.isModify()) {
					continue
				}
				c.Report(s, x.pos(), "declare it NOT NULL DEFAULT ...", "column %s is nullable", col.Name)
			}
		},
	}
}
