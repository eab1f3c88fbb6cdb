package sqlreview

func ruleWhereRequired() *Rule {
	return &Rule{
		ID: "statement-where-required", Level: LevelError, Engines: forAll,
		Summary: "UPDATE and DELETE have a WHERE clause",
		Explain: "An UPDATE or DELETE without a WHERE (or with WHERE 1=1) changes every row of the table; it is " +
			"nearly always a mistake, and on a large table it also locks and replicates everything at once. To really " +
			"empty a table, say so with a dedicated ticket.",
		Check: func(c *Check, s *Stmt) {
			if (s.Op != OpUpdate && s.Op != OpDelete) || s.DML == nil {
				return
			}
			switch {
			case !s.DML.HasWhere:
				c.Report(s, -1, "add a WHERE clause", "%s without WHERE changes every row of %s", s.Verb, s.Table.Name)
			case s.DML.AlwaysTrue:
				c.Report(s, s.findWord("WHERE", 0), "make the WHERE clause select the rows to change", "%s with an always-true WHERE changes every row of %s", s.Verb, s.Table.Name)
			}
		},
	}
}
