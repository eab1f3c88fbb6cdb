package sqlreview

func ruleNoOrderByRand() *Rule {
	return &Rule{
		ID: "statement-no-order-by-rand", Level: LevelWarning, Engines: forAll,
		Summary: "No ORDER BY RAND()",
		Explain: "ORDER BY RAND() (random() in PostgreSQL) computes a random value for every row and sorts them all " +
			"to keep a few: a full scan and a filesort on every call. Pick random ids in the application or sample " +
			"by primary-key range.",
		Check: func(c *Check, s *Stmt) {
			if s.DML == nil {
				return
			}
			for _, pos := range s.DML.OrderByRand {
				c.Report(s, pos, "select random primary keys in the application instead", "ORDER BY a random value sorts the whole result")
			}
		},
	}
}
