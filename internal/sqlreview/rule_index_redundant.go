package sqlreview

import "strings"

func ruleIndexRedundant() *Rule {
	return &Rule{
		ID: "index-no-redundant", Level: LevelWarning, Engines: forAll,
		Summary: "No index that is a leading part of another",
		Explain: "An index on (a) is redundant next to an index on (a, b): every lookup it serves, the longer one " +
			"serves too. Unique keys are exempt (they enforce a constraint). With an instance, existing indexes are " +
			"compared too.",
		Check: func(c *Check, s *Stmt) {
			var existing []*Index
			if info := existingTable(c, s); info != nil {
				existing = append(existing, info.Indexes...)
			}
			fresh := newIndexes(s)
			all := append(append([]*Index(nil), existing...), fresh...)
			isFresh := func(ix *Index) bool {
				for _, f := range fresh {
					if f == ix {
						return true
					}
				}
				return false
			}
			for _, short := range all {
				if short.Unique || short.Fulltext || short.Spatial || len(short.Columns) == 0 {
					continue
				}
				for _, long := range all {
					if long == short || long.Fulltext || long.Spatial || len(long.Columns) <= len(short.Columns) || !prefixOf(short.Columns, long.Columns) {
						continue
					}
					if !isFresh(short) && !isFresh(long) {
						continue // both exist already: not this script's doing
					}
					at := short
					if !isFresh(short) {
						at = long
					}
					c.Report(s, at.Pos, "drop "+indexLabel(short), "index %s (%s) is redundant: %s (%s) starts with the same columns",
						indexLabel(short), strings.Join(short.Columns, ", "), indexLabel(long), strings.Join(long.Columns, ", "))
					break
				}
			}
		},
	}
}

func prefixOf(short, long []string) bool {
	for i, c := range short {
		if !strings.EqualFold(c, long[i]) {
			return false
		}
	}
	return true
}
