package sqlreview

import "testing"

func TestRuleNoRoutine(t *testing.T) {
	runRuleCases(t, "table-no-routine", []ruleCase{
		{name: "procedure in delimiter block", sql: "DELIMITER $$\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND$$\nDELIMITER ;", want: []string{"2:1"}, msg: "stored procedure"},
		{name: "procedure without delimiter", sql: "CREATE PROCEDURE p() BEGIN UPDATE t SET a = 1 WHERE id = 2; SELECT 1; END;\nSELECT 2;", want: []string{"1:1"}},
		{name: "function", sql: "CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC RETURN x + 1", want: []string{"1:1"}, msg: "stored function"},
		{name: "functions allowed", sql: "CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC RETURN x + 1", params: map[string]any{"functions": false}},
		{name: "mariadb package", sql: "DELIMITER //\nCREATE PACKAGE pkg AS FUNCTION f() RETURNS INT; END//", want: []string{"2:1"}},
		{name: "mariadb anonymous block", sql: "BEGIN NOT ATOMIC\n  SELECT 1;\nEND", want: []string{"1:1"}, msg: "anonymous block"},
		{name: "call is fine", sql: "CALL p(1)"},
		{name: "pg function", engine: "postgres", sql: "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$", want: []string{"1:1"}},
		{name: "pg procedure with functions off", engine: "postgres", sql: "CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$", params: map[string]any{"functions": false}, want: []string{"1:1"}},
		{name: "pg do block", engine: "postgres", sql: "DO $$ BEGIN PERFORM 1; END $$", want: []string{"1:1"}},
	})
}
