package sqlreview

func rulePGLockHazard() *Rule {
	return &Rule{
		ID: "statement-pg-lock-hazard", Level: LevelWarning, Engines: forPostgres,
		Summary: "No long ACCESS EXCLUSIVE lock: SET NOT NULL, ADD COLUMN with a volatile default or serial",
		Explain: "On an existing PostgreSQL table, ALTER COLUMN ... SET NOT NULL scans the whole table under an ACCESS " +
			"EXCLUSIVE lock (no reads, no writes), and ADD COLUMN with a volatile DEFAULT (random(), gen_random_uuid(), " +
			"clock_timestamp(), nextval(), a serial or identity column) rewrites it under that lock. Instead: add " +
			"CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL (PostgreSQL 12+ uses the " +
			"check and skips the scan); add the column without a default (or a constant one), then backfill in " +
			"batches. Tables created in the same script are empty and exempt.",
		Check: func(c *Check, s *Stmt) {
			if s.Op != OpAlterTable || s.Alter == nil || createdInFile(c, s) {
				return
			}
			for _, a := range s.Alter.Actions {
				switch {
				case a.Kind == ActSetNotNull:
					c.Report(s, a.Pos, "add CHECK ("+quoteName(true, a.Name)+" IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL",
						"SET NOT NULL on %s scans the table under an ACCESS EXCLUSIVE lock", s.Table.Name)
				case a.Kind == ActAddColumn && a.Column != nil && a.Column.VolatileDefault != "":
					c.Report(s, a.Pos, "add the column without the default, then backfill in batches",
						"column %s with the volatile default %s() rewrites %s under an ACCESS EXCLUSIVE lock", a.Column.Name, a.Column.VolatileDefault, s.Table.Name)
				case a.Kind == ActAddColumn && a.Column != nil && a.Column.AutoIncr:
					c.Report(s, a.Pos, "add a plain column, backfill it in batches, then attach the sequence",
						"serial or identity column %s rewrites %s under an ACCESS EXCLUSIVE lock", a.Column.Name, s.Table.Name)
				}
			}
		},
	}
}
