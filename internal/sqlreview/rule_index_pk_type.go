package sqlreview

import "strings"

func rulePKTypeAllowlist() *Rule {
	return &Rule{
		ID: "index-pk-type-allowlist", Level: LevelOff, Engines: forAll,
		Summary: "Primary-key columns have a type of the allow-list",
		Explain: "A primary key is copied into every secondary index (InnoDB) and every referencing row: a wide or " +
			"random key (VARCHAR, UUID text, DECIMAL) makes all of them bigger and inserts scatter across the " +
			"B-tree. Keep keys to the integer types of the list. Off by default; turn it on where the team agrees.",
		Params: []Param{{Name: "types", Kind: ParamList, Default: []string{"int", "integer", "bigint", "serial", "bigserial"},
			Help: "base types a primary-key column may have (lower case, without length: int, bigint, integer...)"}},
		Check: func(c *Check, s *Stmt) {
			allowed := c.List("types")
			var defs []*Column // columns the statement defines
			var pkCols []string
			keyPos := map[string]int{} // where a key names a column
			for _, x := range newColumns(s) {
				defs = append(defs, x.c)
				if x.c.PrimaryKey {
					pkCols = append(pkCols, x.c.Name)
				}
			}
			for _, ix := range newIndexes(s) {
				if ix.Primary {
					pkCols = append(pkCols, ix.Columns...)
					for _, name := range ix.Columns {
						keyPos[strings.ToLower(name)] = ix.Pos
					}
				}
			}
			seen := map[string]bool{}
			for _, name := range pkCols {
				if seen[strings.ToLower(name)] || strings.HasPrefix(name, "(") {
					continue
				}
				seen[strings.ToLower(name)] = true
				col := findColumn(defs, name)
				pos := -1
				if col != nil {
					pos = col.Pos
				} else if info := existingTable(c, s); info != nil {
					col = info.column(name) // defined by an earlier statement
					pos = keyPos[strings.ToLower(name)]
				}
				if col == nil || col.Type == "" || inList(allowed, col.Type) {
					continue
				}
				c.Report(s, pos, "use one of: "+strings.Join(allowed, ", "), "primary-key column %s has type %s, not in the allow-list", col.Name, col.Type)
			}
		},
	}
}

func findColumn(cols []*Column, name string) *Column {
	for _, c := range cols {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return nil
}
