package slowlog

import (
	"bytes"
	"regexp"
	"strings"
)

// Distill is a short summary of a statement: its verbs and tables, like
// pt-query-digest's profile "Item" column (QueryRewriter::distill), e.g.
// "SELECT orders customers". It follows pt's rules closely but is only a
// label: classes and ids come from Fingerprint.
func Distill(query string) string {
	q := query
	switch {
	case callRE.MatchString(q):
		return "CALL " + callRE.FindStringSubmatch(q)[1]
	case useRE.MatchString(q):
		return "USE"
	case unlockRE.MatchString(q):
		return "UNLOCK"
	case xaRE.MatchString(q):
		return "XA_" + xaRE.FindStringSubmatch(q)[1]
	case loadRE.MatchString(q):
		tbl := ""
		if m := loadIntoRE.FindStringSubmatch(q); m != nil {
			tbl = strings.ReplaceAll(m[1], "`", "")
		}
		return "LOAD DATA " + tbl
	case strings.HasPrefix(q, "administrator command:"):
		return strings.ToUpper(strings.Replace(q, "administrator command:", "ADMIN", 1))
	}
	q = stripComments(q)
	if showRE.MatchString(q) {
		q = strings.ToUpper(q)
		q = showNoiseRE.ReplaceAllString(q, " ")
		q = showCountRE.ReplaceAllString(q, "")
		q = showTailRE.ReplaceAllString(q, "")
		if m := showHeadRE.FindStringSubmatch(q); m != nil {
			q = m[1]
		}
		q = strings.Join(strings.Fields(q), " ")
		for _, r := range [][2]string{{"SCHEMA", "DATABASE"}, {"KEYS", "INDEX"}, {"INDEXES", "INDEX"}} {
			q = strings.Replace(q, r[0], r[1], 1)
		}
		return q
	}
	if m := ddlRE.FindStringSubmatch(q); m != nil {
		q2 := ifExistsRE.ReplaceAllString(q, " ")
		verb := strings.ToUpper(m[1])
		if o := ddlObjRE.FindStringSubmatch(q2); o != nil && strings.EqualFold(o[1], m[1]) {
			verb += " " + strings.ToUpper(o[2])
		}
		if t := ddlTblRE.FindStringSubmatch(q2); t != nil {
			return verb + " " + cleanTable(t[1])
		}
		return verb
	}
	var verbs []string
	for _, v := range findVerbs(q) {
		if len(verbs) > 0 && verbs[len(verbs)-1] == v {
			continue
		}
		verbs = append(verbs, v)
	}
	if len(verbs) > 1 && verbs[0] == "SELECT" {
		union := false
		for _, v := range verbs[1:] {
			union = union || v == "UNION"
		}
		verbs = []string{"SELECT"}
		if union {
			verbs = append(verbs, "UNION")
		}
	}
	out := strings.Join(verbs, " ")
	var last string
	for _, t := range tables(q) {
		t = cleanTable(t)
		if t == last {
			continue
		}
		last = t
		out += " " + t
	}
	return strings.TrimSpace(out)
}

