package livetest

import "testing"

func TestLiveSchemaDatabase(t *testing.T) {
	live(t)
	runLive(t, "schema-database", []liveCase{
		{name: "existing", sql: "USE shop;\nSELECT id FROM bench.t_010 WHERE id = 1;"},
		{name: "missing use", sql: "USE nope;", want: []string{"1:5"}, msg: "database nope does not exist"},
		{name: "missing qualifier", sql: "UPDATE nope.t SET a = 1 WHERE id = 1;", want: []string{"1:8"}},
		{name: "create existing", sql: "CREATE DATABASE shop;", want: []string{"1:17"}, msg: "already exists"},
		{name: "create existing if not exists", sql: "CREATE DATABASE IF NOT EXISTS shop;"},
		{name: "drop missing", sql: "DROP DATABASE nope;", want: []string{"1:15"}},
		{name: "pg schema", engine: "postgres", sql: "CREATE TABLE nope.t (id int PRIMARY KEY);\nCREATE TABLE app.t (id int PRIMARY KEY);", want: []string{"1:14"}},
	})
}

func TestLiveSchemaTable(t *testing.T) {
	live(t)
	runLive(t, "schema-table", []liveCase{
		{name: "existing", sql: "ALTER TABLE orders ADD c INT;\nUPDATE small SET name = 'x' WHERE id = 1;\nSELECT id FROM shop.orders WHERE id = 1;"},
		{name: "missing", sql: "ALTER TABLE order_lines ADD c INT;", want: []string{"1:13"}, msg: "table order_lines does not exist on the instance"},
		{name: "create existing", sql: "CREATE TABLE orders (id INT PRIMARY KEY);", want: []string{"1:14"}, msg: "already exists on the instance"},
		{name: "create existing if not exists", sql: "CREATE TABLE IF NOT EXISTS orders (id INT PRIMARY KEY);"},
		{name: "created in the script", sql: "CREATE TABLE order_lines (id INT PRIMARY KEY);\nINSERT INTO order_lines (id) VALUES (1);"},
		{name: "dropped in the script", sql: "DROP TABLE small;\nINSERT INTO small (id) VALUES (3);", want: []string{"2:13"}, msg: "see line 1"},
		{name: "join with a missing table", sql: "DELETE o FROM orders o JOIN refunds r ON r.order_id = o.id WHERE r.id = 1;", want: []string{"1:29"}},
		{name: "other database", db: "bench", sql: "SELECT id FROM t_001 WHERE id = 1;\nSELECT id FROM orders WHERE id = 1;", want: []string{"2:16"}},
		{name: "after use", sql: "USE bench;\nALTER TABLE t_001 ADD c INT;\nALTER TABLE orders ADD c INT;", want: []string{"3:13"}},
		{name: "pg", engine: "postgres", sql: "ALTER TABLE orders ADD c int;\nALTER TABLE order_lines ADD c int;", want: []string{"2:13"}},
		{name: "pg search path and catalogs", engine: "postgres", sql: "SELECT relname FROM pg_class WHERE oid = 1;\nSELECT id FROM app.items WHERE id = 1;"},
	})
}

func TestLiveSchemaColumn(t *testing.T) {
	live(t)
	runLive(t, "schema-column", []liveCase{
		{name: "existing", sql: "ALTER TABLE orders MODIFY note VARCHAR(200) NOT NULL DEFAULT '', DROP COLUMN amount;\nUPDATE small SET name = 'x' WHERE id = 1;"},
		{name: "add existing", sql: "ALTER TABLE orders ADD COLUMN note TEXT;", want: []string{"1:31"}, msg: "column note already exists in orders"},
		{name: "drop missing", sql: "ALTER TABLE orders DROP COLUMN notes;", want: []string{"1:32"}},
		{name: "update missing", sql: "UPDATE small SET nam = 'x' WHERE id = 1;", want: []string{"1:18"}},
		{name: "index on missing", sql: "CREATE INDEX idx_x ON orders (account_id, x);", want: []string{"1:43"}},
		{name: "pg", engine: "postgres", sql: "ALTER TABLE orders ALTER COLUMN notes SET DEFAULT '';", want: []string{"1:33"}},
	})
}

func TestLiveSchemaIndex(t *testing.T) {
	live(t)
	runLive(t, "schema-index", []liveCase{
		{name: "drop existing", sql: "DROP INDEX idx_account ON orders;"},
		{name: "drop missing", sql: "ALTER TABLE orders DROP INDEX idx_nope;", want: []string{"1:31"}, msg: "index idx_nope does not exist on orders"},
		{name: "add existing", sql: "CREATE INDEX idx_account ON orders (status);", want: []string{"1:14"}},
		{name: "second primary key", sql: "ALTER TABLE small ADD PRIMARY KEY (name);", want: []string{"1:23"}},
		{name: "pg add existing", engine: "postgres", sql: "CREATE INDEX CONCURRENTLY idx_account ON orders (status);", want: []string{"1:27"}},
	})
}
