package sqlreview

import "testing"

func TestRuleWhereRequired(t *testing.T) {
	runRuleCases(t, "statement-where-required", []ruleCase{
		{name: "update with where", sql: "UPDATE t SET a = 1 WHERE id = 2"},
		{name: "update without where", sql: "UPDATE t SET a = 1", want: []string{"1:1"}, msg: "UPDATE without WHERE"},
		{name: "delete without where after comment", sql: "-- clean up\nDELETE FROM `t`", want: []string{"2:1"}},
		{name: "where in a comment does not count", sql: "DELETE FROM t /* WHERE id = 1 */", want: []string{"1:1"}},
		{name: "where in a string does not count", sql: "UPDATE t SET note = 'WHERE x'", want: []string{"1:1"}},
		{name: "always true", sql: "DELETE FROM t WHERE 1=1", want: []string{"1:15"}, msg: "always-true"},
		{name: "always true literal", sql: "UPDATE t SET a = 1 WHERE 1", want: []string{"1:20"}},
		{name: "or true", sql: "UPDATE t SET a = 1 WHERE id = 5 OR 1 = 1", want: []string{"1:20"}},
		{name: "limit without where", sql: "DELETE FROM t LIMIT 1000", want: []string{"1:1"}},
		{name: "multi-table delete with where", sql: "DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id WHERE t2.x = 1"},
		{name: "mariadb returning", sql: "DELETE FROM t RETURNING id", want: []string{"1:1"}},
		{name: "mariadb returning with where", sql: "DELETE FROM t WHERE id = 1 RETURNING id"},
		{name: "select is fine", sql: "SELECT * FROM t"},
		{name: "pg", engine: "postgres", sql: "UPDATE t SET a = 1", want: []string{"1:1"}},
		{name: "pg where true", engine: "postgres", sql: "DELETE FROM t WHERE true", want: []string{"1:15"}},
		{name: "pg with where", engine: "postgres", sql: "WITH x AS (SELECT id FROM u) DELETE FROM t USING x WHERE t.id = x.id"},
	})
}
