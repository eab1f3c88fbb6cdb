package sqlreview

import "testing"

func TestRuleTableNoForeignKey(t *testing.T) {
	runRuleCases(t, "table-no-foreign-key", []ruleCase{
		{name: "none", sql: "CREATE TABLE t (id INT PRIMARY KEY, p INT, KEY idx_p (p))"},
		{name: "table constraint", sql: "CREATE TABLE t (id INT PRIMARY KEY, p INT,\n  CONSTRAINT fk_p FOREIGN KEY (p) REFERENCES parent (id))", want: []string{"2:14"}, msg: "referencing parent"},
		{name: "unnamed", sql: "CREATE TABLE t (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES parent (id))", want: []string{"1:44"}},
		{name: "inline references", sql: "CREATE TABLE t (id INT PRIMARY KEY, p INT REFERENCES parent (id))", want: []string{"1:37"}},
		{name: "alter add", sql: "ALTER TABLE t ADD CONSTRAINT `fk_p` FOREIGN KEY (p) REFERENCES parent (id)", want: []string{"1:30"}},
		{name: "alter drop", sql: "ALTER TABLE t DROP FOREIGN KEY fk_p"},
		{name: "pg", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, p int REFERENCES parent (id))", want: []string{"1:37"}},
		{name: "pg alter not valid", engine: "postgres", sql: "ALTER TABLE t ADD CONSTRAINT fk_p FOREIGN KEY (p) REFERENCES parent (id) NOT VALID", want: []string{"1:19"}},
	})
}
