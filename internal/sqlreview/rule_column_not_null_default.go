package sqlreview

import "strings"

// noDefaultTypes cannot have a literal DEFAULT in MySQL before 8.0.13.
var noDefaultTypes = map[string]bool{
	"blob": true, "tinyblob": true, "mediumblob": true, "longblob": true,
	"text": true, "tinytext": true, "mediumtext": true, "longtext": true, "json": true, "geometry": true,
}

func ruleColumnNotNullDefault() *Rule {
	return &Rule{
		ID: "column-not-null-default", Level: LevelWarning, Engines: forAll,
		Summary: "NOT NULL columns have a DEFAULT",
		Explain: "Adding a NOT NULL column without a default fails on a non-empty table in PostgreSQL and in MySQL " +
			"strict mode fills it with 0 or '' silently; inserts that omit the column fail. Give NOT NULL columns a " +
			"DEFAULT (primary keys, AUTO_INCREMENT, identity and generated columns, and MySQL TEXT/BLOB/JSON are exempt).",
		Check: func(c *Check, s *Stmt) {
			pk := primaryKeyColumns(s)
			for _, x := range newColumns(s) {
				col := x.c
				if !col.NotNull || col.Default || col.PrimaryKey || pk[strings.ToLower(col.Name)] || col.AutoIncr || col.Generated {
					continue
				}
				if x.isModify() && c.Postgres() {
					continue // ALTER COLUMN TYPE does not touch defaults
				}
				if !c.Postgres() && noDefaultTypes[col.Type] {
					continue
				}
				msg := "NOT NULL column %s has no DEFAULT"
				if x.a != nil && x.a.Kind == ActAddColumn && !createdInFile(c, s) {
					if c.Postgres() {
						msg = "adding NOT NULL column %s without a DEFAULT fails if the table has rows"
					} else {
						msg = "adding NOT NULL column %s without a DEFAULT fills existing rows with an implicit value"
					}
				}
				c.Report(s, x.pos(), "add DEFAULT ... (or make it nullable)", msg, col.Name)
			}
		},
	}
}
