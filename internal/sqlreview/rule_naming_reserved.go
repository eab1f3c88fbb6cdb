package sqlreview

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/pingcap/tidb/pkg/parser"
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

var mysqlReservedWords = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range parser.Keywords {
		if k.Reserved {
			m[k.Word] = true
		}
	}
	return m
}()

func mysqlReserved(name string) bool { return mysqlReservedWords[strings.ToUpper(name)] }

// pgReserved asks PostgreSQL's own scanner whether name is a reserved
// keyword (or one that cannot name a table or column).
func pgReserved(name string) bool {
	res, err := pg.Scan(name)
	if err != nil || len(res.Tokens) != 1 {
		return false
	}
	k := res.Tokens[0].KeywordKind
	return k == pg.KeywordKind_RESERVED_KEYWORD || k == pg.KeywordKind_TYPE_FUNC_NAME_KEYWORD
}
