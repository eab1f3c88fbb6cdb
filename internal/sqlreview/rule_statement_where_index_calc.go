package sqlreview

import "strings"

func ruleWhereIndexCalc() *Rule {
	return &Rule{
		ID: "statement-where-no-calc-on-index", Level: LevelWarning, Engines: forAll,
		Summary: "WHERE does not wrap an indexed column in a function or arithmetic",
		Explain: "WHERE UPPER(name) = 'X' or WHERE id + 1 > 5 hides the column from its index: the engine computes " +
			"the expression for every row (a full scan) instead of seeking. Move the computation to the other side " +
			"(WHERE id > 4), store the computed value, or index the expression (MySQL 8 functional index, PostgreSQL " +
			"expression index). Only columns known to be indexed are reported: tables created earlier in the script, " +
			"or read from the instance.",
		Check: func(c *Check, s *Stmt) {
			if s.DML == nil {
				return
			}
			for _, w := range s.DML.WhereCalcs {
				table, ok := indexedColumnTable(c, w)
				if !ok {
					continue
				}
				what := "arithmetic on"
				if w.Func != "" {
					what = w.Func + "() on"
				}
				c.Report(s, w.Pos, "compare the bare column (move the computation to the other side) or index the expression",
					"%s indexed column %s.%s in WHERE prevents use of its index", what, table, w.Column)
			}
		},
	}
}

// indexedColumnTable returns the table the WHERE's column belongs to
// when its known definition has the column in an index. The innermost
// query block wins; a column that may belong to a table whose columns
// are not known (a CTE, a derived table, a table not in the script nor
// read from the instance) is not judged.
func indexedColumnTable(c *Check, w WhereCalc) (string, bool) {
	named := func(t AliasedTable) bool {
		if t.Alias != "" {
			return strings.EqualFold(w.Table, t.Alias)
		}
		return strings.EqualFold(w.Table, t.Ref.Name)
	}
	var cands []AliasedTable
	if w.Table != "" {
		for _, t := range w.Tables {
			if named(t) && (len(cands) == 0 || cands[0].Depth == t.Depth) {
				cands = append(cands, t)
			}
		}
		if len(cands) != 1 {
			return "", false // ambiguous (the engine refuses it) or unknown
		}
	} else {
		cands = w.Tables
	}
	for _, t := range cands {
		if t.Opaque {
			return "", false
		}
		_, info := c.Table(t.Ref)
		if info == nil {
			return "", false
		}
		if info.column(w.Column) == nil {
			continue
		}
		for _, ix := range info.Indexes {
			for _, col := range ix.Columns {
				if strings.EqualFold(col, w.Column) {
					return t.Ref.Name, true
				}
			}
		}
		return "", false // the column is this table's and not indexed
	}
	return "", false
}
