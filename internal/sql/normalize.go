package sql

import (
	"sort"
	"strings"
)

// normalized is a MySQL-family statement prepared for the TiDB grammar:
// syntax the grammar lacks (MariaDB's, and a few MySQL forms) is blanked
// out or rewritten. Most edits keep the length, so offsets stay those of
// the statement as written; the few that do not are recorded, and
// origOffset maps an offset of text back.
type normalized struct {
	text      string
	notes     []string
	orReplace bool
	online    bool
	algorithm string         // an ALGORITHM the grammar lacks (NOCOPY)
	types     map[int]string // offset (as written) of a replaced type name -> the type as written
	verb      string         // the verb as written when a rewrite changed it (ALTER VIEW)
	rewritten bool           // some edit changed the text
	shifts    []shift        // length-changing edits, by offset in text

	// selectInto is where a SELECT ... INTO the grammar lacks writes:
	// "variables" (the clause was blanked) or "DUMPFILE" (read as
	// OUTFILE).
	selectInto string
}

// shift records that from offset at (in the normalised text) on, offsets
// are delta bytes further than in the statement as written.
type shift struct{ at, delta int }

// origOffset maps an offset of the normalised text to the statement as
// written.
func (n *normalized) origOffset(off int) int {
	for i := len(n.shifts) - 1; i >= 0; i-- {
		if off >= n.shifts[i].at {
			return max(off-n.shifts[i].delta, 0)
		}
	}
	return off
}

// edit replaces src[from:to] with repl.
type edit struct {
	from, to int
	repl     string
}

type normalizer struct {
	src   string
	d     Dialect
	edits []edit
	toks  []Token
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
	return i >= 0 && i < len(z.toks) && z.toks[i].Kind == Punct && z.src[z.toks[i].Off] == c
}

// blank replaces src[from:to] with spaces, keeping line breaks.
func (z *normalizer) blank(from, to int) {
	if to > len(z.src) {
		to = len(z.src)
	}
	if from >= to {
		return
	}
	b := []byte(z.src[from:to])
	for i := range b {
		if b[i] != '\n' && b[i] != '\r' {
			b[i] = ' '
		}
	}
	z.edits = append(z.edits, edit{from, to, string(b)})
}

func (z *normalizer) blankToks(i, j int) { z.blank(z.toks[i].Off, z.toks[j].End) }

// replace puts repl in place of src[from:to], padded with spaces when it
// is shorter (the length then stays).
func (z *normalizer) replace(from, to int, repl string) {
	if len(repl) < to-from {
		repl += strings.Repeat(" ", to-from-len(repl))
	}
	z.edits = append(z.edits, edit{from, to, repl})
}

func (z *normalizer) note(s string) {
	for _, x := range z.n.notes {
		if x == s {
			return
		}
	}
	z.n.notes = append(z.n.notes, s)
}

// apply builds the normalised text from the edits (later edits of the
// same range lose).
func (z *normalizer) apply() {
	if len(z.edits) == 0 {
		z.n.text = z.src
		return
	}
	sort.SliceStable(z.edits, func(i, j int) bool { return z.edits[i].from < z.edits[j].from })
	var b strings.Builder
	b.Grow(len(z.src) + 16)
	at, delta := 0, 0
	for _, e := range z.edits {
		if e.from < at {
			continue // overlaps an earlier edit
		}
		b.WriteString(z.src[at:e.from])
		b.WriteString(e.repl)
		if d := len(e.repl) - (e.to - e.from); d != 0 {
			delta += d
			z.n.shifts = append(z.n.shifts, shift{at: e.from + (delta - d) + len(e.repl), delta: delta})
		}
		at = e.to
	}
	b.WriteString(z.src[at:])
	z.n.text = b.String()
	z.n.rewritten = true
}

