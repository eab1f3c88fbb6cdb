package sqlreview

import "strings"

func ruleColumnTypeDisallow() *Rule {
	return &Rule{
		ID: "column-type-disallow", Level: LevelWarning, Engines: forAll,
		Summary: "Columns do not use disallowed types",
		Explain: "Some types cause trouble later: ENUM and SET need an ALTER TABLE for every new value, BIT is awkward " +
			"for clients, MONEY depends on the server's locale. The list is configurable per environment.",
		Params: []Param{{Name: "types", Kind: ParamList, Default: []string{"enum", "set", "bit", "money"}, Help: "disallowed base types (lower case, as the engine names them)"}},
		Check: func(c *Check, s *Stmt) {
			bad := c.List("types")
			for _, x := range newColumns(s) {
				if inList(bad, x.c.Type) {
					c.Report(s, x.pos(), "", "column %s uses disallowed type %s (disallowed: %s)", x.c.Name, x.c.Type, strings.Join(bad, ", "))
				}
			}
		},
	}
}
