package sqlreview

import "testing"

func TestRuleTicketKind(t *testing.T) {
	runRuleCases(t, "statement-ticket-kind", []ruleCase{
		{name: "dml in dml ticket", kind: "dml", sql: "INSERT INTO t (a) VALUES (1);\nUPDATE t SET a = 2 WHERE id = 1;"},
		{name: "ddl in dml ticket", kind: "dml", sql: "UPDATE t SET a = 2 WHERE id = 1;\nALTER TABLE t ADD c INT;", want: []string{"2:1"}, msg: "ALTER TABLE in a data-change ticket"},
		{name: "truncate is left to its own rule", kind: "dml", sql: "TRUNCATE t"},
		{name: "dml in ddl ticket", kind: "ddl", sql: "ALTER TABLE t ADD c INT;\nUPDATE t SET c = 1 WHERE id = 1;\nINSERT INTO t (id) VALUES (1);", want: []string{"2:1", "3:1"}, msg: "UPDATE in a schema-change ticket"},
		{name: "a schema change seeds the table it creates", kind: "ddl", sql: "CREATE TABLE t (id INT PRIMARY KEY);\nINSERT INTO t (id) VALUES (1);"},
		{name: "but does not change its rows", kind: "ddl", sql: "CREATE TABLE t (id INT PRIMARY KEY);\nINSERT INTO t (id) VALUES (1);\nUPDATE t SET id = 2 WHERE id = 1;", want: []string{"3:1"}},
		{name: "queries and set are fine", kind: "ddl", sql: "SET NAMES utf8mb4;\nSELECT 1;\nCREATE INDEX idx ON t (a);"},
		{name: "no ticket", sql: "ALTER TABLE t ADD c INT; UPDATE t SET c = 1 WHERE id = 1;"},
		{name: "pg", engine: "postgres", kind: "dml", sql: "COMMENT ON TABLE t IS 'x'", want: []string{"1:1"}},
		{name: "call in dml ticket", kind: "dml", sql: "UPDATE t SET a = 2 WHERE id = 1;\nCALL fix_rows(1);", want: []string{"2:1"}, msg: "CALL in a data-change ticket"},
		{name: "do in dml ticket", kind: "dml", sql: "DO fix_row(1)", want: []string{"1:1"}, msg: "DO in a data-change ticket"},
		{name: "pg call and do in dml ticket", engine: "postgres", kind: "dml", sql: "CALL fix_rows(1);\nDO $$ BEGIN UPDATE t SET a = 1; END $$;", want: []string{"1:1", "2:1"}},
	})
}
