package slowlog

import (
	"regexp"
	"strings"

	sqlfe "github.com/dbfleet/dbfleet/internal/sql"
)

// Examples are stored and shown: what a statement carries of credentials
// must not be. The statement is read with internal/sql's tokens for its
// dialect (backslash escapes, doubled quotes, PostgreSQL dollar quotes and
// E'' strings, MySQL executable comments), never with a scanner of our
// own, and two kinds of literals are replaced by '***':
//
//   - every string literal of a statement that mentions credentials: a
//     word such as IDENTIFIED, PASSWORD (also PASSWORD(...), PASSWORD
//     $$...$$), MASTER_PASSWORD, SECRET or an encryption function
//     (AES_ENCRYPT, pgp_sym_encrypt, crypt...) outside literals, or a
//     literal holding "password=..." (a connection string);
//   - every literal assigned to or compared with a column whose name
//     contains pass, pwd, secret, token, key or credential (any case, any
//     quoting, qualified or not): the whole expression on the other side
//     of =, <>, LIKE, IN, BETWEEN..., so that password_hash =
//     SHA2('...', 256) is covered; the values of an INSERT's column list
//     by position (all of them when the INSERT names no columns); a
//     (col, col) = (...) row by position.

// credentialWords name statements and functions that carry credentials.
var credentialWords = map[string]bool{
	"identified": true, "password": true, "passwd": true, "master_password": true, "source_password": true,
	"secret": true, "old_password": true, "authentication_string": true,
	"aes_encrypt": true, "aes_decrypt": true, "des_encrypt": true, "des_decrypt": true, "encrypt": true,
	"pgp_sym_encrypt": true, "pgp_sym_decrypt": true, "pgp_sym_encrypt_bytea": true, "pgp_sym_decrypt_bytea": true,
	"crypt": true, "hmac": true, "dblink_connect": true, "dblink_connect_u": true,
}

// credentialText finds "password=...", "pwd: ..." and the like inside a
// literal (connection strings, option lists).
var credentialText = regexp.MustCompile(`(?i)(pass(word|wd)?|pwd|secret|token|api[_-]?key)\s*[=:]`)

// sensitiveParts mark a column whose values are secrets.
var sensitiveParts = []string{"pass", "pwd", "secret", "token", "key", "credential"}

func sensitiveName(name string) bool {
	name = strings.ToLower(name)
	for _, p := range sensitiveParts {
		if strings.Contains(name, p) {
			return true
		}
	}
	return false
}

type lexKind uint8

const (
	lexWord   lexKind = iota + 1 // keyword or bare name (text lower-cased)
	lexIdent                     // quoted name (text unquoted)
	lexString                    // string literal, with its prefix (X'', N'', E'', _utf8mb4'', U&'')
	lexNumber                    // numeric literal (1, 1.5, .5, 1e-3, 0x1F)
	lexPunct                     // one punctuation character
)

// lexeme is a token of internal/sql's lexer, literals merged whole.
type lexeme struct {
	kind     lexKind
	off, end int
	text     string
}

func isDigit0(c byte) bool { return c >= '0' && c <= '9' }

