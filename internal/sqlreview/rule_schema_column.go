package sqlreview

import "strings"

func ruleSchemaColumn() *Rule {
	return &Rule{
		ID: "schema-column", Level: LevelError, Engines: forAll,
		Summary: "Columns a statement uses exist (and columns it adds do not)",
		Explain: "DROP, MODIFY, CHANGE, RENAME and ALTER COLUMN, index definitions, INSERT column lists, UPDATE ... SET " +
			"and COMMENT ON COLUMN must name columns that exist; ADD COLUMN one that does not (unless IF [NOT] EXISTS). " +
			"Checked when the table's definition is known: from the instance or from the script.",
		Check: func(c *Check, s *Stmt) {
			var info *tableInfo
			switch s.Op {
			case OpAlterTable, OpCreateIndex, OpInsert, OpComment:
				_, info = c.Table(s.Table)
			case OpUpdate:
				if len(s.Tables) == 1 {
					_, info = c.Table(s.Table)
				}
			}
			if info == nil {
				return
			}
			cols := map[string]bool{}
			for _, col := range info.Columns {
				cols[strings.ToLower(col.Name)] = true
			}
			has := func(name string) bool { return cols[strings.ToLower(name)] }
			missing := func(name string, pos int) {
				c.Report(s, pos, "", "column %s does not exist in %s", name, info.Name)
			}
			switch s.Op {
			case OpInsert:
				if s.DML != nil {
					for _, name := range s.DML.InsertColumns {
						if !has(name) {
							missing(name, s.find(name, s.Table.Pos+1))
						}
					}
				}
			case OpUpdate:
				if s.DML != nil {
					for _, name := range s.DML.SetColumns {
						if !has(name) {
							missing(name, s.find(name, s.findWord("SET", 0)))
						}
					}
				}
			case OpComment:
				if s.Comment != nil && s.Comment.Column != "" && !has(s.Comment.Column) {
					missing(s.Comment.Column, s.find(s.Comment.Column, 0))
				}
			case OpCreateIndex:
				if s.Index != nil {
					for _, name := range s.Index.Columns {
						if !strings.HasPrefix(name, "(") && !has(name) {
							missing(name, s.find(name, s.Table.Pos+1))
						}
					}
				}
			case OpAlterTable:
				if s.Alter == nil {
					return
				}
				for _, a := range s.Alter.Actions {
					switch a.Kind {
					case ActAddColumn:
						if a.Column != nil && has(a.Column.Name) && !a.IfNotExists {
							c.Report(s, a.Pos, "add IF NOT EXISTS (MariaDB), or pick another name", "column %s already exists in %s", a.Column.Name, info.Name)
						}
						if a.Column != nil {
							cols[strings.ToLower(a.Column.Name)] = true
						}
					case ActDropColumn, ActModifyColumn, ActRenameColumn, ActSetDefault, ActDropDefault, ActSetNotNull, ActDropNotNull:
						if !has(a.Name) {
							if !a.IfExists {
								missing(a.Name, a.Pos)
							}
							continue
						}
						newName := a.NewName
						if newName != "" && !strings.EqualFold(newName, a.Name) && has(newName) {
							c.Report(s, a.Pos, "pick another name", "column %s already exists in %s", newName, info.Name)
						}
						if a.Kind == ActDropColumn {
							delete(cols, strings.ToLower(a.Name))
						}
						if newName != "" {
							delete(cols, strings.ToLower(a.Name))
							cols[strings.ToLower(newName)] = true
						}
					case ActAddIndex:
						if a.Index != nil {
							for _, name := range a.Index.Columns {
								if !strings.HasPrefix(name, "(") && !has(name) {
									missing(name, s.find(name, a.Pos))
								}
							}
						}
					}
				}
			}
		},
	}
}
