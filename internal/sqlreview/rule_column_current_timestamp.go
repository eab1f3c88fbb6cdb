package sqlreview

func ruleColumnCurrentTimestamp() *Rule {
	return &Rule{
		ID: "column-current-timestamp-limit", Level: LevelWarning, Engines: forAll,
		Summary: "At most max columns per table default to or update with CURRENT_TIMESTAMP",
		Explain: "Automatic timestamps belong on created_at and updated_at. More of them usually means columns that " +
			"should be set by the application (and older MySQL versions allow only one).",
		Params: []Param{
			{Name: "max", Kind: ParamInt, Default: 2, Help: "most CURRENT_TIMESTAMP columns per table"},
			{Name: "max_on_update", Kind: ParamInt, Default: 0, Help: "most ON UPDATE CURRENT_TIMESTAMP columns per table; 0 for no separate limit"},
		},
		Check: func(c *Check, s *Stmt) {
			limit := c.Int("max")
			auto := func(col *Column) bool { return col.DefaultNow || col.OnUpdateNow }
			onUpdateLimit := c.Int("max_on_update")
			n, nUpd := 0, 0
			switch s.Op {
			case OpCreateTable:
			case OpAlterTable:
				info := existingTable(c, s)
				if info == nil {
					return
				}
				for _, col := range info.Columns {
					if auto(col) {
						n++
					}
					if col.OnUpdateNow {
						nUpd++
					}
				}
			default:
				return
			}
			for _, x := range newColumns(s) {
				if x.isModify() {
					continue
				}
				if x.c.OnUpdateNow && onUpdateLimit > 0 {
					if nUpd++; nUpd == onUpdateLimit+1 {
						c.Report(s, x.pos(), "keep ON UPDATE CURRENT_TIMESTAMP on updated_at only", "table %s would have %d ON UPDATE CURRENT_TIMESTAMP columns; the limit is %d", s.Table.Name, nUpd, onUpdateLimit)
						continue
					}
				}
				if auto(x.c) {
					if n++; n == limit+1 {
						c.Report(s, x.pos(), "set it from the application", "table %s would have %d CURRENT_TIMESTAMP columns; the limit is %d", s.Table.Name, n, limit)
					}
				}
			}
		},
	}
}
