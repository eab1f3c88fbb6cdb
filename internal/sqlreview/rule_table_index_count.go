package sqlreview

func ruleTableIndexCount() *Rule {
	return &Rule{
		ID: "table-index-count", Level: LevelWarning, Engines: forAll,
		Summary: "Tables have at most max_indexes secondary indexes",
		Explain: "Every index is written on every insert and on updates of its columns, takes memory in the buffer " +
			"pool and slows schema changes; past a handful, new indexes usually duplicate old ones. The primary key " +
			"is not counted. With an instance, existing indexes count too.",
		Params: []Param{{Name: "max_indexes", Kind: ParamInt, Default: 8, Help: "most secondary indexes (unique keys included) a table may have"}},
		Check: func(c *Check, s *Stmt) {
			limit := c.Int("max_indexes")
			n := 0
			switch s.Op {
			case OpCreateTable:
			case OpAlterTable, OpCreateIndex:
				info := existingTable(c, s)
				if info == nil {
					return
				}
				for _, ix := range info.Indexes {
					if !ix.Primary {
						n++
					}
				}
			default:
				return
			}
			if s.Op == OpAlterTable && s.Alter != nil {
				for _, a := range s.Alter.Actions {
					if a.Kind == ActDropIndex || a.Kind == ActDropConstraint {
						n--
					}
				}
			}
			for _, ix := range newIndexes(s) {
				if ix.Primary {
					continue
				}
				if n++; n == limit+1 {
					c.Report(s, ix.Pos, "drop an index that others cover, or merge indexes", "table %s would have %d secondary indexes; the limit is %d", s.Table.Name, n, limit)
				}
			}
		},
	}
}
