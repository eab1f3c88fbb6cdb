package sqlreview

func ruleCreateIndexConcurrently() *Rule {
	return &Rule{
		ID: "statement-create-index-concurrently", Level: LevelWarning, Engines: forPostgres,
		Summary: "Indexes on existing tables are built and dropped CONCURRENTLY",
		Explain: "CREATE INDEX without CONCURRENTLY blocks every write to the table until the index is built; DROP " +
			"INDEX takes an exclusive lock; ADD PRIMARY KEY / UNIQUE builds an index under an exclusive lock. Use " +
			"CREATE INDEX CONCURRENTLY (then ADD CONSTRAINT ... USING INDEX) and DROP INDEX CONCURRENTLY, each outside " +
			"a transaction block. Tables created in the same script are exempt.",
		Check: func(c *Check, s *Stmt) {
			switch s.Op {
			case OpCreateIndex:
				if !s.Concurrently && !createdInFile(c, s) {
					c.Report(s, -1, "use CREATE INDEX CONCURRENTLY", "CREATE INDEX on %s blocks writes while it builds", s.Table.Name)
				}
			case OpDropIndex:
				if !s.Concurrently {
					c.Report(s, -1, "use DROP INDEX CONCURRENTLY", "DROP INDEX takes an exclusive lock on its table")
				}
			case OpAlterTable:
				if s.Alter == nil || createdInFile(c, s) {
					return
				}
				for _, a := range s.Alter.Actions {
					if a.Kind == ActAddIndex && a.Index != nil && a.Index.Columns != nil {
						c.Report(s, a.Pos, "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX",
							"adding a primary key or unique constraint to %s builds its index under an exclusive lock", s.Table.Name)
					}
				}
			}
		},
	}
}
