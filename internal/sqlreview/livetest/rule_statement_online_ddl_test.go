package livetest

import "testing"

// Live table test of the rule (it needs an instance).
func TestLiveOnlineDDL(t *testing.T) {
	live(t)
	p := map[string]any{"min_rows": 10000, "min_bytes": 1 << 40}
	runLive(t, "statement-online-ddl", []liveCase{
		{name: "small table", sql: "ALTER TABLE small ADD c INT;", params: p},
		{name: "large table without algorithm", sql: "ALTER TABLE orders ADD c INT;", params: p, want: []string{"1:1"}, msg: "large table orders (about"},
		{name: "instant", sql: "ALTER TABLE orders ADD c INT, ALGORITHM=INSTANT;", params: p},
		{name: "inplace without lock", sql: "ALTER TABLE orders ADD INDEX idx_n (note), ALGORITHM=INPLACE;", params: p, want: []string{"1:1"}},
		{name: "inplace lock none", sql: "CREATE INDEX idx_n ON orders (note) ALGORITHM=INPLACE LOCK=NONE;", params: p},
		{name: "mariadb nocopy online", sql: "ALTER ONLINE TABLE orders ADD c INT, ALGORITHM=NOCOPY;", params: p},
		{name: "pg blocking index", engine: "postgres", sql: "CREATE INDEX idx_n ON orders (note);", params: p, want: []string{"1:1"}},
		{name: "pg concurrently", engine: "postgres", sql: "CREATE INDEX CONCURRENTLY idx_n ON orders (note);", params: p},
		{name: "pg type change", engine: "postgres", sql: "ALTER TABLE orders ALTER COLUMN note TYPE text, ADD COLUMN c int;", params: p, want: []string{"1:33"}, msg: "rewrites the table"},
	})
}
