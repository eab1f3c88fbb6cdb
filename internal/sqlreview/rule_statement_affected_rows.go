package sqlreview

func ruleAffectedRows() *Rule {
	return &Rule{
		ID: "statement-affected-rows-limit", Level: LevelWarning, Engines: forAll, Live: true,
		Summary: "UPDATE, DELETE and INSERT ... SELECT change at most max_rows rows (EXPLAIN estimate)",
		Explain: "A statement that changes many rows holds its locks, its undo and its replication event for its " +
			"whole duration: replicas fall behind and other writers wait. The estimate comes from EXPLAIN on the " +
			"instance (nothing is executed). Split the change into primary-key chunks (dbfleet exec does this for " +
			"data-change tickets).",
		Params: []Param{{Name: "max_rows", Kind: ParamInt, Default: 100000, Help: "most rows one statement may change (EXPLAIN estimate)"}},
		Check: func(c *Check, s *Stmt) {
			if s.Op == OpUpdate || s.Op == OpDelete || (s.Op == OpInsert && s.DML != nil && s.DML.InsertSelect) {
				c.rv.explainStart(s)
				pending, _ := c.state["pending"].([]*Stmt)
				c.state["pending"] = append(pending, s)
			}
		},
		Finish: func(c *Check) {
			pending, _ := c.state["pending"].([]*Stmt)
			limit := int64(c.Int("max_rows"))
			for _, s := range pending {
				e := c.rv.explainResult(s)
				if e.ok && e.err == nil && e.rows > limit {
					c.Report(s, -1, "split it into chunks by primary key (dbfleet exec chunks data changes)", "%s may change about %d rows (EXPLAIN estimate); the limit is %d", s.Verb, e.rows, limit)
				}
			}
		},
	}
}
