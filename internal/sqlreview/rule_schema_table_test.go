package sqlreview

import "testing"

func TestRuleSchemaTable(t *testing.T) {
	runRuleCases(t, "schema-table", []ruleCase{
		{name: "unknown offline", sql: "ALTER TABLE t ADD c INT;\nINSERT INTO t (c) VALUES (1);"},
		{name: "created twice", sql: "CREATE TABLE t (id INT PRIMARY KEY);\nCREATE TABLE t (id INT PRIMARY KEY);", want: []string{"2:14"}, msg: "already exists (see line 1)"},
		{name: "if not exists", sql: "CREATE TABLE t (id INT PRIMARY KEY);\nCREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY);"},
		{name: "mariadb or replace", sql: "CREATE TABLE t (id INT PRIMARY KEY);\nCREATE OR REPLACE TABLE t (id INT PRIMARY KEY);"},
		{name: "dropped then altered", sql: "DROP TABLE t;\nALTER TABLE t ADD c INT;", want: []string{"2:13"}, msg: "does not exist (see line 1)"},
		{name: "dropped then dml", sql: "DROP TABLE t;\nUPDATE t SET a = 1 WHERE id = 1;\nSELECT a FROM t;", want: []string{"2:8", "3:15"}},
		{name: "dropped then dropped if exists", sql: "DROP TABLE t;\nDROP TABLE IF EXISTS t;"},
		{name: "renamed", sql: "CREATE TABLE a (id INT PRIMARY KEY);\nRENAME TABLE a TO b;\nINSERT INTO a (id) VALUES (1);\nINSERT INTO b (id) VALUES (1);", want: []string{"3:13"}},
		{name: "rename onto existing", sql: "CREATE TABLE a (id INT PRIMARY KEY);\nCREATE TABLE b (id INT PRIMARY KEY);\nRENAME TABLE a TO b;", want: []string{"3:19"}},
		{name: "alter rename", sql: "CREATE TABLE a (id INT PRIMARY KEY);\nALTER TABLE a RENAME TO b;\nALTER TABLE a ADD c INT;", want: []string{"3:13"}},
		{name: "cte is not a table", sql: "DROP TABLE x;\nWITH x AS (SELECT 1 AS a) SELECT a FROM x;"},
		{name: "database qualifies", sql: "USE a;\nCREATE TABLE t (id INT PRIMARY KEY);\nUSE b;\nCREATE TABLE t (id INT PRIMARY KEY);\nCREATE TABLE a.t (id INT PRIMARY KEY);", want: []string{"5:16"}},
		{name: "pg", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY);\nCREATE TABLE public.t (id int PRIMARY KEY);", want: []string{"2:14"}},
		{name: "pg dropped", engine: "postgres", sql: "DROP TABLE t;\nCREATE INDEX CONCURRENTLY i ON t (a);", want: []string{"2:32"}},
	})
}
