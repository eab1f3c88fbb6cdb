package sqlreview

import "testing"

func TestRuleColumnRequired(t *testing.T) {
	req := map[string]any{"columns": []string{"id", "created_ts"}}
	runRuleCases(t, "column-required", []ruleCase{
		{name: "empty list", sql: "CREATE TABLE t (a INT)"},
		{name: "all there", params: req, sql: "CREATE TABLE t (id INT PRIMARY KEY, created_ts TIMESTAMP)"},
		{name: "missing", params: req, sql: "CREATE TABLE t (a INT)", want: []string{"1:14"}, msg: "id, created_ts"},
		{name: "added later", params: req, sql: "CREATE TABLE t (id INT);\nALTER TABLE t ADD COLUMN created_ts TIMESTAMP;"},
		{name: "dropped", params: req, sql: "ALTER TABLE t DROP COLUMN created_ts", want: []string{"1:27"}},
		{name: "renamed", params: req, sql: "ALTER TABLE t CHANGE id uid INT", want: []string{"1:22"}},
		{name: "pg missing", engine: "postgres", params: req, sql: "CREATE TABLE t (id int)", want: []string{"1:14"}, msg: "created_ts"},
	})
}
