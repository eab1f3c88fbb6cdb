package sqlreview

import (
	"strings"

	"github.com/dbfleet/dbfleet/internal/sqltext"
)

// normalized is a MySQL-dialect statement prepared for the MySQL grammar:
// MariaDB-only syntax that the grammar lacks is blanked out or replaced by
// text of the same length, so every byte offset (and so every line and
// column) stays that of the statement as written.
type normalized struct {
	text      string
	notes     []string
	orReplace bool
	online    bool
	algorithm string         // an ALGORITHM the grammar lacks (NOCOPY)
	types     map[int]string // offset of a replaced type name -> the type as written
}

type normalizer struct {
	src   string
	b     []byte
	toks  []sqltext.Token
	n     normalized
	words []string // upper-cased word of each token ("" for non-words)
}

func (z *normalizer) w(i int) string {
	if i < 0 || i >= len(z.toks) {
		return ""
	}
	return z.words[i]
}

func (z *normalizer) punct(i int, c byte) bool {
	return i >= 0 && i < len(z.toks) && z.toks[i].Kind == sqltext.Punct && z.src[z.toks[i].Off] == c
}

// blank replaces src[from:to] with spaces, keeping line breaks.
func (z *normalizer) blank(from, to int) {
	for i := from; i < to && i < len(z.b); i++ {
		if z.b[i] != '\n' && z.b[i] != '\r' {
			z.b[i] = ' '
		}
	}
}

func (z *normalizer) blankToks(i, j int) { z.blank(z.toks[i].Off, z.toks[j].End) }

func (z *normalizer) note(s string) {
	for _, x := range z.n.notes {
		if x == s {
			return
		}
	}
	z.n.notes = append(z.n.notes, s)
}

// normalizeMySQL prepares text for the MySQL grammar. mariadb enables the
// MariaDB-only rewrites; the rest (INVISIBLE columns, SPATIAL indexes) is
// MySQL syntax the grammar lacks too.
func normalizeMySQL(text string, toks []sqltext.Token, mariadb bool) normalized {
	z := &normalizer{src: text, b: []byte(text)}
	if mariadb {
		for _, c := range sqltext.ExecComments(text) {
			if c.MariaDB { // MariaDB runs the content: review it as code
				z.blank(c.Open, c.Body)
				if c.Close < len(text) {
					z.blank(c.Close, c.Close+2)
				}
			}
		}
	}
	z.toks = toks
	z.words = make([]string, len(z.toks))
	for i, t := range z.toks {
		if t.Kind == sqltext.Word {
			z.words[i] = strings.ToUpper(t.Text(text))
		}
	}
	first := z.w(0)
	ddl := first == "CREATE" || first == "ALTER" || first == "DROP" || first == "TRUNCATE" || first == "RENAME" || first == "OPTIMIZE" || first == "LOCK"
	if mariadb {
		z.mariadbHead(first)
	}
	depth := 0
	for i := 0; i < len(z.toks); i++ {
		switch {
		case z.punct(i, '('):
			depth++
			continue
		case z.punct(i, ')'):
			depth--
			continue
		}
		w := z.words[i]
		if w == "" {
			continue
		}
		switch {
		case w == "INVISIBLE" && !z.punct(i-1, '='):
			z.blankToks(i, i)
			z.note("INVISIBLE attribute ignored by the review")
		case w == "SPATIAL" && (z.w(i+1) == "INDEX" || z.w(i+1) == "KEY"):
			z.blankToks(i, i)
			z.note("SPATIAL index reviewed as a plain index")
		case !mariadb:
		case ddl && w == "NOWAIT":
			z.blankToks(i, i)
		case ddl && w == "WAIT" && i+1 < len(z.toks) && isNumber(z.toks[i+1].Text(text)):
			z.blankToks(i, i+1)
		case (w == "WITH" || w == "WITHOUT") && z.w(i+1) == "SYSTEM" && z.w(i+2) == "VERSIONING":
			z.blankToks(i, i+2)
			z.note("system versioning (MariaDB) is not reviewed by rules")
		case w == "GENERATED" && z.w(i+1) == "ALWAYS" && z.w(i+2) == "AS" && z.w(i+3) == "ROW" && (z.w(i+4) == "START" || z.w(i+4) == "END"):
			z.blankToks(i, i+4)
		case w == "PERIOD" && z.w(i+1) == "FOR" && first == "CREATE":
			j := i + 2
			for j < len(z.toks) && !z.punct(j, ')') {
				j++
			}
			if j < len(z.toks) {
				from := i
				if z.punct(i-1, ',') {
					from = i - 1
				}
				z.blankToks(from, j)
				z.note("PERIOD FOR (MariaDB) is not reviewed by rules")
			}
		case w == "WITHOUT" && z.w(i+1) == "OVERLAPS":
			z.blankToks(i, i+1)
		case w == "RETURNING" && depth == 0 && (first == "DELETE" || first == "INSERT" || first == "REPLACE"):
			z.blank(z.toks[i].Off, len(text))
			z.note("RETURNING clause (MariaDB) not reviewed")
			i = len(z.toks)
		case w == "PERSISTENT" && first != "SELECT":
			copy(z.b[z.toks[i].Off:], "STORED    ")
		case w == "COMPRESSED" && !z.punct(i-1, '=') && !z.punct(i+1, '='):
			z.blankToks(i, i)
		case (w == "IGNORED") && (first == "CREATE" || first == "ALTER"):
			to := i
			from := i
			if z.w(i-1) == "NOT" {
				from = i - 1
			}
			z.blankToks(from, to)
		case w == "ALGORITHM" && (first == "ALTER" || first == "CREATE" || first == "DROP"):
			j := i + 1
			if z.punct(j, '=') {
				j++
			}
			if v := z.w(j); v == "NOCOPY" {
				z.n.algorithm = v
				from, to := i, j
				if z.punct(i-1, ',') {
					from = i - 1
				} else if z.punct(j+1, ',') {
					to = j + 1
				}
				z.blankToks(from, to)
			}
		case (w == "UUID" || w == "INET6" || w == "INET4") && (first == "CREATE" || first == "ALTER") && z.typePosition(i):
			if z.n.types == nil {
				z.n.types = map[int]string{}
			}
			off := z.toks[i].Off
			z.n.types[off] = strings.ToLower(w)
			copy(z.b[off:], "CHAR")
			z.blank(off+4, z.toks[i].End)
			z.note(strings.ToLower(w) + " type reviewed as a string type")
		}
	}
	z.n.text = string(z.b)
	return z.n
}

