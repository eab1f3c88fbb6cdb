package sqlreview

import "strings"

func ruleColumnRequired() *Rule {
	return &Rule{
		ID: "column-required", Level: LevelOff, Engines: forAll,
		Summary: "Tables have the columns of the required list",
		Explain: "Teams agree on columns every table carries (an id, audit timestamps, who changed a row): tools, " +
			"retention jobs and audits rely on them. A new table must define them (in CREATE TABLE or a later " +
			"ALTER TABLE of the same script), and a change must not drop or rename them. Off by default: set the " +
			"list (columns) and turn it on.",
		Params: []Param{{Name: "columns", Kind: ParamList, Default: []string{}, Help: "columns every table must have"}},
		Check: func(c *Check, s *Stmt) {
			required := c.List("columns")
			if len(required) == 0 {
				return
			}
			switch s.Op {
			case OpCreateTable:
				if ct := s.Create; ct != nil && !ct.Like && !ct.AsSelect && !ct.Temporary {
					pending, _ := c.state["pending"].([]*Stmt)
					c.state["pending"] = append(pending, s)
				}
			case OpAlterTable:
				if s.Alter == nil {
					return
				}
				for _, a := range s.Alter.Actions {
					gone := ""
					switch {
					case a.Kind == ActDropColumn, a.Kind == ActRenameColumn:
						gone = a.Name
					case a.Kind == ActModifyColumn && a.NewName != "" && !strings.EqualFold(a.Name, a.NewName):
						gone = a.Name
					}
					if gone != "" && inList(required, gone) {
						c.Report(s, a.Pos, "keep the column", "column %s of %s is required", gone, s.Table.Name)
					}
				}
			}
		},
		Finish: func(c *Check) {
			pending, _ := c.state["pending"].([]*Stmt)
			for _, s := range pending {
				e := c.rv.schema.tables[tableKey(c, s.Table)]
				if e == nil || e.exists != yes || e.info == nil {
					continue // dropped or renamed later, or not followed
				}
				// Columns the CREATE TABLE had and a later statement
				// dropped were reported at that statement.
				var missing []string
				for _, name := range c.List("columns") {
					if e.info.column(name) == nil && findColumn(s.Create.Columns, name) == nil {
						missing = append(missing, name)
					}
				}
				if len(missing) > 0 {
					c.Report(s, s.Table.Pos, "add "+strings.Join(missing, ", "), "table %s lacks the required column(s) %s", s.Table.Name, strings.Join(missing, ", "))
				}
			}
		},
	}
}
