package sqlreview

import "testing"

func TestRuleIndexRedundant(t *testing.T) {
	runRuleCases(t, "index-no-redundant", []ruleCase{
		{name: "independent", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, KEY idx_a (a), KEY idx_b (b))"},
		{name: "prefix", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, KEY idx_a (a), KEY idx_ab (a, b))", want: []string{"1:55"}, msg: "idx_a (a) is redundant"},
		{name: "unique prefix is a constraint", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, UNIQUE KEY uk_a (a), KEY idx_ab (a, b))"},
		{name: "prefix of the primary key", sql: "CREATE TABLE t (a INT, b INT, PRIMARY KEY (a, b), KEY idx_a (a))", want: []string{"1:55"}, msg: "the primary key"},
		{name: "new longer index makes an old one redundant", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, KEY idx_a (a));\nCREATE INDEX idx_ab ON t (a, b);", want: []string{"2:14"}},
		{name: "different order", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, KEY idx_b (b), KEY idx_ab (a, b))"},
		{name: "pg", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, a int, b int);\nCREATE INDEX idx_ab ON t (a, b);\nCREATE INDEX idx_a ON t (a);", want: []string{"3:14"}},
	})
}