// lexemes reads q's tokens and merges literals: a string with its
// prefix, a number with its fraction and exponent.
func lexemes(q string, d sqlfe.Dialect) []lexeme {
	toks := sqlfe.Tokens(q, d)
	out := make([]lexeme, 0, len(toks))
	for _, t := range toks {
		text := q[t.Off:t.End]
		n := len(out)
		adjacent := n > 0 && out[n-1].end == t.Off
		switch t.Kind {
		case sqlfe.String:
			l := lexeme{kind: lexString, off: t.Off, end: t.End, text: text}
			if adjacent && out[n-1].kind == lexWord {
				if p := out[n-1].text; p == "x" || p == "b" || p == "n" || p == "e" || strings.HasPrefix(p, "_") {
					l.off = out[n-1].off
					out = out[:n-1]
				}
			} else if adjacent && out[n-1].text == "&" && n > 1 && out[n-2].text == "u" && out[n-2].end == out[n-1].off {
				l.off = out[n-2].off
				out = out[:n-2]
			}
			out = append(out, l)
		case sqlfe.QuotedIdent:
			out = append(out, lexeme{kind: lexIdent, off: t.Off, end: t.End, text: t.Name(q)})
		case sqlfe.Word:
			switch {
			case adjacent && out[n-1].kind == lexNumber && isDigit0(text[0]) &&
				(strings.HasSuffix(out[n-1].text, ".") || strings.HasSuffix(out[n-1].text, "e-") || strings.HasSuffix(out[n-1].text, "e+")):
				out[n-1].end, out[n-1].text = t.End, out[n-1].text+strings.ToLower(text) // 1.5, 1e-5
			case adjacent && out[n-1].kind == lexPunct && out[n-1].text == "." && isDigit0(text[0]) &&
				(n == 1 || out[n-2].end != out[n-1].off || out[n-2].kind == lexPunct):
				out[n-1] = lexeme{kind: lexNumber, off: out[n-1].off, end: t.End, text: "." + strings.ToLower(text)} // .5
			case isDigit0(text[0]):
				out = append(out, lexeme{kind: lexNumber, off: t.Off, end: t.End, text: strings.ToLower(text)})
			default:
				out = append(out, lexeme{kind: lexWord, off: t.Off, end: t.End, text: strings.ToLower(text)})
			}
		default:
			switch {
			case adjacent && out[n-1].kind == lexNumber && text == "." && !strings.Contains(out[n-1].text, "."):
				out[n-1].end, out[n-1].text = t.End, out[n-1].text+"." // 1.
			case adjacent && out[n-1].kind == lexNumber && (text == "-" || text == "+") && strings.HasSuffix(out[n-1].text, "e") &&
				!strings.HasPrefix(out[n-1].text, "0x"):
				out[n-1].end, out[n-1].text = t.End, out[n-1].text+text // 1e-
			default:
				out = append(out, lexeme{kind: lexPunct, off: t.Off, end: t.End, text: text})
			}
		}
	}
	return out
}

func (l lexeme) isName() bool { return l.kind == lexWord || l.kind == lexIdent }

func (l lexeme) is(p string) bool { return l.kind == lexPunct && l.text == p }

// redactExample replaces the literals that may carry credentials or
// secrets with '***' (see the comment at the top of this file). q is a
// statement of dialect d.
func redactExample(q string, d sqlfe.Dialect) string {
	lx := lexemes(q, d)
	hide := make([]bool, len(lx))
	if mentionsCredentials(lx) {
		for i, l := range lx {
			hide[i] = l.kind == lexString
		}
	} else {
		markSecrets(lx, hide)
	}
	return rewrite(q, lx, func(i int) (string, bool) {
		if hide[i] {
			return "'***'", true
		}
		return "", false
	}, false)
}

// hideLiterals replaces every literal of q with ?, as a fingerprint does,
// and drops comments (they may hold values too).
func hideLiterals(q string, d sqlfe.Dialect) string {
	lx := lexemes(q, d)
	return rewrite(q, lx, func(i int) (string, bool) {
		if k := lx[i].kind; k == lexString || k == lexNumber {
			return "?", true
		}
		return "", false
	}, true)
}

// rewrite writes q with lexeme i replaced where repl says so; with
// dropComments, whatever lies between lexemes and is not blank becomes
// one space.
func rewrite(q string, lx []lexeme, repl func(i int) (string, bool), dropComments bool) string {
	var b strings.Builder
	b.Grow(len(q))
	last := 0
	gap := func(s string) {
		if dropComments && strings.TrimSpace(s) != "" {
			if last > 0 {
				b.WriteByte(' ')
			}
			return
		}
		b.WriteString(s)
	}
	for i, l := range lx {
		gap(q[last:l.off])
		if r, ok := repl(i); ok {
			b.WriteString(r)
		} else {
			b.WriteString(q[l.off:l.end])
		}
		last = l.end
	}
	if dropComments {
		if rest := q[last:]; strings.TrimSpace(rest) == "" {
			b.WriteString(rest)
		}
	} else {
		b.WriteString(q[last:])
	}
	return b.String()
}

