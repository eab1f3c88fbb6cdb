package sqlreview

import "testing"

func TestRuleColumnVarcharLength(t *testing.T) {
	runRuleCases(t, "column-varchar-max-length", []ruleCase{
		{name: "short", sql: "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(255))"},
		{name: "long", sql: "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(4096))", want: []string{"1:37"}, msg: "VARCHAR(4096)"},
		{name: "char is not varchar", sql: "CREATE TABLE t (id INT PRIMARY KEY, s CHAR(255))", params: map[string]any{"max_length": 100}},
		{name: "param", sql: "ALTER TABLE t ADD s VARCHAR(101)", params: map[string]any{"max_length": 100}, want: []string{"1:19"}},
		{name: "modify", sql: "ALTER TABLE t CHANGE s s2 VARCHAR(5000) NOT NULL", want: []string{"1:24"}},
		{name: "pg character varying", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, s character varying(3000))", want: []string{"1:37"}},
		{name: "pg unbounded varchar", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, s varchar)"},
	})
}
