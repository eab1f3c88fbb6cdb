package executor

import (
	"strings"
	"testing"
)

// mariaFixture creates tables with awkward values: NULLs, quotes,
// backslashes, newlines, unicode, binary, TIMESTAMP with fractions, BIT,
// a generated column, a unique key, a composite primary key.
func mariaFixture(e *tenv) {
	e.exec(e.my,
		`CREATE TABLE items (
			id INT PRIMARY KEY AUTO_INCREMENT,
			name VARCHAR(50) NOT NULL,
			price DECIMAL(10,2),
			qty INT NOT NULL DEFAULT 0,
			note TEXT NULL,
			updated TIMESTAMP(3) NULL,
			born DATE NULL,
			data BLOB NULL,
			flag BIT(3) NULL,
			f FLOAT NULL,
			d DOUBLE NULL,
			total DECIMAL(12,2) AS (price * qty) STORED,
			UNIQUE KEY uk_name (name)
		) ENGINE=InnoDB`,
		`INSERT INTO items (name, price, qty, note, updated, born, data, flag, f, d)
		 SELECT CONCAT('item-', seq), seq / 7, seq % 13,
		        CASE seq % 5 WHEN 0 THEN NULL WHEN 1 THEN 'it''s a \\ back\nslash' WHEN 2 THEN 'ünïcødé ✓' ELSE REPEAT('x', seq % 40) END,
		        CASE WHEN seq % 4 = 0 THEN NULL ELSE TIMESTAMP('2024-03-10 01:30:00.123') + INTERVAL seq MINUTE END,
		        CASE WHEN seq % 3 = 0 THEN NULL ELSE DATE('2000-01-01') + INTERVAL seq DAY END,
		        CASE WHEN seq % 6 = 0 THEN NULL ELSE UNHEX(CONCAT('00FF5C27', HEX(seq))) END,
		        CASE WHEN seq % 2 = 0 THEN NULL ELSE b'101' END,
		        seq / 3, seq / 9
		 FROM seq_1_to_3000`,
		`CREATE TABLE tags (k1 INT NOT NULL, k2 VARCHAR(10) NOT NULL, v INT, PRIMARY KEY (k1, k2))`,
		`INSERT INTO tags SELECT seq, ELT(1 + seq % 3, 'a', 'b', 'c'), seq FROM seq_1_to_1500`,
		`INSERT INTO tags SELECT seq, 'z', NULL FROM seq_1_to_500`,
	)
}

