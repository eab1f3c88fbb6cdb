package sqlreview

import "strings"

func ruleBackwardCompatible() *Rule {
	return &Rule{
		ID: "schema-backward-compatible", Level: LevelWarning, Engines: forAll,
		Summary: "No drop, rename or type change of columns, tables and views the running application may use",
		Explain: "The application version running while (and just after) the change is applied still reads the old " +
			"names and types: dropping or renaming a column, table or view, or changing a column's type, breaks it, and a rollback of the application no " +
			"longer finds them. Change in steps: add the new name, deploy code that uses it, then drop the old " +
			"one in a later ticket. Objects created earlier in the same script are exempt, and a view dropped and " +
			"created again in the script is fine.",
		Check: func(c *Check, s *Stmt) {
			fix := "add the new object, move the application to it, and drop the old one in a later ticket"
			switch s.Op {
			case OpDropTable:
				for _, t := range s.Tables {
					if !c.rv.schema.created(t) {
						c.Report(s, t.Pos, fix, "dropping table %s breaks the code that uses it", t.Name)
					}
				}
			case OpDropView:
				pending, _ := c.state["views"].([]pendingDrop)
				for _, t := range s.Tables {
					pending = append(pending, pendingDrop{s: s, t: t})
				}
				c.state["views"] = pending
			case OpCreateView:
				c.state["created:"+tableKey(c, s.Table)] = true
			case OpRenameTable:
				for _, r := range s.Renames {
					if !c.rv.schema.created(r.From) {
						c.Report(s, r.From.Pos, fix, "renaming table %s breaks the code that uses it", r.From.Name)
					}
				}
			case OpAlterTable:
				if s.Alter == nil || createdInFile(c, s) {
					return
				}
				for _, a := range s.Alter.Actions {
					switch {
					case a.Kind == ActDropColumn:
						c.Report(s, a.Pos, fix, "dropping column %s.%s breaks the code that uses it", s.Table.Name, a.Name)
					case a.Kind == ActRenameColumn, a.Kind == ActModifyColumn && a.NewName != "" && !strings.EqualFold(a.Name, a.NewName):
						c.Report(s, a.Pos, fix, "renaming column %s.%s to %s breaks the code that uses it", s.Table.Name, a.Name, a.NewName)
					case a.Kind == ActModifyColumn && a.Column != nil && typeChanges(c, s, a):
						c.Report(s, a.Pos, "add a column of the new type, move the application to it, then drop the old one",
							"changing the type of column %s.%s breaks the code and data that rely on it", s.Table.Name, a.Name)
					case a.Kind == ActRenameTable && a.NewTable != nil:
						c.Report(s, a.Pos, fix, "renaming table %s breaks the code that uses it", s.Table.Name)
					}
				}
			}
		},
		Finish: func(c *Check) {
			pending, _ := c.state["views"].([]pendingDrop)
			for _, p := range pending {
				if again, _ := c.state["created:"+tableKey(c, p.t)].(bool); !again && !c.rv.schema.created(p.t) {
					c.Report(p.s, p.t.Pos, "create the new view first, move the application to it, and drop the old one in a later ticket",
						"dropping view %s breaks the code that uses it", p.t.Name)
				}
			}
		},
	}
}

// typeChanges reports whether a MODIFY/CHANGE (PostgreSQL: ALTER COLUMN
// TYPE, which only changes types) gives a column another base type; false
// when the old definition is unknown.
func typeChanges(c *Check, s *Stmt, a *Action) bool {
	if c.Postgres() {
		return true
	}
	info := existingTable(c, s)
	if info == nil {
		return false
	}
	old := info.column(a.Name)
	return old != nil && old.Type != "" && !strings.EqualFold(old.Type, a.Column.Type)
}

type pendingDrop struct {
	s *Stmt
	t TableRef
}
