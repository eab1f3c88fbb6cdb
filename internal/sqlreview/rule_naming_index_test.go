package sqlreview

import "testing"

func TestRuleNamingIndex(t *testing.T) {
	runRuleCases(t, "naming-index", []ruleCase{
		{name: "good names", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, KEY idx_a (a), UNIQUE KEY uk_b (b))"},
		{name: "bad index name", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY a_index (a))", want: []string{"1:48"}, msg: `"a_index"`},
		{name: "unique needs uk", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, UNIQUE INDEX idx_a (a))", want: []string{"1:57"}},
		{name: "unnamed", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, INDEX (a))", want: []string{"1:1"}, msg: "has no name"},
		{name: "unnamed allowed", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, INDEX (a))", params: map[string]any{"require_name": false}},
		{name: "inline unique", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT UNIQUE)", want: []string{"1:37"}},
		{name: "create index", sql: "CREATE INDEX ix_a ON t (a)", want: []string{"1:14"}},
		{name: "create unique index", sql: "CREATE UNIQUE INDEX uniq_a ON t (a)"},
		{name: "alter add", sql: "ALTER TABLE t ADD INDEX `IdxA` (a), ADD KEY idx_b (b)", want: []string{"1:25"}},
		{name: "foreign key name", sql: "ALTER TABLE t ADD CONSTRAINT p_ref FOREIGN KEY (p) REFERENCES p (id)", want: []string{"1:30"}},
		{name: "unnamed foreign key", sql: "ALTER TABLE t ADD FOREIGN KEY (p) REFERENCES p (id)", want: []string{"1:19"}},
		{name: "primary key exempt", sql: "ALTER TABLE t ADD PRIMARY KEY (id)"},
		{name: "mariadb if not exists", sql: "ALTER TABLE t ADD INDEX IF NOT EXISTS i (a)", want: []string{"1:39"}},
		{name: "pg", engine: "postgres", sql: "CREATE INDEX CONCURRENTLY t_a ON t (a)", want: []string{"1:27"}},
		{name: "pg unnamed", engine: "postgres", sql: "CREATE INDEX ON t (a)", want: []string{"1:1"}},
	})
}
