package sqlreview

import "strings"

func ruleIndexDuplicate() *Rule {
	return &Rule{
		ID: "index-no-duplicate", Level: LevelWarning, Engines: forAll,
		Summary: "No two indexes on the same columns in the same order",
		Explain: "An index on exactly the columns of another (or of the primary key) is never chosen over it but is " +
			"written on every change and takes memory. Drop one of them. With an instance, existing indexes are " +
			"compared too.",
		Check: func(c *Check, s *Stmt) {
			var existing []*Index
			if info := existingTable(c, s); info != nil {
				existing = append(existing, info.Indexes...)
			}
			for _, ix := range newIndexes(s) {
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
