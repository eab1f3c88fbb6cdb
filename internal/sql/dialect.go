package sql

import (
	"strings"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Dialect is an SQL dialect: its lexical rules, its grammar and its
// quoting. MySQL, MariaDB and TiDB share lexical rules (backslash escapes,
// backquotes, "#" comments) and the TiDB grammar; they differ in which
// executable comments run and in MariaDB-only syntax, which Parse
// normalises before the grammar sees it.
type Dialect int

// Dialects. The zero value is MySQL.
const (
	MySQL Dialect = iota
	MariaDB
	TiDB
	Postgres
)

// ParseDialect maps an engine name (mariadb, mysql, tidb, postgres,
// postgresql, pg; any case) to its dialect. Engines without SQL (redis)
// and unknown names are errkind.Invalid.
func ParseDialect(engine string) (Dialect, error) {
	switch strings.ToLower(strings.TrimSpace(engine)) {
	case "mysql":
		return MySQL, nil
	case "mariadb":
		return MariaDB, nil
	case "tidb":
		return TiDB, nil
	case "postgres", "postgresql", "pg":
		return Postgres, nil
	}
	return 0, errkind.New(errkind.Invalid, "engine %q has no SQL dialect: want mariadb, mysql, tidb or postgres", engine)
}

// DialectOf is ParseDialect for callers that already validated the
// engine: anything but PostgreSQL lexes as MySQL.
func DialectOf(engine string) Dialect {
	d, err := ParseDialect(engine)
	if err != nil {
		return MySQL
	}
	return d
}

func (d Dialect) String() string {
	switch d {
	case MariaDB:
		return "mariadb"
	case TiDB:
		return "tidb"
	case Postgres:
		return "postgres"
	}
	return "mysql"
}

// IsMySQLFamily reports whether d lexes and parses as MySQL (MySQL,
// MariaDB, TiDB).
func (d Dialect) IsMySQLFamily() bool { return d != Postgres }
