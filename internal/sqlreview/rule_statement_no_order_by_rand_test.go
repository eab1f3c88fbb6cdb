package sqlreview

import "testing"

func TestRuleNoOrderByRand(t *testing.T) {
	runRuleCases(t, "statement-no-order-by-rand", []ruleCase{
		{name: "order by column", sql: "SELECT id FROM t ORDER BY id"},
		{name: "rand", sql: "SELECT id FROM t ORDER BY RAND() LIMIT 1", want: []string{"1:27"}},
		{name: "lower case", sql: "select id from t order by rand()", want: []string{"1:27"}},
		{name: "rand in select list is fine", sql: "SELECT RAND() FROM t ORDER BY id"},
		{name: "update order by rand", sql: "UPDATE t SET a = 1 WHERE b = 2 ORDER BY RAND() LIMIT 1", want: []string{"1:41"}},
		{name: "pg random", engine: "postgres", sql: "SELECT id FROM t ORDER BY random() LIMIT 1", want: []string{"1:27"}},
		{name: "pg order by column", engine: "postgres", sql: "SELECT random() AS r FROM t ORDER BY r"},
	})
}
