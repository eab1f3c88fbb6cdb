package sqlreview

import "testing"

func TestRuleColumnNotNull(t *testing.T) {
	runRuleCases(t, "column-not-null", []ruleCase{
		{name: "not null", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL DEFAULT 0)"},
		{name: "nullable", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT NULL)", want: []string{"1:37", "1:44"}},
		{name: "explicit null after not null", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL NULL)", want: []string{"1:37"}},
		{name: "add column", sql: "ALTER TABLE t ADD `c` VARCHAR(10) DEFAULT NULL", want: []string{"1:19"}},
		{name: "generated", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT NOT NULL, b INT AS (a + 1))"},
		{name: "pg", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, a text)", want: []string{"1:37"}},
		{name: "table-level primary key", sql: "CREATE TABLE t (id INT, b INT, PRIMARY KEY (id, b))"},
		{name: "table-level primary key, other column nullable", sql: "CREATE TABLE t (id INT, a INT, PRIMARY KEY (id))", want: []string{"1:25"}},
		{name: "primary key added with the column", sql: "ALTER TABLE t ADD COLUMN id INT, ADD PRIMARY KEY (id)"},
		{name: "pg table-level primary key", engine: "postgres", sql: "CREATE TABLE t (id int, CONSTRAINT t_pk PRIMARY KEY (id))"},
		{name: "pg drop not null", engine: "postgres", sql: "ALTER TABLE t ALTER COLUMN a DROP NOT NULL", want: []string{"1:28"}, msg: "DROP NOT NULL"},
		{name: "pg serial", engine: "postgres", sql: "CREATE TABLE t (id bigserial PRIMARY KEY, n serial)"},
		{name: "pg alter type", engine: "postgres", sql: "ALTER TABLE t ALTER COLUMN a TYPE bigint"},
	})
}