// normalizeMySQL prepares a MySQL-family statement for the TiDB grammar,
// given its tokens and its special comments.
func normalizeMySQL(text string, toks []Token, specials []SpecialComment, d Dialect) normalized {
	mariadb := d == MariaDB
	z := &normalizer{src: text, d: d, toks: toks}
	for _, c := range specials {
		switch {
		case c.Runs && c.Marker != "/*!":
			// A comment this server runs but the grammar does not read
			// as code (/*M! on MariaDB): review the content as code.
			z.blank(c.Open, c.Body)
			if c.Close < len(text) {
				z.blank(c.Close, c.Close+2)
			}
		case !c.Runs && c.Marker != "/*+":
			// A comment this server ignores but the grammar may run
			// (/*T! on MariaDB, /*M! on MySQL): blank it whole.
			end := c.Close + 2
			if c.Close >= len(text) {
				end = len(text)
			}
			z.blank(c.Open, end)
		}
	}
	z.words = make([]string, len(z.toks))
	for i, t := range z.toks {
		if t.Kind == Word {
			z.words[i] = keyword(t.Text(text)) // "" for any other word
		}
	}
	first := z.w(0)
	// query: a statement whose INTO is SELECT's (not INSERT's or LOAD's).
	query := first == "SELECT" || first == "WITH" || first == "TABLE" || first == "VALUES" || z.punct(0, '(')
	ddl := first == "CREATE" || first == "ALTER" || first == "DROP" || first == "TRUNCATE" || first == "RENAME" || first == "OPTIMIZE" || first == "LOCK"
	z.head(first, mariadb)
	z.longNumbers()
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
		case spatialTypes[w] && (first == "CREATE" || first == "ALTER") && z.typePosition(i):
			z.typeAs(i, "BLOB", strings.ToLower(w))
		case first == "SET" && w == "ROW" && z.punct(i-1, '=') && (i+1 == len(z.toks) || z.punct(i+1, ',') || z.punct(i+1, ';')):
			// SET GLOBAL binlog_format = ROW: a keyword the grammar
			// does not take as a value.
			z.replace(z.toks[i].Off, z.toks[i].End, "'ROW'")
		case w == "INTO" && query && z.w(i+1) == "DUMPFILE":
			// SELECT ... INTO DUMPFILE: read as OUTFILE.
			z.replace(z.toks[i+1].Off, z.toks[i+1].End, "OUTFILE")
			z.n.selectInto = "DUMPFILE"
			i++
		case w == "INTO" && query && z.w(i+1) != "OUTFILE" && !intoTarget[z.w(i-1)]:
			// SELECT ... INTO @a, @b (or a routine's variables): the
			// grammar lacks it; blank the clause and remember it.
			if j := z.intoVariables(i + 1); j > i {
				z.blankToks(i, j)
				z.n.selectInto = "variables"
				i = j
			}
		case w == "AS" && depth == 0 && d == MySQL && (first == "INSERT" || first == "REPLACE"):
			// MySQL 8's row alias, INSERT ... VALUES (...) AS new ON
			// DUPLICATE KEY UPDATE a = new.a: the grammar lacks it.
			if j := z.rowAlias(i); j > i {
				z.blankToks(i, j)
				i = j
			}
		case i == 1 && w == "WORK" && (first == "BEGIN" || first == "COMMIT" || first == "ROLLBACK"):
			z.blankToks(i, i)
		case w == "SRID" && (first == "CREATE" || first == "ALTER") && i+1 < len(z.toks) && isNumber(z.toks[i+1].Text(text)):
			// A spatial column's SRID (MySQL 8): not reviewed.
			z.blankToks(i, i+1)
		case w == "FORMAT" && first == "EXPLAIN" && z.punct(i+1, '=') && z.w(i+2) == "TREE":
			z.replace(z.toks[i+2].Off, z.toks[i+2].End, "JSON")
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
		case w == "LIMIT" && depth == 0 && first == "UPDATE" && z.multiTableUpdate() && i+1 < len(z.toks) && isNumber(z.toks[i+1].Text(text)):
			// MariaDB takes LIMIT on a multi-table UPDATE; the grammar
			// (MySQL's) does not.
			z.blankToks(i, i+1)
			z.note("LIMIT of a multi-table UPDATE (MariaDB) not reviewed")
		case w == "RETURNING" && depth == 0 && (first == "DELETE" || first == "INSERT" || first == "REPLACE"):
			z.blank(z.toks[i].Off, len(text))
			z.note("RETURNING clause (MariaDB) not reviewed")
			i = len(z.toks)
		case w == "PERSISTENT" && first != "SELECT":
			z.replace(z.toks[i].Off, z.toks[i].End, "STORED")
		case w == "COMPRESSED" && !z.punct(i-1, '=') && !z.punct(i+1, '='):
			z.blankToks(i, i)
		case (w == "IGNORED") && (first == "CREATE" || first == "ALTER"):
			from := i
			if z.w(i-1) == "NOT" {
				from = i - 1
			}
			z.blankToks(from, i)
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
			z.typeAs(i, "CHAR", strings.ToLower(w))
			z.note(strings.ToLower(w) + " type reviewed as a string type")
		}
	}
	z.apply()
	return z.n
}

