package sqlreview

func ruleColumnAutoIncrementUnsigned() *Rule {
	return &Rule{
		ID: "column-auto-increment-unsigned", Level: LevelWarning, Engines: forMySQL,
		Summary: "AUTO_INCREMENT columns are UNSIGNED",
		Explain: "An AUTO_INCREMENT key never holds negative values; a signed column reaches its maximum (and stops " +
			"accepting inserts) at half the range an unsigned one has.",
		Check: func(c *Check, s *Stmt) {
			for _, x := range newColumns(s) {
				if x.c.AutoIncr && integerTypes[x.c.Type] && !x.c.Unsigned {
					c.Report(s, x.pos(), "declare it "+x.c.Type+" UNSIGNED", "AUTO_INCREMENT column %s is signed", x.c.Name)
				}
			}
		},
	}
}
