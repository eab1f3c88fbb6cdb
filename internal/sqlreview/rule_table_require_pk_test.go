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
		{name: "drop primary key alone", sql: "ALTER TABLE t DROP PRIMARY KEY", want: []string{"1:20"}, msg: "leaves t without a primary key"},
		{name: "drop and add primary key", sql: "ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (id, a)"},
		{name: "second statement", sql: "SELECT 1;\nCREATE TABLE t (a INT);", want: []string{"2:14"}},
		{name: "pg no primary key", engine: "postgres", sql: "CREATE TABLE t (id int, a text)", want: []string{"1:14"}},
		{name: "pg identity primary key", engine: "postgres", sql: `CREATE TABLE "T" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY)`},
		{name: "pg table constraint", engine: "postgres", sql: "CREATE TABLE s.t (a int, b int, CONSTRAINT t_pk PRIMARY KEY (a, b))"},
		{name: "key added by a later alter", sql: "CREATE TABLE t (id INT, a INT);\nALTER TABLE t ADD PRIMARY KEY (id);"},
		{name: "key added by a later change column", sql: "CREATE TABLE t (id INT);\nALTER TABLE t CHANGE COLUMN id id INT PRIMARY KEY;"},
		{name: "unique key added later is not a key", sql: "CREATE TABLE t (id INT);\nALTER TABLE t ADD UNIQUE INDEX uk (id);", want: []string{"1:14"}},
		{name: "table without key dropped later", sql: "CREATE TABLE t (id INT);\nDROP TABLE t;"},
		{name: "drop index PRIMARY", sql: "CREATE TABLE t (id INT PRIMARY KEY);\nALTER TABLE t DROP INDEX `PRIMARY`;", want: []string{"2:26"}},
		{name: "drop index PRIMARY of an unknown table", sql: "ALTER TABLE t DROP INDEX `PRIMARY`", want: []string{"1:26"}},
		{name: "drop one of two key columns", sql: "CREATE TABLE t (id INT, name VARCHAR(30), PRIMARY KEY (id, name));\nALTER TABLE t DROP COLUMN id;"},
		{name: "drop every key column", sql: "CREATE TABLE t (id INT, name VARCHAR(30), c INT, PRIMARY KEY (id, name));\nALTER TABLE t ADD COLUMN age INT;\nALTER TABLE t DROP COLUMN id, DROP COLUMN name;", want: []string{"3:27"}},
		{name: "rename keeps the finding", sql: "CREATE TABLE t (id INT);\nRENAME TABLE t TO u;", want: []string{"1:14"}},
		{name: "pg drop default-named key", engine: "postgres", sql: "CREATE TABLE book (id int PRIMARY KEY, title text);\nALTER TABLE book DROP CONSTRAINT book_pkey;", want: []string{"2:34"}},
		{name: "pg drop key added later", engine: "postgres", sql: "CREATE TABLE p (id int, name text);\nALTER TABLE p ADD PRIMARY KEY (id);\nALTER TABLE p DROP CONSTRAINT p_pkey;", want: []string{"3:31"}},
		{name: "pg key added later", engine: "postgres", sql: "CREATE TABLE e (id int, name text);\nALTER TABLE e ADD PRIMARY KEY (id);"},
		{name: "pg drop other constraint", engine: "postgres", sql: "CREATE TABLE b (id int PRIMARY KEY, n int UNIQUE);\nALTER TABLE b DROP CONSTRAINT b_n_key;"},
		{name: "pg drop default-named key of an unknown table", engine: "postgres", sql: "ALTER TABLE s.t DROP CONSTRAINT t_pkey", want: []string{"1:33"}},
		{name: "pg dropping one key column drops the key", engine: "postgres", sql: "CREATE TABLE b (id int, n text, PRIMARY KEY (id, n));\nALTER TABLE b DROP COLUMN id;", want: []string{"2:27"}},
		{name: "pg create table as", engine: "postgres", sql: "CREATE TABLE t2 AS SELECT 1 AS a", want: []string{"1:14"}},
	})
}
