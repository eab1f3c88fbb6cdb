package sqlreview

import "testing"

func TestRuleSchemaColumn(t *testing.T) {
	base := "CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(10));\n"
	runRuleCases(t, "schema-column", []ruleCase{
		{name: "unknown table", sql: "ALTER TABLE u DROP COLUMN x;"},
		{name: "drop existing", sql: base + "ALTER TABLE t DROP COLUMN a;"},
		{name: "drop missing", sql: base + "ALTER TABLE t DROP COLUMN x;", want: []string{"2:27"}, msg: "column x does not exist in t"},
		{name: "mariadb drop if exists", sql: base + "ALTER TABLE t DROP COLUMN IF EXISTS x;"},
		{name: "add existing", sql: base + "ALTER TABLE t ADD COLUMN `A` INT;", want: []string{"2:26"}, msg: "already exists"},
		{name: "mariadb add if not exists", sql: base + "ALTER TABLE t ADD COLUMN IF NOT EXISTS a INT;"},
		{name: "add then index in one statement", sql: base + "ALTER TABLE t ADD c INT, ADD INDEX idx_c (c);"},
		{name: "index on missing column", sql: base + "CREATE INDEX idx_x ON t (x);", want: []string{"2:26"}},
		{name: "modify missing", sql: base + "ALTER TABLE t MODIFY x INT;", want: []string{"2:22"}},
		{name: "change to an existing name", sql: base + "ALTER TABLE t CHANGE a b INT;", want: []string{"2:22"}, msg: "column b already exists"},
		{name: "rename then use", sql: base + "ALTER TABLE t RENAME COLUMN a TO c;\nUPDATE t SET a = 1 WHERE id = 1;\nUPDATE t SET c = 1 WHERE id = 1;", want: []string{"3:14"}},
		{name: "insert columns", sql: base + "INSERT INTO t (id, a, zz) VALUES (1, 2, 3);", want: []string{"2:23"}},
		{name: "pg", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, a int);\nALTER TABLE t ALTER COLUMN x SET NOT NULL;", want: []string{"2:28"}},
		{name: "pg comment", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY);\nCOMMENT ON COLUMN t.x IS 'x';", want: []string{"2:21"}},
	})
}
