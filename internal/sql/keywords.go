package sql

import (
	"strings"
	"sync"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/pingcap/tidb/pkg/parser"
)

var mysqlReserved = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, k := range parser.Keywords {
		if k.Reserved {
			m[k.Word] = true
		}
	}
	return m
})

// Reserved reports whether name is a reserved word of d that cannot name
// a table or column unquoted: the MySQL grammar's reserved keywords, or
// PostgreSQL's reserved and type/function-name keywords (asked of
// PostgreSQL's own scanner).
func Reserved(d Dialect, name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	if d != Postgres {
		return mysqlReserved()[strings.ToUpper(name)]
	}
	res, err := pg.Scan(name)
	if err != nil || len(res.Tokens) != 1 {
		return false
	}
	k := res.Tokens[0].KeywordKind
	return k == pg.KeywordKind_RESERVED_KEYWORD || k == pg.KeywordKind_TYPE_FUNC_NAME_KEYWORD
}
