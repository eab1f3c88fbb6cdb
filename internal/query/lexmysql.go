package query

import "strings"

// mysqlLex is what a scan of MySQL/MariaDB text finds outside strings and
// quoted identifiers, for the checks a parser cannot make: the SQL parser
// dbfleet uses reads executable comments differently from MariaDB (it
// ignores /*M! ... */, which MariaDB runs), so such comments are refused
// outright rather than risk running what was not checked.
type mysqlLex struct {
	execComment string // "/*!" or "/*M!" when one was found
	into        bool   // the word INTO
}

// scanMySQL lexes s the way the server does with the session's sql_mode
// (backslash escapes on, ANSI_QUOTES off: the console sets it so).
func scanMySQL(s string) mysqlLex {
	var lx mysqlLex
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(s, i)
		case c == '#':
			i = skipLine(s, i)
		case c == '-' && strings.HasPrefix(s[i:], "--") && (i+2 == len(s) || s[i+2] <= ' '):
			i = skipLine(s, i)
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			rest := s[i+2:]
			switch {
			case strings.HasPrefix(rest, "!"):
				lx.execComment = "/*!"
			case len(rest) > 1 && (rest[0] == 'M' || rest[0] == 'm') && rest[1] == '!':
				lx.execComment = "/*M!"
			}
			end := strings.Index(rest, "*/")
			if end < 0 {
				return lx
			}
			i += 2 + end + 2
		case isWordStart(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			if strings.EqualFold(s[i:j], "into") && (i == 0 || s[i-1] != '.' && s[i-1] != '@') {
				lx.into = true
			}
			i = j
		default:
			i++
		}
	}
	return lx
}

func skipQuoted(s string, i int) int {
	q := s[i]
	i++
	for i < len(s) {
		switch {
		case s[i] == '\\' && q != '`':
			i += 2
		case s[i] == q:
			if i+1 < len(s) && s[i+1] == q { // doubled quote
				i += 2
				continue
			}
			return i + 1
		default:
			i++
		}
	}
	return i
}

func skipLine(s string, i int) int {
	for i < len(s) && s[i] != '\n' {
		i++
	}
	return i
}

func isWordStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || c >= 0x80
}

func isWordByte(c byte) bool { return isWordStart(c) || c >= '0' && c <= '9' }
