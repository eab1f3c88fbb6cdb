package livetest

import "testing"

// Live table test of the rule (it needs an instance).
func TestLiveAffectedRows(t *testing.T) {
	live(t)
	p := map[string]any{"max_rows": 1000}
	runLive(t, "statement-affected-rows-limit", []liveCase{
		{name: "by primary key", sql: "UPDATE orders SET note = 'x' WHERE id BETWEEN 1 AND 10;", params: p},
		{name: "whole table", sql: "UPDATE orders SET note = 'x' WHERE note <> '';", params: p, want: []string{"1:1"}, msg: "about"},
		{name: "delete by a non-indexed column", sql: "SELECT 1;\nDELETE FROM orders WHERE amount = 0;", params: p, want: []string{"2:1"}},
		{name: "insert select", sql: "INSERT INTO small (id, name) SELECT id + 100, note FROM orders;", params: p, want: []string{"1:1"}},
		{name: "insert values", sql: "INSERT INTO small (id, name) VALUES (10, 'x');", params: p},
		{name: "table changed by the script is not explained", sql: "ALTER TABLE orders ADD c INT;\nUPDATE orders SET c = 1 WHERE note <> '';", params: p},
		{name: "pg", engine: "postgres", sql: "DELETE FROM orders WHERE note <> '';", params: p, want: []string{"1:1"}},
		{name: "pg small", engine: "postgres", sql: "DELETE FROM orders WHERE id = 5;", params: p},
	})
}
