package slowlog

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"strings"
)

// Fingerprint abstracts a query into its class the way pt-query-digest
// (percona-toolkit 3.x, QueryRewriter::fingerprint) does, step for step, so
// that dbfleet and pt-query-digest put the same queries in the same
// classes with the same query ids. Every regular expression of the Perl
// code is replaced by a hand-written scan with the same (leftmost, greedy
// or lazy, non-overlapping) semantics on bytes, which is what Perl does on
// a slow log read without an encoding layer.
func Fingerprint(query string) string {
	var f fingerprinter
	return string(f.fingerprint([]byte(query)))
}

// FingerprintOptions are pt's non-default fingerprint switches.
type FingerprintOptions struct {
	// MatchMD5Checksums replaces 32-hex-digit words after '.', '_' or '-'
	// (pt-fingerprint --match-md5-checksums).
	MatchMD5Checksums bool
	// MatchEmbeddedNumbers keeps digits inside words (db2.t1 stays db2.t1;
	// pt-query-digest --preserve-embedded-numbers).
	MatchEmbeddedNumbers bool
}

// Fingerprint abstracts query with these options.
func (o FingerprintOptions) Fingerprint(query string) string {
	f := fingerprinter{opts: o}
	return string(f.fingerprint([]byte(query)))
}

// QueryID is pt-query-digest's query id (checksum) of a fingerprint: the
// upper-case MD5 hex of the fingerprint, 32 characters. Reports print it
// with a 0x prefix; older tools and PMM use the right-most 16 characters.
func QueryID(fingerprint string) string {
	sum := md5.Sum([]byte(fingerprint))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// ShortQueryID is the legacy 16-character form of a query id.
func ShortQueryID(id string) string {
	if len(id) > 16 {
		return id[len(id)-16:]
	}
	return id
}

// fingerprinter holds scratch buffers so that fingerprinting a stream of
// events allocates nothing per event.
type fingerprinter struct {
	opts FingerprintOptions
	a, b []byte
}

// isSpace is Perl's \s on bytes (5.18+: includes \v).
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// isWord is Perl's \w on bytes without a locale.
func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether s starts with the lower-case ASCII word p,
// ignoring ASCII case.
func hasPrefixFold(s []byte, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lowerByte(s[i]) != p[i] {
			return false
		}
	}
	return true
}

// boundaryBefore is Perl's \b at position i when the next character is a
// word character: start of input or a non-word character before it.
func boundaryBefore(s []byte, i int) bool { return i == 0 || !isWord(s[i-1]) }

// boundaryAt is Perl's \b at position i in general.
func boundaryAt(s []byte, i int) bool {
	before := i > 0 && isWord(s[i-1])
	after := i < len(s) && isWord(s[i])
	return before != after
}

var (
	mysqldumpPrefix = []byte("SELECT /*!40001 SQL_NO_CACHE */ * FROM `")
	adminPrefix     = []byte("administrator command: ")
)

// fingerprint returns the fingerprint of q in one of f's buffers (valid
// until the next call). q is not modified.
func (f *fingerprinter) fingerprint(q []byte) []byte {
	// Special cases that return at once.
	if bytes.HasPrefix(q, mysqldumpPrefix) {
		return []byte("mysqldump")
	}
	if hasChecksumComment(q) {
		return []byte("percona-toolkit")
	}
	if bytes.HasPrefix(q, adminPrefix) {
		return q
	}
	if c, ok := callName(q); ok {
		out := f.a[:0]
		for _, ch := range c {
			out = append(out, lowerByte(ch))
		}
		f.a = out
		return out
	}
	if end, ok := multiInsertEnd(q); ok {
		q = q[:end]
	}

	// Each step reads in and appends to the other scratch buffer.
	in := q
	bufs := [2][]byte{f.a[:0], f.b[:0]}
	cur := 0
	step := func(fn func(dst, src []byte) []byte) {
		dst := fn(bufs[cur][:0], in)
		bufs[cur] = dst
		in = dst
		cur ^= 1
	}

	// Steps that would change nothing are skipped after a quick look.
	if bytes.Contains(in, []byte("/*")) {
		step(stripMultiLineComments)
	}
	if bytes.IndexByte(in, '#') >= 0 || bytes.Contains(in, []byte("--")) {
		step(stripOneLineComments)
	}
	if r, ok := useAbstract(in); ok {
		f.a, f.b = bufs[0], bufs[1]
		return r
	}
	if bytes.IndexByte(in, '\\') >= 0 {
		step(stripEscapedQuotes)
	}
	if bytes.IndexByte(in, '"') >= 0 {
		step(func(dst, src []byte) []byte { return replaceQuoted(dst, src, '"') })
	}
	if bytes.IndexByte(in, '\'') >= 0 {
		step(func(dst, src []byte) []byte { return replaceQuoted(dst, src, '\'') })
	}
	step(replaceBooleans)
	if f.opts.MatchMD5Checksums {
		step(replaceMD5)
	}
	embedded, md5opt := f.opts.MatchEmbeddedNumbers, f.opts.MatchMD5Checksums
	step(func(dst, src []byte) []byte { return replaceNumbers(dst, src, embedded, md5opt) })
	step(trimCollapseLower)
	if bytes.Contains(in, []byte("null")) {
		step(replaceNull)
	}
	step(collapseLists)
	if bytes.Contains(in, []byte("union")) {
		step(collapseUnions)
	}
	if bytes.Contains(in, []byte("limit ?")) {
		step(collapseLimit)
	}
	if bytes.Contains(in, []byte("order by ")) {
		step(stripOrderByASC)
	}
	f.a, f.b = bufs[0], bufs[1]
	return in
}

