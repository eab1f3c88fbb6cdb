package slowlog

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Numeric attributes of an event, in pt-query-digest's report order.
const (
	AttrQueryTime = iota
	AttrLockTime
	AttrRowsSent
	AttrRowsExamined
	AttrRowsAffected
	AttrRowsRead
	AttrBytesSent
	AttrMergePasses
	AttrTmpTables
	AttrTmpDiskTables
	AttrTmpTableSizes
	AttrQuerySize // "bytes": the length of the query text
	numAttrs
)

// numAttrNames are the slow-log names of the numeric attributes.
var numAttrNames = [numAttrs]string{
	"Query_time", "Lock_time", "Rows_sent", "Rows_examined", "Rows_affected", "Rows_read",
	"Bytes_sent", "Merge_passes", "Tmp_tables", "Tmp_disk_tables", "Tmp_table_sizes", "bytes",
}

// Yes/No attributes (MariaDB log_slow_verbosity=query_plan, Percona Server).
const (
	BoolQCHit = iota
	BoolFullScan
	BoolFullJoin
	BoolTmpTable
	BoolTmpTableOnDisk
	BoolFilesort
	BoolFilesortOnDisk
	BoolPriorityQueue
	numBools
)

var boolAttrNames = [numBools]string{
	"QC_hit", "Full_scan", "Full_join", "Tmp_table", "Tmp_table_on_disk", "Filesort", "Filesort_on_disk", "Priority_queue",
}

// Event is one slow-log entry as pt-query-digest's SlowLogParser sees it.
// Byte slices point into the parser's input and are valid only until the
// next call to next.
type Event struct {
	// Arg is the statement text (pt's "arg"); Admin reports an
	// "administrator command:" event.
	Arg   []byte
	Admin bool
	// TS is the raw value of the event's own "# Time:" line.
	TS []byte
	// User and Host from "# User@Host:" (Host falls back to the IP).
	User, Host []byte
	// DB is the event's own database: a "use db;" line, else its Schema.
	DB    []byte
	HasDB bool
	// Timestamp is "SET timestamp=N" (Unix seconds, the statement start).
	Timestamp    int64
	HasTimestamp bool
	// timestampNum is N as read, before conversion (checkEvent refuses
	// what int64 microseconds cannot hold).
	timestampNum float64
	// Offset is pt's pos_in_log: where in its file the event was read.
	Offset int64

	Num     [numAttrs]float64
	HasNum  uint32 // bit i: Num[i] is set
	Bool    [numBools]bool
	HasBool uint16

	tsFull    []byte
	schema    []byte
	hasSchema bool
	useDB     []byte
	hasUse    bool
}

func (e *Event) reset() { *e = Event{} }

func (e *Event) setNum(a int, v float64) {
	e.Num[a] = v
	e.HasNum |= 1 << a
}

func (e *Event) setTimestamp(v float64) {
	e.Timestamp, e.timestampNum, e.HasTimestamp = unixSeconds(v), v, true
}

// Has reports whether numeric attribute a is set.
func (e *Event) Has(a int) bool { return e.HasNum&(1<<a) != 0 }

var (
	sepEvent = []byte(";\n#")
	sepLine  = []byte(";\n")
)

// parser reads events from one block of a slow log the way pt-query-digest
// 3.x does: records end with ";\n#" ($INPUT_RECORD_SEPARATOR), header
// lines of a (re)started server are dropped, a record's leading "#" lines,
// "use" and "SET timestamp" lines are metadata, and the first other line
// starts the statement, which runs to the end of the record.
type parser struct {
	data []byte
	pos  int
	// final is set when data ends where the file ends; otherwise the next
	// block starts with an event's "# Time:" (or "# User@Host:") line.
	final bool
	base  int64 // file offset of data[0]
	// pending are records split off a record (pt's $self->{pending}),
	// with their offsets in data (-1: already free of header lines).
	pending    [][]byte
	pendingOff []int
	// hdr are the offsets in data where a header line might be: only
	// records around them are searched for header lines.
	hdr     []int
	hdrDone bool
	scratch []byte
	// lookedPastEnd is set when a record without a statement ended the
	// data, so that pt would have read on into what follows.
	lookedPastEnd bool
}

