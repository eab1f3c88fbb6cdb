package sqlreview

import "fmt"

func ruleOnlineDDL() *Rule {
	return &Rule{
		ID: "statement-online-ddl", Level: LevelWarning, Engines: forAll, Live: true,
		Summary: "DDL on a large table runs online",
		Explain: "On a table with many rows an ALTER that copies the table or holds an exclusive lock blocks writes " +
			"(and on replicas, replication) for minutes or hours. MySQL/MariaDB: state ALGORITHM=INSTANT, or " +
			"ALGORITHM=INPLACE (NOCOPY) with LOCK=NONE, so the server refuses instead of locking, or run the change " +
			"with pt-online-schema-change. PostgreSQL: build indexes CONCURRENTLY, add constraints NOT VALID, and " +
			"avoid type changes that rewrite the table. Size and row estimate come from the instance.",
		Params: []Param{
			{Name: "min_rows", Kind: ParamInt, Default: 1000000, Help: "row estimate from which a table is large"},
			{Name: "min_bytes", Kind: ParamInt, Default: 1 << 30, Help: "size (data and indexes) from which a table is large"},
		},
		Check: func(c *Check, s *Stmt) {
			if s.Op != OpAlterTable && s.Op != OpCreateIndex {
				return
			}
			_, info := c.Table(s.Table)
			if info == nil || info.Rows < 0 && info.Bytes < 0 {
				return
			}
			if info.Rows < int64(c.Int("min_rows")) && info.Bytes < int64(c.Int("min_bytes")) {
				return
			}
			size := fmt.Sprintf("%s (about %d rows, %s)", s.Table.Name, info.Rows, humanBytes(info.Bytes))
			if !c.Postgres() {
				switch {
				case s.Algorithm == "INSTANT":
					return
				case (s.Algorithm == "INPLACE" || s.Algorithm == "NOCOPY") && (s.Lock == "NONE" || s.Online):
					return
				}
				c.Report(s, -1, "append ALGORITHM=INPLACE, LOCK=NONE (or ALGORITHM=INSTANT), or run it with pt-online-schema-change",
					"%s of large table %s does not state an online algorithm (ALGORITHM=INSTANT, or INPLACE with LOCK=NONE)", s.Verb, size)
				return
			}
			if s.Op == OpCreateIndex {
				if !s.Concurrently {
					c.Report(s, -1, "use CREATE INDEX CONCURRENTLY", "CREATE INDEX blocks writes to large table %s while it builds", size)
				}
				return
			}
			if s.Alter == nil {
				return
			}
			for _, a := range s.Alter.Actions {
				var why string
				switch a.Kind {
				case ActModifyColumn:
					why = "changing a column's type rewrites the table under an exclusive lock"
				case ActSetNotNull:
					why = "SET NOT NULL scans the table under an exclusive lock (add a CHECK (col IS NOT NULL) NOT VALID, validate it, then SET NOT NULL)"
				case ActAddIndex:
					why = "adding a primary key or unique constraint builds its index under an exclusive lock"
				case ActAddCheck, ActAddForeignKey:
					if !a.NotValid {
						why = "adding a constraint without NOT VALID scans the table while blocking writes"
					}
				}
				if why != "" {
					c.Report(s, a.Pos, "", "on large table %s: %s", size, why)
				}
			}
		},
	}
}
