package sql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
)

// Reading the lines of SHOW GRANTS (MariaDB, MySQL). Each line is a GRANT
// statement, but the server prints a few forms the TiDB grammar lacks;
// they are normalised here before Parse reads the line:
//
//   - MariaDB's privileges whose names are several words the grammar
//     does not know (SET USER, BINLOG ADMIN, DELETE HISTORY, REPLICATION
//     SLAVE ADMIN...) are joined with underscores into one identifier:
//     the tree holds them as extended privileges, and PrivilegeName gives
//     back the server's name;
//   - WITH ADMIN OPTION of a role grant is blanked (ShowGrant.AdminOption);
//   - the account's resource limits (WITH MAX_USER_CONNECTIONS 32...) are
//     blanked, whether after WITH or after WITH GRANT OPTION
//     (ShowGrant.Limits);
//   - the account's authentication (IDENTIFIED BY PASSWORD '*hash',
//     MariaDB's IDENTIFIED VIA plugin USING '...' OR ...) is blanked: it is
//     no privilege, and no hash ends up in the tree.

// ShowGrant is one line of SHOW GRANTS read by the grammar.
type ShowGrant struct {
	// Parsed is the line's statement: Parsed.MySQL is an *ast.GrantStmt
	// (privileges on an object: global *.*, a database, a table, a
	// routine), an *ast.GrantRoleStmt (roles) or an *ast.GrantProxyStmt.
	// Nil for a line that grants nothing (MariaDB's SET DEFAULT ROLE,
	// MySQL's partial-revoke REVOKE lines). Parsed.Rewritten reports that
	// the grammar read a normalised line.
	Parsed *Parsed
	// AdminOption: a role grant WITH ADMIN OPTION.
	AdminOption bool
	// Limits are the account's resource limits the line shows, by name
	// (MAX_USER_CONNECTIONS: 32).
	Limits map[string]int64
}

// mariadbPrivileges are MariaDB's privilege names of several words the
// grammar does not read, longest first (REPLICATION SLAVE ADMIN before
// the grammar's own REPLICATION SLAVE).
var mariadbPrivileges = [][]string{
	{"REPLICATION", "MASTER", "ADMIN"},
	{"REPLICATION", "SLAVE", "ADMIN"},
	{"SHOW", "CREATE", "ROUTINE"},
	{"BINLOG", "ADMIN"},
	{"BINLOG", "MONITOR"},
	{"BINLOG", "REPLAY"},
	{"CONNECTION", "ADMIN"},
	{"FEDERATED", "ADMIN"},
	{"READ_ONLY", "ADMIN"},
	{"REPLICA", "MONITOR"},
	{"SLAVE", "MONITOR"},
	{"SET", "USER"},
	{"DELETE", "HISTORY"},
}

// resourceLimits are the account limits SHOW GRANTS prints after WITH.
var resourceLimits = map[string]bool{
	"MAX_QUERIES_PER_HOUR": true, "MAX_UPDATES_PER_HOUR": true, "MAX_CONNECTIONS_PER_HOUR": true,
	"MAX_USER_CONNECTIONS": true, "MAX_STATEMENT_TIME": true,
}

