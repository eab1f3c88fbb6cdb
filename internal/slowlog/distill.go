package slowlog

import (
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
	for _, m := range verbsRE.FindAllString(q, -1) {
		v := strings.ToUpper(m)
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
	verbsRE     = regexp.MustCompile(`(?i)\b(?:^SHOW|^FLUSH|^COMMIT|^ROLLBACK|^BEGIN|SELECT|INSERT|UPDATE|DELETE|REPLACE|^SET|UNION|^START|^LOCK)\b`)
	mlcRE       = regexp.MustCompile(`(?s)/\*[^!].*?\*/`)
	olcRE       = regexp.MustCompile(`(?:--|#)[^'"\r\n]*(?:\r|\n|\z)`)
	tblIdent    = "(?:`[^`]+`|\\w+)(?:\\.(?:`[^`]+`|\\w+))?"
	tblRE       = regexp.MustCompile(`(?i)\b(FROM|JOIN|UPDATE|INTO)\b\s*\(?(` + tblIdent + `(?:(?:\s+(?:AS\s+)?\w+)?,\s*` + tblIdent + `)*)`)
	tblOneRE    = regexp.MustCompile(`\s*(` + tblIdent + `)(?:\s+.*)?`)
	hasLetterRE = regexp.MustCompile(`[a-zA-Z]`)
	digitsRE    = regexp.MustCompile(`(_?)[0-9]+`)
	quotedRE    = regexp.MustCompile(`(?s)"[^"]*"|'[^']*'`)
	noiseRE     = regexp.MustCompile(`(?i)(?:LOW_PRIORITY|IGNORE|STRAIGHT_JOIN|DELAYED)\s+`)
	lockRE      = regexp.MustCompile(`(?i)^\s*LOCK TABLES\s+`)
	lockModeRE  = regexp.MustCompile(`(?i)\s+(?:READ(?:\s+LOCAL)?|WRITE)\s*`)
	insNoIntoRE = regexp.MustCompile(`(?i)\A\s*(INSERT|REPLACE)\s+`)
)

func stripComments(q string) string {
	q = mlcRE.ReplaceAllString(q, "")
	return olcRE.ReplaceAllStringFunc(q, func(s string) string {
		if n := len(s); n > 0 && (s[n-1] == '\n' || s[n-1] == '\r') {
			return s[n-1:]
		}
		return ""
	})
}

// tables is pt's QueryParser::get_tables, in short.
func tables(q string) []string {
	q = noiseRE.ReplaceAllString(q, " ")
	if lockRE.MatchString(q) {
		q = "FROM " + lockModeRE.ReplaceAllString(lockRE.ReplaceAllString(q, ""), "")
	}
	q = strings.NewReplacer(`\"`, "", `\'`, "").Replace(q)
	q = quotedRE.ReplaceAllString(q, "?")
	if m := insNoIntoRE.FindStringSubmatchIndex(q); m != nil && !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(q[m[3]:])), "INTO") {
		q = q[:m[3]] + " INTO " + q[m[1]:]
	}
	var out []string
	for _, m := range tblRE.FindAllStringSubmatchIndex(q, -1) {
		// (?<!KEY\s)UPDATE: ON DUPLICATE KEY UPDATE names no table.
		if strings.EqualFold(q[m[2]:m[3]], "UPDATE") && m[2] >= 4 && strings.EqualFold(q[m[2]-4:m[2]-1], "KEY") && isSpace(q[m[2]-1]) {
			continue
		}
		list := q[m[4]:m[5]]
		if len(list) >= 6 && strings.EqualFold(list[:6], "SELECT") {
			continue
		}
		for _, t := range strings.Split(list, ",") {
			if sm := tblOneRE.FindStringSubmatch(t); sm != nil {
				t = sm[1]
			}
			if !hasLetterRE.MatchString(t) {
				continue
			}
			out = append(out, t)
		}
	}
	return out
}

func cleanTable(t string) string {
	t = strings.ReplaceAll(t, "`", "")
	return digitsRE.ReplaceAllString(t, "$1?")
}
