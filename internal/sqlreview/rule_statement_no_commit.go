package sqlreview

import "github.com/dbfleet/dbfleet/internal/sql"

func ruleNoCommit() *Rule {
	return &Rule{
		ID: "statement-no-commit", Level: LevelWarning, Engines: forAll,
		Summary: "No COMMIT inside a script",
		Explain: "dbfleet's executor commits each statement itself (keeping before-images for rollback) and refuses " +
			"transaction control at execution; elsewhere a COMMIT in the middle of a script makes everything before " +
			"it permanent, so a later failure leaves a half-applied change. Remove it; split the work into tickets " +
			"if it must be applied in parts.",
		Check: func(c *Check, s *Stmt) {
			if s.Kind != sql.KindTxn {
				return
			}
			if cl := sql.LexClass(s.dialect, s.Text); cl.Txn == "COMMIT" {
				c.Report(s, -1, "remove the COMMIT; split the script into tickets if it must be applied in parts", "COMMIT inside a script")
			}
		},
	}
}
