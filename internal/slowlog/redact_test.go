package slowlog

import (
	"testing"

	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// TestRedactExample: the statements of security finding 10 and the
// lexical cases a private quote scanner gets wrong (doubled quotes,
// dollar quotes, E-strings, standard-conforming backslashes).
func TestRedactExample(t *testing.T) {
	my, pg := sqlfe.MariaDB, sqlfe.Postgres
	tests := []struct {
		name string
		d    sqlfe.Dialect
		in   string
		want string
	}{
		// Finding 10.
		{"password_hash and pwd", my, "UPDATE users SET password_hash = SHA2('Hunter2-PlainText',256), pwd = 'Hunter3-Plain' WHERE id = 7",
			"UPDATE users SET password_hash = SHA2('***',256), pwd = '***' WHERE id = 7"},
		{"phone and email are not secrets", my, "SELECT * FROM users WHERE phone = '13812345678' AND email = 'alice@example.com'",
			"SELECT * FROM users WHERE phone = '13812345678' AND email = 'alice@example.com'"},
		{"dollar-quoted password", pg, "ALTER ROLE app WITH LOGIN PASSWORD $$s3cret 'quoted'$$ VALID UNTIL '2030-01-01'",
			"ALTER ROLE app WITH LOGIN PASSWORD '***' VALID UNTIL '***'"},

		// Statements that carry credentials: every string.
		{"identified by", my, "CREATE USER 'app'@'%' IDENTIFIED BY 'S3cr3t'", "CREATE USER '***'@'***' IDENTIFIED BY '***'"},
		{"password()", my, "SET PASSWORD FOR 'root'@'localhost' = PASSWORD('x\\'y')", "SET PASSWORD FOR '***'@'***' = PASSWORD('***')"},
		{"master_password", my, "CHANGE MASTER TO MASTER_HOST='db1', MASTER_PASSWORD='pw'", "CHANGE MASTER TO MASTER_HOST='***', MASTER_PASSWORD='***'"},
		{"encrypted password", pg, "CREATE ROLE app LOGIN ENCRYPTED PASSWORD 'x'", "CREATE ROLE app LOGIN ENCRYPTED PASSWORD '***'"},
		{"encryption function", my, "SELECT AES_DECRYPT(card, 'k3y') FROM cards WHERE owner = 'bob'", "SELECT AES_DECRYPT(card, '***') FROM cards WHERE owner = '***'"},
		{"connection string", pg, "SELECT * FROM dblink('host=db password=pw', 'SELECT 1') AS t(a int)", "SELECT * FROM dblink('***', '***') AS t(a int)"},
		{"the word in a literal is not a credential", my, "SELECT 'password' AS label FROM t WHERE a = 'b'", "SELECT 'password' AS label FROM t WHERE a = 'b'"},

		// Columns named for secrets, any case and quoting.
		{"doubled quotes", my, "UPDATE u SET pwd = 'it''s', name = 'bob' WHERE id = 1", "UPDATE u SET pwd = '***', name = 'bob' WHERE id = 1"},
		{"backslash escape", my, "UPDATE u SET api_token = 'ab\\', name = \\'x', name = 'bob'", "UPDATE u SET api_token = '***', name = 'bob'"},
		{"double-quoted string", my, `UPDATE t SET pwd = "a\"b", b = "x"`, `UPDATE t SET pwd = '***', b = "x"`},
		{"quoted column", my, "SELECT * FROM u WHERE `Secret_Key` = 'abc' AND name = 'bob'", "SELECT * FROM u WHERE `Secret_Key` = '***' AND name = 'bob'"},
		{"pg quoted column", pg, `SELECT * FROM u WHERE "ResetToken" = 'abc' AND name = 'bob'`, `SELECT * FROM u WHERE "ResetToken" = '***' AND name = 'bob'`},
		{"qualified, literal first", my, "SELECT * FROM u WHERE 'abc' = u.reset_token AND id = 2", "SELECT * FROM u WHERE '***' = u.reset_token AND id = 2"},
		{"in list", my, "SELECT * FROM t WHERE token IN ('a', 'b') AND x = 'c'", "SELECT * FROM t WHERE token IN ('***', '***') AND x = 'c'"},
		{"not like", my, "SELECT * FROM t WHERE api_key NOT LIKE 'ab%' AND x = 'c'", "SELECT * FROM t WHERE api_key NOT LIKE '***' AND x = 'c'"},
		{"between", my, "SELECT * FROM t WHERE pwd BETWEEN 'a' AND 'b' AND c = 'd'", "SELECT * FROM t WHERE pwd BETWEEN '***' AND '***' AND c = 'd'"},
		{"number", my, "UPDATE t SET pin_key = 1234, n = 5 WHERE id = 5", "UPDATE t SET pin_key = '***', n = 5 WHERE id = 5"},
		{"function around the column", my, "SELECT * FROM t WHERE UPPER(pwd) = 'X' AND n = 'y'", "SELECT * FROM t WHERE UPPER(pwd) = '***' AND n = 'y'"},
		{"hex and introducer", my, "UPDATE t SET secret_blob = X'DEADBEEF', salt = _utf8mb4'abc', key2 = 'z'", "UPDATE t SET secret_blob = '***', salt = _utf8mb4'abc', key2 = '***'"},
		{"json key", my, "SELECT * FROM t WHERE data->>'$.token' = 'abc' AND n = 'x'", "SELECT * FROM t WHERE data->>'$.token' = '***' AND n = 'x'"},
		{"assignment operator", my, "SELECT @t := 1, pwd := 'x'", "SELECT @t := 1, pwd := '***'"},
		{"row comparison", my, "SELECT * FROM t WHERE (login, pwd) = ('bob', 'x')", "SELECT * FROM t WHERE (login, pwd) = ('bob', '***')"},
		{"insert columns", my, "INSERT INTO users (name, password_hash, `api_key`) VALUES ('bob', 'h1', 'k1'), ('al', SHA1('h2'), 'k2')",
			"INSERT INTO users (name, password_hash, `api_key`) VALUES ('bob', '***', '***'), ('al', SHA1('***'), '***')"},
		{"insert without columns", my, "INSERT INTO users VALUES (1, 'bob', 'h1')", "INSERT INTO users VALUES ('***', '***', '***')"},
		{"insert set", my, "INSERT INTO users SET name = 'bob', passwd_hash = 'h' ON DUPLICATE KEY UPDATE n = 1",
			"INSERT INTO users SET name = 'bob', passwd_hash = '***' ON DUPLICATE KEY UPDATE n = 1"},
		{"secret in an executable comment", my, "SELECT 1 /*!50100 , (SELECT 1 FROM t WHERE pwd = 'x') */", "SELECT 1 /*!50100 , (SELECT 1 FROM t WHERE pwd = '***') */"},
		{"pg E string", pg, `UPDATE u SET token = E'a\'b', note = 'n' WHERE id = 1`, `UPDATE u SET token = '***', note = 'n' WHERE id = 1`},
		{"pg dollar quote with quotes", pg, "UPDATE u SET secret_answer = $q$it's 'x'$q$, n = 'y'", "UPDATE u SET secret_answer = '***', n = 'y'"},
		{"pg standard string ends at the quote", pg, `UPDATE u SET pwd = 'a\', n = 'b'`, `UPDATE u SET pwd = '***', n = 'b'`},
		{"pg cast", pg, "SELECT * FROM u WHERE password_hash::text = 'abc' AND n = 'x'", "SELECT * FROM u WHERE password_hash::text = '***' AND n = 'x'"},
		{"pg any", pg, "SELECT * FROM u WHERE 'x' = ANY(tokens) AND n = 'y'", "SELECT * FROM u WHERE '***' = ANY(tokens) AND n = 'y'"},
		{"no secrets", my, "SELECT * FROM orders WHERE id = 5 AND note = 'hi' ORDER BY created LIMIT 10", "SELECT * FROM orders WHERE id = 5 AND note = 'hi' ORDER BY created LIMIT 10"},
		{"a primary key is no secret", my, "CREATE TABLE t (id INT, PRIMARY KEY (id)) COMMENT 'x'", "CREATE TABLE t (id INT, PRIMARY KEY (id)) COMMENT 'x'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := redactExample(tt.in, tt.d)
			if got != tt.want {
				t.Errorf("\n in   %s\n got  %s\n want %s", tt.in, got, tt.want)
			}
			if again := redactExample(got, tt.d); again != got {
				t.Errorf("not idempotent: %s", again)
			}
		})
	}
}

