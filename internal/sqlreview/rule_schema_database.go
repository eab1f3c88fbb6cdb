package sqlreview

func ruleSchemaDatabase() *Rule {
	return &Rule{
		ID: "schema-database", Level: LevelError, Engines: forAll,
		Summary: "Referenced databases exist (and new ones do not)",
		Explain: "USE, qualified names (db.table) and DROP DATABASE must name a database that exists; CREATE DATABASE " +
			"one that does not (unless IF [NOT] EXISTS). On PostgreSQL this applies to schemas. Checked against the " +
			"instance when one is given, and against what the script itself created and dropped.",
		Check: func(c *Check, s *Stmt) {
			st := c.rv.schema
			missing := func(name string, pos int) {
				if name != "" && st.database(c.rv.ctx, name) == no {
					c.Report(s, pos, "", "database %s does not exist", name)
				}
			}
			switch s.Op {
			case OpUse:
				missing(s.Database, s.find(s.Database, 0))
			case OpCreateDatabase:
				if !s.IfNotExists && !s.OrReplace && st.database(c.rv.ctx, s.Database) == yes {
					c.Report(s, s.find(s.Database, 0), "add IF NOT EXISTS, or pick another name", "database %s already exists", s.Database)
				}
			case OpDropDatabase:
				if !s.IfExists {
					missing(s.Database, s.find(s.Database, 0))
				}
			}
			seen := map[string]bool{}
			refs := append([]TableRef{s.Table}, s.Tables...)
			for _, r := range s.Renames {
				refs = append(refs, r.From, r.To)
			}
			for _, ref := range refs {
				if ref.Schema != "" && !seen[st.fold(ref.Schema)] {
					seen[st.fold(ref.Schema)] = true
					missing(ref.Schema, s.find(ref.Schema, 0))
				}
			}
		},
	}
}
