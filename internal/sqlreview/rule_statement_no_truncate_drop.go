package sqlreview

import (
	"strings"

	"github.com/dbfleet/dbfleet/internal/sql"
)

const ruleNoTruncateDropID = "statement-no-truncate-drop"

func ruleNoTruncateDrop() *Rule {
	return &Rule{
		ID: ruleNoTruncateDropID, Level: LevelError, Engines: forAll,
		Summary: "No TRUNCATE or DROP in data-change tickets; on prod always at least a warning",
		Explain: "A data-change ticket is reviewed, approved and rolled back as row changes; TRUNCATE and DROP " +
			"(and CREATE OR REPLACE TABLE, which drops, and ALTER TABLE ... DROP/TRUNCATE PARTITION) remove whole tables or partitions, cannot be undone from before-images and " +
			"must go through a schema-change ticket with a backup step. With always, they are refused in every ticket. " +
			"On prod every statement that destroys data is at least a warning in every ticket, and a rule set cannot " +
			"turn this rule off there.",
		Params: []Param{{Name: "always", Kind: ParamBool, Default: false, Help: "refuse them in every review, not only data-change (dml) tickets"}},
		Check: func(c *Check, s *Stmt) {
			if c.Kind() != "dml" && !c.Bool("always") {
				if s.Kind == sql.KindDDL && strings.EqualFold(c.Env(), ProdEnv) {
					if what := sql.LexClass(s.dialect, s.Text).Destroys; what != "" {
						c.ReportLevel(s, -1, LevelWarning, "make sure the data is backed up or no longer needed",
							"%s destroys data on prod", what)
					}
				}
				return
			}
			switch {
			case s.Op == OpTruncate, s.Op == OpDropTable, s.Op == OpDropView, s.Op == OpDropDatabase:
				c.Report(s, -1, "submit it as a schema-change ticket", "%s is not allowed in a data-change ticket", s.Verb)
			case s.Op == OpCreateTable && s.OrReplace:
				c.Report(s, -1, "submit it as a schema-change ticket", "CREATE OR REPLACE TABLE drops %s and is not allowed in a data-change ticket", s.Table.Name)
			case s.Op == OpAlterTable && s.Alter != nil:
				for _, a := range s.Alter.Actions {
					if a.Kind == ActPartition && (a.Name == partitionDrop || a.Name == partitionTruncate) {
						c.Report(s, a.Pos, "submit it as a schema-change ticket", "ALTER TABLE %s %s deletes rows without before-images and is not allowed in a data-change ticket", s.Table.Name, a.Name)
					}
				}
			}
		},
	}
}
