package sqlreview

func ruleInsertColumns() *Rule {
	return &Rule{
		ID: "statement-insert-columns", Level: LevelWarning, Engines: forAll,
		Summary: "INSERT names its columns",
		Explain: "INSERT INTO t VALUES (...) depends on the table's column order: it fails, or worse writes values " +
			"into the wrong columns, as soon as a column is added or reordered.",
		Check: func(c *Check, s *Stmt) {
			if s.Op == OpInsert && s.DML != nil && s.DML.InsertNoColumns {
				c.Report(s, s.Table.Pos, "write INSERT INTO "+s.Table.Name+" (col, ...) VALUES ...", "%s into %s does not name its columns", s.Verb, s.Table.Name)
			}
		},
	}
}