func (p *parser) tell() int64 { return p.base + int64(p.pos) }

// nextRecord is <$fh> with $/ = sep: up to and including the next sep, or
// the rest at the end of the data.
func (p *parser) nextRecord(sep []byte) (rec []byte, start int, ok bool) {
	if p.pos >= len(p.data) {
		return nil, 0, false
	}
	start = p.pos
	if i := bytes.Index(p.data[p.pos:], sep); i >= 0 {
		p.pos += i + len(sep)
	} else {
		p.pos = len(p.data)
	}
	return p.data[start:p.pos], start, true
}

// next parses the next event into ev (pt's parse_event). It returns false
// at the end of the data.
func (p *parser) next(ev *Event) bool {
	if p.pos == 0 && p.base > 0 && len(p.data) > 0 && p.data[0] == '#' {
		// A block after the first starts where pt's previous record ended
		// with ";\n#": that "#" is already consumed.
		p.pos = 1
	}
	posInLog := p.tell()
	for {
		var stmt []byte
		fromFile := false
		var start, off int
		if len(p.pending) > 0 {
			stmt, off = p.pending[0], p.pendingOff[0]
			p.pending, p.pendingOff = p.pending[1:], p.pendingOff[1:]
		} else {
			var ok bool
			stmt, start, ok = p.nextRecord(sepEvent)
			if !ok {
				p.pending, p.pendingOff = nil, nil
				return false
			}
			fromFile = true
			off = start
		}
		ev.reset()
		ev.Offset = posInLog
		posInLog = p.tell()

		if off >= 0 && p.mayHaveHeader(off, len(stmt)) && findHeaderLine(stmt, 0) >= 0 {
			stmt = removeHeaderLines(stmt)
			if chunks := perlSplit(stmt, sepEvent); len(chunks) > 1 {
				stmt = chunks[0]
				offs := make([]int, len(chunks)-1)
				for i := range offs {
					offs[i] = -1
				}
				p.pending = append(append([][]byte{}, chunks[1:]...), p.pending...)
				p.pendingOff = append(offs, p.pendingOff...)
			}
			fromFile = false
		}
		// $stmt = '#' . $stmt unless $stmt =~ m/\A#/;
		if len(stmt) == 0 || stmt[0] != '#' {
			if fromFile && start > 0 && p.data[start-1] == '#' {
				stmt = p.data[start-1 : start+len(stmt)]
			} else {
				p.scratch = append(append(p.scratch[:0], '#'), stmt...)
				stmt = p.scratch
			}
		}
		stmt = stripRecordEnd(stmt)
		if p.parseLines(ev, stmt) {
			return true
		}
		// next EVENT: a record of metadata only at the end of the input.
	}
}

