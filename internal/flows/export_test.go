package flows

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// An export runs one plain query, checked through internal/sql and sent
// re-rendered from the checked tree; anything else is refused with the
// reason and its place (security finding 8: SELECT ... INTO OUTFILE wrote
// a file on the database host).
func TestExportStatement(t *testing.T) {
	tests := []struct {
		name   string
		d      sqlfe.Dialect
		sql    string
		want   string // the statement sent, when accepted
		refuse string // the refusal, when refused
		at     string // line:col of the refusal
	}{
		{"plain", sqlfe.MariaDB, "SELECT id, name FROM p ORDER BY id", "SELECT `id`,`name` FROM `p` ORDER BY `id`", "", ""},
		{"comments go", sqlfe.MariaDB, "-- monthly\nSELECT id /* the key */, name FROM p # end\n;", "SELECT `id`,`name` FROM `p`", "", ""},
		{"postgres", sqlfe.Postgres, "SELECT datname FROM pg_database WHERE datname = 'postgres';", "SELECT datname FROM pg_database WHERE datname = 'postgres'", "", ""},
		{"finding 8", sqlfe.MariaDB, "SELECT id, phone, email FROM users INTO OUTFILE '/var/lib/mysql-files/export.txt'", "",
			"this one writes (SELECT ... INTO OUTFILE: a file on the database host)", "1:1"},
		{"dumpfile", sqlfe.MariaDB, "SELECT secret FROM k LIMIT 1 INTO DUMPFILE '/tmp/x'", "", "SELECT ... INTO DUMPFILE", "1:1"},
		{"into variables", sqlfe.MySQL, "SELECT id INTO @v FROM p LIMIT 1", "", "SELECT ... INTO variables", "1:1"},
		{"into table", sqlfe.Postgres, "SELECT * INTO copy_of_users FROM users", "", "SELECT ... INTO a new table", "1:1"},
		{"for update", sqlfe.MariaDB, "SELECT * FROM p FOR UPDATE", "", "locks the rows it reads (FOR UPDATE)", "1:1"},
		{"share mode", sqlfe.MariaDB, "SELECT * FROM p LOCK IN SHARE MODE", "", "locks the rows it reads", "1:1"},
		{"pg key share", sqlfe.Postgres, "SELECT * FROM p FOR KEY SHARE", "", "locks the rows it reads (FOR KEY SHARE)", "1:1"},
		{"locking subquery", sqlfe.MariaDB, "SELECT * FROM (SELECT id FROM p FOR UPDATE) x", "", "locks the rows it reads (FOR UPDATE)", "1:1"},
		{"two statements", sqlfe.MariaDB, "SELECT 1;\nSELECT 2", "", "exactly one SELECT; the SQL has 2 statements", "2:1"},
		{"none", sqlfe.Postgres, "-- nothing", "", "the SQL has none", "1:1"},
		{"delete", sqlfe.MariaDB, "DELETE FROM p", "", "this statement is a DELETE (dml)", "1:1"},
		{"writing cte", sqlfe.Postgres, "WITH d AS (DELETE FROM p RETURNING *) SELECT * FROM d", "", "this statement is a SELECT (dml)", "1:1"},
		{"copy to file", sqlfe.Postgres, "COPY p TO '/tmp/p.csv'", "", "this statement is a COPY (other)", "1:1"},
		{"show", sqlfe.MariaDB, "SHOW GRANTS", "", "this statement is a SHOW (query)", "1:1"},
		{"version comment", sqlfe.MariaDB, "SELECT 1 /*!50000 , 2 */", "", "special comments (/*!50000...*/)", "1:10"},
		{"tidb comment hides a quote", sqlfe.MariaDB, "/*T! SELECT 'a */ SELECT 1 /*' */", "", "special comments (/*T!...*/)", "1:1"},
		{"mariadb comment", sqlfe.MariaDB, "SELECT 1;\n/*M! DELETE FROM p */", "", "special comments (/*M!...*/)", "2:1"},
		{"hint", sqlfe.MySQL, "SELECT /*+ MAX_EXECUTION_TIME(1) */ id FROM p", "", "special comments (/*+...*/)", "1:8"},
		{"syntax", sqlfe.MariaDB, "SELECT FROM WHERE", "", "syntax error", "1:8"},
		{"psql command", sqlfe.Postgres, "\\copy p to 'x'", "", "client command", "1:1"},
		{"too deep", sqlfe.Postgres, "SELECT 1" + strings.Repeat("+1", 40000), "", "nests too deeply", "1:2009"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := exportStatement(tt.d, tt.sql)
			if tt.refuse == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var er *exportRefusal
			if err == nil || errkind.Of(err) != errkind.Invalid || !errors.As(err, &er) || !strings.Contains(er.Msg, tt.refuse) {
				t.Fatalf("got %q, %v; want a refusal mentioning %q", got, err, tt.refuse)
			}
			if at := fmt.Sprintf("%d:%d", er.Line, er.Column); at != tt.at {
				t.Fatalf("refused at %s, want %s (%v)", at, tt.at, err)
			}
		})
	}
}

