package sqlreview

import "github.com/dbfleet/dbfleet/internal/sql"

func ruleNoLeadingWildcard() *Rule {
	return &Rule{
		ID: "statement-no-leading-wildcard-like", Level: LevelWarning, Engines: forAll,
		Summary: "No LIKE pattern that starts with a wildcard",
		Explain: "LIKE '%abc' cannot use a B-tree index: every row is read and compared. Use a full-text index, a " +
			"reversed-string column, or (PostgreSQL) a trigram index.",
		Check: func(c *Check, s *Stmt) {
			if s.DML == nil {
				return
			}
			for _, l := range s.DML.LeadingLike {
				c.Report(s, l.Pos, "anchor the pattern at the start, or use a full-text/trigram index", "LIKE %s starts with a wildcard and cannot use an index", sql.Clip("'"+l.Pattern+"'", 40))
			}
		},
	}
}