// parseLines is the LINE loop of parse_event. It returns false for pt's
// "next EVENT" (drop the record and read on).
func (p *parser) parseLines(ev *Event, stmt []byte) bool {
	var gotTS, gotUH, gotAC, gotDB, gotSet, foundArg bool
	for ls := 0; ls < len(stmt); {
		le := ls + bytes.IndexByte(stmt[ls:], '\n')
		if le < ls {
			le = len(stmt)
		}
		line := stmt[ls:le]
		if !isMetaLine(line) {
			ev.Arg = stmt[ls:]
			ev.setNum(AttrQuerySize, float64(len(ev.Arg)))
			return true
		}
		switch {
		case !gotTS && parseTimeLine(line, ev):
			gotTS = true
			if !gotUH && p.parseUserHost(line, ev) {
				gotUH = true
			}
		case !gotUH && p.parseUserHost(line, ev):
			gotUH = true
		case !gotAC && bytes.HasPrefix(line, []byte("# administrator command:")):
			ev.Admin = true
			i := 1
			for i < len(line) && isSpace(line[i]) {
				i++
			}
			ev.Arg = line[i:]
			ev.setNum(AttrQuerySize, float64(len(ev.Arg)))
			foundArg, gotAC = true, true
		case isPropertyLine(line):
			parseProperties(line, ev)
		case !gotDB && bytes.HasPrefix(line, []byte("use ")) && len(line) > 4 && line[4] != ';':
			e := 4
			for e < len(line) && line[e] != ';' {
				e++
			}
			ev.useDB, ev.hasUse = line[4:e], true
			gotDB = true
		case !gotSet && isSetLine(line):
			parseSetLine(line, ev)
			gotSet = true
		}
		if !foundArg && le == len(stmt) {
			// The record ended without a statement: pt reads the next
			// ";\n"-terminated piece of the file to decide.
			l, _, ok := p.nextRecord(sepLine)
			if !ok {
				if !p.final {
					// The next block starts with a "# Time:" line, which
					// pt would take for a NULL query before it.
					p.lookedPastEnd = true
					ev.Arg = []byte("/* No query */")
					ev.setNum(AttrQuerySize, 0)
					return true
				}
				return false
			}
			if startsWithAttr(l) {
				rest, _, _ := p.nextRecord(sepEvent)
				// l and rest are adjacent in the data.
				whole := l
				if len(rest) > 0 {
					whole = l[:len(l)+len(rest)]
				}
				p.pending = append(p.pending, whole)
				p.pendingOff = append(p.pendingOff, p.pos-len(whole))
				ev.Arg = []byte("/* No query */")
				ev.setNum(AttrQuerySize, 0)
				return true
			}
			l = bytes.TrimSuffix(l, sepLine)
			i := 0
			for i < len(l) && isSpace(l[i]) {
				i++
			}
			ev.Admin = true
			ev.Arg = l[i:]
			ev.setNum(AttrQuerySize, float64(len(ev.Arg)))
			return true
		}
		if le >= len(stmt) {
			break
		}
		ls = le + 1
	}
	return true // a partial event without a statement
}

// isMetaLine is m/^(?:#|use |SET (?:last_insert_id|insert_id|timestamp))/.
func isMetaLine(line []byte) bool {
	if len(line) == 0 {
		return false
	}
	switch line[0] {
	case '#':
		return true
	case 'u':
		return bytes.HasPrefix(line, []byte("use "))
	case 'S':
		return bytes.HasPrefix(line, []byte("SET timestamp")) || bytes.HasPrefix(line, []byte("SET insert_id")) ||
			bytes.HasPrefix(line, []byte("SET last_insert_id"))
	}
	return false
}

// isSetLine is m/^SET\s+([^;]*)/ (on a line already known to be metadata).
func isSetLine(line []byte) bool {
	return len(line) > 4 && bytes.HasPrefix(line, []byte("SET")) && isSpace(line[3])
}

// parseSetLine reads "SET timestamp=N" the way pt splits the settings:
// split(/,|\s*=\s*/, $setting) taken as key/value pairs.
func parseSetLine(line []byte, ev *Event) {
	i := 3
	for i < len(line) && isSpace(line[i]) {
		i++
	}
	s := line[i:]
	if e := bytes.IndexByte(s, ';'); e >= 0 {
		s = s[:e]
	}
	// The usual line: "SET timestamp=1700000000;".
	if rest, ok := bytes.CutPrefix(s, []byte("timestamp=")); ok && len(rest) > 0 {
		allDigits := true
		for _, c := range rest {
			if !isDigit(c) {
				allDigits = false
				break
			}
		}
		if allDigits {
			if v, ok := parseNumber(rest); ok {
				ev.setTimestamp(v)
			}
			return
		}
	}
	var buf [16][]byte
	fields := buf[:0]
	last := 0
	for j := 0; j < len(s); {
		if s[j] == ',' {
			fields = append(fields, s[last:j])
			j++
			last = j
			continue
		}
		if s[j] == '=' || isSpace(s[j]) {
			k := j
			for k < len(s) && isSpace(s[k]) {
				k++
			}
			if k < len(s) && s[k] == '=' {
				k++
				for k < len(s) && isSpace(s[k]) {
					k++
				}
				fields = append(fields, s[last:j])
				j, last = k, k
				continue
			}
		}
		j++
	}
	fields = append(fields, s[last:])
	for len(fields) > 0 && len(fields[len(fields)-1]) == 0 {
		fields = fields[:len(fields)-1]
	}
	for k := 0; k+1 < len(fields); k += 2 {
		if string(fields[k]) == "timestamp" {
			if v, ok := parseNumber(fields[k+1]); ok {
				ev.setTimestamp(v)
			}
		}
	}
}

