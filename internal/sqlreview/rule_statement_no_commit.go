package sqlreview

import "github.com/dbfleet/dbfleet/internal/sql"

func ruleNoCommit() *Rule {
	return &Rule{
		ID: "statement-no-commit", Level: LevelWarning, Engines: forAll,
		Summary: "No COMMIT inside a script",
		Explain: "The executor runs a ticket's statements in its own transactions and rolls back a failed one; a COMMIT " +
			"in the script ends that transaction early, so a later failure leaves the first part applied and the " +
			"rollback incomplete. Split the work into tickets instead.",
		Check: func(c *Check, s *Stmt) {
			if cl := sql.LexClass(s.dialect, s.Text); cl.Txn == "COMMIT" {
				c.Report(s, -1, "remove the COMMIT; split the script into tickets if it must be applied in parts", "COMMIT inside a script")
			}
		},
	}
}
