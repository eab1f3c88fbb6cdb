package query

import (
	"strings"

	"github.com/dbfleet/dbfleet/internal/engine"
)

// readerQuote quotes s for the reader account's DDL on engine k: as an
// identifier (MariaDB/MySQL `name`, PostgreSQL "name"), or, with literal,
// as a string literal ('text'). Every identifier and literal the reader
// code sends goes through here. Literals are only ever account names and
// hosts (validated) and generated passwords (letters and digits), so
// doubling the quote is all they need; a backslash is doubled too, for
// MariaDB/MySQL without NO_BACKSLASH_ESCAPES.
//
// TODO(internal/sql): use sql.QuoteIdent
func readerQuote(k engine.Kind, s string, literal bool) string {
	switch {
	case literal && k == engine.Postgres:
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	case literal:
		return "'" + strings.NewReplacer(`\`, `\\`, "'", "''").Replace(s) + "'"
	case k == engine.Postgres:
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	default:
		return "`" + strings.ReplaceAll(s, "`", "``") + "`"
	}
}