// startsWithAttr is m/^\s*[A-Z][a-z_]+: /.
func startsWithAttr(l []byte) bool {
	i := 0
	for i < len(l) && isSpace(l[i]) {
		i++
	}
	if i >= len(l) || l[i] < 'A' || l[i] > 'Z' {
		return false
	}
	j := i + 1
	for j < len(l) && (l[j] >= 'a' && l[j] <= 'z' || l[j] == '_') {
		j++
	}
	return j > i+1 && j+1 < len(l) && l[j] == ':' && l[j+1] == ' '
}

// parseTimeLine is m/^# Time: ((?:[0-9: ]{15})|(?:[-0-9: T]{19}))/.
func parseTimeLine(line []byte, ev *Event) bool {
	const pfx = "# Time: "
	if len(line) < len(pfx)+15 || !bytes.HasPrefix(line, []byte(pfx)) {
		return false
	}
	v := line[len(pfx):]
	ok := true
	for _, c := range v[:15] {
		if !(isDigit(c) || c == ':' || c == ' ') {
			ok = false
			break
		}
	}
	if ok {
		ev.TS, ev.tsFull = v[:15], v[:15]
		return true
	}
	if len(v) < 19 {
		return false
	}
	for _, c := range v[:19] {
		if !(isDigit(c) || c == '-' || c == ':' || c == ' ' || c == 'T') {
			return false
		}
	}
	// pt keeps 19 characters; ParseTS also wants the fraction and zone.
	e := 19
	for e < len(v) && (isDigit(v[e]) || v[e] == '.' || v[e] == 'Z' || v[e] == '+' || v[e] == ':') {
		e++
	}
	ev.TS, ev.tsFull = v[:19], v[:e]
	return true
}

// ParseTS converts a "# Time:" value to Unix microseconds: MySQL 5 and
// MariaDB "YYMMDD HH:MM:SS" in loc, MySQL 5.7+ "YYYY-MM-DDTHH:MM:SS[.ffffff]Z"
// (UTC when it ends in Z, else loc).
func ParseTS(ts []byte, loc *time.Location) (int64, bool) {
	if len(ts) >= 15 && ts[6] == ' ' {
		// YYMMDD +H:MM:SS (the hour may be space-padded).
		d := ts[:6]
		for _, c := range d {
			if !isDigit(c) {
				return 0, false
			}
		}
		rest := bytes.TrimLeft(ts[6:], " ")
		h, m, s, ok := parseHMS(rest)
		if !ok {
			return 0, false
		}
		y := 2000 + int(d[0]-'0')*10 + int(d[1]-'0')
		mo := time.Month(int(d[2]-'0')*10 + int(d[3]-'0'))
		dd := int(d[4]-'0')*10 + int(d[5]-'0')
		return time.Date(y, mo, dd, h, m, s, 0, loc).UnixMicro(), true
	}
	if len(ts) >= 19 && ts[4] == '-' && ts[7] == '-' {
		l := loc
		if ts[len(ts)-1] == 'Z' {
			l = time.UTC
			ts = ts[:len(ts)-1]
		}
		layout := "2006-01-02T15:04:05"
		if ts[10] == ' ' {
			layout = "2006-01-02 15:04:05"
		}
		if len(ts) > 19 && ts[19] == '.' {
			layout += ".999999999"
		}
		t, err := time.ParseInLocation(layout, string(ts), l)
		if err != nil {
			return 0, false
		}
		return t.UnixMicro(), true
	}
	return 0, false
}

func parseHMS(b []byte) (h, m, s int, ok bool) {
	var parts [3]int
	k := 0
	n, digits := 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == ':' {
			if digits == 0 || k > 2 {
				return 0, 0, 0, false
			}
			parts[k] = n
			k++
			n, digits = 0, 0
			continue
		}
		if !isDigit(b[i]) {
			break
		}
		n = n*10 + int(b[i]-'0')
		digits++
		if i == len(b)-1 && k == 2 {
			parts[2] = n
			k = 3
			break
		}
	}
	if k != 3 {
		return 0, 0, 0, false
	}
	return parts[0], parts[1], parts[2], true
}

