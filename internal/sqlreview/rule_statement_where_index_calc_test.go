package sqlreview

import "testing"

func TestRuleWhereIndexCalc(t *testing.T) {
	const book = "CREATE TABLE book (id INT, name VARCHAR(255), creator VARCHAR(255), PRIMARY KEY (id, name));\n"
	const pgBook = "CREATE TABLE book (id int, name text, creator text, PRIMARY KEY (id, name));\n"
	runRuleCases(t, "statement-where-no-calc-on-index", []ruleCase{
		{name: "function on indexed column", sql: book + "SELECT * FROM book WHERE UPPER(name) = 'x'", want: []string{"2:26"}, msg: "UPPER() on indexed column book.name"},
		{name: "arithmetic", sql: book + "SELECT * FROM book WHERE id + 1 > 5", want: []string{"2:26"}, msg: "arithmetic on indexed column book.id"},
		{name: "two of them", sql: book + "SELECT * FROM book WHERE ABS(id) > 5 AND UPPER(name) = 'x'", want: []string{"2:26", "2:42"}},
		{name: "function on the value side", sql: book + "SELECT * FROM book WHERE id = ABS(-5) AND name = CONCAT('a', 'b')"},
		{name: "not indexed", sql: book + "SELECT * FROM book WHERE UPPER(creator) = 'x'"},
		{name: "unknown table", sql: "SELECT * FROM t WHERE UPPER(a) = 'x'"},
		{name: "update and delete", sql: book + "UPDATE book SET creator = 'x' WHERE ABS(id) > 5;\nDELETE FROM book WHERE LOWER(name) = 'x';", want: []string{"2:37", "3:24"}},
		{name: "subquery with alias", sql: book + "CREATE TABLE o (oid INT PRIMARY KEY, c VARCHAR(9), KEY idx_c (c));\nSELECT * FROM book b WHERE EXISTS (SELECT 1 FROM o x WHERE x.oid = b.id AND UPPER(x.c) = 'X')",
			want: []string{"3:77"}, msg: "o.c"},
		{name: "qualifier of another table", sql: book + "CREATE TABLE o (oid INT PRIMARY KEY, name VARCHAR(9));\nSELECT * FROM book JOIN o ON o.oid = book.id WHERE UPPER(o.name) = 'x'"},
		{name: "pg function", engine: "postgres", sql: pgBook + "SELECT * FROM book WHERE lower(name) = 'x'", want: []string{"2:26"}, msg: "LOWER()"},
		{name: "pg arithmetic in delete", engine: "postgres", sql: pgBook + "DELETE FROM book WHERE id * 2 = 10", want: []string{"2:24"}},
		{name: "pg cast", engine: "postgres", sql: pgBook + "SELECT 1 FROM book WHERE id::text = '1'", want: []string{"2:28"}},
		{name: "pg not indexed", engine: "postgres", sql: pgBook + "SELECT 1 FROM book WHERE upper(creator) = 'x'"},
	})
}