// TestHideLiterals is what a caller under masking rules sees: every
// literal a ?, comments gone.
func TestHideLiterals(t *testing.T) {
	tests := []struct {
		d        sqlfe.Dialect
		in, want string
	}{
		{sqlfe.MariaDB, "SELECT * FROM users WHERE phone = '13812345678' AND id IN (1, 2.5, -3e-2) /* alice@example.com */ LIMIT 10",
			"SELECT * FROM users WHERE phone = ? AND id IN (?, ?, -?) LIMIT ?"},
		{sqlfe.MariaDB, "SELECT _utf8mb4'abc', N'x', 0x1F, .5, 1., X'AB', \"dq\" # note\nFROM t2", "SELECT ?, ?, ?, ?, ?, ?, ? FROM t2"},
		{sqlfe.MariaDB, "UPDATE t SET a = 'it\\'s' -- bob\n WHERE b = 1", "UPDATE t SET a = ? WHERE b = ?"},
		{sqlfe.Postgres, "SELECT $1, E'x\\'y', $$y$$, B'101', U&'d\\0061t', t.c2 FROM t WHERE \"Col\" = 'z'",
			"SELECT $1, ?, ?, ?, ?, t.c2 FROM t WHERE \"Col\" = ?"},
	}
	for _, tt := range tests {
		if got := hideLiterals(tt.in, tt.d); got != tt.want {
			t.Errorf("\n in   %q\n got  %q\n want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzRedactExample: any text is read without a panic, and what comes out
// is redacted for good.
func FuzzRedactExample(f *testing.F) {
	for _, s := range []string{"UPDATE u SET pwd = 'x'", "INSERT INTO u (a, token) VALUES (1, 'x'), (", "SELECT (((pwd", "'", "$$", "E'\\",
		"SELECT 1.e-", "x' = u.key", "INSERT t VALUES", "(a, b) = ((", ") pwd ) = 1"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, q string, pg bool) {
		d := sqlfe.MariaDB
		if pg {
			d = sqlfe.Postgres
		}
		r := redactExample(q, d)
		hideLiterals(q, d)
		if lexemeCount(r, d) > lexemeCount(q, d)+1 {
			t.Errorf("redaction added tokens: %q -> %q", q, r)
		}
	})
}

func lexemeCount(q string, d sqlfe.Dialect) int { return len(lexemes(q, d)) }