var (
	callRE      = regexp.MustCompile(`(?i)\A\s*call\s+(\S+)\(`)
	useRE       = regexp.MustCompile(`\A\s*use\s+`)
	unlockRE    = regexp.MustCompile(`(?i)\A\s*UNLOCK TABLES`)
	xaRE        = regexp.MustCompile(`(?i)\A\s*xa\s+(\S+)`)
	loadRE      = regexp.MustCompile(`(?i)\A\s*LOAD`)
	loadIntoRE  = regexp.MustCompile(`(?i)INTO TABLE\s+(\S+)`)
	showRE      = regexp.MustCompile(`(?i)\A\s*SHOW\s+`)
	showNoiseRE = regexp.MustCompile(`\s+(?:SESSION|FULL|STORAGE|ENGINE)\b`)
	showCountRE = regexp.MustCompile(`\s+COUNT[^)]+\)`)
	showTailRE  = regexp.MustCompile(`(?s)\s+(?:FOR|FROM|LIKE|WHERE|LIMIT|IN)\b.+`)
	showHeadRE  = regexp.MustCompile(`(?s)\A(SHOW(?:\s+\S+){1,2}).*\z`)
	ddlRE       = regexp.MustCompile(`(?i)^\s*(CREATE|ALTER|TRUNCATE|DROP|RENAME)\b`)
	ifExistsRE  = regexp.MustCompile(`(?i)\s+IF(?:\s+NOT)?\s+EXISTS`)
	ddlObjRE    = regexp.MustCompile(`(?i)(CREATE|ALTER|TRUNCATE|DROP|RENAME).+(DATABASE|TABLE)\b`)
	ddlTblRE    = regexp.MustCompile("(?i)(?:TABLE|DATABASE)\\s+((?:`[^`]+`|\\w+)(?:\\.(?:`[^`]+`|\\w+))?)")
	hasLetterRE = regexp.MustCompile(`[a-zA-Z]`)
	digitsRE    = regexp.MustCompile(`(_?)[0-9]+`)
	noiseRE     = regexp.MustCompile(`(?i)(?:LOW_PRIORITY|IGNORE|STRAIGHT_JOIN|DELAYED)\s+`)
	lockRE      = regexp.MustCompile(`(?i)^\s*LOCK TABLES\s+`)
	lockModeRE  = regexp.MustCompile(`(?i)\s+(?:READ(?:\s+LOCAL)?|WRITE)\s*`)
	insNoIntoRE = regexp.MustCompile(`(?i)\A\s*(INSERT|REPLACE)\s+`)
)

func stripComments(q string) string {
	b := stripMultiLineComments(nil, []byte(q))
	return string(stripOneLineComments(nil, b))
}