// mentionsCredentials reports a credential word outside literals, or a
// literal that holds one as "password=...".
func mentionsCredentials(lx []lexeme) bool {
	for _, l := range lx {
		switch l.kind {
		case lexWord, lexIdent:
			if credentialWords[strings.ToLower(l.text)] {
				return true
			}
		case lexString:
			if credentialText.MatchString(l.text) {
				return true
			}
		}
	}
	return false
}

// Operators that compare or assign.
var (
	opChars = "=<>!~:"
	// opWords start an operator after a column (pwd NOT LIKE ...);
	// opMore continue one (IS DISTINCT FROM, SIMILAR TO, = ANY);
	// opBefore end one before a column ('x' LIKE pwd, 'x' = ANY(tokens)).
	opWords = map[string]bool{"like": true, "ilike": true, "in": true, "between": true, "is": true, "not": true, "regexp": true,
		"rlike": true, "similar": true, "sounds": true}
	opMore   = map[string]bool{"to": true, "distinct": true, "from": true, "any": true, "all": true, "some": true}
	opBefore = map[string]bool{"like": true, "ilike": true, "in": true, "regexp": true, "rlike": true, "any": true, "all": true, "some": true}
	// stopWords end an expression at its own nesting level.
	stopWords = map[string]bool{"and": true, "or": true, "xor": true, "where": true, "from": true, "group": true, "order": true,
		"limit": true, "having": true, "set": true, "on": true, "union": true, "except": true, "intersect": true, "join": true,
		"inner": true, "left": true, "right": true, "full": true, "cross": true, "natural": true, "straight_join": true,
		"when": true, "then": true, "else": true, "end": true, "returning": true, "into": true, "for": true, "lock": true,
		"window": true, "using": true, "values": true, "value": true, "select": true, "offset": true, "fetch": true,
		"update": true, "as": true, "asc": true, "desc": true, "do": true}
	// groupWords open a parenthesis that is not a function call.
	groupWords = map[string]bool{"in": true, "any": true, "all": true, "some": true, "values": true, "value": true, "exists": true,
		"row": true, "array": true, "and": true, "or": true, "not": true, "when": true, "then": true, "else": true, "case": true,
		"select": true, "where": true, "on": true, "using": true, "as": true, "from": true, "by": true, "set": true, "between": true,
		"like": true, "is": true, "xor": true, "join": true, "into": true, "table": true, "with": true, "lateral": true}
)

func isOpChar(l lexeme) bool {
	return l.kind == lexPunct && len(l.text) == 1 && strings.Contains(opChars, l.text)
}

// isOp reports an operator lexeme after a column (more: within one).
func isOp(l lexeme, more bool) bool {
	return isOpChar(l) || (l.kind == lexWord && (opWords[l.text] || (more && opMore[l.text])))
}

// isOpBefore reports an operator lexeme just before a column.
func isOpBefore(l lexeme) bool {
	return isOpChar(l) || (l.kind == lexWord && opBefore[l.text])
}

// isCall reports whether the "(" at i opens a function call's arguments.
func isCall(lx []lexeme, i int) bool {
	return i > 0 && lx[i-1].isName() && !(lx[i-1].kind == lexWord && groupWords[lx[i-1].text])
}

