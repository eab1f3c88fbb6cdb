package sqlreview

func ruleNoEvent() *Rule {
	return &Rule{
		ID: "table-no-event", Level: LevelWarning, Engines: forMySQL,
		Summary: "No scheduled events",
		Explain: "Events run SQL on a schedule inside the server, unseen by the job scheduler, the audit log and the " +
			"on-call team; after a failover they run (or not) depending on the event scheduler of the new primary. " +
			"Schedule work with dbfleet jobs or cron instead.",
		Check: func(c *Check, s *Stmt) {
			if s.Op == OpCreateEvent {
				c.Report(s, -1, "", "%s is not allowed", s.Verb)
			}
		},
	}
}
