package sqlreview

import "strings"

func ruleIndexDuplicate() *Rule {
	return &Rule{
		ID: "index-no-duplicate", Level: LevelWarning, Engines: forAll,
		Summary: "No two indexes on the same columns in the same order, no column twice in one index",
		Explain: "An index on exactly the columns of another (or of the primary key) is never chosen over it but is " +
			"written on every change and takes memory. Drop one of them. With an instance, existing indexes are " +
			"compared too. A column listed twice in one index, INDEX (a, a), is refused by MySQL and PostgreSQL alike or " +
			"(functional parts aside) adds nothing: list it once.",
		Check: func(c *Check, s *Stmt) {
			var existing []*Index
			if info := existingTable(c, s); info != nil {
				existing = append(existing, info.Indexes...)
			}
			for _, fk := range newForeignKeys(s) {
				if col := repeatedColumn(&Index{Columns: fk.Columns}); col != "" {
					label := fk.Name
					if label == "" {
						label = "(" + strings.Join(fk.Columns, ", ") + ")"
					}
					c.Report(s, fk.Pos, "list each column once", "foreign key %s lists column %s more than once", label, col)
				}
			}
			for _, ix := range newIndexes(s) {
				if col := repeatedColumn(ix); col != "" {
					c.Report(s, ix.Pos, "list each column once", "index %s lists column %s more than once", indexLabel(ix), col)
				}
				if ix.Fulltext || ix.Spatial || len(ix.Columns) == 0 {
					continue
				}
				for _, other := range existing {
					if other.Fulltext || other.Spatial || other.Key() != ix.Key() {
						continue
					}
					c.Report(s, ix.Pos, "drop one of them", "index %s duplicates %s on (%s)", indexLabel(ix), indexLabel(other), strings.Join(ix.Columns, ", "))
					break
				}
				existing = append(existing, ix)
			}
		},
	}
}

func indexLabel(ix *Index) string {
	switch {
	case ix.Primary:
		return "the primary key"
	case ix.Name != "":
		return ix.Name
	}
	return "(" + ix.Key() + ")"
}

// repeatedColumn returns a column an index lists twice, "" when none.
func repeatedColumn(ix *Index) string {
	seen := map[string]bool{}
	for _, col := range ix.Columns {
		if strings.HasPrefix(col, "(") { // an expression
			continue
		}
		k := strings.ToLower(col)
		if seen[k] {
			return col
		}
		seen[k] = true
	}
	return ""
}
