package sqlreview

import "github.com/dbfleet/dbfleet/internal/sql"

func ruleTicketKind() *Rule {
	return &Rule{
		ID: "statement-ticket-kind", Level: LevelError, Engines: forAll,
		Summary: "Schema changes and data changes go in tickets of their kind",
		Explain: "Schema-change (ddl) and data-change (dml) tickets are approved by different people and executed " +
			"differently: data changes are chunked and keep before-images for rollback, schema changes run online " +
			"DDL. A ticket of one kind must not smuggle statements of the other. A schema change may seed the tables it " +
			"creates (INSERT into a table created earlier in the same script); changing existing rows is a data change. " +
			"A data change is written as INSERT, UPDATE or DELETE: CALL and DO run code whose changes cannot be counted " +
			"against the ticket's declared rows nor rolled back.",
		Check: func(c *Check, s *Stmt) {
			switch c.Kind() {
			case "dml":
				if callsCode(s) {
					c.Report(s, -1, "write the change as INSERT, UPDATE or DELETE", "%s in a data-change ticket: the rows it changes cannot be counted against the declared rows, nor rolled back", s.Verb)
				}
				if s.Kind == sql.KindDDL && s.Op != OpTruncate && s.Op != OpDropTable && s.Op != OpDropView && s.Op != OpDropDatabase && !(s.Op == OpCreateTable && s.OrReplace) {
					c.Report(s, -1, "move it to a schema-change ticket", "%s in a data-change ticket", s.Verb)
				}
			case "ddl":
				if s.Kind == sql.KindDML && !(s.Op == OpInsert && createdInFile(c, s)) {
					c.Report(s, -1, "move it to a data-change ticket", "%s in a schema-change ticket", s.Verb)
				}
			}
		},
	}
}

// callsCode: CALL or DO, which run a procedure or a block whose changes
// the executor cannot count or undo.
func callsCode(s *Stmt) bool { return s.Verb == "CALL" || s.Verb == "DO" }
