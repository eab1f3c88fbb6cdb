package sqlreview

import "testing"

func TestRuleNoTruncateDrop(t *testing.T) {
	runRuleCases(t, "statement-no-truncate-drop", []ruleCase{
		{name: "dml ticket update", kind: "dml", sql: "UPDATE t SET a = 1 WHERE id = 2"},
		{name: "dml ticket truncate", kind: "dml", sql: "TRUNCATE TABLE t", want: []string{"1:1"}, msg: "TRUNCATE"},
		{name: "dml ticket drop", kind: "dml", sql: "UPDATE t SET a = 1 WHERE id = 2;\nDROP TABLE IF EXISTS t;", want: []string{"2:1"}},
		{name: "dml ticket create or replace", kind: "dml", sql: "CREATE OR REPLACE TABLE t (id INT PRIMARY KEY)", want: []string{"1:1"}, msg: "drops t"},
		{name: "ddl ticket", kind: "ddl", sql: "DROP TABLE t"},
		{name: "no ticket", sql: "TRUNCATE t"},
		{name: "always", sql: "TRUNCATE t", params: map[string]any{"always": true}, want: []string{"1:1"}},
		{name: "truncate partition", kind: "dml", sql: "ALTER TABLE sales TRUNCATE PARTITION p_2024_q4", want: []string{"1:19"}, msg: "TRUNCATE PARTITION"},
		{name: "drop partition, always", params: map[string]any{"always": true}, sql: "ALTER TABLE db.sales\n  ADD COLUMN r INT,\n  DROP PARTITION p1", want: []string{"3:3"}, msg: "DROP PARTITION"},
		{name: "add partition", kind: "dml", sql: "ALTER TABLE sales ADD PARTITION (PARTITION p9 VALUES LESS THAN (2030))"},
		{name: "pg", engine: "postgres", kind: "dml", sql: "TRUNCATE t, u", want: []string{"1:1"}},
	})
}
