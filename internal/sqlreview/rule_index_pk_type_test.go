package sqlreview

import "testing"

func TestRulePKTypeAllowlist(t *testing.T) {
	runRuleCases(t, "index-pk-type-allowlist", []ruleCase{
		{name: "int", sql: "CREATE TABLE t (id INT PRIMARY KEY)"},
		{name: "varchar inline", sql: "CREATE TABLE t (id VARCHAR(5) PRIMARY KEY)", want: []string{"1:17"}, msg: "type varchar"},
		{name: "table-level", sql: "CREATE TABLE t (id INT, id2 VARCHAR(5), id3 VARCHAR(5), PRIMARY KEY (id, id2, id3))", want: []string{"1:25", "1:41"}},
		{name: "added key on a table of the script", sql: "CREATE TABLE t (k CHAR(36));\nALTER TABLE t ADD PRIMARY KEY (k);", want: []string{"2:19"}},
		{name: "custom list", params: map[string]any{"types": []string{"bigint"}}, sql: "CREATE TABLE t (id INT PRIMARY KEY)", want: []string{"1:17"}},
		{name: "pg uuid", engine: "postgres", sql: "CREATE TABLE t (id uuid PRIMARY KEY)", want: []string{"1:17"}},
		{name: "pg bigserial", engine: "postgres", sql: "CREATE TABLE t (id bigserial PRIMARY KEY)"},
	})
}
