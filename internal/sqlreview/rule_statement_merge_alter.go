package sqlreview

import "fmt"

func ruleMergeAlter() *Rule {
	return &Rule{
		ID: "statement-merge-alter", Level: LevelWarning, Engines: forAll,
		Summary: "Several ALTERs of one table are merged into one",
		Explain: "Each ALTER TABLE (and, in MySQL, each CREATE/DROP INDEX) may rebuild the table and takes its locks " +
			"again; two changes of one table done separately cost twice the time, I/O and replication lag of one " +
			"combined statement. A table created in the same script should get its final shape in the CREATE TABLE.",
		Check: func(c *Check, s *Stmt) {
			alters := s.Op == OpAlterTable || (!c.Postgres() && (s.Op == OpCreateIndex || s.Op == OpDropIndex))
			if s.Op == OpCreateTable {
				c.state[tableKey(c, s.Table)] = fmt.Sprintf("the CREATE TABLE at line %d", s.Line)
				return
			}
			if s.Op == OpDropTable {
				for _, t := range s.Tables {
					delete(c.state, tableKey(c, t))
				}
			}
			if !alters || s.Table.Name == "" {
				return
			}
			k := tableKey(c, s.Table)
			if first, ok := c.state[k].(string); ok {
				c.Report(s, -1, "make both one statement", "another change of %s after %s: merge them", s.Table.Name, first)
				return
			}
			c.state[k] = fmt.Sprintf("the %s at line %d", s.Verb, s.Line)
		},
	}
}
