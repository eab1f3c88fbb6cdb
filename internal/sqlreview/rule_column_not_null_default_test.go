package sqlreview

import "testing"

func TestRuleColumnNotNullDefault(t *testing.T) {
	runRuleCases(t, "column-not-null-default", []ruleCase{
		{name: "with default", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL DEFAULT 0, s VARCHAR(5) NOT NULL DEFAULT '')"},
		{name: "without default", sql: "CREATE TABLE t (id INT PRIMARY KEY,\n  a INT NOT NULL)", want: []string{"2:3"}, msg: "NOT NULL column a has no DEFAULT"},
		{name: "table-level primary key exempt", sql: "CREATE TABLE t (id INT NOT NULL, b INT NOT NULL DEFAULT 0, PRIMARY KEY (id))"},
		{name: "auto increment and primary key exempt", sql: "CREATE TABLE t (id BIGINT NOT NULL AUTO_INCREMENT, PRIMARY KEY (id))"},
		{name: "text exempt on mysql", sql: "CREATE TABLE t (id INT PRIMARY KEY, body TEXT NOT NULL, doc JSON NOT NULL)"},
		{name: "add to existing table", sql: "ALTER TABLE t ADD COLUMN a INT NOT NULL", want: []string{"1:26"}, msg: "implicit value"},
		{name: "add to existing table with default", sql: "ALTER TABLE t ADD COLUMN a INT NOT NULL DEFAULT 1"},
		{name: "modify", sql: "ALTER TABLE t MODIFY a BIGINT NOT NULL", want: []string{"1:22"}},
		{name: "mariadb add if not exists", sql: "ALTER TABLE t ADD COLUMN IF NOT EXISTS a INT NOT NULL", want: []string{"1:40"}},
		{name: "pg add column fails on rows", engine: "postgres", sql: "ALTER TABLE t ADD COLUMN a int NOT NULL", want: []string{"1:26"}, msg: "fails if the table has rows"},
		{name: "pg new table", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY);\nALTER TABLE t ADD COLUMN a int NOT NULL;", want: []string{"2:26"}, msg: "has no DEFAULT"},
		{name: "pg identity and text", engine: "postgres", sql: "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL DEFAULT '')"},
		{name: "pg alter type", engine: "postgres", sql: "ALTER TABLE t ALTER COLUMN a TYPE bigint"},
	})
}