// hideExpr hides the literals of lx[from:to]: every string, and every
// number that is not a function's argument (SHA2('x', 256) keeps 256).
func hideExpr(lx []lexeme, from, to int, hide []bool) {
	var calls []bool
	inCall := 0
	for i := from; i < to && i < len(lx); i++ {
		l := lx[i]
		switch {
		case l.is("("):
			c := isCall(lx, i)
			calls = append(calls, c)
			if c {
				inCall++
			}
		case l.is(")"):
			if n := len(calls); n > 0 {
				if calls[n-1] {
					inCall--
				}
				calls = calls[:n-1]
			}
		case l.kind == lexString:
			hide[i] = true
		case l.kind == lexNumber:
			hide[i] = hide[i] || inCall == 0
		}
	}
}

// exprEnd returns the end (exclusive) of the expression starting at i.
func exprEnd(lx []lexeme, i int, between bool) int {
	depth := 0
	for ; i < len(lx); i++ {
		l := lx[i]
		switch {
		case l.is("("):
			depth++
		case l.is(")"):
			if depth == 0 {
				return i
			}
			depth--
		case l.is(",") || l.is(";"):
			if depth == 0 {
				return i
			}
		case depth == 0 && l.kind == lexWord && stopWords[l.text]:
			if l.text == "and" && between {
				between = false
				continue
			}
			return i
		}
	}
	return len(lx)
}

// exprStart returns the start of the expression that ends just before i.
func exprStart(lx []lexeme, i int) int {
	depth := 0
	for j := i - 1; j >= 0; j-- {
		l := lx[j]
		switch {
		case l.is(")"):
			depth++
		case l.is("("):
			if depth == 0 {
				return j + 1
			}
			depth--
		case l.is(",") || l.is(";"):
			if depth == 0 {
				return j + 1
			}
		case depth == 0 && l.kind == lexWord && (stopWords[l.text] || opWords[l.text] || opMore[l.text]):
			return j + 1
		}
	}
	return 0
}

// markSecrets marks the literals compared with or assigned to sensitive
// columns.
func markSecrets(lx []lexeme, hide []bool) {
	for i, l := range lx {
		var isCol bool
		switch {
		case l.isName():
			isCol = sensitiveName(l.text) && (i+1 >= len(lx) || !lx[i+1].is("."))
		case l.kind == lexString:
			// data->>'token' = '...': a JSON key is a column too.
			isCol = i > 0 && lx[i-1].is(">") && sensitiveName(strings.Trim(l.text, `'"`))
		}
		if !isCol {
			continue
		}
		// Before it: the qualifier, then the parentheses of the functions
		// it is the argument of (UPPER(pwd) = ...).
		k := i
		for k >= 2 && lx[k-1].is(".") && lx[k-2].isName() {
			k -= 2
		}
		wrapped := 0
		for k >= 1 && lx[k-1].is("(") {
			k--
			wrapped++
			if k >= 1 && lx[k-1].isName() && !isOpBefore(lx[k-1]) {
				k--
			}
		}
		// After it: casts, collations and those parentheses closed.
		j := i + 1
		for j < len(lx) {
			switch {
			case lx[j].is(")") && wrapped > 0:
				j++
				wrapped--
				continue
			case lx[j].is(":") && j+2 < len(lx) && lx[j+1].is(":") && lx[j+2].isName():
				j += 3
				continue
			case lx[j].kind == lexWord && lx[j].text == "collate" && j+1 < len(lx):
				j += 2
				continue
			}
			break
		}
		if j < len(lx) && isOp(lx[j], false) && !(lx[j].is(":") && j+1 < len(lx) && lx[j+1].is(":")) {
			between := false
			for j < len(lx) && isOp(lx[j], true) {
				between = between || lx[j].text == "between"
				j++
			}
			hideExpr(lx, j, exprEnd(lx, j, between), hide)
		}
		// An operator before it, with the other side ('x' = u.pwd).
		if k >= 1 && isOpBefore(lx[k-1]) {
			p := k - 1
			for p > 0 && isOp(lx[p-1], true) {
				p--
			}
			hideExpr(lx, exprStart(lx, p), p, hide)
		}
	}
	markRows(lx, hide)
}

