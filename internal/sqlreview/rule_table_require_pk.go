package sqlreview

func ruleTableRequirePK() *Rule {
	return &Rule{
		ID: "table-require-pk", Level: LevelError, Engines: forAll,
		Summary: "Every table has a primary key",
		Explain: "Without a primary key InnoDB uses a hidden row id: replicas apply row events by full table scans " +
			"(replication lag), online schema tools and chunked updates cannot work, and rows cannot be addressed " +
			"reliably. Define a primary key in CREATE TABLE and never drop one without adding another.",
		Check: func(c *Check, s *Stmt) {
			switch s.Op {
			case OpCreateTable:
				ct := s.Create
				if ct == nil || ct.Like || ct.Temporary {
					return
				}
				for _, ix := range ct.Indexes {
					if ix.Primary {
						return
					}
				}
				fix := "add a primary key, e.g. id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY"
				if c.Postgres() {
					fix = "add a primary key, e.g. id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
				}
				c.Report(s, s.Table.Pos, fix, "table %s has no primary key", s.Table.Name)
			case OpAlterTable:
				if s.Alter == nil {
					return
				}
				var drop *Action
				for _, a := range s.Alter.Actions {
					if a.Kind == ActDropPrimaryKey {
						drop = a
					}
					if a.Kind == ActAddIndex && a.Index != nil && a.Index.Primary {
						return
					}
				}
				if drop != nil {
					c.Report(s, drop.Pos, "add the new primary key in the same ALTER TABLE", "dropping the primary key of %s leaves it without one", s.Table.Name)
				}
			}
		},
	}
}
