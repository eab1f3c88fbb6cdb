package sqlreview

func ruleColumnNoReorder() *Rule {
	return &Rule{
		ID: "column-no-reorder", Level: LevelWarning, Engines: forMySQL,
		Summary: "No reordering of columns (FIRST/AFTER)",
		Explain: "Moving a column with MODIFY/CHANGE ... FIRST or AFTER rewrites the whole table (ALGORITHM=COPY on " +
			"most versions) for a purely cosmetic change; applications must never depend on column order. ADD " +
			"COLUMN with a position is only flagged when include_add is set.",
		Params: []Param{{Name: "include_add", Kind: ParamBool, Default: false, Help: "also flag ADD COLUMN ... FIRST/AFTER"}},
		Check: func(c *Check, s *Stmt) {
			for _, x := range newColumns(s) {
				if x.a == nil || x.c.Position == "" {
					continue
				}
				if x.a.Kind == ActAddColumn && !c.Bool("include_add") {
					continue
				}
				verb := "moves"
				if x.a.Kind == ActAddColumn {
					verb = "places"
				}
				c.Report(s, s.findWord(firstWord(x.c.Position), x.pos()), "drop the "+x.c.Position+" clause", "%s %s column %s", s.Verb, verb, x.c.Name+" "+x.c.Position)
			}
		},
	}
}

func firstWord(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i]
		}
	}
	return s
}