// anywhereVerbs and startVerbs are pt's $verbs: the first anywhere as a
// word, the second only at the start.
var (
	anywhereVerbs = map[string]bool{"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "REPLACE": true, "UNION": true}
	startVerbs    = map[string]bool{"SHOW": true, "FLUSH": true, "COMMIT": true, "ROLLBACK": true, "BEGIN": true, "SET": true, "START": true, "LOCK": true}
)

// findVerbs is m/\b($verbs)\b/gi, upper-cased.
func findVerbs(q string) []string {
	var out []string
	for i := 0; i < len(q); i++ {
		if !isWord(q[i]) {
			continue
		}
		j := i
		for j < len(q) && isWord(q[j]) {
			j++
		}
		if j-i <= 8 {
			w := strings.ToUpper(q[i:j])
			if anywhereVerbs[w] || (i == 0 && startVerbs[w]) {
				out = append(out, w)
			}
		}
		i = j
	}
	return out
}

// removeNoise is s/(?:LOW_PRIORITY|IGNORE|STRAIGHT_JOIN|DELAYED)\s+/ /ig.
func removeNoise(q string) string {
	up := strings.ToUpper(q)
	if !strings.Contains(up, "IGNORE") && !strings.Contains(up, "LOW_PRIORITY") && !strings.Contains(up, "STRAIGHT_JOIN") && !strings.Contains(up, "DELAYED") {
		return q
	}
	return noiseRE.ReplaceAllString(q, " ")
}

// tables is pt's QueryParser::get_tables, in short: the table lists
// after FROM, JOIN, UPDATE (not ON DUPLICATE KEY UPDATE) and INTO.
func tables(q string) []string {
	q = removeNoise(q)
	if t := strings.TrimLeft(q, " \t\r\n\f\v"); len(t) >= 4 && strings.EqualFold(t[:4], "LOCK") && lockRE.MatchString(q) {
		q = "FROM " + lockModeRE.ReplaceAllString(lockRE.ReplaceAllString(q, ""), "")
	}
	b := stripEscapedQuotes(nil, []byte(q))
	b = replaceQuoted(nil, b, '"')
	q = string(replaceQuoted(nil, b, '\''))
	if m := insNoIntoRE.FindStringSubmatchIndex(q); m != nil && !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(q[m[3]:])), "INTO") {
		q = q[:m[3]] + " INTO " + q[m[1]:]
	}
	b = []byte(q)
	var out []string
	for i := 0; i < len(b); i++ {
		if !isWord(b[i]) || !boundaryBefore(b, i) {
			continue
		}
		j := i
		for j < len(b) && isWord(b[j]) {
			j++
		}
		w := strings.ToUpper(q[i:j])
		kw := w == "FROM" || w == "JOIN" || w == "INTO" || w == "UPDATE"
		if w == "UPDATE" && i >= 4 && isSpace(b[i-1]) && strings.EqualFold(q[i-4:i-1], "KEY") {
			kw = false
		}
		if !kw {
			i = j - 1
			continue
		}
		k := j
		for k < len(b) && isSpace(b[k]) {
			k++
		}
		if k < len(b) && b[k] == '(' {
			k++
		}
		list, end := tableList(b, k)
		i = max(end, j) - 1
		if list == "" || (len(list) >= 6 && strings.EqualFold(list[:6], "SELECT") && (len(list) == 6 || !isWord(list[6]))) {
			continue
		}
		for _, t := range strings.Split(list, ",") {
			t = strings.TrimLeft(t, " \t\r\n\f\v")
			if n := identEnd([]byte(t), 0); n > 0 {
				t = t[:n]
			}
			if hasLetterRE.MatchString(t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// identEnd matches (?:`[^`]+`|\w+)(?:\.(?:`[^`]+`|\w+))? at i and returns
// its end, or -1.
func identEnd(b []byte, i int) int {
	part := func(i int) int {
		if i < len(b) && b[i] == '`' {
			j := bytes.IndexByte(b[i+1:], '`')
			if j <= 0 {
				return -1
			}
			return i + 1 + j + 1
		}
		j := i
		for j < len(b) && isWord(b[j]) {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
	e := part(i)
	if e < 0 {
		return -1
	}
	if e < len(b) && b[e] == '.' {
		if e2 := part(e + 1); e2 > 0 {
			return e2
		}
	}
	return e
}

// tableList matches tbl_ident(?:(?:\s+(?:AS\s+)?\w+)?,\s*tbl_ident)* at i.
func tableList(b []byte, i int) (string, int) {
	e := identEnd(b, i)
	if e < 0 {
		return "", i
	}
	for {
		next := -1
		// With an alias first (greedy), then without.
		for _, withAlias := range []bool{true, false} {
			k := e
			if withAlias {
				s := k
				for s < len(b) && isSpace(b[s]) {
					s++
				}
				if s == k {
					continue
				}
				if s+2 < len(b) && strings.EqualFold(string(b[s:s+2]), "AS") && isSpace(b[s+2]) {
					a := s + 2
					for a < len(b) && isSpace(b[a]) {
						a++
					}
					if w := wordEnd(b, a); w > a && w < len(b) && b[w] == ',' {
						s = a
					}
				}
				w := wordEnd(b, s)
				if w == s {
					continue
				}
				k = w
			}
			if k >= len(b) || b[k] != ',' {
				continue
			}
			k++
			for k < len(b) && isSpace(b[k]) {
				k++
			}
			if e2 := identEnd(b, k); e2 > 0 {
				next = e2
				break
			}
		}
		if next < 0 {
			return string(b[i:e]), e
		}
		e = next
	}
}

func wordEnd(b []byte, i int) int {
	for i < len(b) && isWord(b[i]) {
		i++
	}
	return i
}

func cleanTable(t string) string {
	t = strings.ReplaceAll(t, "`", "")
	return digitsRE.ReplaceAllString(t, "$1?")
}
