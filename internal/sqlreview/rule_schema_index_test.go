package sqlreview

import "testing"

func TestRuleSchemaIndex(t *testing.T) {
	base := "CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY idx_a (a));\n"
	runRuleCases(t, "schema-index", []ruleCase{
		{name: "unknown table", sql: "DROP INDEX idx_x ON u;"},
		{name: "drop existing", sql: base + "DROP INDEX idx_a ON t;"},
		{name: "drop missing", sql: base + "DROP INDEX idx_x ON t;", want: []string{"2:12"}, msg: "index idx_x does not exist on t"},
		{name: "drop missing if exists", sql: base + "DROP INDEX IF EXISTS idx_x ON t;"},
		{name: "alter drop missing", sql: base + "ALTER TABLE t DROP INDEX `IDX_X`;", want: []string{"2:26"}},
		{name: "add existing name", sql: base + "ALTER TABLE t ADD INDEX idx_a (id, a);", want: []string{"2:25"}, msg: "already exists"},
		{name: "create existing name", sql: base + "CREATE INDEX idx_a ON t (a);", want: []string{"2:14"}},
		{name: "second primary key", sql: base + "ALTER TABLE t ADD PRIMARY KEY (a);", want: []string{"2:19"}, msg: "already has a primary key"},
		{name: "drop and add primary key", sql: base + "ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (a);"},
		{name: "rename missing", sql: base + "ALTER TABLE t RENAME INDEX idx_x TO idx_y;", want: []string{"2:28"}},
		{name: "dropped earlier", sql: base + "ALTER TABLE t DROP INDEX idx_a;\nALTER TABLE t DROP INDEX idx_a;", want: []string{"3:26"}},
		{name: "pg create existing", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, a int);\nCREATE INDEX idx_a ON t (a);\nCREATE INDEX CONCURRENTLY idx_a ON t (a);", want: []string{"3:27"}},
	})
}
