package livetest

import "testing"

// Live table test of the rule (it needs an instance).
func TestLiveDMLDryRun(t *testing.T) {
	live(t)
	runLive(t, "statement-dml-dry-run", []liveCase{
		{name: "valid", sql: "UPDATE orders SET note = 'x' WHERE id = 1;\nINSERT INTO small (id, name) VALUES (9, 'x');"},
		{name: "unknown column in where", sql: "UPDATE orders SET note = 'x' WHERE nope = 1;", want: []string{"1:1"}, msg: "Unknown column 'nope'"},
		{name: "unknown column in insert select", sql: "DELETE FROM orders WHERE id = 1;\nINSERT INTO small (id, name) SELECT id, nope FROM orders;", want: []string{"2:1"}},
		{name: "pg insert values type error", engine: "postgres", sql: "INSERT INTO orders (account_id) VALUES ('x');", want: []string{"1:1"}},
		{name: "pg type error", engine: "postgres", sql: "UPDATE orders SET status = 'abc' WHERE id = 1;", want: []string{"1:1"}, msg: "invalid input syntax"},
		{name: "pg valid", engine: "postgres", sql: "DELETE FROM orders WHERE id = 1;"},
	})
}