// intoTarget are the words before an INTO that is not SELECT's.
var intoTarget = map[string]bool{
	"INSERT": true, "REPLACE": true, "IGNORE": true, "DELAYED": true, "LOW_PRIORITY": true, "HIGH_PRIORITY": true,
}

// intoVariables reads the variable list of SELECT ... INTO from token i:
// @a, @'b', @`c`, or a routine's variables x, y. It returns the last
// token of the list, or -1 when there is none.
func (z *normalizer) intoVariables(i int) int {
	last := -1
	for i < len(z.toks) {
		switch {
		case z.punct(i, '@') && i+1 < len(z.toks) && z.toks[i+1].Kind != Punct:
			i++
		case z.toks[i].Kind == Word && !Reserved(z.d, z.toks[i].Text(z.src)):
		default:
			return last
		}
		last = i
		if !z.punct(i+1, ',') {
			return last
		}
		i += 2
	}
	return last
}

// maxNumberDigits is the most digits a numeric literal may have for the
// TiDB grammar: its value driver panics on a decimal of more than 81
// digits (MariaDB takes them: 0.000... with 150 digits is a number).
const maxNumberDigits = 64

// longNumbers reads a numeric literal of more than maxNumberDigits digits
// (1234...5678.000...) as 1e308: the review does not look at values, and
// the grammar's value driver cannot hold it.
func (z *normalizer) longNumbers() {
	digits := func(i int) bool {
		if i < 0 || i >= len(z.toks) || z.toks[i].Kind != Word {
			return false
		}
		s := z.toks[i].Text(z.src)
		return s[0] >= '0' && s[0] <= '9'
	}
	adjacent := func(i int) bool { return i > 0 && z.toks[i].Off == z.toks[i-1].End }
	for i := 0; i < len(z.toks); i++ {
		start := i
		switch {
		case digits(i) && !(adjacent(i) && z.punct(i-1, '.')):
		case z.punct(i, '.') && digits(i+1) && adjacent(i+1) && !(adjacent(i) && (digits(i-1) || z.toks[i-1].Kind == Word || z.toks[i-1].Kind == QuotedIdent)):
		default:
			continue
		}
		// The literal: digit words and dots, each touching the last.
		n, end := 0, i
		for j := i; j < len(z.toks) && (j == start || adjacent(j)) && (digits(j) || z.punct(j, '.')); j++ {
			if digits(j) {
				n += z.toks[j].End - z.toks[j].Off
			}
			end = j
		}
		if n > maxNumberDigits {
			z.replace(z.toks[start].Off, z.toks[end].End, "1e308")
			z.note("a numeric literal of more than 64 digits was read as a float")
		}
		i = end
	}
}

// multiTableUpdate reports whether an UPDATE names several tables (a
// comma or a JOIN before SET).
func (z *normalizer) multiTableUpdate() bool {
	depth := 0
	for i := 1; i < len(z.toks); i++ {
		switch {
		case z.punct(i, '('):
			depth++
		case z.punct(i, ')'):
			depth--
		case depth > 0:
		case z.words[i] == "SET":
			return false
		case z.punct(i, ',') || z.words[i] == "JOIN":
			return true
		}
	}
	return false
}

