package sqlreview

import "testing"

func TestRuleTableTextLength(t *testing.T) {
	runRuleCases(t, "table-text-total-length", []ruleCase{
		{name: "within", sql: "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(255), b CHAR(10), c TEXT)"},
		{name: "over", sql: "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10000), b VARCHAR(10000))", want: []string{"1:14"}, msg: "20000 characters"},
		{name: "text does not count", sql: "CREATE TABLE t (id INT PRIMARY KEY, a TEXT, b LONGTEXT, c MEDIUMTEXT)"},
		{name: "param", sql: "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(60), b CHAR(50))", params: map[string]any{"max_length": 100}, want: []string{"1:14"}},
		{name: "alter over a table of the script", sql: "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(60));\nALTER TABLE t ADD b VARCHAR(60);", params: map[string]any{"max_length": 100}, want: []string{"2:13"}},
		{name: "alter shrinking", sql: "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(60));\nALTER TABLE t MODIFY a VARCHAR(30), ADD b VARCHAR(60);", params: map[string]any{"max_length": 100}},
		{name: "not for postgres", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, a varchar(20000))"},
	})
}
