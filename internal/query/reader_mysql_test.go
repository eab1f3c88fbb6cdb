package query

import (
	"strings"
	"testing"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// The power check judges SHOW GRANTS lines as the SQL front end reads
// them: what a reader may have passes, anything more is named.
func TestMySQLJudge(t *testing.T) {
	const acct = " TO `dbfleet_ro_x`@`127.0.0.1`"
	for _, tc := range []struct {
		name  string
		lines []string
		fold  bool
		too   string // joined with "; "
		can   string
	}{
		{"a reader", []string{"GRANT USAGE ON *.*" + acct + " IDENTIFIED BY PASSWORD '*AB' WITH MAX_USER_CONNECTIONS 32",
			"GRANT SELECT, SHOW VIEW ON `shop`.*" + acct, "GRANT SELECT ON `crm`.`contacts`" + acct, "GRANT SELECT (`a`) ON `crm`.`t`" + acct},
			false, "", "SELECT on `shop`.*, `crm`.`contacts`, `crm`.`t`"},
		{"global privileges", []string{"GRANT PROCESS, FILE, SET USER, BINLOG ADMIN ON *.*" + acct}, false, "PROCESS, FILE, SET USER, BINLOG ADMIN on *.*", ""},
		{"all privileges", []string{"GRANT ALL PRIVILEGES ON *.*" + acct + " IDENTIFIED VIA unix_socket WITH GRANT OPTION"}, false,
			"GRANT OPTION on *.*; ALL PRIVILEGES on *.*", ""},
		{"a write", []string{"GRANT SELECT, INSERT, DELETE HISTORY ON `shop`.*" + acct}, false, "INSERT, DELETE HISTORY on `shop`.*", ""},
		{"a column write", []string{"GRANT UPDATE (`name`) ON `shop`.`users`" + acct}, false, "UPDATE on `shop`.`users`", ""},
		{"a routine", []string{"GRANT EXECUTE ON FUNCTION `shop`.`f`" + acct}, false, "EXECUTE on FUNCTION `shop`.`f`", ""},
		{"a role", []string{"GRANT `r1`, `r 2`" + acct, "SET DEFAULT ROLE `r1` FOR `dbfleet_ro_x`@`127.0.0.1`"}, false, "role r1, r 2", ""},
		{"a role with admin option", []string{"GRANT `r1`" + acct + " WITH ADMIN OPTION"}, false, "role r1", ""},
		{"proxy", []string{"GRANT PROXY ON 'root'@'localhost'" + acct}, false, "PROXY on 'root'@'localhost'", ""},
		{"mysql.user", []string{"GRANT SELECT ON `mysql`.`user`" + acct}, false, "reads the system database mysql (`mysql`.`user`)", ""},
		{"a pattern reaching mysql", []string{"GRANT SELECT ON `m%`.*" + acct}, false, "reads the system database mysql (`m%`.*)", ""},
		{"an escaped pattern", []string{"GRANT SELECT ON `my\\_ql`.*" + acct}, false, "", "SELECT on `my\\_ql`.*"},
		{"case-blind", []string{"GRANT SELECT ON `MYSQL`.*" + acct}, true, "reads the system database mysql (`MYSQL`.*)", ""},
		{"case-sensitive", []string{"GRANT SELECT ON `MYSQL`.*" + acct}, false, "", "SELECT on `MYSQL`.*"},
	} {
		too, can, err := mysqlJudge(sql.MariaDB, tc.lines, tc.fold)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := strings.Join(too, "; "); got != tc.too {
			t.Errorf("%s: too powerful %q, want %q", tc.name, got, tc.too)
		}
		if got := strings.Join(can, "; "); got != tc.can {
			t.Errorf("%s: may read %q, want %q", tc.name, got, tc.can)
		}
	}
	// A line the front end cannot read is an error, never a pass.
	if _, _, err := mysqlJudge(sql.MariaDB, []string{"GRANT SELECT ON"}, false); err == nil || !strings.Contains(err.Error(), "cannot read SHOW GRANTS line") {
		t.Errorf("unreadable line: %v", err)
	}
}
