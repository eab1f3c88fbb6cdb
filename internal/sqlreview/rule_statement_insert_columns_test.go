package sqlreview

import "testing"

func TestRuleInsertColumns(t *testing.T) {
	runRuleCases(t, "statement-insert-columns", []ruleCase{
		{name: "columns", sql: "INSERT INTO t (a, b) VALUES (1, 2)"},
		{name: "no columns", sql: "INSERT INTO t VALUES (1, 2)", want: []string{"1:13"}},
		{name: "insert set names columns", sql: "INSERT INTO t SET a = 1, b = 2"},
		{name: "replace without columns", sql: "REPLACE INTO `t` VALUES (1)", want: []string{"1:14"}},
		{name: "insert select without columns", sql: "INSERT INTO t\nSELECT a, b FROM u", want: []string{"1:13"}},
		{name: "mariadb returning", sql: "INSERT INTO t VALUES (1) RETURNING id", want: []string{"1:13"}},
		{name: "pg", engine: "postgres", sql: "INSERT INTO s.t VALUES (1)", want: []string{"1:13"}},
		{name: "pg default values", engine: "postgres", sql: "INSERT INTO t DEFAULT VALUES"},
		{name: "pg columns", engine: "postgres", sql: "INSERT INTO t (a) SELECT a FROM u ON CONFLICT DO NOTHING"},
	})
}
