package sqlreview

import "testing"

func TestRuleWhereEqualNull(t *testing.T) {
	runRuleCases(t, "statement-where-no-equal-null", []ruleCase{
		{name: "is null", sql: "SELECT * FROM t WHERE name = 'x' AND id IS NULL"},
		{name: "set null", sql: "UPDATE t SET name = NULL WHERE id = 1"},
		{name: "equal null", sql: "SELECT * FROM t WHERE name = 'x' AND id = NULL", want: []string{"1:43"}},
		{name: "not equal null in delete", sql: "DELETE FROM t WHERE a <> NULL", want: []string{"1:26"}},
		{name: "null-safe equal is fine", sql: "SELECT * FROM t WHERE a <=> NULL"},
		{name: "pg", engine: "postgres", sql: "UPDATE t SET a = 1 WHERE b = NULL", want: []string{"1:28"}},
		{name: "pg is null", engine: "postgres", sql: "UPDATE t SET a = NULL WHERE b IS NULL"},
	})
}