var (
	userHostPrefix = []byte("# User@Host: ")
	// slow_log_uh_line with Perl's \s (which includes \v) spelled out.
	userHostRE = regexp.MustCompile(`# User@Host: ([^\[]+|\[[^\[]+\]).*?@ ([^\t\n\v\f\r ]*) \[(.*)\][\t\n\v\f\r ]*(?:Id:[\t\n\v\f\r ]*(\d+))?`)
)

// parseUserHost is pt's slow_log_uh_line match: a fast path for the usual
// "# User@Host: user[user] @ host [ip]" shape, the regular expression
// otherwise.
func (p *parser) parseUserHost(line []byte, ev *Event) bool {
	if bytes.HasPrefix(line, userHostPrefix) {
		rest := line[len(userHostPrefix):]
		if b := bytes.IndexByte(rest, '['); b > 0 {
			user := rest[:b]
			if at := bytes.Index(rest[b:], []byte("@ ")); at >= 0 {
				h := b + at + 2
				he := h
				for he < len(rest) && !isSpace(rest[he]) {
					he++
				}
				if he+1 < len(rest) && rest[he] == ' ' && rest[he+1] == '[' {
					if cl := bytes.LastIndexByte(rest, ']'); cl > he+1 {
						ev.User = user
						ev.Host = rest[h:he]
						if len(ev.Host) == 0 {
							ev.Host = rest[he+2 : cl]
						}
						return true
					}
				}
			}
		}
	}
	if !bytes.Contains(line, userHostPrefix[2:]) {
		return false
	}
	m := userHostRE.FindSubmatchIndex(line)
	if m == nil {
		return false
	}
	ev.User = line[m[2]:m[3]]
	ev.Host = line[m[4]:m[5]]
	if len(ev.Host) == 0 {
		ev.Host = line[m[6]:m[7]]
	}
	return true
}

// isPropertyLine is m/^# +[A-Z][A-Za-z_]+: \S+/.
func isPropertyLine(line []byte) bool {
	if len(line) < 2 || line[0] != '#' || line[1] != ' ' {
		return false
	}
	i := 1
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if i >= len(line) || line[i] < 'A' || line[i] > 'Z' {
		return false
	}
	j := i + 1
	for j < len(line) && (line[j] >= 'a' && line[j] <= 'z' || line[j] >= 'A' && line[j] <= 'Z' || line[j] == '_') {
		j++
	}
	return j > i+1 && j+2 < len(line) && line[j] == ':' && line[j+1] == ' ' && !isSpace(line[j+2])
}

