package sqlreview

import "strings"

func ruleTableCharset() *Rule {
	return &Rule{
		ID: "table-charset", Level: LevelWarning, Engines: forMySQL,
		Summary: "Character sets and collations come from an allow-list",
		Explain: "Mixed character sets and collations make joins skip indexes and comparisons fail with " +
			"'illegal mix of collations'; utf8 (utf8mb3) cannot store emoji. Databases, tables and columns should use " +
			"the allowed character sets (utf8mb4) and, when a list is given, the allowed collations.",
		Params: []Param{
			{Name: "charsets", Kind: ParamList, Default: []string{"utf8mb4"}, Help: "allowed character sets; empty allows any"},
			{Name: "collations", Kind: ParamList, Default: []string{}, Help: "allowed collations; empty allows any of an allowed character set"},
		},
		Check: func(c *Check, s *Stmt) {
			charsets, collations := c.List("charsets"), c.List("collations")
			check := func(what, cs, coll string, pos int) {
				if cs != "" && len(charsets) > 0 && !inList(charsets, cs) {
					c.Report(s, pos, "use CHARACTER SET "+charsets[0], "%s uses character set %s; allowed: %s", what, cs, strings.Join(charsets, ", "))
					return
				}
				if coll == "" || strings.EqualFold(coll, "binary") {
					return
				}
				if len(collations) > 0 {
					if !inList(collations, coll) {
						c.Report(s, pos, "use COLLATE "+collations[0], "%s uses collation %s; allowed: %s", what, coll, strings.Join(collations, ", "))
					}
					return
				}
				if cs, _, _ := strings.Cut(coll, "_"); len(charsets) > 0 && !inList(charsets, cs) {
					c.Report(s, pos, "use a collation of "+charsets[0], "%s uses collation %s of character set %s; allowed: %s", what, coll, cs, strings.Join(charsets, ", "))
				}
			}
			switch s.Op {
			case OpCreateDatabase, OpAlterDatabase:
				pos := s.findWord("CHARACTER", 0)
				if pos < 0 {
					pos = s.findWord("CHARSET", 0)
				}
				if pos < 0 {
					pos = s.findWord("COLLATE", 0)
				}
				check("database "+s.Database, s.Charset, s.Collate, pos)
			case OpCreateTable:
				if s.Create == nil {
					return
				}
				pos := s.findWord("CHARSET", 0)
				if pos < 0 {
					pos = s.findWord("CHARACTER", 0)
				}
				if pos < 0 {
					pos = s.findWord("COLLATE", 0)
				}
				check("table "+s.Table.Name, s.Create.Charset, s.Create.Collate, pos)
			case OpAlterTable:
				if s.Alter == nil {
					return
				}
				for _, a := range s.Alter.Actions {
					if a.Kind == ActOptions || a.Kind == ActConvertCharset {
						check("table "+s.Table.Name, a.Charset, a.Collate, a.Pos)
					}
				}
			}
			for _, x := range newColumns(s) {
				check("column "+x.c.Name, x.c.Charset, x.c.Collate, x.pos())
			}
		},
	}
}
