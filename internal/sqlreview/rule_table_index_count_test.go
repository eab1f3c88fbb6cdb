package sqlreview

import "testing"

func TestRuleTableIndexCount(t *testing.T) {
	p := map[string]any{"max_indexes": 2}
	runRuleCases(t, "table-index-count", []ruleCase{
		{name: "within", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, KEY idx_a (a), KEY idx_b (b))", params: p},
		{name: "over", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, KEY idx_a (a), KEY idx_b (b), UNIQUE KEY uk_ab (a, b))", params: p, want: []string{"1:92"}, msg: "3 secondary indexes"},
		{name: "create index over a table of the script", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, KEY idx_a (a), KEY idx_b (b));\nCREATE INDEX idx_ab ON t (a, b);", params: p, want: []string{"2:14"}},
		{name: "drop then add", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, KEY idx_a (a), KEY idx_b (b));\nALTER TABLE t DROP INDEX idx_a, ADD INDEX idx_ab (a, b);", params: p},
		{name: "pg", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, a int UNIQUE, b int UNIQUE);\nCREATE INDEX idx_c ON t (a, b);", params: p, want: []string{"2:14"}},
	})
}
