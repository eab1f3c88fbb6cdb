package sqlreview

// ruleManualReview documents manual-review findings; the review reports
// them for statements no rule can judge.
func ruleManualReview() *Rule {
	return &Rule{
		ID: RuleManual, Level: LevelWarning, Engines: forAll,
		Summary: "Statements rules cannot review go to a DBA",
		Explain: "Stored procedures, functions, triggers, events, anonymous blocks, statements under a DELIMITER command, " +
			"client commands and MariaDB syntax beyond the MySQL grammar are valid SQL that no rule can judge. Instead of " +
			"failing the ticket, the review marks it as needing manual review so that it is routed to a DBA. The report's " +
			"needs_manual_review stays true even when this rule is set to off; off only hides the findings.",
	}
}