// hasChecksumComment matches m#/\*\w+\.\w+:[0-9]/[0-9]\*/#.
func hasChecksumComment(q []byte) bool {
	for i := 0; ; {
		j := bytes.Index(q[i:], []byte("/*"))
		if j < 0 {
			return false
		}
		k := i + j + 2
		i = k - 1
		w := k
		for w < len(q) && isWord(q[w]) {
			w++
		}
		if w == k || w >= len(q) || q[w] != '.' {
			continue
		}
		w++
		v := w
		for v < len(q) && isWord(q[v]) {
			v++
		}
		if v == w || v+6 > len(q) {
			continue
		}
		if q[v] == ':' && isDigit(q[v+1]) && q[v+2] == '/' && isDigit(q[v+3]) && q[v+4] == '*' && q[v+5] == '/' {
			return true
		}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// callName matches m/\A\s*(call\s+\S+)\(/i and returns $1.
func callName(q []byte) ([]byte, bool) {
	i := 0
	for i < len(q) && isSpace(q[i]) {
		i++
	}
	if !hasPrefixFold(q[i:], "call") {
		return nil, false
	}
	start := i
	i += 4
	j := i
	for j < len(q) && isSpace(q[j]) {
		j++
	}
	if j == i {
		return nil, false
	}
	k := j
	for k < len(q) && !isSpace(q[k]) {
		k++
	}
	// \S+ is greedy: the last '(' of the run with at least one character
	// before it.
	for p := k - 1; p > j; p-- {
		if q[p] == '(' {
			return q[start:p], true
		}
	}
	return nil, false
}

// multiInsertEnd matches
// m/\A((?:INSERT|REPLACE)(?: IGNORE)?\s+INTO.+?VALUES\s*\(.*?\))\s*,\s*\(/is
// and returns the length of $1.
func multiInsertEnd(q []byte) (int, bool) {
	var p int
	switch {
	case hasPrefixFold(q, "insert"):
		p = 6
	case hasPrefixFold(q, "replace"):
		p = 7
	default:
		return 0, false
	}
	if len(q) > p+7 && q[p] == ' ' && hasPrefixFold(q[p+1:], "ignore") {
		if end, ok := multiInsertFrom(q, p+7); ok {
			return end, true
		}
	}
	return multiInsertFrom(q, p)
}

func multiInsertFrom(q []byte, p int) (int, bool) {
	k := p
	for k < len(q) && isSpace(q[k]) {
		k++
	}
	if k == p || !hasPrefixFold(q[k:], "into") {
		return 0, false
	}
	k += 4
	// .+? then VALUES\s*\( : only the first such VALUES can match, since a
	// later one only narrows where the closing parenthesis may be.
	for v := k + 1; v+6 <= len(q); v++ {
		if lowerByte(q[v]) != 'v' || !hasPrefixFold(q[v:], "values") {
			continue
		}
		m := v + 6
		for m < len(q) && isSpace(q[m]) {
			m++
		}
		if m >= len(q) || q[m] != '(' {
			continue
		}
		for c := m + 1; c < len(q); c++ {
			if q[c] != ')' {
				continue
			}
			e := c + 1
			for e < len(q) && isSpace(q[e]) {
				e++
			}
			if e >= len(q) || q[e] != ',' {
				continue
			}
			e++
			for e < len(q) && isSpace(q[e]) {
				e++
			}
			if e < len(q) && q[e] == '(' {
				return c + 1, true
			}
		}
		return 0, false
	}
	return 0, false
}

// stripMultiLineComments is s#/\*[^!].*?\*/##sg.
func stripMultiLineComments(dst, src []byte) []byte {
	last := 0
	for i := 0; i+2 < len(src); {
		j := bytes.Index(src[i:], []byte("/*"))
		if j < 0 {
			break
		}
		i += j
		if i+2 >= len(src) {
			break
		}
		if src[i+2] == '!' {
			i++
			continue
		}
		e := bytes.Index(src[i+3:], []byte("*/"))
		if e < 0 {
			break // no later start can find a closing */ either
		}
		dst = append(dst, src[last:i]...)
		i = i + 3 + e + 2
		last = i
	}
	return append(dst, src[last:]...)
}

// stripOneLineComments is s/(?:--|#)[^'"\r\n]*(?=[\r\n]|\Z)//g.
func stripOneLineComments(dst, src []byte) []byte {
	last := 0
	for i := 0; i < len(src); {
		var k int
		switch {
		case src[i] == '#':
			k = i + 1
		case src[i] == '-' && i+1 < len(src) && src[i+1] == '-':
			k = i + 2
		default:
			i++
			continue
		}
		j := k
		for j < len(src) && src[j] != '\'' && src[j] != '"' && src[j] != '\r' && src[j] != '\n' {
			j++
		}
		if j == len(src) || src[j] == '\r' || src[j] == '\n' {
			dst = append(dst, src[last:i]...)
			last, i = j, j
			continue
		}
		i++
	}
	return append(dst, src[last:]...)
}

// useAbstract is s/\Ause \S+\Z/use ?/i: a whole-query USE.
func useAbstract(q []byte) ([]byte, bool) {
	if len(q) < 5 || !hasPrefixFold(q, "use") || q[3] != ' ' {
		return nil, false
	}
	j := 4
	for j < len(q) && !isSpace(q[j]) {
		j++
	}
	if j == 4 {
		return nil, false
	}
	if j == len(q) {
		return []byte("use ?"), true
	}
	if j == len(q)-1 && q[j] == '\n' {
		return []byte("use ?\n"), true
	}
	return nil, false
}

// stripEscapedQuotes is s/\\["']//g.
func stripEscapedQuotes(dst, src []byte) []byte {
	last := 0
	for i := 0; i+1 < len(src); {
		j := bytes.IndexByte(src[i:len(src)-1], '\\')
		if j < 0 {
			break
		}
		i += j
		if src[i+1] == '"' || src[i+1] == '\'' {
			dst = append(dst, src[last:i]...)
			i += 2
			last = i
			continue
		}
		i++
	}
	return append(dst, src[last:]...)
}

// replaceQuoted is s/".*?"/?/sg (or with single quotes).
func replaceQuoted(dst, src []byte, quote byte) []byte {
	last := 0
	for i := 0; i < len(src); {
		j := bytes.IndexByte(src[i:], quote)
		if j < 0 {
			break
		}
		i += j
		e := bytes.IndexByte(src[i+1:], quote)
		if e < 0 {
			break
		}
		dst = append(dst, src[last:i]...)
		dst = append(dst, '?')
		i = i + 1 + e + 1
		last = i
	}
	return append(dst, src[last:]...)
}

// replaceBooleans is s/\bfalse\b|\btrue\b/?/isg.
func replaceBooleans(dst, src []byte) []byte {
	last := 0
	for i := 0; i < len(src); i++ {
		c := src[i] | 0x20
		if c != 'f' && c != 't' {
			continue
		}
		if !boundaryBefore(src, i) {
			continue
		}
		n := 0
		if hasPrefixFold(src[i:], "false") {
			n = 5
		} else if hasPrefixFold(src[i:], "true") {
			n = 4
		}
		if n == 0 || (i+n < len(src) && isWord(src[i+n])) {
			continue
		}
		dst = append(dst, src[last:i]...)
		dst = append(dst, '?')
		i += n - 1
		last = i + 1
	}
	return append(dst, src[last:]...)
}

func isHexLower(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' }

// replaceMD5 is s/([._-])[a-f0-9]{32}/$1?/g.
func replaceMD5(dst, src []byte) []byte {
	last := 0
	for i := 0; i+32 < len(src); i++ {
		if c := src[i]; c != '.' && c != '_' && c != '-' {
			continue
		}
		ok := true
		for k := i + 1; k <= i+32; k++ {
			if !isHexLower(src[k]) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		dst = append(dst, src[last:i+1]...)
		dst = append(dst, '?')
		i += 32
		last = i + 1
	}
	return append(dst, src[last:]...)
}

// numberStart is [0-9+-]; numberRest is [0-9a-f.xb+-].
func numberStart(c byte) bool { return isDigit(c) || c == '+' || c == '-' }
func numberRest(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c == '.' || c == 'x' || c == '+' || c == '-'
}

// replaceNumbers is s/[0-9+-][0-9a-f.xb+-]*/?/g (with a leading \b when
// embedded numbers are kept) followed by s/[xb.+-]\?/?/g (s/[xb+-]\?/?/g
// with MD5 matching). The second only deletes each of those characters
// that directly precedes a '?' of the first's output (its matches cannot
// overlap), so both run in one pass: before emitting a '?', drop such a
// character just emitted.
func replaceNumbers(dst, src []byte, embedded, md5 bool) []byte {
	emitQ := func() {
		if n := len(dst); n > 0 {
			if c := dst[n-1]; c == 'x' || c == 'b' || c == '+' || c == '-' || (c == '.' && !md5) {
				dst[n-1] = '?'
				return
			}
		}
		dst = append(dst, '?')
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '?' {
			emitQ()
			continue
		}
		if !numberStart(c) || (embedded && !boundaryAt(src, i)) {
			dst = append(dst, c)
			continue
		}
		j := i + 1
		for j < len(src) && numberRest(src[j]) {
			j++
		}
		emitQ()
		i = j - 1
	}
	return dst
}

// trimCollapseLower does s/\A\s+//, chomp, tr[ \n\t\r\f][ ]s and lc.
func trimCollapseLower(dst, src []byte) []byte {
	i := 0
	for i < len(src) && isSpace(src[i]) {
		i++
	}
	src = src[i:]
	if n := len(src); n > 0 && src[n-1] == '\n' {
		src = src[:n-1]
	}
	inRun := false
	for _, c := range src {
		switch c {
		case ' ', '\n', '\t', '\r', '\f':
			if !inRun {
				dst = append(dst, ' ')
				inRun = true
			}
			continue
		}
		inRun = false
		dst = append(dst, lowerByte(c))
	}
	return dst
}

// replaceNull is s/\bnull\b/?/g.
func replaceNull(dst, src []byte) []byte {
	last := 0
	for i := 0; i+4 <= len(src); i++ {
		if src[i] != 'n' || !bytes.HasPrefix(src[i:], []byte("null")) || !boundaryBefore(src, i) {
			continue
		}
		if i+4 < len(src) && isWord(src[i+4]) {
			continue
		}
		dst = append(dst, src[last:i]...)
		dst = append(dst, '?')
		i += 3
		last = i + 1
	}
	return append(dst, src[last:]...)
}

// listGroups matches (?:[\s,]*\([\s?,]*\))+ at p and returns its end, or
// -1.
func listGroups(s []byte, p int) int {
	end := -1
	for {
		k := p
		for k < len(s) && (isSpace(s[k]) || s[k] == ',') {
			k++
		}
		if k >= len(s) || s[k] != '(' {
			return end
		}
		k++
		for k < len(s) && (isSpace(s[k]) || s[k] == '?' || s[k] == ',') {
			k++
		}
		if k >= len(s) || s[k] != ')' {
			return end
		}
		p = k + 1
		end = p
	}
}

// collapseLists is s/\b(in|values?)(?:[\s,]*\([\s?,]*\))+/$1(?+)/g.
func collapseLists(dst, src []byte) []byte {
	last := 0
	for i := 0; i < len(src); i++ {
		c := src[i]
		if (c != 'i' && c != 'v') || !boundaryBefore(src, i) {
			continue
		}
		var word, end int
		switch {
		case bytes.HasPrefix(src[i:], []byte("in")):
			word, end = 2, listGroups(src, i+2)
		case bytes.HasPrefix(src[i:], []byte("values")):
			word, end = 6, listGroups(src, i+6)
			if end < 0 {
				word, end = 5, listGroups(src, i+5)
			}
		case bytes.HasPrefix(src[i:], []byte("value")):
			word, end = 5, listGroups(src, i+5)
		}
		if end < 0 || word == 0 {
			continue
		}
		dst = append(dst, src[last:i+word]...)
		dst = append(dst, "(?+)"...)
		last = end
		i = end - 1
	}
	return append(dst, src[last:]...)
}

// unionRepeat matches (\sunion(?:\sall)?)\s\1 at p for group g and returns
// the end and the separator ($2), or -1.
func unionRepeat(s []byte, p int, g []byte) (int, []byte) {
	if p+6 > len(s) || !isSpace(s[p]) || !bytes.HasPrefix(s[p+1:], []byte("union")) {
		return -1, nil
	}
	k := p + 6
	if k+4 <= len(s) && isSpace(s[k]) && bytes.HasPrefix(s[k+1:], []byte("all")) {
		k2 := k + 4
		if k2 < len(s) && isSpace(s[k2]) && bytes.HasPrefix(s[k2+1:], g) {
			return k2 + 1 + len(g), s[p:k2]
		}
	}
	if k < len(s) && isSpace(s[k]) && bytes.HasPrefix(s[k+1:], g) {
		return k + 1 + len(g), s[p:k]
	}
	return -1, nil
}

// collapseUnions is
// s/\b(select\s.*?)(?:(\sunion(?:\sall)?)\s\1)+/$1 \/*repeat$2*\//g.
func collapseUnions(dst, src []byte) []byte {
	if !bytes.Contains(src, []byte("union")) {
		return append(dst, src...)
	}
	last := 0
	for i := 0; i+7 <= len(src); i++ {
		if src[i] != 's' || !bytes.HasPrefix(src[i:], []byte("select")) || !isSpace(src[i+6]) || !boundaryBefore(src, i) {
			continue
		}
		// .*? lazily, and . does not match a newline: $1 ends at the
		// first position from i+7 on, up to the first newline, where the
		// repetition matches.
		lim := len(src)
		if nl := bytes.IndexByte(src[i+7:], '\n'); nl >= 0 {
			lim = i + 7 + nl
		}
		for e := i + 7; e <= lim && e+6 <= len(src); e++ {
			if !isSpace(src[e]) || src[e+1] != 'u' {
				continue
			}
			g := src[i:e]
			end, sep := unionRepeat(src, e, g)
			if end < 0 {
				continue
			}
			for {
				next, s := unionRepeat(src, end, g)
				if next < 0 {
					break
				}
				end, sep = next, s
			}
			dst = append(dst, src[last:e]...)
			dst = append(dst, " /*repeat"...)
			dst = append(dst, sep...)
			dst = append(dst, "*/"...)
			last = end
			i = end - 1
			break
		}
	}
	return append(dst, src[last:]...)
}

// collapseLimit is s/\blimit \?(?:, ?\?| offset \?)?/limit ?/ (first
// match only).
func collapseLimit(dst, src []byte) []byte {
	for i := 0; ; {
		j := bytes.Index(src[i:], []byte("limit ?"))
		if j < 0 {
			return append(dst, src...)
		}
		i += j
		if !boundaryBefore(src, i) {
			i++
			continue
		}
		end := i + 7
		switch {
		case end < len(src) && src[end] == ',':
			k := end + 1
			if k < len(src) && src[k] == ' ' && k+1 < len(src) && src[k+1] == '?' {
				end = k + 2
			} else if k < len(src) && src[k] == '?' {
				end = k + 1
			}
		case bytes.HasPrefix(src[end:], []byte(" offset ?")):
			end += 9
		}
		dst = append(dst, src[:i]...)
		dst = append(dst, "limit ?"...)
		return append(dst, src[end:]...)
	}
}

// stripOrderByASC is pt's
//
//	if ( $query =~ m/\bORDER BY /gi ) {
//	   1 while $query =~ s/\G(.+?)\s+ASC/$1/gi && pos $query;
//	}
//
// (one global pass anchored after the first ORDER BY, since s/// resets
// pos).
func stripOrderByASC(dst, src []byte) []byte {
	start := -1
	for i := 0; i+9 <= len(src); i++ {
		if lowerByte(src[i]) == 'o' && hasPrefixFold(src[i:], "order by ") && boundaryBefore(src, i) {
			start = i + 9
			break
		}
	}
	if start < 0 {
		return append(dst, src...)
	}
	dst = append(dst, src[:start]...)
	p := start
	for {
		found := false
		for c := p + 1; c < len(src); c++ {
			if src[c-1] == '\n' {
				break // (.+?) does not match a newline
			}
			if !isSpace(src[c]) {
				continue
			}
			d := c
			for d < len(src) && isSpace(src[d]) {
				d++
			}
			if hasPrefixFold(src[d:], "asc") {
				dst = append(dst, src[p:c]...)
				p = d + 3
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	return append(dst, src[p:]...)
}
