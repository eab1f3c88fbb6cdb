package sqlreview

import "unicode/utf8"

func ruleNamingTable() *Rule {
	return &Rule{
		ID: "naming-table", Level: LevelWarning, Engines: forAll,
		Summary: "Table names follow the naming pattern",
		Explain: "One naming convention (lower case, underscores) keeps names portable between case-sensitive and " +
			"case-insensitive file systems, avoids quoting, and makes tables easy to find.",
		Params: []Param{
			{Name: "pattern", Kind: ParamRegexp, Default: `^[a-z][a-z0-9_]*$`, Help: "regular expression table names must match"},
			{Name: "max_length", Kind: ParamInt, Default: 64, Help: "longest name in characters; 0 for no limit"},
		},
		Check: func(c *Check, s *Stmt) {
			check := func(ref TableRef) {
				checkName(c, s, "table", ref.Name, ref.Pos)
			}
			switch s.Op {
			case OpCreateTable:
				if s.Create != nil && !s.Create.Temporary {
					check(s.Table)
				}
			case OpRenameTable:
				for _, r := range s.Renames {
					check(r.To)
				}
			case OpAlterTable:
				if s.Alter != nil {
					for _, a := range s.Alter.Actions {
						if a.Kind == ActRenameTable && a.NewTable != nil {
							check(*a.NewTable)
						}
					}
				}
			}
		},
	}
}

// checkName applies a naming rule's pattern and max_length to one name.
func checkName(c *Check, s *Stmt, what, name string, pos int) {
	if name == "" {
		return
	}
	if re := c.Regexp("pattern"); re != nil && !re.MatchString(name) {
		c.Report(s, pos, "", "%s name %q does not match %s", what, name, re.String())
	}
	if n := c.Int("max_length"); n > 0 && utf8.RuneCountInString(name) > n {
		c.Report(s, pos, "", "%s name %q is longer than %d characters", what, name, n)
	}
}