func TestMariaDBChangeAndRollback(t *testing.T) {
	e := newEnv(t)
	mariaFixture(e)
	svc, _ := e.service(Config{})
	before := e.myState("items", "tags")

	script := `
-- data fixes, in a session time zone that is not the server's
SET time_zone = '-03:00';
UPDATE items SET qty = qty + 1, note = CONCAT('x', COALESCE(note, '')), updated = NOW(3) WHERE id % 3 = 0;
DELETE FROM items WHERE id % 7 = 0;
UPDATE items SET price = price * 2 WHERE id < 10;
INSERT INTO items (name, price, qty) VALUES ('new1', 1.5, 1), ('new2', 2.5, 2);
INSERT INTO items (id, name, qty, data) VALUES (100000, 'explicit', 5, X'00');
INSERT INTO items (id, name, qty) VALUES (1, 'item-1', 9) ON DUPLICATE KEY UPDATE qty = 99;
REPLACE INTO items (id, name, qty) VALUES (2, 'replaced', 3);
INSERT IGNORE INTO items (id, name, qty) VALUES (4, 'ignored', 0), (200000, 'inserted-ignore', 1);
UPDATE tags SET v = v * 10 WHERE k1 % 2 = 0;
DELETE FROM tags WHERE k2 = 'b';
INSERT INTO tags (k1, k2, v) SELECT k1 + 100000, k2, v FROM tags WHERE k1 < 50;
-- schema changes
ALTER TABLE items ADD COLUMN extra INT NULL AFTER qty, ADD INDEX idx_qty (qty);
CREATE TABLE newtab (id INT PRIMARY KEY);
CREATE INDEX idx_v ON tags (v);
ALTER TABLE items DROP INDEX uk_name;
ALTER TABLE items MODIFY note VARCHAR(500) NULL;
ALTER TABLE items RENAME COLUMN born TO birth, ADD INDEX (price);
`
	ex := e.run(svc, "m1", script, Options{ChunkSize: 400})
	e.done(ex)
	after := e.myState("items", "tags")
	dumpAfter := e.dump("SELECT * FROM items ORDER BY id")
	differentState(t, "the change", before, after, "items checksum", "tags checksum", "items definition", "tags definition", "tables")

	// How the statements ran.
	if s := stmtBySeq(t, ex, 2); !s.Plan.Chunked || s.Chunks < 3 || s.RowsAffected != 1000 {
		t.Errorf("chunked UPDATE: chunked=%v chunks=%d rows=%d", s.Plan.Chunked, s.Chunks, s.RowsAffected)
	}
	if s := stmtBySeq(t, ex, 3); !s.Plan.Chunked || s.RowsAffected != 428 {
		t.Errorf("chunked DELETE: chunked=%v rows=%d", s.Plan.Chunked, s.RowsAffected)
	}
	if s := stmtBySeq(t, ex, 4); s.Chunks != 1 || s.RowsAffected != 8 {
		t.Errorf("small UPDATE should take one chunk: %+v", s)
	}
	if s := stmtBySeq(t, ex, 10); !s.Plan.Chunked || s.Chunks < 2 {
		t.Errorf("composite-key UPDATE: chunked=%v chunks=%d", s.Plan.Chunked, s.Chunks)
	}
	if s := stmtBySeq(t, ex, 13); s.Note != "ran with ALGORITHM=INPLACE, LOCK=NONE" {
		t.Errorf("ADD COLUMN + ADD INDEX: %q", s.Note)
	}
	if s := stmtBySeq(t, ex, 17); !strings.Contains(s.Note, "server's default algorithm") {
		t.Errorf("MODIFY to VARCHAR: %q", s.Note)
	}
	for _, s := range ex.Statements {
		if strings.HasPrefix(s.Rollback, "not available") {
			t.Errorf("statement %d (%s) has no rollback: %s", s.Seq, oneLine(s.SQL, 50), s.Rollback)
		}
	}

	rb, err := svc.RollbackScript(e.ctx, tester, ex.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !rb.Complete {
		t.Errorf("rollback incomplete: %v", rb.Notes)
	}
	for _, want := range []string{"SET SESSION time_zone = '+00:00'", "DROP TABLE `newtab`", "DROP INDEX `price`", "RENAME COLUMN `birth` TO `born`"} {
		if !strings.Contains(rb.SQL, want) {
			t.Errorf("rollback lacks %q", want)
		}
	}
	rid, err := svc.Rollback(e.ctx, ex.ID, RollbackRequest{RequestedBy: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	rex := e.wait(svc, rid)
	e.done(rex)
	if rex.RollbackOf != ex.ID {
		t.Errorf("rollback_of = %d, want %d", rex.RollbackOf, ex.ID)
	}
	sameState(t, "after rollback", before, e.myState("items", "tags"))

	// The rollback of the rollback redoes the change.
	rb2, err := svc.RollbackScript(e.ctx, tester, rid)
	// All of it can be undone again but the DROP TABLE that undid CREATE TABLE.
	if err != nil || rb2.Complete || len(rb2.Notes) != 1 || !strings.Contains(rb2.Notes[0], "DROP TABLE destroys data") {
		t.Errorf("rollback of the rollback: %v %v", err, rb2.Notes)
	}
	rid2, err := svc.Rollback(e.ctx, rid, RollbackRequest{RequestedBy: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	e.done(e.wait(svc, rid2))
	redo := e.myState("items", "tags")
	if d := e.dump("SELECT * FROM items ORDER BY id"); d != dumpAfter {
		a, b := strings.Split(dumpAfter, "\n"), strings.Split(d, "\n")
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Logf("first difference:\n%s\n%s", a[i], b[i])
				break
			}
		}
		t.Logf("lines %d vs %d", len(a), len(b))
	}
	for _, k := range []string{"items checksum", "tags checksum"} {
		if redo[k] != after[k] {
			t.Errorf("rollback of the rollback: %s = %s, want %s (the change)", k, redo[k], after[k])
		}
	}
}

func TestPostgresChangeAndRollback(t *testing.T) {
	e := newEnv(t)
	e.exec(e.pg,
		`CREATE TABLE items (
			id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			name text NOT NULL UNIQUE,
			price numeric(10,2),
			qty int NOT NULL DEFAULT 0,
			note text,
			updated timestamptz,
			data bytea,
			tags text[],
			doc jsonb,
			ok boolean,
			total numeric GENERATED ALWAYS AS (price * qty) STORED
		)`,
		`INSERT INTO items (name, price, qty, note, updated, data, tags, doc, ok)
		 SELECT 'item-' || g, g / 7.0, g % 13,
		        CASE g % 5 WHEN 0 THEN NULL WHEN 1 THEN E'it''s a \\ back\nslash' WHEN 2 THEN 'ünïcødé ✓' ELSE repeat('x', g % 40) END,
		        CASE WHEN g % 4 = 0 THEN NULL ELSE timestamptz '2024-03-10 01:30:00.123456+01' + g * interval '1 minute' END,
		        CASE WHEN g % 6 = 0 THEN NULL ELSE decode('00ff5c27' || lpad(to_hex(g), 4, '0'), 'hex') END,
		        CASE WHEN g % 3 = 0 THEN NULL ELSE ARRAY['a,b', 'c"d', NULL] END,
		        CASE WHEN g % 2 = 0 THEN NULL ELSE jsonb_build_object('g', g, 's', 'it''s') END,
		        g % 2 = 0
		 FROM generate_series(1, 3000) g`,
		`CREATE TABLE pairs (a int, b text, v int, PRIMARY KEY (a, b))`,
		`INSERT INTO pairs SELECT g, (ARRAY['a','b','c'])[1 + g % 3], g FROM generate_series(1, 1500) g`,
		`CREATE TABLE owners (id int PRIMARY KEY, item_name text)`,
		`INSERT INTO owners SELECT g, 'item-' || (g * 10) FROM generate_series(1, 50) g`,
	)
	svc, _ := e.service(Config{})
	tables := map[string]string{"items": "id", "pairs": "a, b", "owners": "id"}
	before := e.pgState(tables)

	script := `
UPDATE items SET qty = qty + 1, note = 'x' || coalesce(note, ''), updated = now() WHERE id % 3 = 0;
DELETE FROM items WHERE id % 7 = 0;
UPDATE items i SET price = price * 2 FROM owners o WHERE o.item_name = i.name;
INSERT INTO items (name, price, qty) VALUES ('new1', 1.5, 1), ('new2', 2.5, 2);
INSERT INTO items (id, name, qty) OVERRIDING SYSTEM VALUE VALUES (1, 'item-1', 9) ON CONFLICT (id) DO UPDATE SET qty = 99;
INSERT INTO items (name, qty) VALUES ('item-2', 0), ('fresh', 1) ON CONFLICT (name) DO NOTHING;
UPDATE pairs SET v = v * 10 WHERE a % 2 = 0;
DELETE FROM pairs WHERE b = 'b';
INSERT INTO pairs (a, b, v) SELECT a + 100000, b, v FROM pairs WHERE a < 50;
ALTER TABLE items ADD COLUMN extra int, ADD CONSTRAINT qty_ok CHECK (qty >= 0);
CREATE TABLE newtab (id int PRIMARY KEY);
CREATE INDEX ON pairs (v);
CREATE INDEX CONCURRENTLY items_qty ON items (qty);
ALTER TABLE owners ALTER COLUMN id TYPE bigint;
ALTER TABLE items RENAME COLUMN note TO remark;
ALTER TABLE owners ALTER COLUMN item_name SET DEFAULT 'none';
`
	ex := e.run(svc, "pg1", script, Options{ChunkSize: 400})
	e.done(ex)
	after := e.pgState(tables)
	differentState(t, "the change", before, after, "items md5", "pairs md5", "items columns", "pairs indexes", "tables", "owners columns")
	if s := stmtBySeq(t, ex, 1); !s.Plan.Chunked || s.Chunks < 3 || s.RowsAffected != 1000 {
		t.Errorf("chunked UPDATE: chunked=%v chunks=%d rows=%d", s.Plan.Chunked, s.Chunks, s.RowsAffected)
	}
	if s := stmtBySeq(t, ex, 7); !s.Plan.Chunked || s.Chunks < 2 {
		t.Errorf("composite-key UPDATE: chunked=%v chunks=%d", s.Plan.Chunked, s.Chunks)
	}
	if s := stmtBySeq(t, ex, 13); s.Note != "ran outside a transaction" {
		t.Errorf("CREATE INDEX CONCURRENTLY: %q", s.Note)
	}
	for _, s := range ex.Statements {
		if strings.HasPrefix(s.Rollback, "not available") {
			t.Errorf("statement %d (%s) has no rollback: %s", s.Seq, oneLine(s.SQL, 50), s.Rollback)
		}
	}
	rb, err := svc.RollbackScript(e.ctx, tester, ex.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !rb.Complete {
		t.Errorf("rollback incomplete: %v", rb.Notes)
	}
	rid, err := svc.Rollback(e.ctx, ex.ID, RollbackRequest{RequestedBy: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	e.done(e.wait(svc, rid))
	sameState(t, "after rollback", before, e.pgState(tables))
}

// Rollback from MariaDB binary-log row events: the same result as from
// before-images, including what images cannot cover (keys computed by the
// server, a WITH clause), and types that arrive encoded (ENUM and SET as
// numbers, UNSIGNED as signed, TIMESTAMP in UTC).
func TestMariaDBBinlogRollback(t *testing.T) {
	e := newEnv(t)
	e.exec(e.my,
		`CREATE TABLE b (
			id INT UNSIGNED PRIMARY KEY AUTO_INCREMENT,
			tiny TINYINT UNSIGNED, med MEDIUMINT UNSIGNED, big BIGINT UNSIGNED,
			e ENUM('red','green','blue'), s SET('a','b','c'),
			ts TIMESTAMP(6) NULL, dt DATETIME(3) NULL, d DATE NULL, tm TIME NULL, y YEAR NULL,
			dec1 DECIMAL(12,4), f FLOAT, dbl DOUBLE, bits BIT(10),
			name VARCHAR(30) NOT NULL, body TEXT, bin VARBINARY(8), blb BLOB,
			gen INT AS (tiny + 1) VIRTUAL
		)`,
		`INSERT INTO b (tiny, med, big, e, s, ts, dt, d, tm, y, dec1, f, dbl, bits, name, body, bin, blb)
		 SELECT 200 + seq % 50, 16000000 + seq, 18446744073709551000 + seq % 600, ELT(1 + seq % 3, 'red', 'green', 'blue'), 'a,c',
		        TIMESTAMP('2024-03-31 01:30:00.654321') + INTERVAL seq MINUTE, '2023-01-01 12:00:00.5', '2020-02-29', '-12:30:00', 2001,
		        seq / 7, seq / 3, seq / 9, b'1010101010', CONCAT('n', seq), REPEAT('it''s \\ ', seq % 5), UNHEX('00FF'), UNHEX(REPEAT('AB', seq % 20))
		 FROM seq_1_to_2000`)
	svc, _ := e.service(Config{})
	before := e.myState("b")
	script := `SET time_zone = '+05:30';
UPDATE b SET e = 'blue', s = 'b', ts = NOW(6), big = big - 1, name = CONCAT(name, '!') WHERE id % 2 = 0;
DELETE FROM b WHERE id % 5 = 0;
INSERT INTO b (tiny, name) SELECT tiny, CONCAT('copy', id) FROM b WHERE id < 30;
INSERT INTO b (id, name) VALUES (FLOOR(1000000 + 10), 'computed key');
`
	ex := e.run(svc, "m1", script, Options{ChunkSize: 300, Rollback: RollbackBinlog})
	e.done(ex)
	differentState(t, "the change", before, e.myState("b"), "b checksum")
	for _, s := range ex.Statements[1:] {
		if s.Rollback != "binlog row events, read back when the statement ends" {
			t.Errorf("statement %d: rollback %q", s.Seq, s.Rollback)
		}
	}
	rb, err := svc.RollbackScript(e.ctx, tester, ex.ID)
	if err != nil || !rb.Complete {
		t.Fatalf("rollback script: %v %v", err, rb.Notes)
	}
	rid, err := svc.Rollback(e.ctx, ex.ID, RollbackRequest{})
	if err != nil {
		t.Fatal(err)
	}
	e.done(e.wait(svc, rid))
	sameState(t, "after binlog rollback", before, e.myState("b"))

	// Not on PostgreSQL, and not without a row-based binary log.
	if _, err := svc.Start(e.ctx, Request{Instance: "pg1", SQL: "SELECT 1", Options: Options{Rollback: RollbackBinlog}}); err == nil ||
		!strings.Contains(err.Error(), "rollback binlog needs MariaDB") {
		t.Errorf("binlog on postgres: %v", err)
	}
	e.exec(e.my, "SET GLOBAL binlog_row_image = 'MINIMAL'")
	defer e.exec(e.my, "SET GLOBAL binlog_row_image = 'FULL'")
	ex = e.run(svc, "m1", "DELETE FROM b WHERE id = 1", Options{Rollback: RollbackBinlog})
	if ex.State != StateFailed || !strings.Contains(ex.Error, "binlog_row_image=FULL") {
		t.Errorf("minimal row image: %s %q", ex.State, ex.Error)
	}
}
