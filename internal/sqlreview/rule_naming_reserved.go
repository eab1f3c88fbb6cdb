package sqlreview

import (
	"strings"

	"github.com/dbfleet/dbfleet/internal/sql"
)

func ruleNamingReserved() *Rule {
	return &Rule{
		ID: "naming-no-reserved-word", Level: LevelError, Engines: forAll,
		Summary: "No reserved words as table, column or index names",
		Explain: "A reserved word (order, group, select, user...) works only while every query quotes it; the first " +
			"unquoted use in a report, a migration or another engine fails, and a later server version can reserve " +
			"more words. Pick another name.",
		Check: func(c *Check, s *Stmt) {
			reserved := mysqlReserved
			if c.Postgres() {
				reserved = pgReserved
			}
			check := func(what, name string, pos int) {
				if name != "" && reserved(name) {
					c.Report(s, pos, "rename it, e.g. "+strings.ToLower(name)+"_"+what, "%s name %q is a reserved word", what, name)
				}
			}
			switch s.Op {
			case OpCreateTable:
				check("table", s.Table.Name, s.Table.Pos)
			case OpRenameTable:
				for _, r := range s.Renames {
					check("table", r.To.Name, r.To.Pos)
				}
			}
			for _, x := range newColumns(s) {
				if !x.isModify() || x.a.NewName != "" {
					check("column", x.c.Name, x.pos())
				}
			}
			if s.Op == OpAlterTable && s.Alter != nil {
				for _, a := range s.Alter.Actions {
					switch {
					case a.Kind == ActRenameColumn:
						check("column", a.NewName, s.find(a.NewName, a.Pos+1))
					case a.Kind == ActRenameTable && a.NewTable != nil:
						check("table", a.NewTable.Name, a.NewTable.Pos)
					}
				}
			}
			for _, ix := range newIndexes(s) {
				if !ix.Primary && !(ix.Unique && len(ix.Columns) == 1 && ix.Name == ix.Columns[0]) {
					check("index", ix.Name, ix.Pos)
				}
			}
		},
	}
}

func mysqlReserved(name string) bool { return sql.Reserved(sql.MySQL, name) }

func pgReserved(name string) bool { return sql.Reserved(sql.Postgres, name) }
