package sqlreview

func ruleTableNoPartition() *Rule {
	return &Rule{
		ID: "table-no-partition", Level: LevelWarning, Engines: forAll,
		Summary: "No partitioned tables",
		Explain: "Partitioning changes how every query plans and locks, makes unique keys include the partition key, " +
			"and complicates backups and online DDL. Creating a partitioned table (or partitioning an existing one) " +
			"should be a DBA's decision; maintenance of existing partitions is not flagged.",
		Check: func(c *Check, s *Stmt) {
			switch {
			case s.Op == OpCreateTable && s.Create != nil && s.Create.Partitioned:
				c.Report(s, s.Create.PartPos, "", "table %s is partitioned", s.Table.Name)
			case s.Op == OpAlterTable && s.Alter != nil:
				for _, a := range s.Alter.Actions {
					if a.Kind == ActPartition && a.Name == "partition by" {
						c.Report(s, a.Pos, "", "ALTER TABLE partitions %s", s.Table.Name)
					}
				}
			}
		},
	}
}
