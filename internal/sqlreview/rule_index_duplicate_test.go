package sqlreview

import "testing"

func TestRuleIndexDuplicate(t *testing.T) {
	runRuleCases(t, "index-no-duplicate", []ruleCase{
		{name: "distinct", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, KEY idx_a (a), KEY idx_ba (b, a))"},
		{name: "same columns", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, KEY idx_ab (a, b), KEY idx_ab2 (a, b))", want: []string{"1:74"}, msg: "duplicates idx_ab"},
		{name: "same as primary key", sql: "CREATE TABLE t (id INT, KEY idx_id (id), PRIMARY KEY (id))", want: []string{"1:42"}, msg: "idx_id"},
		{name: "quoted and cased columns", sql: "CREATE TABLE t (id INT PRIMARY KEY, A INT, KEY idx_1 (`a`), KEY idx_2 (A))", want: []string{"1:65"}},
		{name: "against a table of the script", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY idx_a (a));\nALTER TABLE t ADD INDEX idx_a2 (a);", want: []string{"2:25"}},
		{name: "fulltext exempt", sql: "CREATE TABLE t (id INT PRIMARY KEY, a TEXT, KEY idx_a (a(10)), FULLTEXT KEY ft_a (a))"},
		{name: "column twice in one index", sql: "CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY idx_aa (a, A))", want: []string{"1:48"}, msg: "lists column a more than once"},
		{name: "column twice in create index", sql: "CREATE INDEX idx_x ON t (a, b, a)", want: []string{"1:14"}},
		{name: "pg column twice", engine: "postgres", sql: "ALTER TABLE t ADD CONSTRAINT uk UNIQUE (a, a)", want: []string{"1:19"}},
		{name: "foreign key column twice", sql: "ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a, a) REFERENCES p (a, b)", want: []string{"1:30"}, msg: "foreign key fk lists column a"},
		{name: "pg", engine: "postgres", sql: "CREATE TABLE t (id int PRIMARY KEY, a int);\nCREATE INDEX idx_a ON t (a);\nCREATE INDEX idx_a2 ON t (a);", want: []string{"3:14"}},
	})
}