// rowAlias reads MySQL's INSERT row alias at token i (AS): AS name [(col,
// ...)] followed by ON DUPLICATE. It returns the alias's last token, or
// -1.
func (z *normalizer) rowAlias(i int) int {
	j := i + 1
	if j >= len(z.toks) || (z.toks[j].Kind != Word && z.toks[j].Kind != QuotedIdent) {
		return -1
	}
	if z.punct(j+1, '(') {
		for j++; j < len(z.toks) && !z.punct(j, ')'); j++ {
		}
	}
	if z.w(j+1) != "ON" || z.w(j+2) != "DUPLICATE" {
		return -1
	}
	return j
}

// spatialTypes are the column types of MySQL and MariaDB's spatial
// extension, which the grammar lacks; the review reads them as BLOB.
var spatialTypes = map[string]bool{
	"GEOMETRY": true, "POINT": true, "LINESTRING": true, "POLYGON": true, "MULTIPOINT": true,
	"MULTILINESTRING": true, "MULTIPOLYGON": true, "GEOMETRYCOLLECTION": true, "GEOMCOLLECTION": true,
}

// typeAs replaces the type name at token i by as, remembering the name as
// written.
func (z *normalizer) typeAs(i int, as, orig string) {
	if z.n.types == nil {
		z.n.types = map[int]string{}
	}
	t := z.toks[i]
	z.n.types[t.Off] = orig
	z.replace(t.Off, t.End, as)
}

