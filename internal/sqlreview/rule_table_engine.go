package sqlreview

import "strings"

func ruleTableEngine() *Rule {
	return &Rule{
		ID: "table-engine-innodb", Level: LevelError, Engines: forMySQL,
		Summary: "Tables use an allowed storage engine (InnoDB)",
		Explain: "InnoDB is transactional, crash-safe and what replication, backups and online DDL are tuned for. " +
			"MyISAM, MEMORY or Aria tables lose data on a crash and lock whole tables on writes.",
		Params: []Param{{Name: "engines", Kind: ParamList, Default: []string{"InnoDB"}, Help: "allowed engines"}},
		Check: func(c *Check, s *Stmt) {
			allowed := c.List("engines")
			check := func(eng string, pos int) {
				if eng != "" && !inList(allowed, eng) {
					c.Report(s, pos, "use ENGINE=InnoDB", "table %s uses engine %s; allowed: %s", s.Table.Name, eng, strings.Join(allowed, ", "))
				}
			}
			switch {
			case s.DefaultEngine != "":
				if !inList(allowed, s.DefaultEngine) {
					c.Report(s, -1, "leave default_storage_engine at InnoDB", "default_storage_engine set to %s; allowed: %s", s.DefaultEngine, strings.Join(allowed, ", "))
				}
			case s.Op == OpCreateTable && s.Create != nil:
				check(s.Create.Engine, s.findWord("ENGINE", 0))
			case s.Op == OpAlterTable && s.Alter != nil:
				for _, a := range s.Alter.Actions {
					if a.Kind == ActOptions {
						check(a.Engine, a.Pos)
					}
				}
			}
		},
	}
}
