package sqlreview

func ruleTableColumnCount() *Rule {
	return &Rule{
		ID: "table-column-count", Level: LevelWarning, Engines: forAll,
		Summary: "Tables have at most max_columns columns",
		Explain: "Very wide tables mean wide rows: fewer rows per page, more I/O per query, slow ALTERs, and usually a " +
			"table that mixes several concerns. Split rarely used columns into a side table.",
		Params: []Param{{Name: "max_columns", Kind: ParamInt, Default: 100, Help: "most columns a table may have"}},
		Check: func(c *Check, s *Stmt) {
			limit := c.Int("max_columns")
			switch {
			case s.Op == OpCreateTable && s.Create != nil:
				if n := len(s.Create.Columns); n > limit {
					c.Report(s, s.Table.Pos, "", "table %s has %d columns; the limit is %d", s.Table.Name, n, limit)
				}
			case s.Op == OpAlterTable && s.Alter != nil:
				info := existingTable(c, s)
				if info == nil {
					return
				}
				n := len(info.Columns)
				var firstAdd *Action
				for _, a := range s.Alter.Actions {
					switch a.Kind {
					case ActAddColumn:
						n++
						if firstAdd == nil {
							firstAdd = a
						}
					case ActDropColumn:
						n--
					}
				}
				if firstAdd != nil && n > limit {
					c.Report(s, firstAdd.Pos, "", "table %s would have %d columns; the limit is %d", s.Table.Name, n, limit)
				}
			}
		},
	}
}
