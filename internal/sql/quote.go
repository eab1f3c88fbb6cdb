package sql

import (
	"encoding/hex"
	"strings"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// QuoteIdent quotes one identifier for d: `name` with backquotes doubled
// (MySQL family), "name" with double quotes doubled (PostgreSQL). It is
// the only identifier quoting in dbfleet.
func QuoteIdent(d Dialect, name string) string {
	if d == Postgres {
		return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// QuoteQualified quotes a dotted name, skipping empty parts: ("", "t") is
// `t`, ("db", "t") is `db`.`t`.
func QuoteQualified(d Dialect, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, QuoteIdent(d, p))
		}
	}
	return strings.Join(out, ".")
}

// QuoteString is a string literal that means s whatever the server's
// escaping settings: MySQL-family strings with a backslash or a control
// character become hex literals (X'..'), which no sql_mode reads
// differently; PostgreSQL strings are standard-conforming (single quotes doubled,
// standard_conforming_strings is on since 9.1). Use it for values; where
// the grammar takes only a plain quoted string (IDENTIFIED BY, COMMENT),
// use QuotePlainString.
func QuoteString(d Dialect, s string) string {
	if d != Postgres {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '\\' || c < 0x20 || c == 0x7f {
				return HexLiteral(d, []byte(s))
			}
		}
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// HexLiteral writes bytes as a literal: X'..' (MySQL family) or '\x..'
// (PostgreSQL bytea).
func HexLiteral(d Dialect, b []byte) string {
	if d == Postgres {
		return `'\x` + hex.EncodeToString(b) + `'`
	}
	if len(b) == 0 {
		return "''"
	}
	return "X'" + hex.EncodeToString(b) + "'"
}

// QuotePlainString quotes s as a plain '...' literal, for the places where
// the grammar takes nothing else (a password after IDENTIFIED BY, a
// COMMENT). It refuses (errkind.Invalid) a backslash, a NUL or another
// control character: their reading depends on the server's sql_mode.
func QuotePlainString(d Dialect, s string) (string, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c == '\\' && d != Postgres) || c < 0x20 || c == 0x7f {
			return "", errkind.New(errkind.Invalid, "a backslash or control character cannot be written in a plain string literal")
		}
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
}

// UnquoteString returns the value of a string literal as the lexer
// returns it: '...' (and "..." in the MySQL family) with doubled quotes
// undone and, in the MySQL family, backslash escapes read as the server
// reads them without NO_BACKSLASH_ESCAPES (\n, \t, \r, \b, \0, \Z, \%
// and \_ kept as written, any other character as itself). ok is false
// for anything else (an unterminated literal, a character set
// introducer, PostgreSQL's E'...' and dollar quotes).
func UnquoteString(d Dialect, lit string) (string, bool) {
	if len(lit) < 2 {
		return "", false
	}
	q := lit[0]
	if (q != '\'' && (q != '"' || d == Postgres)) || lit[len(lit)-1] != q {
		return "", false
	}
	body := lit[1 : len(lit)-1]
	escapes := d != Postgres
	if !strings.ContainsRune(body, rune(q)) && (!escapes || !strings.Contains(body, `\`)) {
		return body, true
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == q:
			if i+1 >= len(body) || body[i+1] != q {
				return "", false // a lone quote: not one literal
			}
			i++
		case c == '\\' && escapes:
			if i+1 >= len(body) {
				return "", false
			}
			i++
			switch e := body[i]; e {
			case 'n':
				c = '\n'
			case 't':
				c = '\t'
			case 'r':
				c = '\r'
			case 'b':
				c = '\b'
			case '0':
				c = 0
			case 'Z':
				c = 0x1a
			case '%', '_':
				b.WriteByte('\\')
				c = e
			default:
				c = e
			}
		}
		b.WriteByte(c)
	}
	return b.String(), true
}
