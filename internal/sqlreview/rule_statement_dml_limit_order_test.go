package sqlreview

import "testing"

func TestRuleDMLLimitOrder(t *testing.T) {
	runRuleCases(t, "statement-dml-no-limit-order", []ruleCase{
		{name: "plain", sql: "UPDATE t SET a = 1 WHERE id = 2"},
		{name: "limit", sql: "DELETE FROM t WHERE a = 1 LIMIT 10", want: []string{"1:27"}, msg: "LIMIT"},
		{name: "order by and limit", sql: "UPDATE t SET a = 1 WHERE b = 2 ORDER BY id LIMIT 5", want: []string{"1:32", "1:44"}, msg: "ORDER BY"},
		{name: "limit only", params: map[string]any{"order_by": false}, sql: "UPDATE t SET a = 1 WHERE b = 2 ORDER BY id"},
		{name: "insert select limit", sql: "INSERT INTO t SELECT * FROM u LIMIT 1", want: []string{"1:31"}, msg: "INSERT ... SELECT"},
		{name: "insert select union limit", sql: "INSERT INTO t SELECT * FROM u UNION SELECT * FROM v LIMIT 1", want: []string{"1:53"}},
		{name: "select limit", sql: "SELECT * FROM t ORDER BY id LIMIT 5"},
	})
}
