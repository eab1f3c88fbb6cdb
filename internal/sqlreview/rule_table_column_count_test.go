package sqlreview

import "testing"

func TestRuleTableColumnCount(t *testing.T) {
	p := map[string]any{"max_columns": 3}
	runRuleCases(t, "table-column-count", []ruleCase{
		{name: "within", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT)", params: p},
		{name: "over", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c INT)", params: p, want: []string{"1:14"}, msg: "4 columns"},
		{name: "add over a table of the script", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT);\nALTER TABLE t ADD c INT, ADD d INT;", params: p, want: []string{"2:19"}},
		{name: "add and drop", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT);\nALTER TABLE t ADD c INT, DROP b;", params: p},
		{name: "unknown table", sql: "ALTER TABLE t ADD c INT, ADD d INT, ADD e INT, ADD f INT", params: p},
		{name: "pg", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, a int, b int, c int)", params: p, want: []string{"1:14"}},
	})
}
