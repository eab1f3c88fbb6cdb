package sqlreview

var integerTypes = map[string]bool{"tinyint": true, "smallint": true, "mediumint": true, "int": true, "bigint": true}

func ruleColumnAutoIncrementInteger() *Rule {
	return &Rule{
		ID: "column-auto-increment-integer", Level: LevelError, Engines: forMySQL,
		Summary: "AUTO_INCREMENT columns are integers",
		Explain: "AUTO_INCREMENT on FLOAT, DOUBLE or DECIMAL is deprecated, loses precision and cannot be used by " +
			"chunking tools; use BIGINT.",
		Check: func(c *Check, s *Stmt) {
			for _, x := range newColumns(s) {
				if x.c.AutoIncr && !integerTypes[x.c.Type] {
					c.Report(s, x.pos(), "use BIGINT UNSIGNED", "AUTO_INCREMENT column %s is %s, not an integer", x.c.Name, x.c.Type)
				}
			}
		},
	}
}
