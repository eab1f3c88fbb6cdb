package sqlreview

func ruleRequireAlgorithm() *Rule {
	return &Rule{
		ID: "statement-require-algorithm", Level: LevelOff, Engines: forMySQL,
		Summary: "ALTER TABLE and CREATE INDEX state ALGORITHM and LOCK",
		Explain: "With ALGORITHM=INSTANT or INPLACE and LOCK=NONE stated, the server refuses a change it cannot do " +
			"online instead of silently copying the table under a lock. Off by default; statement-online-ddl checks " +
			"large tables against the live instance.",
		Params: []Param{{Name: "require_lock", Kind: ParamBool, Default: true, Help: "also require LOCK= (not needed with ALGORITHM=INSTANT)"}},
		Check: func(c *Check, s *Stmt) {
			if (s.Op != OpAlterTable && s.Op != OpCreateIndex) || createdInFile(c, s) {
				return
			}
			switch {
			case s.Algorithm == "" && !s.Online:
				c.Report(s, -1, "append ALGORITHM=INPLACE, LOCK=NONE (or ALGORITHM=INSTANT)", "%s of %s does not state ALGORITHM", s.Verb, s.Table.Name)
			case c.Bool("require_lock") && s.Lock == "" && !s.Online && s.Algorithm != "INSTANT":
				c.Report(s, -1, "append LOCK=NONE", "%s of %s does not state LOCK", s.Verb, s.Table.Name)
			}
		},
	}
}
