package sqlreview

import "testing"

func TestRuleNoSelectStar(t *testing.T) {
	runRuleCases(t, "statement-no-select-star", []ruleCase{
		{name: "columns", sql: "SELECT id, name FROM t"},
		{name: "star", sql: "SELECT * FROM t", want: []string{"1:8"}},
		{name: "qualified star", sql: "SELECT t.id, u.* FROM t JOIN u ON u.id = t.id", want: []string{"1:16"}},
		{name: "count star is fine", sql: "SELECT COUNT(*) FROM t"},
		{name: "exists is fine", sql: "SELECT id FROM t WHERE EXISTS (SELECT * FROM u WHERE u.t = t.id)"},
		{name: "insert select", sql: "INSERT INTO t2 (a, b)\nSELECT * FROM t", want: []string{"2:8"}},
		{name: "subquery", sql: "SELECT id FROM (SELECT * FROM t) x", want: []string{"1:24"}},
		{name: "view", sql: "CREATE VIEW v AS SELECT * FROM t", want: []string{"1:25"}},
		{name: "multiplication is not a star", sql: "SELECT a * 2 FROM t"},
		{name: "pg", engine: "postgres", sql: "SELECT * FROM t", want: []string{"1:8"}},
		{name: "pg exists", engine: "postgres", sql: "SELECT 1 WHERE EXISTS (SELECT * FROM t)"},
		{name: "pg returning star is not a select", engine: "postgres", sql: "DELETE FROM t WHERE id = 1 RETURNING *"},
	})
}
