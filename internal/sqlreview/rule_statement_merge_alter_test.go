package sqlreview

import "testing"

func TestRuleMergeAlter(t *testing.T) {
	runRuleCases(t, "statement-merge-alter", []ruleCase{
		{name: "one alter", sql: "ALTER TABLE t ADD a INT, ADD b INT;"},
		{name: "two alters", sql: "ALTER TABLE t ADD a INT;\nALTER TABLE t ADD b INT;", want: []string{"2:1"}, msg: "after the ALTER TABLE at line 1: merge them"},
		{name: "different tables", sql: "ALTER TABLE t ADD a INT;\nALTER TABLE u ADD b INT;"},
		{name: "case and quotes", sql: "ALTER TABLE t ADD a INT;\nALTER TABLE `T` ADD b INT;", want: []string{"2:1"}},
		{name: "create index counts", sql: "ALTER TABLE t ADD a INT;\nCREATE INDEX idx_a ON t (a);", want: []string{"2:1"}},
		{name: "after create table", sql: "CREATE TABLE t (id INT PRIMARY KEY);\nALTER TABLE t ADD a INT;", want: []string{"2:1"}, msg: "CREATE TABLE at line 1"},
		{name: "qualified vs unqualified after use", sql: "USE shop;\nALTER TABLE shop.t ADD a INT;\nALTER TABLE t ADD b INT;", want: []string{"3:1"}},
		{name: "pg alters", engine: "postgres", sql: "ALTER TABLE t ADD a int;\nALTER TABLE t ADD b int;", want: []string{"2:1"}},
		{name: "pg create index is separate", engine: "postgres", sql: "ALTER TABLE t ADD a int;\nCREATE INDEX CONCURRENTLY idx_a ON t (a);"},
	})
}
