package sqlreview

import "testing"

func TestRuleNoCascade(t *testing.T) {
	runRuleCases(t, "statement-no-cascade", []ruleCase{
		{name: "restrict", engine: "postgres", sql: "DROP TABLE t"},
		{name: "drop cascade", engine: "postgres", sql: "DROP TABLE t CASCADE", want: []string{"1:14"}},
		{name: "truncate cascade", engine: "postgres", sql: "TRUNCATE t CASCADE", want: []string{"1:12"}},
		{name: "drop column cascade", engine: "postgres", sql: "ALTER TABLE t DROP COLUMN a CASCADE", want: []string{"1:29"}},
		{name: "pg on delete cascade", engine: "postgres", sql: "CREATE TABLE c (id int PRIMARY KEY, p int REFERENCES p (id) ON DELETE CASCADE)", want: []string{"1:71"}},
		{name: "pg add fk cascade", engine: "postgres", sql: "ALTER TABLE c ADD CONSTRAINT fk FOREIGN KEY (p) REFERENCES p (id) ON DELETE CASCADE", want: []string{"1:77"}},
		{name: "pg add column references cascade", engine: "postgres", sql: "ALTER TABLE c ADD COLUMN p int REFERENCES p (id) ON DELETE CASCADE", want: []string{"1:60"}},
		{name: "pg on update cascade is fine", engine: "postgres", sql: "ALTER TABLE c ADD CONSTRAINT fk FOREIGN KEY (p) REFERENCES p (id) ON UPDATE CASCADE"},
		{name: "mysql on delete cascade", sql: "CREATE TABLE c (id INT PRIMARY KEY, p INT, CONSTRAINT fk FOREIGN KEY (p) REFERENCES p (id) ON DELETE CASCADE)", want: []string{"1:102"}},
		{name: "mysql restrict", sql: "ALTER TABLE c ADD CONSTRAINT fk FOREIGN KEY (p) REFERENCES p (id) ON DELETE RESTRICT"},
	})
}
