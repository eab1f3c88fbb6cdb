package sqlreview

import "testing"

func TestRuleNoCommit(t *testing.T) {
	runRuleCases(t, "statement-no-commit", []ruleCase{
		{name: "no commit", sql: "START TRANSACTION;\nUPDATE t SET a = 1 WHERE id = 1;"},
		{name: "commits", sql: "START TRANSACTION;\nCREATE TABLE b (id INT);\nCOMMIT;\nSTART TRANSACTION;\nINSERT INTO b (id) VALUES (1);\ncommit work;", want: []string{"3:1", "6:1"}},
		{name: "rollback is fine", sql: "BEGIN;\nROLLBACK;"},
		{name: "pg end", engine: "postgres", sql: "BEGIN;\nUPDATE t SET a = 1 WHERE id = 1;\nEND;", want: []string{"3:1"}},
	})
}
