package slowlog

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Every number read from a slow log or a server is checked before it is
// aggregated: a value that is not finite, is negative or is beyond what a
// server can report (MySQL's "Query_time: 18446744073709.551615" after a
// clock step, a garbled "Rows_examined: 18446744073709551616") would make
// sums infinite or wrap when stored. Such an event is skipped and
// reported, never aggregated.
const (
	// MaxSeconds bounds Query_time and Lock_time (ten years).
	MaxSeconds = 10 * 365 * 24 * 3600
	// MaxCount bounds row counts and byte sizes: 2^53, the largest
	// integer a float64 holds exactly.
	MaxCount = 1 << 53
	// maxUnixSeconds bounds SET timestamp (9999-12-31 23:59:59 UTC).
	maxUnixSeconds = 253402300799
	// maxSkippedListed bounds how many skipped events a digest lists
	// (all are counted).
	maxSkippedListed = 100
)

// SkippedEvent is an event that was not aggregated because one of its
// numbers is out of range.
type SkippedEvent struct {
	// File is the input (a slow-log file's name, "upload", or the server
	// source); Line the 1-based line of the bad value in it (0 for
	// server sources).
	File   string `json:"file,omitempty"`
	Line   int64  `json:"line,omitempty"`
	Reason string `json:"reason"`
}

// attrLimit is the largest value attribute a may take.
func attrLimit(a int) float64 {
	if a == AttrQueryTime || a == AttrLockTime {
		return MaxSeconds
	}
	return MaxCount
}

// checkValue says why v cannot be attribute a's value ("" when it can).
// raw is the value as written, when known.
func checkValue(name string, a int, v float64, raw string) string {
	if raw == "" {
		raw = strconv.FormatFloat(v, 'g', -1, 64)
	}
	unit := ""
	if a == AttrQueryTime || a == AttrLockTime {
		unit = " seconds"
	}
	switch lim := attrLimit(a); {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprintf("%s %s is not a finite number", name, raw)
	case v < 0:
		return fmt.Sprintf("%s %s is negative", name, raw)
	case v > lim:
		return fmt.Sprintf("%s %s is out of range (at most %s%s)", name, raw, strconv.FormatFloat(lim, 'f', -1, 64), unit)
	}
	return ""
}

// checkEvent returns the first attribute of ev whose value is out of
// range (a numeric attribute, or -1 for SET timestamp) and why; "" when
// every number is usable.
func checkEvent(ev *Event) (attr int, why string) {
	for a := 0; a < numAttrs; a++ {
		if !ev.Has(a) {
			continue
		}
		v := ev.Num[a]
		if v >= 0 && v <= attrLimit(a) {
			continue // the usual case, without formatting
		}
		return a, checkValue(numAttrNames[a], a, v, "")
	}
	if ev.HasTimestamp && (ev.timestampNum < 0 || ev.timestampNum > maxUnixSeconds || math.IsNaN(ev.timestampNum)) {
		return -1, fmt.Sprintf("SET timestamp=%s is out of range (0 to %d)", strconv.FormatFloat(ev.timestampNum, 'f', -1, 64), maxUnixSeconds)
	}
	return 0, ""
}

// rawValue finds the text of attribute key's value in the lines of data
// from off on (the event's header): the offset of its line and the value
// as written. ok is false when it is not within the next 64 KiB.
func rawValue(data []byte, off int, key string) (lineOff int, raw string, ok bool) {
	if off < 0 || off > len(data) {
		return 0, "", false
	}
	end := min(len(data), off+64<<10)
	k := bytes.Index(data[off:end], []byte(key))
	if k < 0 {
		return 0, "", false
	}
	k += off
	lineOff = bytes.LastIndexByte(data[:k], '\n') + 1
	v := k + len(key)
	for v < len(data) && (data[v] == ' ' || data[v] == '\t') {
		v++
	}
	e := v
	for e < len(data) && e-v < 40 && !isSpace(data[e]) && data[e] != ';' {
		e++
	}
	return lineOff, strings.ToValidUTF8(string(data[v:e]), "\uFFFD"), true
}

// checkRecord says why a record from a server source cannot be
// aggregated ("" when it can).
func checkRecord(r *Record) string {
	n := max(r.Calls, 1)
	// Counter sources give totals over n calls.
	if why := checkValue("query time", AttrQueryTime, r.QueryTime/float64(n), ""); why != "" {
		return why
	}
	if why := checkValue("max query time", AttrQueryTime, r.MaxQueryTime, ""); why != "" {
		return why
	}
	for a := AttrLockTime; a < numAttrs; a++ {
		if r.Has&(1<<a) == 0 {
			continue
		}
		if why := checkValue(numAttrNames[a], a, r.Num[a]/float64(n), ""); why != "" {
			return why
		}
	}
	if !r.Time.IsZero() && (r.Time.Unix() < 0 || r.Time.Unix() > maxUnixSeconds) {
		return fmt.Sprintf("time %d is out of range (0 to %d)", r.Time.Unix(), maxUnixSeconds)
	}
	return ""
}

// addSkipped counts a skipped event and lists the first ones.
func (d *Digest) addSkipped(s SkippedEvent) {
	d.Skipped++
	if len(d.SkippedEvents) < maxSkippedListed {
		d.SkippedEvents = append(d.SkippedEvents, s)
	}
}

// addSat adds finite non-negative sums, saturating at the largest float64
// rather than reaching +Inf.
func addSat(a, b float64) float64 {
	s := a + b
	if math.IsInf(s, 1) {
		return math.MaxFloat64
	}
	return s
}

// addSatInt adds counts, saturating at the largest int64 rather than
// wrapping.
func addSatInt(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}

// toInt64 converts a non-negative float total to int64, saturating
// instead of wrapping to -9223372036854775808.
func toInt64(f float64) int64 {
	switch {
	case math.IsNaN(f) || f <= 0:
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	}
	return int64(f)
}

// finiteStored reads a stored float total: values written before the
// range checks (+Inf, NaN, negative) read as the nearest sane value, so
// that no page or JSON answer breaks on them.
func finiteStored(f float64) float64 {
	switch {
	case math.IsNaN(f) || f < 0:
		return 0
	case math.IsInf(f, 1) || f > math.MaxFloat64:
		return math.MaxFloat64
	}
	return f
}

// sanitize makes a stored row usable whatever was stored in it.
func (r *bucketRow) sanitize() {
	r.qt, r.qtMin, r.qtMax, r.lock = finiteStored(r.qt), finiteStored(r.qtMin), finiteStored(r.qtMax), finiteStored(r.lock)
	for _, p := range []*int64{&r.calls, &r.rowsSent, &r.rowsExamined, &r.rowsAffected, &r.bytes} {
		if *p < 0 {
			*p = 0
		}
	}
}

// validText replaces invalid UTF-8 and NUL bytes with U+FFFD (a slow log
// is bytes; the store, PostgreSQL's text columns and JSON want text).
func validText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// truncateText cuts s to at most n bytes at a character boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// unixSeconds converts a SET timestamp value, saturating at int64's
// range instead of wrapping: checkEvent refuses what is out of range.
func unixSeconds(v float64) int64 {
	switch {
	case math.IsNaN(v):
		return 0
	case v >= math.MaxInt64:
		return math.MaxInt64
	case v <= math.MinInt64:
		return math.MinInt64
	}
	return int64(v)
}
