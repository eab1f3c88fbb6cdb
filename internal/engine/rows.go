package engine

import (
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
	"time"
)

// Typed reads of the values in Rows. Adapters deliver nil, int64,
// float64, bool, string, []byte or time.Time, but what a server sends for
// the same column differs by engine and protocol (MySQL's text protocol
// sends numbers as bytes, information_schema sends counts as strings,
// PostgreSQL sends real booleans), so every consumer reads values through
// these, never with its own type switch:
//
//   - NULL (nil), and a column index outside the row, read as the zero
//     value; IsNull reports both. The methods of Row and Rows return the
//     zero value for what does not convert; the functions of the same
//     names (String, Int64, Float64, Bool, Time) read one value and also
//     say whether it converted (ok).
//   - String: text and []byte as they are, numbers in decimal (floats in
//     the shortest form that reads back, as fmt prints them), booleans as
//     "true"/"false", a time in UTC as "2006-01-02 15:04:05.999999".
//   - Int64: integers; a float or numeric text truncated toward zero
//     ("12.7" is 12); booleans as 1 and 0. Text that is not a number, a
//     float out of range and a time are not integers.
//   - Float64: numbers, numeric text (spaces around it ignored), booleans
//     as 1 and 0, a time as Unix seconds (the zero time is not a number).
//   - Bool: booleans, integers (non-zero is true), and the words servers
//     use: 1/0, ON/OFF, YES/NO, TRUE/FALSE, T/F, any case.
//   - Time: time values, and text in the layouts servers print
//     ("2006-01-02 15:04:05[.fraction]", RFC 3339, PostgreSQL's
//     "2006-01-02 15:04:05[.fraction]-07", "2006-01-02"), read as UTC
//     when no zone is given.

// Row is one row of Rows, with typed reads by column index.
type Row []any

// Value is column c as the adapter delivered it; nil for NULL and for a
// column outside the row.
func (r Row) Value(c int) any {
	if c < 0 || c >= len(r) {
		return nil
	}
	return r[c]
}

// IsNull reports whether column c is NULL or outside the row.
func (r Row) IsNull(c int) bool { return r.Value(c) == nil }

// String reads column c as text ("" for NULL).
func (r Row) String(c int) string { return String(r.Value(c)) }

// Int64 reads column c as an integer.
func (r Row) Int64(c int) int64 { v, _ := Int64(r.Value(c)); return v }

// Float64 reads column c as a number.
func (r Row) Float64(c int) float64 { v, _ := Float64(r.Value(c)); return v }

// Bool reads column c as a truth value.
func (r Row) Bool(c int) bool { v, _ := Bool(r.Value(c)); return v }

// Time reads column c as a time.
func (r Row) Time(c int) time.Time { v, _ := Time(r.Value(c)); return v }

// Len is the number of rows.
func (rs *Rows) Len() int { return len(rs.Values) }

// Row returns row i.
func (rs *Rows) Row(i int) Row { return Row(rs.Values[i]) }

// All iterates over the rows: for i, r := range rows.All().
func (rs *Rows) All() iter.Seq2[int, Row] {
	return func(yield func(int, Row) bool) {
		for i, v := range rs.Values {
			if !yield(i, Row(v)) {
				return
			}
		}
	}
}

// Col is the index of the column named name, compared without regard
// to case, or -1 when there is none (which every read treats as NULL).
func (rs *Rows) Col(name string) int {
	for i, c := range rs.Columns {
		if strings.EqualFold(c, name) {
			return i
		}
	}
	return -1
}

// IsNull reports whether row r, column c is NULL.
func (rs *Rows) IsNull(r, c int) bool { return rs.Row(r).IsNull(c) }

// String reads row r, column c as text.
func (rs *Rows) String(r, c int) string { return rs.Row(r).String(c) }

// Int64 reads row r, column c as an integer.
func (rs *Rows) Int64(r, c int) int64 { return rs.Row(r).Int64(c) }

// Float64 reads row r, column c as a number.
func (rs *Rows) Float64(r, c int) float64 { return rs.Row(r).Float64(c) }

// Bool reads row r, column c as a truth value.
func (rs *Rows) Bool(r, c int) bool { return rs.Row(r).Bool(c) }

// Time reads row r, column c as a time.
func (rs *Rows) Time(r, c int) time.Time { return rs.Row(r).Time(c) }

// Record is row r as text by column name (NULL as "").
func (rs *Rows) Record(r int) map[string]string {
	row := rs.Row(r)
	m := make(map[string]string, len(rs.Columns))
	for c, name := range rs.Columns {
		m[name] = row.String(c)
	}
	return m
}

// timeText is how String prints a time.
const timeText = "2006-01-02 15:04:05.999999"

// String reads a value of Rows as text; see Row for the rules.
func String(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(timeText)
	}
	return fmt.Sprint(v)
}

// Int64 reads a value of Rows as an integer; see Row for the rules.
func Int64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case float64:
		return truncate(x)
	case float32:
		return truncate(float64(x))
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string, []byte:
		s := strings.TrimSpace(String(x))
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return truncate(f)
		}
	}
	return 0, false
}

func truncate(f float64) (int64, bool) {
	if math.IsNaN(f) || f >= math.MaxInt64 || f < math.MinInt64 {
		return 0, false
	}
	return int64(f), true
}

// Float64 reads a value of Rows as a number; see Row for the rules.
func Float64(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case string, []byte:
		f, err := strconv.ParseFloat(strings.TrimSpace(String(x)), 64)
		return f, err == nil
	case time.Time:
		if x.IsZero() {
			return 0, false
		}
		return float64(x.UnixNano()) / 1e9, true
	}
	return 0, false
}

// Bool reads a value of Rows as a truth value; see Row for the rules.
func Bool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string, []byte:
		switch strings.ToUpper(strings.TrimSpace(String(x))) {
		case "1", "ON", "YES", "TRUE", "T", "Y":
			return true, true
		case "0", "OFF", "NO", "FALSE", "F", "N":
			return false, true
		}
		return false, false
	case time.Time, nil:
		return false, false
	}
	if n, ok := Int64(v); ok {
		return n != 0, true
	}
	return false, false
}

// timeLayouts are the texts Time reads, most common first.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// Time reads a value of Rows as a time; see Row for the rules.
func Time(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string, []byte:
		s := strings.TrimSpace(String(x))
		for _, layout := range timeLayouts {
			if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}