// Security finding 8 against a real MariaDB: the data-export flow ran
// SELECT ... INTO OUTFILE, writing a file on the database host. Now the
// shipped flow's review refuses it (before anyone approves), a flow
// without a review fails at the export block with the reason, and no file
// appears; a plain query still exports, sent re-rendered.
func TestExportRefusesFileWrites(t *testing.T) {
	files := exampleFlows(t, "data-export")
	files["export.xml"] = exportFlow
	f := newFixture(t, sqliteStore(t), files)
	f.addDevInstances()
	shared.maria.Exec(t, "CREATE TABLE "+f.mariaD+".users (id INT PRIMARY KEY, phone VARCHAR(20), email VARCHAR(50))",
		"INSERT INTO "+f.mariaD+".users VALUES (1, '13812345678', 'alice@example.com')")

	// Where could the server write? secure_file_priv names a directory,
	// or is empty or NULL: on MariaDB both mean anywhere the server's
	// user may write (on MySQL NULL turns file writes off).
	var priv sql.NullString
	if err := shared.maria.DB(t, "").QueryRow("SELECT @@secure_file_priv").Scan(&priv); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if priv.Valid && priv.String != "" {
		dir = priv.String
	}
	t.Logf("secure_file_priv = %q (NULL: %v); files go to %s", priv.String, !priv.Valid, dir)
	// The server does write there when asked directly: the test below
	// would prove nothing otherwise.
	probe := filepath.Join(dir, uniq("probe")+".txt")
	shared.maria.Exec(t, "SELECT 1 INTO OUTFILE '"+probe+"'")
	if _, err := os.Stat(probe); err != nil {
		t.Fatalf("the server did not write %s itself: %v", probe, err)
	}
	os.Remove(probe)

	findingPath := "/var/lib/mysql-files/export.txt"
	_, statErr := os.Stat(findingPath)
	findingExisted := statErr == nil
	for _, c := range []struct{ flow, path string }{
		{"data-export", findingPath},                               // the finding's exact payload
		{"data-export", filepath.Join(dir, uniq("export")+".txt")}, // where this server writes
		{"export", filepath.Join(dir, uniq("export")+".txt")},      // no review: the block itself refuses
	} {
		fields := map[string]any{"target": "maria-dev/" + f.mariaD, "sql": "SELECT id, phone, email FROM users INTO OUTFILE '" + c.path + "'"}
		if c.flow == "data-export" {
			fields["reason"] = "need the data for analysis"
		}
		tk := f.wait(f.submit("dev", c.flow, fields).ID, StateFailed)
		if !strings.Contains(tk.Error, "this one writes (SELECT ... INTO OUTFILE: a file on the database host)") {
			t.Fatalf("%s: error %q", c.flow, tk.Error)
		}
		if c.flow == "data-export" && (tk.Steps[0].State != StepFailed || !strings.Contains(tk.Error, "statement 1 line 1 col 1: export:")) {
			t.Fatalf("%s: the review did not refuse it: %+v (%s)", c.flow, tk.Steps[0], tk.Error)
		}
		if len(tk.Attachments) != 0 {
			t.Fatalf("%s: attachments %+v", c.flow, tk.Attachments)
		}
		if c.path == findingPath && findingExisted {
			continue // not ours to judge
		}
		if _, err := os.Stat(c.path); !os.IsNotExist(err) {
			t.Fatalf("%s: %s exists after the refused export (%v)", c.flow, c.path, err)
		}
	}

	// A plain query exports, and the server receives the statement
	// re-rendered from the checked tree, not the text as written.
	root := shared.maria.DB(t, "")
	if _, err := root.Exec("SET GLOBAL log_output = 'TABLE', general_log = 1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Exec("SET GLOBAL general_log = 0") })
	tk := f.submit("dev", "export", map[string]any{"target": "maria-dev/" + f.mariaD, "sql": "SELECT id, email /* just two */ FROM users WHERE id = 1"})
	tk = f.wait(tk.ID, StateDone)
	root.Exec("SET GLOBAL general_log = 0")
	if tk.Attachments[0].Rows != 1 || !strings.Contains(tk.Steps[0].Result["preview"].(string), "alice@example.com") {
		t.Fatalf("export: %+v %+v", tk.Attachments, tk.Steps[0].Result)
	}
	var rendered, asWritten int
	root.QueryRow("SELECT COUNT(*) FROM mysql.general_log WHERE argument = 'SELECT `id`,`email` FROM `users` WHERE `id` = 1'").Scan(&rendered)
	root.QueryRow("SELECT COUNT(*) FROM mysql.general_log WHERE argument LIKE '%just two%' AND argument NOT LIKE '%general_log%'").Scan(&asWritten)
	if rendered != 1 || asWritten != 0 {
		t.Fatalf("the server ran the rendered statement %d time(s) and the text as written %d time(s); want 1 and 0", rendered, asWritten)
	}
}