// head rewrites statement prefixes: ALTER VIEW, and on MariaDB CREATE OR
// REPLACE, ALTER ONLINE/IGNORE TABLE, SET STATEMENT ... FOR.
func (z *normalizer) head(first string, mariadb bool) {
	switch first {
	case "CREATE":
		if mariadb && z.w(1) == "OR" && z.w(2) == "REPLACE" {
			switch z.w(3) {
			case "TABLE", "TEMPORARY", "SEQUENCE", "DATABASE", "SCHEMA", "INDEX", "UNIQUE", "FULLTEXT", "SPATIAL", "USER", "ROLE", "SERVER":
				z.blankToks(1, 2)
				z.n.orReplace = true
				z.note("CREATE OR REPLACE (MariaDB) drops an existing object of that name")
			}
		}
	case "ALTER":
		if z.alterView() {
			return
		}
		if !mariadb {
			return
		}
		i := 1
		for z.w(i) == "ONLINE" || z.w(i) == "IGNORE" {
			if z.w(i) == "ONLINE" {
				z.n.online = true
			}
			z.blankToks(i, i)
			i++
		}
	case "ANALYZE":
		// MariaDB's ANALYZE <statement> runs it and shows the plan:
		// the grammar's EXPLAIN ANALYZE.
		// (ANALYZE TABLE t is table maintenance, not this.)
		switch z.w(1) {
		case "SELECT", "UPDATE", "DELETE", "INSERT", "REPLACE", "FORMAT", "WITH":
			if mariadb {
				z.replace(z.toks[0].Off, z.toks[0].End, "EXPLAIN ANALYZE")
				z.n.verb = "ANALYZE"
			}
		}
	case "VALUES":
		// MariaDB's VALUES (1, 2), (3, 4): the grammar's VALUES ROW(...).
		if mariadb {
			depth := 0
			for i := 1; i < len(z.toks); i++ {
				switch {
				case z.punct(i, '(') && depth == 0 && (i == 1 || z.punct(i-1, ',')):
					z.edits = append(z.edits, edit{z.toks[i].Off, z.toks[i].Off, "ROW"})
					depth++
				case z.punct(i, '('):
					depth++
				case z.punct(i, ')'):
					depth--
				}
			}
		}
	case "SET":
		if mariadb && z.w(1) == "STATEMENT" {
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

// alterView reads ALTER [ALGORITHM = x] [DEFINER = y] [SQL SECURITY z]
// VIEW as CREATE OR REPLACE ... VIEW, which the grammar has and which
// means the same for a view that exists.
func (z *normalizer) alterView() bool {
	for i := 1; i < len(z.toks) && i < 16; i++ {
		if z.w(i) == "VIEW" {
			z.replace(z.toks[0].Off, z.toks[0].End, "CREATE OR REPLACE")
			z.n.verb = "ALTER VIEW"
			return true
		}
		if z.w(i) == "TABLE" || z.w(i) == "AS" || z.w(i) == "DATABASE" || z.w(i) == "SCHEMA" || z.w(i) == "USER" {
			return false
		}
	}
	return false
}

// typePosition reports whether token i stands where a column type does:
// right after a column name that follows "(", ",", ADD, COLUMN, MODIFY, or
// CHANGE old.
func (z *normalizer) typePosition(i int) bool {
	if z.punct(i+1, '(') || i < 2 {
		return false
	}
	prev := z.toks[i-1]
	if prev.Kind != Word && prev.Kind != QuotedIdent {
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

// mariadbOnly names the MariaDB-only syntax in a statement the grammar
// rejected, or "" when it has none: such a statement needs a DBA, not a
// syntax error.
func mariadbOnly(text string) string {
	toks := Tokens(text, MariaDB)
	for i, t := range toks {
		if t.Kind != Word {
			continue
		}
		w := strings.ToUpper(t.Text(text))
		next := ""
		if i+1 < len(toks) && toks[i+1].Kind == Word {
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
		case w == "CONVERT" && (next == "PARTITION" || next == "TABLE") && i > 2:
			return "partition conversion"
		}
	}
	return ""
}

// grammarGap names the statement type of a MySQL or MariaDB statement
// the grammar rejected when the grammar lacks that statement type
// altogether (administration, replication, XA), or "" when it has it:
// such a statement needs a person, not a syntax error. Its class is the
// lexer's.
func grammarGap(text string, d Dialect) string {
	w := leadWords(text, d, 3)
	at := func(i int) string {
		if i < len(w) {
			return w[i]
		}
		return ""
	}
	switch at(0) {
	case "XA":
		return "XA transactions"
	case "CHECK", "CHECKSUM", "REPAIR":
		if at(1) == "TABLE" || at(1) == "TABLES" {
			return at(0) + " TABLE"
		}
	case "CHANGE":
		if at(1) == "MASTER" || at(1) == "REPLICATION" {
			return "replication"
		}
	case "START", "STOP":
		switch at(1) {
		case "SLAVE", "REPLICA", "ALL", "GROUP_REPLICATION":
			return "replication"
		}
	case "RESET":
		return "RESET"
	case "PURGE":
		return "binary logs"
	case "HANDLER":
		return "HANDLER"
	case "INSTALL", "UNINSTALL":
		return "plugins"
	case "CLONE":
		return "CLONE"
	case "CACHE":
		return "key caches"
	case "LOAD":
		if at(1) == "INDEX" {
			return "key caches"
		}
	case "SHOW":
		return "SHOW " + at(1)
	case "BACKUP":
		return "backup locks"
	case "SIGNAL", "RESIGNAL":
		return "conditions"
	case "GET":
		if at(1) == "DIAGNOSTICS" || at(2) == "DIAGNOSTICS" {
			return "conditions"
		}
	case "SET":
		switch at(1) {
		case "DEFAULT":
			return "SET DEFAULT ROLE"
		case "PERSIST", "PERSIST_ONLY":
			return "SET PERSIST"
		}
	case "CREATE", "ALTER", "DROP":
		if at(1) == "SERVER" || at(2) == "SERVER" {
			return "servers"
		}
	}
	// Constructs inside a statement.
	toks := Tokens(text, d)
	for i, t := range toks {
		if t.Is(text, "JSON_TABLE") && i+1 < len(toks) && text[toks[i+1].Off] == '(' {
			return "JSON_TABLE"
		}
	}
	return ""
}
