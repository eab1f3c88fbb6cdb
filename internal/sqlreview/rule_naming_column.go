package sqlreview

func ruleNamingColumn() *Rule {
	return &Rule{
		ID: "naming-column", Level: LevelWarning, Engines: forAll,
		Summary: "Column names follow the naming pattern",
		Explain: "One naming convention (lower case, underscores) avoids quoting, case surprises between engines and " +
			"ORMs, and keeps columns greppable.",
		Params: []Param{
			{Name: "pattern", Kind: ParamRegexp, Default: `^[a-z][a-z0-9_]*$`, Help: "regular expression column names must match"},
			{Name: "max_length", Kind: ParamInt, Default: 64, Help: "longest name in characters; 0 for no limit"},
		},
		Check: func(c *Check, s *Stmt) {
			for _, x := range newColumns(s) {
				if x.isModify() && x.a.NewName == "" {
					continue // the name is not new
				}
				checkName(c, s, "column", x.c.Name, x.pos())
			}
			if s.Op == OpAlterTable && s.Alter != nil {
				for _, a := range s.Alter.Actions {
					if a.Kind == ActRenameColumn {
						checkName(c, s, "column", a.NewName, s.find(a.NewName, a.Pos+1))
					}
				}
			}
		},
	}
}
