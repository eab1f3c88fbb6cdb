package sqlreview

import "testing"

func TestRuleIndexColumnCount(t *testing.T) {
	p := map[string]any{"max_columns": 2}
	runRuleCases(t, "index-column-count", []ruleCase{
		{name: "within", sql: "CREATE INDEX idx_ab ON t (a, b)", params: p},
		{name: "over", sql: "CREATE INDEX idx_abc ON t (a, b, c)", params: p, want: []string{"1:14"}, msg: "3 columns"},
		{name: "in create table", sql: "CREATE TABLE t (a INT, b INT, c INT,\n PRIMARY KEY (a, b, c))", params: p, want: []string{"2:2"}},
		{name: "alter add", sql: "ALTER TABLE t ADD UNIQUE KEY uk (a, b, c)", params: p, want: []string{"1:30"}},
		{name: "pg", engine: "postgres", sql: "CREATE INDEX idx ON t (a, lower(b), c)", params: p, want: []string{"1:14"}},
	})
}
