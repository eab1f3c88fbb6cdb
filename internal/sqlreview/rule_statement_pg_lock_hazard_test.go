package sqlreview

import "testing"

func TestRulePGLockHazard(t *testing.T) {
	runRuleCases(t, "statement-pg-lock-hazard", []ruleCase{
		{name: "set not null", engine: "postgres", sql: "ALTER TABLE book ALTER COLUMN name SET NOT NULL", want: []string{"1:31"}, msg: "SET NOT NULL on book"},
		{name: "check not valid", engine: "postgres", sql: "ALTER TABLE book ADD CONSTRAINT c CHECK (name IS NOT NULL) NOT VALID;\nALTER TABLE book VALIDATE CONSTRAINT c;"},
		{name: "new table", engine: "postgres", sql: "CREATE TABLE t (a int);\nALTER TABLE t ALTER COLUMN a SET NOT NULL;"},
		{name: "volatile default", engine: "postgres", sql: "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid()", want: []string{"1:26"}, msg: "gen_random_uuid()"},
		{name: "stable default", engine: "postgres", sql: "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now(), ADD COLUMN d int DEFAULT 1"},
		{name: "serial", engine: "postgres", sql: "ALTER TABLE t ADD COLUMN n bigserial", want: []string{"1:26"}, msg: "serial"},
		{name: "create table with volatile default", engine: "postgres", sql: "CREATE TABLE t (id uuid PRIMARY KEY DEFAULT gen_random_uuid())"},
	})
}