// markRows hides values by position: INSERT (cols) VALUES (...), (...);
// (cols) = (...); (cols) IN ((...), ...); and every value of an INSERT or
// REPLACE that names no columns.
func markRows(lx []lexeme, hide []bool) {
	insert := len(lx) > 0 && lx[0].kind == lexWord && (lx[0].text == "insert" || lx[0].text == "replace")
	for i := 0; i < len(lx); i++ {
		if lx[i].kind == lexWord && (lx[i].text == "values" || lx[i].text == "value") && insert && i > 0 && lx[i-1].isName() {
			// INSERT INTO t VALUES (...): the columns are unknown.
			for _, r := range rowsAfter(lx, i+1) {
				hideExpr(lx, r[0], r[1], hide)
			}
			continue
		}
		if !lx[i].is("(") {
			continue
		}
		cols, end, ok := nameList(lx, i)
		if !ok {
			continue
		}
		secret := false
		for _, c := range cols {
			secret = secret || sensitiveName(c)
		}
		if !secret || end+1 >= len(lx) {
			continue
		}
		var rows [][2]int
		switch next := lx[end+1]; {
		case next.kind == lexWord && (next.text == "values" || next.text == "value"):
			rows = rowsAfter(lx, end+2)
		case next.kind == lexWord && next.text == "in" && end+2 < len(lx) && lx[end+2].is("("):
			rows = rowsAfter(lx, end+3)
		case isOpChar(next) && end+2 < len(lx) && lx[end+2].is("("):
			rows = rowsAfter(lx, end+2)
			rows = rows[:min(len(rows), 1)]
		}
		for _, r := range rows {
			items := splitItems(lx, r[0], r[1])
			for n, it := range items {
				if n < len(cols) && sensitiveName(cols[n]) {
					hideExpr(lx, it[0], it[1], hide)
				}
			}
		}
	}
}

// nameList reads "(a, b.c, `d`)" at i: the last part of each name, and
// the index of ")".
func nameList(lx []lexeme, i int) (names []string, end int, ok bool) {
	j := i + 1
	for j < len(lx) {
		if !lx[j].isName() {
			return nil, 0, false
		}
		name := lx[j].text
		j++
		for j+1 < len(lx) && lx[j].is(".") && lx[j+1].isName() {
			name = lx[j+1].text
			j += 2
		}
		names = append(names, name)
		if j < len(lx) && lx[j].is(")") {
			return names, j, true
		}
		if j >= len(lx) || !lx[j].is(",") {
			return nil, 0, false
		}
		j++
	}
	return nil, 0, false
}

// closing returns the index of the ")" that closes the "(" at i (or
// len(lx) when the text ends first).
func closing(lx []lexeme, i int) int {
	depth := 0
	for j := i; j < len(lx); j++ {
		switch {
		case lx[j].is("("):
			depth++
		case lx[j].is(")"):
			if depth--; depth == 0 {
				return j
			}
		}
	}
	return len(lx)
}

// rowsAfter returns the parenthesised rows from i on, "(...), (...)", as
// [first, end) of their insides.
func rowsAfter(lx []lexeme, i int) [][2]int {
	var rows [][2]int
	for i < len(lx) && lx[i].is("(") {
		end := closing(lx, i)
		rows = append(rows, [2]int{i + 1, end})
		if end+2 < len(lx) && lx[end+1].is(",") && lx[end+2].is("(") {
			i = end + 2
			continue
		}
		break
	}
	return rows
}

// splitItems cuts lx[from:to] at its top-level commas.
func splitItems(lx []lexeme, from, to int) [][2]int {
	var items [][2]int
	depth, start := 0, from
	for i := from; i < to; i++ {
		switch {
		case lx[i].is("("):
			depth++
		case lx[i].is(")"):
			depth--
		case lx[i].is(",") && depth == 0:
			items = append(items, [2]int{start, i})
			start = i + 1
		}
	}
	return append(items, [2]int{start, to})
}
