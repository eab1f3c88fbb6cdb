package sqlreview

import "testing"

func TestRuleTableRequirePK(t *testing.T) {
	runRuleCases(t, "table-require-pk", []ruleCase{
		{name: "inline primary key", sql: "CREATE TABLE t (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, a INT)"},
		{name: "table-level primary key", sql: "CREATE TABLE t (id INT NOT NULL, a INT, PRIMARY KEY (id, a))"},
		{name: "constraint-named primary key and comments", sql: "CREATE TABLE t (\n  id INT, -- the id\n  /* key */ CONSTRAINT pk_t PRIMARY KEY (id)\n)"},
		{name: "no primary key", sql: "CREATE TABLE t (id INT, a INT)", want: []string{"1:14"}, msg: "table t has no primary key"},
		{name: "unique key is not a primary key", sql: "CREATE TABLE t (id INT NOT NULL, UNIQUE KEY uk_id (id))", want: []string{"1:14"}},
		{name: "quoted name, odd formatting", sql: "create\ttable\n  `My Table`(\n`id` int\n)", want: []string{"2:3"}, msg: "My Table"},
		{name: "like copies the key", sql: "CREATE TABLE t2 LIKE t"},
		{name: "temporary table", sql: "CREATE TEMPORARY TABLE tmp (a INT)"},
		{name: "mariadb create or replace", sql: "CREATE OR REPLACE TABLE t (a INT) WITH SYSTEM VERSIONING", want: []string{"1:25"}},
		{name: "mariadb create or replace with key", sql: "CREATE OR REPLACE TABLE t (a INT PRIMARY KEY)"},
		{name: "drop primary key alone", sql: "ALTER TABLE t DROP PRIMARY KEY", want: []string{"1:20"}, msg: "leaves it without one"},
		{name: "drop and add primary key", sql: "ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (id, a)"},
		{name: "second statement", sql: "SELECT 1;\nCREATE TABLE t (a INT);", want: []string{"2:14"}},
		{name: "pg no primary key", engine: "postgres", sql: "CREATE TABLE t (id int, a text)", want: []string{"1:14"}},
		{name: "pg identity primary key", engine: "postgres", sql: `CREATE TABLE "T" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY)`},
		{name: "pg table constraint", engine: "postgres", sql: "CREATE TABLE s.t (a int, b int, CONSTRAINT t_pk PRIMARY KEY (a, b))"},
		{name: "pg create table as", engine: "postgres", sql: "CREATE TABLE t2 AS SELECT 1 AS a", want: []string{"1:14"}},
	})
}