// parseProperties takes the "Key: value" pairs of a property line:
// m/(\w+):\s+(\S+|\Z)/g, after pt drops an empty "Schema:".
func parseProperties(line []byte, ev *Event) {
	// if ( $line =~ m/Schema:\s+\w+: / ) { $line =~ s/Schema:\s+//; }
	if k := bytes.Index(line, []byte("Schema:")); k >= 0 {
		j := k + 7
		for j < len(line) && isSpace(line[j]) {
			j++
		}
		if j > k+7 {
			w := j
			for w < len(line) && isWord(line[w]) {
				w++
			}
			if w > j && w+1 < len(line) && line[w] == ':' && line[w+1] == ' ' {
				// Empty schema: drop "Schema:\s+" (in a copy: line points
				// into the input).
				cp := make([]byte, 0, len(line))
				cp = append(append(cp, line[:k]...), line[j:]...)
				line = cp
			}
		}
	}
	for i := 0; i < len(line); {
		if !isWord(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && isWord(line[j]) {
			j++
		}
		if j+1 >= len(line) || line[j] != ':' || !isSpace(line[j+1]) {
			i = j
			continue
		}
		k := j + 1
		for k < len(line) && isSpace(line[k]) {
			k++
		}
		v := k
		for v < len(line) && !isSpace(line[v]) {
			v++
		}
		setProperty(ev, line[i:j], line[k:v])
		i = v
	}
}

func setProperty(ev *Event, key, val []byte) {
	var a int
	switch string(key) {
	case "Query_time":
		a = AttrQueryTime
	case "Lock_time":
		a = AttrLockTime
	case "Rows_sent":
		a = AttrRowsSent
	case "Rows_examined":
		a = AttrRowsExamined
	case "Rows_affected":
		a = AttrRowsAffected
	case "Rows_read":
		a = AttrRowsRead
	case "Bytes_sent":
		a = AttrBytesSent
	case "Merge_passes":
		a = AttrMergePasses
	case "Tmp_tables":
		a = AttrTmpTables
	case "Tmp_disk_tables":
		a = AttrTmpDiskTables
	case "Tmp_table_sizes":
		a = AttrTmpTableSizes
	case "Schema":
		ev.schema, ev.hasSchema = val, true
		return
	case "QC_hit":
		setBool(ev, BoolQCHit, val)
		return
	case "Full_scan":
		setBool(ev, BoolFullScan, val)
		return
	case "Full_join":
		setBool(ev, BoolFullJoin, val)
		return
	case "Tmp_table":
		setBool(ev, BoolTmpTable, val)
		return
	case "Tmp_table_on_disk":
		setBool(ev, BoolTmpTableOnDisk, val)
		return
	case "Filesort":
		setBool(ev, BoolFilesort, val)
		return
	case "Filesort_on_disk":
		setBool(ev, BoolFilesortOnDisk, val)
		return
	case "Priority_queue":
		setBool(ev, BoolPriorityQueue, val)
		return
	default:
		return
	}
	v, ok := parseNumber(val)
	if !ok {
		if a != AttrQueryTime {
			return
		}
		v = 0
	}
	ev.setNum(a, v)
}

func setBool(ev *Event, b int, val []byte) {
	ev.Bool[b] = string(val) == "Yes"
	ev.HasBool |= 1 << b
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseNumber reads the leading decimal number of b the way Perl numifies
// a string ([+-]?digits[.digits][e[+-]digits]); it reports false when b
// does not start with one. Up to 15 significant digits the result is one
// exact division, so correctly rounded like strconv.ParseFloat.
func parseNumber(b []byte) (float64, bool) {
	i := 0
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		i++
	}
	var mant uint64
	sig, frac, nd := 0, 0, 0
	for ; i < len(b) && isDigit(b[i]); i++ {
		mant = mant*10 + uint64(b[i]-'0')
		if mant != 0 {
			sig++
		}
		nd++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for ; i < len(b) && isDigit(b[i]); i++ {
			mant = mant*10 + uint64(b[i]-'0')
			if mant != 0 {
				sig++
			}
			frac++
			nd++
		}
	}
	if nd == 0 {
		return 0, false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		e := i + 1
		if e < len(b) && (b[e] == '-' || b[e] == '+') {
			e++
		}
		if e < len(b) && isDigit(b[e]) {
			for e < len(b) && isDigit(b[e]) {
				e++
			}
			i = e
			sig = 99 // take the slow path
		}
	}
	if sig > 15 || frac >= len(pow10) {
		v, err := strconv.ParseFloat(string(b[:i]), 64)
		if err != nil && v == 0 {
			return 0, false
		}
		return v, true
	}
	v := float64(mant) / pow10[frac]
	if b[0] == '-' {
		v = -v
	}
	return v, true
}

// mayHaveHeader reports whether data[off:off+n] may hold a line of the
// header a server writes when it opens its slow log (pt's
// $slow_log_hd_line): every such line contains "ort:", "mysqld," or
// "Command", which the parser looks for once in all its data.
func (p *parser) mayHaveHeader(off, n int) bool {
	if !p.hdrDone {
		p.hdrDone = true
		for _, pat := range [][]byte{[]byte("ort:"), []byte("mysqld,"), []byte("Command")} {
			for i := 0; ; {
				j := bytes.Index(p.data[i:], pat)
				if j < 0 {
					break
				}
				p.hdr = append(p.hdr, i+j)
				i += j + 1
			}
		}
		slices.Sort(p.hdr)
	}
	k, _ := slices.BinarySearch(p.hdr, off)
	return k < len(p.hdr) && p.hdr[k] < off+n
}

// findHeaderLine returns the start of the first header line at or after
// from, or -1. A header line matches, at a line start and up to its
// newline,
//
//	T[cC][pP]\s[pP]ort:\s+\d+ | [/A-Z].*mysqld,\sVersion.*(?:started\swith:|embedded\slibrary) | Time\s+Id\s+Command
func findHeaderLine(rec []byte, from int) int {
	for ls := from; ls < len(rec); {
		le := bytes.IndexByte(rec[ls:], '\n')
		if le < 0 {
			return -1 // a header line needs its newline
		}
		le += ls
		if isHeaderLine(rec[ls:le]) {
			return ls
		}
		ls = le + 1
	}
	return -1
}

func isHeaderLine(l []byte) bool {
	if len(l) == 0 {
		return false
	}
	switch {
	case l[0] == 'T' && len(l) >= 9 && (l[1] == 'c' || l[1] == 'C') && (l[2] == 'p' || l[2] == 'P') && isSpace(l[3]) &&
		(l[4] == 'p' || l[4] == 'P') && string(l[5:9]) == "ort:":
		i := 9
		for i < len(l) && isSpace(l[i]) {
			i++
		}
		return i > 9 && i < len(l) && isDigit(l[i])
	case l[0] == 'T' && bytes.HasPrefix(l, []byte("Time")):
		i := 4
		j := i
		for j < len(l) && isSpace(l[j]) {
			j++
		}
		if j == i || !bytes.HasPrefix(l[j:], []byte("Id")) {
			return false
		}
		i = j + 2
		j = i
		for j < len(l) && isSpace(l[j]) {
			j++
		}
		return j > i && bytes.HasPrefix(l[j:], []byte("Command"))
	}
	if l[0] == '/' || l[0] >= 'A' && l[0] <= 'Z' {
		for k := 1; ; {
			m := bytes.Index(l[k:], []byte("mysqld,"))
			if m < 0 {
				return false
			}
			v := k + m + 7
			if v < len(l) && isSpace(l[v]) && bytes.HasPrefix(l[v+1:], []byte("Version")) {
				rest := l[v+8:]
				for _, w := range [][2]string{{"started", "with:"}, {"embedded", "library"}} {
					for r := 0; ; {
						x := bytes.Index(rest[r:], []byte(w[0]))
						if x < 0 {
							break
						}
						y := r + x + len(w[0])
						if y < len(rest) && isSpace(rest[y]) && bytes.HasPrefix(rest[y+1:], []byte(w[1])) {
							return true
						}
						r = r + x + 1
					}
				}
				return false // a later "mysqld, Version" leaves less text after it
			}
			k = k + m + 1
		}
	}
	return false
}

// removeHeaderLines is s/$slow_log_hd_line//gm: a copy of rec without its
// header lines (each with its newline).
func removeHeaderLines(rec []byte) []byte {
	out := make([]byte, 0, len(rec))
	last := 0
	for from := 0; ; {
		ls := findHeaderLine(rec, from)
		if ls < 0 {
			break
		}
		le := ls + bytes.IndexByte(rec[ls:], '\n') + 1
		out = append(out, rec[last:ls]...)
		last, from = le, le
	}
	return append(out, rec[last:]...)
}

// perlSplit is Perl's split with a literal separator: trailing empty
// fields are dropped.
func perlSplit(s, sep []byte) [][]byte {
	parts := bytes.Split(s, sep)
	for len(parts) > 0 && len(parts[len(parts)-1]) == 0 {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// stripRecordEnd is s/;\n#?\Z//: the leftmost ";\n" optionally followed
// by "#" at the end of the record (or before a final newline).
func stripRecordEnd(s []byte) []byte {
	n := len(s)
	for p := n - 4; p <= n-2; p++ {
		if p < 0 || s[p] != ';' || s[p+1] != '\n' {
			continue
		}
		e := p + 2
		if e < n && s[e] == '#' && (e+1 == n || (e+1 == n-1 && s[n-1] == '\n')) {
			return append(s[:p:p], s[e+1:]...)
		}
		if e == n || (e == n-1 && s[n-1] == '\n') {
			return append(s[:p:p], s[e:]...)
		}
	}
	return s
}
