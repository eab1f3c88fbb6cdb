package sqlreview

func ruleIndexColumnCount() *Rule {
	return &Rule{
		ID: "index-column-count", Level: LevelWarning, Engines: forAll,
		Summary: "Indexes and foreign keys have at most max_columns columns",
		Explain: "Long composite keys make every index entry (and, in InnoDB, every secondary index entry that carries " +
			"the primary key) large; queries rarely use more than the first few columns.",
		Params: []Param{{Name: "max_columns", Kind: ParamInt, Default: 5, Help: "most columns in one index"}},
		Check: func(c *Check, s *Stmt) {
			limit := c.Int("max_columns")
			for _, fk := range newForeignKeys(s) {
				if n := len(fk.Columns); n > limit {
					c.Report(s, fk.Pos, "", "foreign key %s has %d columns; the limit is %d", fk.Name, n, limit)
				}
			}
			for _, ix := range newIndexes(s) {
				if ix.Fulltext || ix.Spatial {
					continue // not a B-tree key
				}
				if n := len(ix.Columns); n > limit {
					name := ix.Name
					if name == "" {
						name = "(" + ix.Key() + ")"
					}
					c.Report(s, ix.Pos, "", "index %s has %d columns; the limit is %d", name, n, limit)
				}
			}
		},
	}
}
