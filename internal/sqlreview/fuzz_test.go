package sqlreview

import (
	"testing"
)

// FuzzReview: no input makes the review panic, for any engine, and every
// finding points inside the script.
func FuzzReview(f *testing.F) {
	for _, s := range []string{
		"CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10) NOT NULL, KEY idx_a (a)) ENGINE=InnoDB COMMENT 'x';",
		"ALTER TABLE t ADD COLUMN IF NOT EXISTS c INT, DROP INDEX idx_a, ALGORITHM=NOCOPY;",
		"CREATE OR REPLACE TABLE t (id UUID PRIMARY KEY) WITH SYSTEM VERSIONING;",
		"DELETE FROM t WHERE id = 1 RETURNING id; /*M!100100 SELECT 1 */",
		"DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;",
		"UPDATE t SET a = 1; SELECT * FROM t WHERE a LIKE '%x' ORDER BY RAND();",
		"CREATE INDEX CONCURRENTLY i ON t (a); COMMENT ON TABLE t IS 'x';",
		"SELECT 'unterminated",
		"ALTER TABLE t RENAME TO u; RENAME TABLE u TO v; DROP TABLE v; ALTER TABLE v ADD c INT;",
	} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(2))
	}
	rv, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	engines := []string{"mariadb", "mysql", "postgres"}
	kinds := []string{"", "ddl", "dml"}
	f.Fuzz(func(t *testing.T, sql string, sel uint8) {
		req := Request{Engine: engines[int(sel)%3], Kind: kinds[int(sel/3)%3], Env: "prod", SQL: sql}
		rep, err := rv.Review(t.Context(), req)
		if err != nil {
			t.Fatalf("review: %v", err)
		}
		lines := 1
		for i := 0; i < len(sql); i++ {
			if sql[i] == '\n' {
				lines++
			}
		}
		for _, f := range rep.Findings {
			if f.Line < 1 || f.Line > lines || f.Column < 1 || f.Statement < 0 || f.Statement > rep.Summary.Statements {
				t.Fatalf("finding outside the script: %+v", f)
			}
		}
	})
}
