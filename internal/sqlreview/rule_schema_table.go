package sqlreview

import "fmt"

func ruleSchemaTable() *Rule {
	return &Rule{
		ID: "schema-table", Level: LevelError, Engines: forAll,
		Summary: "Tables a statement uses exist (and tables it creates do not)",
		Explain: "ALTER, DROP, TRUNCATE, RENAME, CREATE INDEX and DML must name tables that exist at that point of the " +
			"script; CREATE TABLE and RENAME ... TO must name one that does not (unless IF NOT EXISTS or OR REPLACE). " +
			"Checked against the instance when one is given, and against what the script itself created, renamed and " +
			"dropped before.",
		Check: func(c *Check, s *Stmt) {
			mustExist := func(ref TableRef) {
				if ex, _ := c.Table(ref); ex == no {
					c.Report(s, ref.Pos, "", "table %s does not exist%s", ref, where(c, ref))
				}
			}
			mustNotExist := func(ref TableRef, fix string) {
				if ex, _ := c.Table(ref); ex == yes {
					c.Report(s, ref.Pos, fix, "table %s already exists%s", ref, where(c, ref))
				}
			}
			switch s.Op {
			case OpCreateTable, OpCreateSequence:
				if !s.IfNotExists && !s.OrReplace {
					mustNotExist(s.Table, "add IF NOT EXISTS, or pick another name")
				}
			case OpCreateView:
				if !s.OrReplace {
					mustNotExist(s.Table, "use CREATE OR REPLACE VIEW, or pick another name")
				}
			case OpAlterTable, OpCreateIndex, OpTruncate, OpComment, OpCreateTrigger:
				if !(s.Op == OpAlterTable && s.IfExists) {
					mustExist(s.Table)
				}
			case OpDropIndex:
				if s.Table.Name != "" {
					mustExist(s.Table)
				}
			case OpDropTable, OpDropView:
				if !s.IfExists {
					for _, t := range s.Tables {
						mustExist(t)
					}
				}
			case OpRenameTable:
				for _, r := range s.Renames {
					mustExist(r.From)
					mustNotExist(r.To, "pick another name")
				}
			case OpInsert, OpUpdate, OpDelete, OpSelect:
				for _, t := range s.Tables {
					mustExist(t)
				}
			}
			if s.Op == OpAlterTable && s.Alter != nil {
				for _, a := range s.Alter.Actions {
					if a.Kind == ActRenameTable && a.NewTable != nil {
						mustNotExist(*a.NewTable, "pick another name")
					}
				}
			}
		},
	}
}

// where explains where a table's state comes from.
func where(c *Check, ref TableRef) string {
	if line := c.rv.schema.origin(ref); line > 0 {
		return fmt.Sprintf(" (see line %d)", line)
	}
	if c.Live() {
		return " on the instance"
	}
	return ""
}
