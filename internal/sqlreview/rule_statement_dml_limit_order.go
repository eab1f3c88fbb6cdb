package sqlreview

func ruleDMLLimitOrder() *Rule {
	return &Rule{
		ID: "statement-dml-no-limit-order", Level: LevelWarning, Engines: forMySQL,
		Summary: "UPDATE and DELETE have no LIMIT or ORDER BY, INSERT ... SELECT no LIMIT",
		Explain: "UPDATE/DELETE ... LIMIT changes an arbitrary subset of the matching rows unless ORDER BY pins it, and " +
			"is unsafe for statement-based replication (replicas may change other rows); INSERT ... SELECT ... LIMIT copies " +
			"an arbitrary subset the same way. A reviewed change says which " +
			"rows it changes in its WHERE; to work in batches, let the executor chunk the statement.",
		Params: []Param{
			{Name: "limit", Kind: ParamBool, Default: true, Help: "report LIMIT"},
			{Name: "order_by", Kind: ParamBool, Default: true, Help: "report ORDER BY"},
		},
		Check: func(c *Check, s *Stmt) {
			if s.Op == OpInsert && s.DML != nil && s.DML.InsertSelect && s.DML.HasLimit && c.Bool("limit") {
				c.Report(s, s.findWord("LIMIT", 0), "select the rows in the WHERE clause", "INSERT ... SELECT with LIMIT copies an arbitrary subset of the rows")
				return
			}
			if (s.Op != OpUpdate && s.Op != OpDelete) || s.DML == nil {
				return
			}
			if s.DML.HasOrderBy && c.Bool("order_by") {
				c.Report(s, s.findWord("ORDER", 0), "select the rows in the WHERE clause", "%s with ORDER BY", s.Verb)
			}
			if s.DML.HasLimit && c.Bool("limit") {
				c.Report(s, s.findWord("LIMIT", 0), "select the rows in the WHERE clause", "%s with LIMIT changes an arbitrary subset of the rows", s.Verb)
			}
		},
	}
}