// mariadbHead rewrites statement prefixes: CREATE OR REPLACE, ALTER
// ONLINE/IGNORE TABLE, SET STATEMENT ... FOR.
func (z *normalizer) mariadbHead(first string) {
	switch first {
	case "CREATE":
		if z.w(1) == "OR" && z.w(2) == "REPLACE" {
			switch z.w(3) {
			case "TABLE", "TEMPORARY", "SEQUENCE", "DATABASE", "SCHEMA", "INDEX", "UNIQUE", "FULLTEXT", "SPATIAL", "USER", "ROLE", "SERVER":
				z.blankToks(1, 2)
				z.n.orReplace = true
				z.note("CREATE OR REPLACE (MariaDB) drops an existing object of that name")
			}
		}
	case "ALTER":
		i := 1
		for z.w(i) == "ONLINE" || z.w(i) == "IGNORE" {
			if z.w(i) == "ONLINE" {
				z.n.online = true
			}
			z.blankToks(i, i)
			i++
		}
	case "SET":
		if z.w(1) == "STATEMENT" {
			depth := 0
			for i := 2; i < len(z.toks); i++ {
				switch {
				case z.punct(i, '('):
					depth++
				case z.punct(i, ')'):
					depth--
				case depth == 0 && z.w(i) == "FOR":
					z.blankToks(0, i)
					z.note("SET STATEMENT ... FOR prefix (MariaDB) not reviewed")
					return
				}
			}
		}
	}
}

// typePosition reports whether token i stands where a column type does:
// right after a column name that follows "(", ",", ADD, COLUMN, MODIFY, or
// CHANGE old.
func (z *normalizer) typePosition(i int) bool {
	if z.punct(i+1, '(') || i < 2 {
		return false
	}
	prev := z.toks[i-1]
	if prev.Kind != sqltext.Word && prev.Kind != sqltext.QuotedIdent {
		return false
	}
	switch pp := z.w(i - 2); {
	case z.punct(i-2, '(') || z.punct(i-2, ','):
		return true
	case pp == "ADD" || pp == "COLUMN" || pp == "MODIFY" || pp == "EXISTS":
		return true
	}
	return z.w(i-3) == "CHANGE" || z.w(i-3) == "COLUMN" || z.w(i-3) == "EXISTS"
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// mariadbOnly names the MariaDB-only syntax in a statement the MySQL
// grammar rejected, or "" when it has none: such a statement needs a DBA,
// not a syntax error.
func mariadbOnly(text string) string {
	toks := sqltext.Tokens(text, sqltext.MySQL)
	for i, t := range toks {
		if t.Kind != sqltext.Word {
			continue
		}
		w := strings.ToUpper(t.Text(text))
		next := ""
		if i+1 < len(toks) && toks[i+1].Kind == sqltext.Word {
			next = strings.ToUpper(toks[i+1].Text(text))
		}
		switch {
		case w == "SYSTEM_TIME" || w == "VERSIONING":
			return "system-versioned tables"
		case w == "PERIOD" && next == "FOR", w == "OVERLAPS":
			return "application-time periods"
		case w == "DELETE" && next == "HISTORY":
			return "DELETE HISTORY"
		case w == "EXECUTE" && next == "IMMEDIATE":
			return "EXECUTE IMMEDIATE"
		case w == "PACKAGE":
			return "packages"
		case w == "SETVAL" || w == "LASTVAL" || w == "NEXTVAL" || w == "SEQUENCE":
			return "sequences"
		case w == "ROWNUM" || w == "ROWTYPE" || (w == "TYPE" && next == "OF"):
			return "Oracle-compatibility syntax"
		case w == "VECTOR" || w == "XMLTYPE" || w == "INET4" || w == "INET6" || w == "UUID":
			return "MariaDB data types"
		case w == "IGNORED" || w == "NOCOPY" || w == "NOWAIT" || w == "WAIT" || w == "RETURNING" || w == "PERSISTENT" || w == "COMPRESSED":
			return "MariaDB-only clause " + w
		case w == "OR" && next == "REPLACE":
			return "CREATE OR REPLACE"
		case w == "MINUS" || w == "EXCEPT" || w == "INTERSECT":
			return "set operators"
		}
	}
	return ""
}