// ParseShowGrant reads one line of SHOW GRANTS of dialect d (MariaDB,
// MySQL, TiDB). A line that is no GRANT gives a ShowGrant without Parsed;
// a GRANT the grammar cannot read even normalised is an error naming
// where.
func ParseShowGrant(d Dialect, line string) (ShowGrant, error) {
	var out ShowGrant
	if !d.IsMySQLFamily() {
		return out, fmt.Errorf("SHOW GRANTS lines are MariaDB/MySQL, not %s", d)
	}
	toks := Tokens(line, d)
	word := func(i int) string {
		if i < 0 || i >= len(toks) || toks[i].Kind != Word {
			return ""
		}
		return strings.ToUpper(line[toks[i].Off:toks[i].End])
	}
	if word(0) != "GRANT" {
		return out, nil
	}
	z := &normalizer{src: line, d: d, toks: toks}
	// The privileges: from GRANT to ON (or TO for roles).
	i := 1
	for ; i < len(toks) && word(i) != "ON" && word(i) != "TO"; i++ {
		for _, name := range mariadbPrivileges {
			if !wordsAt(word, i, name) {
				continue
			}
			last := toks[i+len(name)-1]
			z.replace(toks[i].Off, last.End, strings.Join(name, "_"))
			z.note("MariaDB privilege " + strings.Join(name, " ") + " read as " + strings.Join(name, "_"))
			i += len(name) - 1
			break
		}
	}
	// After TO: the account, then IDENTIFIED ..., REQUIRE ..., WITH ...
	for ; i < len(toks) && word(i) != "TO"; i++ {
	}
	for j := i + 1; j < len(toks); j++ {
		switch word(j) {
		case "IDENTIFIED":
			k := j + 1
			for ; k < len(toks) && word(k) != "WITH" && word(k) != "REQUIRE"; k++ {
			}
			z.blankToks(j, k-1)
			z.note("authentication blanked")
			j = k - 1
		case "WITH":
			k := j + 1
			if word(k) == "ADMIN" && word(k+1) == "OPTION" {
				out.AdminOption = true
				z.blankToks(j, k+1)
				z.note("WITH ADMIN OPTION blanked")
				j = k + 1
				continue
			}
			if word(k) == "GRANT" && word(k+1) == "OPTION" {
				k += 2
			}
			start := k
			for k+1 < len(toks) && resourceLimits[word(k)] {
				n, err := strconv.ParseInt(line[toks[k+1].Off:toks[k+1].End], 10, 64)
				if err != nil {
					return out, fmt.Errorf("SHOW GRANTS line: %s takes a number, not %q", word(k), line[toks[k+1].Off:toks[k+1].End])
				}
				if out.Limits == nil {
					out.Limits = map[string]int64{}
				}
				out.Limits[word(k)] = n
				k += 2
			}
			if k > start {
				from := start
				if start == j+1 {
					from = j // WITH stands for the limits alone
				}
				z.blankToks(from, k-1)
				z.note("resource limits blanked")
			}
			j = k - 1
		}
	}
	z.apply()
	text := z.n.text
	p, err := Parse(d, text)
	if err != nil {
		return out, fmt.Errorf("SHOW GRANTS line %q: %w", line, err)
	}
	switch p.MySQL.(type) {
	case *ast.GrantStmt, *ast.GrantRoleStmt, *ast.GrantProxyStmt:
	default:
		return out, fmt.Errorf("SHOW GRANTS line %q: read as %T, not a GRANT", line, p.MySQL)
	}
	if z.n.rewritten {
		p.Text, p.Rewritten = line, true
		p.Notes = append(p.Notes, z.n.notes...)
	}
	out.Parsed = p
	return out, nil
}

// wordsAt reports whether the words from token i on are name.
func wordsAt(word func(int) string, i int, name []string) bool {
	for k, w := range name {
		if word(i+k) != w {
			return false
		}
	}
	return true
}

// PrivilegeName is the name server d gives a privilege of a GRANT read
// by ParseShowGrant, upper case: SELECT, SHOW VIEW, ALL PRIVILEGES, BINLOG
// ADMIN (MariaDB: a name the grammar read joined), BINLOG_ADMIN (a MySQL
// dynamic privilege).
func PrivilegeName(d Dialect, p *ast.PrivElem) string {
	switch p.Priv {
	case mysql.AllPriv:
		return "ALL PRIVILEGES"
	case mysql.ExtendedPriv:
		name := strings.ToUpper(p.Name)
		for _, m := range mariadbPrivileges {
			if d != MariaDB {
				break
			}
			if name == strings.Join(m, "_") {
				return strings.Join(m, " ")
			}
		}
		return name
	}
	if s, ok := mysql.Priv2Str[p.Priv]; ok {
		return strings.ToUpper(s)
	}
	return strings.ToUpper(p.Priv.String())
}
