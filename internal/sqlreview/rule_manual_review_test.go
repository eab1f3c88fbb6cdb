package sqlreview

import "testing"

func TestRuleManualReview(t *testing.T) {
	runRuleCases(t, "manual-review", []ruleCase{
		{name: "plain sql", sql: "CREATE TABLE t (id INT PRIMARY KEY);\nUPDATE t SET id = 2 WHERE id = 1;"},
		{name: "procedure in delimiter block", sql: "DELIMITER $$\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND$$\nDELIMITER ;\nSELECT 2;", want: []string{"2:1"}, msg: "procedure body"},
		{name: "trigger", sql: "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1", want: []string{"1:1"}, msg: "trigger body"},
		{name: "event", sql: "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM log WHERE ts < NOW()", want: []string{"1:1"}},
		{name: "function without delimiter", sql: "CREATE FUNCTION f() RETURNS INT BEGIN DECLARE x INT; SET x = 1; RETURN x; END;\nSELECT f();", want: []string{"1:1"}},
		{name: "several statements in a delimiter block", sql: "DELIMITER //\nUPDATE t SET a = 1 WHERE id = 1; DROP TABLE t//\nDELIMITER ;", want: []string{"2:1"}, msg: "several statements"},
		{name: "plain statement in a delimiter block", sql: "DELIMITER //\nUPDATE t SET a = 1 WHERE id = 2//\nDELIMITER ;", want: []string{"2:1"}, msg: "DELIMITER // block"},
		{name: "mariadb beyond the grammar", sql: "SELECT id FROM t FOR SYSTEM_TIME ALL", want: []string{"1:1"}, msg: "system-versioned"},
		{name: "pg function", engine: "postgres", sql: "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.a := 1;\n  RETURN NEW;\nEND\n$$;", want: []string{"1:1"}, msg: "function body"},
		{name: "pg do", engine: "postgres", sql: "SELECT 1;\nDO $$ BEGIN RAISE NOTICE 'x'; END $$;", want: []string{"2:1"}},
		{name: "psql meta-command", engine: "postgres", sql: "\\set ON_ERROR_STOP on\nSELECT 1;", want: []string{"1:1"}, msg: "client command"},
		{name: "pg trigger is reviewable", engine: "postgres", sql: "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()"},
	})
}
