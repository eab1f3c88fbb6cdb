package sqlreview

func ruleNamingIndex() *Rule {
	return &Rule{
		ID: "naming-index", Level: LevelWarning, Engines: forAll,
		Summary: "Indexes, unique keys and foreign keys are named by pattern",
		Explain: "Explicit, patterned names (idx_, uk_, fk_) tell what a key is from its name alone, in EXPLAIN output, " +
			"error messages and schema diffs; generated names differ between servers and break later DROP INDEX scripts.",
		Params: []Param{
			{Name: "index_pattern", Kind: ParamRegexp, Default: `^idx_[a-z0-9_]+$`, Help: "names of plain indexes"},
			{Name: "unique_pattern", Kind: ParamRegexp, Default: `^(uk|uniq)_[a-z0-9_]+$`, Help: "names of unique keys"},
			{Name: "foreign_key_pattern", Kind: ParamRegexp, Default: `^fk_[a-z0-9_]+$`, Help: "names of foreign keys"},
			{Name: "require_name", Kind: ParamBool, Default: true, Help: "indexes must be named explicitly"},
		},
		Check: func(c *Check, s *Stmt) {
			for _, ix := range newIndexes(s) {
				if ix.Primary {
					continue
				}
				param, what := "index_pattern", "index"
				if ix.Unique {
					param, what = "unique_pattern", "unique key"
				}
				if ix.Name == "" {
					if c.Bool("require_name") {
						c.Report(s, ix.Pos, "name it explicitly", "%s on (%s) has no name", what, ix.Key())
					}
					continue
				}
				if s.Op == OpCreateTable && ix.Unique && len(ix.Columns) == 1 && ix.Name == ix.Columns[0] {
					// an inline UNIQUE column: named after the column
					if c.Bool("require_name") {
						c.Report(s, ix.Pos, "declare it as UNIQUE KEY uk_... (col)", "unique key on %s has no explicit name", ix.Name)
					}
					continue
				}
				if re := c.Regexp(param); re != nil && !re.MatchString(ix.Name) {
					c.Report(s, ix.Pos, "", "%s name %q does not match %s", what, ix.Name, re.String())
				}
			}
			fks := newForeignKeys(s)
			for _, fk := range fks {
				if fk.Name == "" {
					if c.Bool("require_name") {
						c.Report(s, fk.Pos, "add CONSTRAINT fk_... before FOREIGN KEY", "foreign key to %s has no name", fk.Ref.Name)
					}
					continue
				}
				if re := c.Regexp("foreign_key_pattern"); re != nil && !re.MatchString(fk.Name) {
					c.Report(s, fk.Pos, "", "foreign key name %q does not match %s", fk.Name, re.String())
				}
			}
		},
	}
}
