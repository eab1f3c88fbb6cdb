package sqlreview

import "testing"

func TestRuleNoTrigger(t *testing.T) {
	runRuleCases(t, "table-no-trigger", []ruleCase{
		{name: "delimiter block", sql: "DELIMITER //\nCREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; END//\nDELIMITER ;", want: []string{"2:1"}},
		{name: "single statement trigger", sql: "CREATE DEFINER=`root`@`localhost` TRIGGER trg BEFORE UPDATE ON t FOR EACH ROW SET NEW.b = 2", want: []string{"1:1"}},
		{name: "mariadb or replace", sql: "CREATE OR REPLACE TRIGGER trg AFTER INSERT ON t FOR EACH ROW INSERT INTO log (a) VALUES (NEW.a)", want: []string{"1:1"}},
		{name: "drop trigger", sql: "DROP TRIGGER IF EXISTS trg"},
		{name: "word in a string", sql: "INSERT INTO t (a) VALUES ('CREATE TRIGGER x')"},
		{name: "pg trigger", engine: "postgres", sql: "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()", want: []string{"1:1"}},
	})
}
