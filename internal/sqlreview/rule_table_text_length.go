package sqlreview

func ruleTableTextLength() *Rule {
	return &Rule{
		ID: "table-text-total-length", Level: LevelWarning, Engines: forMySQL,
		Summary: "The CHAR/VARCHAR columns of a table add up to at most max_length characters",
		Explain: "MySQL limits a row to 65,535 bytes, and a utf8mb4 character may take 4 bytes: CHAR and VARCHAR " +
			"columns whose declared lengths add up past 16,383 characters make inserts fail or force ROW_FORMAT " +
			"changes. Use TEXT for long values.",
		Params: []Param{{Name: "max_length", Kind: ParamInt, Default: 16383, Help: "most characters over all CHAR/VARCHAR columns"}},
		Check: func(c *Check, s *Stmt) {
			limit := c.Int("max_length")
			total := 0
			var cols []*Column
			switch {
			case s.Op == OpCreateTable && s.Create != nil:
				cols = s.Create.Columns
			case s.Op == OpAlterTable && s.Alter != nil:
				info := existingTable(c, s)
				if info == nil {
					return
				}
				byName := map[string]*Column{}
				var order []string
				for _, col := range info.Columns {
					byName[col.Name] = col
					order = append(order, col.Name)
				}
				changed := false
				for _, a := range s.Alter.Actions {
					switch a.Kind {
					case ActAddColumn:
						byName[a.Column.Name] = a.Column
						order = append(order, a.Column.Name)
						changed = true
					case ActModifyColumn:
						delete(byName, a.Name)
						byName[a.Column.Name] = a.Column
						order = append(order, a.Column.Name)
						changed = true
					case ActDropColumn:
						delete(byName, a.Name)
					}
				}
				if !changed {
					return
				}
				seen := map[string]bool{}
				for _, n := range order {
					if col, ok := byName[n]; ok && !seen[n] {
						seen[n] = true
						cols = append(cols, col)
					}
				}
			default:
				return
			}
			for _, col := range cols {
				if (col.Type == "varchar" || col.Type == "char") && col.Length > 0 {
					total += col.Length
				}
			}
			if total > limit {
				c.Report(s, s.Table.Pos, "use TEXT for long values", "CHAR/VARCHAR columns of %s add up to %d characters; the limit is %d", s.Table.Name, total, limit)
			}
		},
	}
}
