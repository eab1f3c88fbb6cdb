package sqlreview

func ruleColumnVarcharLength() *Rule {
	return &Rule{
		ID: "column-varchar-max-length", Level: LevelWarning, Engines: forAll,
		Summary: "VARCHAR columns are at most max_length characters long",
		Explain: "Very long VARCHARs are sized for the worst case in sort buffers and temporary tables, count against " +
			"the 65,535-byte row limit, and usually hold documents that belong in TEXT.",
		Params: []Param{{Name: "max_length", Kind: ParamInt, Default: 2048, Help: "longest VARCHAR in characters"}},
		Check: func(c *Check, s *Stmt) {
			limit := c.Int("max_length")
			for _, x := range newColumns(s) {
				if x.c.Type == "varchar" && x.c.Length > limit {
					c.Report(s, x.pos(), "use TEXT, or a shorter VARCHAR", "column %s is VARCHAR(%d); the limit is %d", x.c.Name, x.c.Length, limit)
				}
			}
		},
	}
}
