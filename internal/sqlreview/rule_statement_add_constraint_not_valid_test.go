package sqlreview

import "testing"

func TestRuleAddConstraintNotValid(t *testing.T) {
	runRuleCases(t, "statement-add-constraint-not-valid", []ruleCase{
		{name: "check not valid", engine: "postgres", sql: "ALTER TABLE t ADD CONSTRAINT ck_a CHECK (a > 0) NOT VALID"},
		{name: "check", engine: "postgres", sql: "ALTER TABLE t ADD CONSTRAINT ck_a CHECK (a > 0)", want: []string{"1:19"}, msg: "CHECK"},
		{name: "foreign key", engine: "postgres", sql: "ALTER TABLE t\n  ADD FOREIGN KEY (p) REFERENCES parent (id)", want: []string{"2:7"}, msg: "FOREIGN KEY"},
		{name: "foreign key not valid", engine: "postgres", sql: "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (p) REFERENCES parent (id) NOT VALID"},
		{name: "new table", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, a int);\nALTER TABLE t ADD CONSTRAINT ck CHECK (a > 0);"},
		{name: "validate", engine: "postgres", sql: "ALTER TABLE t VALIDATE CONSTRAINT ck_a"},
	})
}
