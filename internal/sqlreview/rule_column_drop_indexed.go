package sqlreview

import "strings"

func ruleColumnDropIndexed() *Rule {
	return &Rule{
		ID: "column-no-drop-indexed", Level: LevelWarning, Engines: forAll,
		Summary: "No drop of a column an index uses",
		Explain: "Dropping a column silently shrinks (MySQL) or drops (PostgreSQL) every index that uses it: queries " +
			"that relied on the index turn into scans, and a unique key may stop enforcing what it did. Drop or " +
			"redefine the index explicitly first. The indexes must be known: from the instance or from the script.",
		Check: func(c *Check, s *Stmt) {
			if s.Op != OpAlterTable || s.Alter == nil {
				return
			}
			info := existingTable(c, s)
			if info == nil {
				return
			}
			dropped := map[string]bool{}
			for _, a := range s.Alter.Actions {
				if a.Kind == ActDropIndex || a.Kind == ActDropConstraint {
					dropped[strings.ToLower(a.Name)] = true
				}
				if a.Kind == ActDropPrimaryKey {
					dropped["primary"] = true
				}
			}
			for _, a := range s.Alter.Actions {
				if a.Kind != ActDropColumn {
					continue
				}
				var uses []string
				for _, ix := range info.Indexes {
					if dropped[strings.ToLower(ix.Name)] {
						continue
					}
					for _, col := range ix.Columns {
						if strings.EqualFold(col, a.Name) {
							uses = append(uses, indexLabel(ix))
							break
						}
					}
				}
				if len(uses) > 0 {
					c.Report(s, a.Pos, "drop or redefine the index first", "column %s is used by %s", a.Name, strings.Join(uses, ", "))
				}
			}
		},
	}
}
