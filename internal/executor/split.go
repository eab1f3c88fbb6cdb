package executor

import (
	"errors"
	"sort"
	"strings"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// piece is one statement of a script as submitted.
type piece struct {
	Text      string // without the delimiter, trimmed
	Off       int    // byte offset of Text in the script
	Line, Col int    // 1-based; columns count characters
}

// lineIndex maps byte offsets to lines and columns.
type lineIndex struct {
	src    string
	starts []int
}

func newLineIndex(src string) *lineIndex {
	starts := []int{0}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return &lineIndex{src: src, starts: starts}
}

func (x *lineIndex) pos(off int) (line, col int) {
	off = max(0, min(off, len(x.src)))
	l := sort.Search(len(x.starts), func(i int) bool { return x.starts[i] > off }) - 1
	return l + 1, utf8.RuneCountInString(x.src[x.starts[l]:off]) + 1
}

// splitMySQL splits a MySQL/MariaDB script at its delimiters, as the mysql
// client does: single, double and back quotes, comments (#, "-- ", /* */) and the
// DELIMITER command are understood. Unterminated quotes or comments are
// errors naming where they start.
func splitMySQL(src string) ([]piece, error) {
	idx := newLineIndex(src)
	var out []piece
	delim := ";"
	start := -1 // offset of the current statement's first character
	emit := func(end int) {
		if start < 0 {
			return
		}
		text := strings.TrimRightFunc(src[start:end], isSpace)
		if text != "" {
			l, c := idx.pos(start)
			out = append(out, piece{Text: text, Off: start, Line: l, Col: c})
		}
		start = -1
	}
	i := 0
	for i < len(src) {
		c := src[i]
		// DELIMITER at the start of a statement.
		if start < 0 && (c == 'd' || c == 'D') && hasWordPrefix(src[i:], "delimiter") {
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			arg := strings.TrimSpace(src[i+len("delimiter") : i+end])
			if arg == "" {
				l, col := idx.pos(i)
				return nil, errkind.New(errkind.Invalid, "line %d, column %d: DELIMITER needs a delimiter", l, col)
			}
			delim = strings.Fields(arg)[0]
			i += end
			continue
		}
		switch {
		case isSpace(rune(c)):
			i++
			continue
		case c == '#' || c == '-' && strings.HasPrefix(src[i:], "--") && (i+2 == len(src) || src[i+2] <= ' '):
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				i = len(src)
			} else {
				i += end + 1
			}
			continue
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				l, col := idx.pos(i)
				return nil, errkind.New(errkind.Invalid, "line %d, column %d: unterminated /* comment", l, col)
			}
			// An executable comment (/*! ... */, /*M! ... */) is part of a
			// statement; a plain one before a statement is not.
			if start < 0 && (strings.HasPrefix(src[i:], "/*!") || strings.HasPrefix(src[i:], "/*M!")) {
				start = i
			}
			i += end + 4
			continue
		}
		if strings.HasPrefix(src[i:], delim) {
			emit(i)
			i += len(delim)
			continue
		}
		if start < 0 {
			start = i
		}
		switch c {
		case '\'', '"', '`':
			end, ok := skipQuoted(src, i, c)
			if !ok {
				l, col := idx.pos(i)
				return nil, errkind.New(errkind.Invalid, "line %d, column %d: unterminated %c quote", l, col, c)
			}
			i = end
		default:
			i++
		}
	}
	emit(len(src))
	return out, nil
}

// skipQuoted returns the offset after the quoted string starting at i.
// Backslash escapes apply inside ” and "", doubling in all three.
func skipQuoted(src string, i int, q byte) (int, bool) {
	j := i + 1
	for j < len(src) {
		switch src[j] {
		case '\\':
			if q != '`' {
				j += 2
				continue
			}
		case q:
			if j+1 < len(src) && src[j+1] == q {
				j += 2
				continue
			}
			return j + 1, true
		}
		j++
	}
	return len(src), false
}

func hasWordPrefix(s, word string) bool {
	if len(s) < len(word) || !strings.EqualFold(s[:len(word)], word) {
		return false
	}
	return len(s) == len(word) || s[len(word)] == ' ' || s[len(word)] == '\t'
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
}

// splitPostgres parses a PostgreSQL script with the PostgreSQL parser and
// returns its statements; a syntax error is reported with its line and
// column.
func splitPostgres(src string) ([]piece, *pg.ParseResult, error) {
	res, err := pg.Parse(src)
	idx := newLineIndex(src)
	if err != nil {
		var pe *pgparser.Error
		if errors.As(err, &pe) && pe.Cursorpos > 0 {
			l, c := idx.pos(runeOffset(src, pe.Cursorpos-1))
			return nil, nil, errkind.New(errkind.Invalid, "line %d, column %d: %s", l, c, pe.Message)
		}
		return nil, nil, errkind.New(errkind.Invalid, "parse: %v", err)
	}
	out := make([]piece, 0, len(res.Stmts))
	for _, s := range res.Stmts {
		off := int(s.StmtLocation)
		end := len(src)
		if s.StmtLen > 0 {
			end = off + int(s.StmtLen)
		}
		// StmtLocation includes the comments and blanks before a statement.
		text := src[off:end]
		lead := leadingNoise(text)
		off += lead
		text = strings.TrimRightFunc(text[lead:], isSpace)
		l, c := idx.pos(off)
		out = append(out, piece{Text: text, Off: off, Line: l, Col: c})
	}
	return out, res, nil
}

// runeOffset converts a character index (the PostgreSQL parser's cursor
// counts characters) to a byte offset.
func runeOffset(s string, chars int) int {
	n := 0
	for i := range s {
		if n == chars {
			return i
		}
		n++
	}
	return len(s)
}

// leadingNoise is the length of the blanks and comments (-- and /* */,
// nested in PostgreSQL) that start s.
func leadingNoise(s string) int {
	i := 0
	for i < len(s) {
		switch {
		case isSpace(rune(s[i])):
			i++
		case strings.HasPrefix(s[i:], "--"):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				return len(s)
			}
			i += end + 1
		case strings.HasPrefix(s[i:], "/*"):
			depth, j := 1, i+2
			for j < len(s) && depth > 0 {
				switch {
				case strings.HasPrefix(s[j:], "/*"):
					depth++
					j += 2
				case strings.HasPrefix(s[j:], "*/"):
					depth--
					j += 2
				default:
					j++
				}
			}
			i = j
		default:
			return i
		}
	}
	return i
}
