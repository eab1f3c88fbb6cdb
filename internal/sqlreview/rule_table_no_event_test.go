package sqlreview

import "testing"

func TestRuleNoEvent(t *testing.T) {
	runRuleCases(t, "table-no-event", []ruleCase{
		{name: "event", sql: "CREATE EVENT purge ON SCHEDULE EVERY 1 DAY DO DELETE FROM log WHERE ts < NOW() - INTERVAL 7 DAY", want: []string{"1:1"}},
		{name: "event with body", sql: "DELIMITER $$\nCREATE DEFINER=CURRENT_USER EVENT e ON SCHEDULE EVERY 1 HOUR DO BEGIN DELETE FROM a; DELETE FROM b; END$$", want: []string{"2:1"}},
		{name: "alter event", sql: "ALTER EVENT e DISABLE", want: []string{"1:1"}},
		{name: "drop event", sql: "DROP EVENT IF EXISTS e"},
		{name: "table named event", sql: "CREATE TABLE events (id INT PRIMARY KEY)"},
	})
}
