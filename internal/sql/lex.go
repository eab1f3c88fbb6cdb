package sql

import (
	"strings"
	"unicode/utf8"
)

// TokenKind is the lexical class of a token.
type TokenKind uint8

// Token kinds.
const (
	// Word is a bare identifier or keyword (also numbers and parameters
	// such as $1 or ?).
	Word TokenKind = iota + 1
	// QuotedIdent is `name` (MySQL) or "name" (PostgreSQL).
	QuotedIdent
	// String is a string literal: '...', "..." in MySQL, E'...', $tag$...$tag$.
	String
	// Punct is one punctuation or operator character.
	Punct
)

// Token is one token of a statement; its text is src[Off:End].
type Token struct {
	Kind     TokenKind
	Off, End int
}

// Text returns the token's text in src.
func (t Token) Text(src string) string { return src[t.Off:t.End] }

// Is reports whether t is the bare word w, case-insensitively.
func (t Token) Is(src, w string) bool {
	return t.Kind == Word && strings.EqualFold(src[t.Off:t.End], w)
}

// Name returns an identifier token's name: quotes removed and doubled
// quotes undone for quoted identifiers, the text as written for words.
func (t Token) Name(src string) string {
	s := src[t.Off:t.End]
	if t.Kind != QuotedIdent || len(s) < 2 {
		return s
	}
	q := s[:1]
	inner := s[1:]
	if strings.HasSuffix(inner, q) {
		inner = inner[:len(inner)-1]
	}
	return strings.ReplaceAll(inner, q+q, q)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// isWordByte reports whether c continues a word. Bytes >= 0x80 (UTF-8
// letters) are word bytes in both dialects.
func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// startsWord reports whether c starts a word in d ('$' starts one only in
// MySQL: in PostgreSQL it starts a dollar quote or a parameter).
func startsWord(c byte, d Dialect) bool {
	if c == '$' {
		return d != Postgres
	}
	return isWordByte(c)
}

// commentEnd returns the end of a comment starting at i, or -1 when no
// comment starts there. exec reports an executable comment that d runs
// (/*! everywhere in the MySQL family, /*M! on MariaDB, /*T! on TiDB),
// whose content is code; its end is then the index just after the opener
// and its version digits (the caller scans the content and skips the
// closing */).
func commentEnd(src string, i int, d Dialect) (end int, exec bool) {
	n := len(src)
	c := src[i]
	switch {
	case c == '#' && d != Postgres:
		return lineEnd(src, i), false
	case c == '-' && i+1 < n && src[i+1] == '-':
		if d != Postgres && i+2 < n && !isSpace(src[i+2]) && src[i+2] >= ' ' {
			return -1, false // MySQL needs "-- " followed by a space or control character
		}
		return lineEnd(src, i), false
	case c == '/' && i+1 < n && src[i+1] == '*':
		if k := specialKind(src, i, d); k == execComment {
			j := i + 3
			if src[i+2] != '!' {
				j++ // /*M! or /*T!
			}
			for j < n && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			return j, true
		}
		if d == Postgres {
			depth := 1
			j := i + 2
			for j < n {
				switch {
				case src[j] == '*' && j+1 < n && src[j+1] == '/':
					depth--
					j += 2
					if depth == 0 {
						return j, false
					}
				case src[j] == '/' && j+1 < n && src[j+1] == '*':
					depth++
					j += 2
				default:
					j++
				}
			}
			return n, false
		}
		if k := strings.Index(src[i+2:], "*/"); k >= 0 {
			return i + 2 + k + 2, false
		}
		return n, false
	}
	return -1, false
}

// lineEnd returns the index of the newline ending the line at i (or len).
func lineEnd(src string, i int) int {
	if k := strings.IndexByte(src[i:], '\n'); k >= 0 {
		return i + k
	}
	return len(src)
}

// quoteEnd returns the end of a quoted string or identifier starting at i,
// its kind, or -1 when none starts there. An unterminated quote runs to the
// end of the input.
func quoteEnd(src string, i int, d Dialect) (int, TokenKind) {
	n := len(src)
	c := src[i]
	switch c {
	case '\'':
		escapes := d != Postgres
		if d == Postgres && i > 0 && (src[i-1] == 'E' || src[i-1] == 'e') && (i < 2 || !isWordByte(src[i-2])) {
			escapes = true
		}
		return closeQuote(src, i, '\'', escapes), String
	case '"':
		if d != Postgres {
			return closeQuote(src, i, '"', true), String
		}
		return closeQuote(src, i, '"', false), QuotedIdent
	case '`':
		if d != Postgres {
			return closeQuote(src, i, '`', false), QuotedIdent
		}
	case '$':
		if d == Postgres {
			// $tag$ ... $tag$ or $$ ... $$; $1 is a parameter, not a quote.
			j := i + 1
			if j < n && (src[j] == '$' || (isWordByte(src[j]) && src[j] != '$' && !(src[j] >= '0' && src[j] <= '9'))) {
				for j < n && src[j] != '$' && isWordByte(src[j]) {
					j++
				}
				if j < n && src[j] == '$' {
					tag := src[i : j+1]
					if k := strings.Index(src[j+1:], tag); k >= 0 {
						return j + 1 + k + len(tag), String
					}
					return n, String
				}
			}
		}
	}
	return -1, 0
}

func closeQuote(src string, i int, q byte, escapes bool) int {
	n := len(src)
	j := i + 1
	for j < n {
		switch src[j] {
		case '\\':
			if escapes {
				j += 2
				continue
			}
		case q:
			if j+1 < n && src[j+1] == q {
				j += 2
				continue
			}
			return j + 1
		}
		j++
	}
	return n
}

// Scanner yields the tokens of SQL text one at a time, skipping
// whitespace and comments; the content of MySQL executable comments
// (/*! ... */, /*M! ... */) is scanned as code. Callers that need only the
// first words (Classify, Verb) stop early.
type Scanner struct {
	src    string
	d      Dialect
	i      int
	inExec bool
}

// NewScanner scans src.
func NewScanner(src string, d Dialect) *Scanner { return &Scanner{src: src, d: d} }

// Next returns the next token, or false at the end.
func (s *Scanner) Next() (Token, bool) {
	src, n, d := s.src, len(s.src), s.d
	for s.i < n {
		i := s.i
		c := src[i]
		if isSpace(c) {
			s.i++
			continue
		}
		if s.inExec && c == '*' && i+1 < n && src[i+1] == '/' {
			s.inExec = false
			s.i += 2
			continue
		}
		if end, exec := commentEnd(src, i, d); end >= 0 {
			if exec {
				s.inExec = true
			}
			s.i = end
			continue
		}
		if end, kind := quoteEnd(src, i, d); end >= 0 {
			s.i = end
			return Token{Kind: kind, Off: i, End: end}, true
		}
		if startsWord(c, d) {
			j := i + 1
			for j < n && isWordByte(src[j]) {
				j++
			}
			s.i = j
			return Token{Kind: Word, Off: i, End: j}, true
		}
		if c == '$' { // PostgreSQL parameter $1
			j := i + 1
			for j < n && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			s.i = j
			return Token{Kind: Word, Off: i, End: j}, true
		}
		// One punctuation character (a whole UTF-8 sequence if not ASCII,
		// though those are word bytes above).
		_, size := utf8.DecodeRuneInString(src[i:])
		s.i = i + size
		return Token{Kind: Punct, Off: i, End: i + size}, true
	}
	return Token{}, false
}

// Tokens splits one statement (or any SQL text) into tokens, skipping
// whitespace and comments. The content of MySQL executable comments
// (/*! ... */, /*M! ... */) is tokenised as code.
func Tokens(src string, d Dialect) []Token {
	return appendTokens(make([]Token, 0, len(src)/5+1), src, d)
}

// appendTokens appends src's tokens to dst.
func appendTokens(dst []Token, src string, d Dialect) []Token {
	sc := Scanner{src: src, d: d}
	for {
		t, ok := sc.Next()
		if !ok {
			return dst
		}
		dst = append(dst, t)
	}
}
