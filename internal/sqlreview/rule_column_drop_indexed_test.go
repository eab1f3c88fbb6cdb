package sqlreview

import "testing"

func TestRuleColumnDropIndexed(t *testing.T) {
	base := "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c INT, KEY idx_ab (a, b));\n"
	runRuleCases(t, "column-no-drop-indexed", []ruleCase{
		{name: "not indexed", sql: base + "ALTER TABLE t DROP COLUMN c;"},
		{name: "indexed", sql: base + "ALTER TABLE t DROP COLUMN b;", want: []string{"2:27"}, msg: "used by idx_ab"},
		{name: "index dropped first", sql: base + "ALTER TABLE t DROP INDEX idx_ab, DROP COLUMN b;"},
		{name: "primary key column", sql: base + "ALTER TABLE t DROP id;", want: []string{"2:20"}, msg: "primary key"},
		{name: "after rename", sql: base + "ALTER TABLE t RENAME COLUMN a TO x;\nALTER TABLE t DROP COLUMN x;", want: []string{"3:27"}},
		{name: "unknown table", sql: "ALTER TABLE u DROP COLUMN a"},
		{name: "pg", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, a int);\nCREATE INDEX idx_a ON t (a);\nALTER TABLE t DROP COLUMN a;", want: []string{"3:27"}},
	})
}
