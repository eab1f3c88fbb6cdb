package sqlreview

import "testing"

func TestRuleColumnLossyChange(t *testing.T) {
	base := "CREATE TABLE t (id BIGINT UNSIGNED PRIMARY KEY, n INT, s VARCHAR(100), d DECIMAL(12,4), ts DATETIME, f DOUBLE, b TEXT);\n"
	runRuleCases(t, "column-no-lossy-change", []ruleCase{
		{name: "widen int", sql: base + "ALTER TABLE t MODIFY n BIGINT;"},
		{name: "narrow int", sql: base + "ALTER TABLE t MODIFY n SMALLINT;", want: []string{"2:22"}, msg: "from int to smallint"},
		{name: "signed to unsigned", sql: base + "ALTER TABLE t MODIFY n INT UNSIGNED;", want: []string{"2:22"}, msg: "negative"},
		{name: "unsigned to signed", sql: base + "ALTER TABLE t MODIFY id BIGINT;", want: []string{"2:22"}},
		{name: "shorter varchar", sql: base + "ALTER TABLE t CHANGE s s VARCHAR(50);", want: []string{"2:22"}},
		{name: "longer varchar", sql: base + "ALTER TABLE t CHANGE `s` `s2` VARCHAR(200);"},
		{name: "text to varchar", sql: base + "ALTER TABLE t MODIFY b VARCHAR(255);", want: []string{"2:22"}},
		{name: "decimal scale", sql: base + "ALTER TABLE t MODIFY d DECIMAL(12,2);", want: []string{"2:22"}},
		{name: "datetime to date", sql: base + "ALTER TABLE t MODIFY ts DATE;", want: []string{"2:22"}},
		{name: "string to int", sql: base + "ALTER TABLE t MODIFY s INT;", want: []string{"2:22"}, msg: "string values"},
		{name: "int to varchar", sql: base + "ALTER TABLE t MODIFY n VARCHAR(64);"},
		{name: "double to float", sql: base + "ALTER TABLE t MODIFY f FLOAT;", want: []string{"2:22"}},
		{name: "unknown table", sql: "ALTER TABLE u MODIFY n TINYINT"},
		{name: "pg narrow", engine: "postgres", sql: "CREATE TABLE t (id bigint PRIMARY KEY, n bigint, s text);\nALTER TABLE t ALTER COLUMN n TYPE integer;", want: []string{"2:28"}},
		{name: "pg text to varchar", engine: "postgres", sql: "CREATE TABLE t (id bigint PRIMARY KEY, s text);\nALTER TABLE t ALTER COLUMN s TYPE varchar(20);", want: []string{"2:28"}},
		{name: "pg widen", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, s varchar(10));\nALTER TABLE t ALTER COLUMN id TYPE bigint, ALTER COLUMN s TYPE text;"},
	})
}
