package sqlreview

func ruleSchemaIndex() *Rule {
	return &Rule{
		ID: "schema-index", Level: LevelError, Engines: forAll,
		Summary: "Indexes a statement drops or renames exist (and new ones do not)",
		Explain: "DROP INDEX, ALTER TABLE ... DROP INDEX / DROP PRIMARY KEY and RENAME INDEX must name an index that " +
			"exists; ADD INDEX and CREATE INDEX one whose name is free (unless IF [NOT] EXISTS). Checked when the " +
			"table's indexes are known: from the instance or from the script.",
		Check: func(c *Check, s *Stmt) {
			if s.Op != OpAlterTable && s.Op != OpCreateIndex && s.Op != OpDropIndex {
				return
			}
			if s.Table.Name == "" {
				return
			}
			_, info := c.Table(s.Table)
			if info == nil {
				return
			}
			names := map[string]bool{}
			for _, ix := range info.Indexes {
				names[foldIndex(ix.Name)] = true
			}
			exists := func(n string) bool { return names[foldIndex(n)] }
			missing := func(n string, pos int) { c.Report(s, pos, "", "index %s does not exist on %s", n, info.Name) }
			taken := func(n string, pos int) {
				c.Report(s, pos, "pick another name", "index %s already exists on %s", n, info.Name)
			}
			switch s.Op {
			case OpCreateIndex:
				if s.Index != nil && s.Index.Name != "" && exists(s.Index.Name) && !s.IfNotExists {
					taken(s.Index.Name, s.Index.Pos)
				}
			case OpDropIndex:
				if s.Index != nil && !exists(s.Index.Name) && !s.IfExists {
					missing(s.Index.Name, s.Index.Pos)
				}
			case OpAlterTable:
				if s.Alter == nil {
					return
				}
				for _, a := range s.Alter.Actions {
					switch a.Kind {
					case ActAddIndex:
						if a.Index == nil {
							continue
						}
						n := a.Index.Name
						if a.Index.Primary {
							n = "PRIMARY"
						}
						if n != "" && exists(n) && !a.IfNotExists {
							if a.Index.Primary {
								c.Report(s, a.Pos, "drop the old primary key in the same statement", "table %s already has a primary key", info.Name)
							} else {
								taken(n, a.Pos)
							}
						}
						names[foldIndex(n)] = true
					case ActDropIndex:
						if !exists(a.Name) && !a.IfExists {
							missing(a.Name, a.Pos)
						}
						delete(names, foldIndex(a.Name))
					case ActDropPrimaryKey:
						if !c.Postgres() && !exists("PRIMARY") {
							c.Report(s, a.Pos, "", "table %s has no primary key to drop", info.Name)
						}
						delete(names, foldIndex("PRIMARY"))
					case ActRenameIndex:
						if !exists(a.Name) {
							missing(a.Name, a.Pos)
						} else if exists(a.NewName) {
							taken(a.NewName, a.Pos)
						}
						delete(names, foldIndex(a.Name))
						names[foldIndex(a.NewName)] = true
					}
				}
			}
		},
	}
}

func foldIndex(n string) string {
	b := []byte(n)
	for i, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}
