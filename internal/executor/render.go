package executor

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/sql"
)

// literal renders a value read from the target as an SQL literal that
// restores it exactly in a column of type colType (MySQL DATA_TYPE such as
// "date", "timestamp"; PostgreSQL values are always read as text): the
// executor's value renderer, over sql's quoting (strings with backslashes
// or control characters and binary values as hex literals in the MySQL
// family).
func literal(d sql.Dialect, v any, colType string) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		if d.IsMySQLFamily() && colType == "timestamp" {
			return sql.QuoteString(d, epochToUTC(strconv.FormatInt(x, 10)))
		}
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return "TRUE"
		}
		return "FALSE"
	case []byte:
		return sql.HexLiteral(d, x)
	case time.Time:
		return sql.QuoteString(d, formatTime(x, colType))
	case string:
		if d.IsMySQLFamily() && colType == "timestamp" {
			return sql.QuoteString(d, epochToUTC(x))
		}
		return sql.QuoteString(d, x)
	}
	return sql.QuoteString(d, fmt.Sprint(v))
}

// formatTime renders a MySQL DATE/DATETIME value. The zero time is the
// zero date MySQL returns for '0000-00-00'.
func formatTime(t time.Time, colType string) string {
	if t.IsZero() {
		if colType == "date" {
			return "0000-00-00"
		}
		return "0000-00-00 00:00:00"
	}
	if colType == "date" {
		return t.Format("2006-01-02")
	}
	if t.Nanosecond() != 0 {
		return t.Format("2006-01-02 15:04:05.999999")
	}
	return t.Format("2006-01-02 15:04:05")
}

// epochToUTC turns UNIX_TIMESTAMP(col) ("1700000000" or
// "1700000000.123456") into a UTC datetime literal; 0 is MySQL's zero
// timestamp.
func epochToUTC(s string) string {
	secs, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return s
	}
	if n == 0 && strings.Trim(frac, "0") == "" {
		return "0000-00-00 00:00:00"
	}
	out := time.Unix(n, 0).UTC().Format("2006-01-02 15:04:05")
	if f := strings.TrimRight(frac, "0"); f != "" {
		out += "." + f
	}
	return out
}

// keyString is a canonical text of a key's values, to deduplicate rows.
func keyString(vals []any) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(0)
		}
		switch x := v.(type) {
		case []byte:
			b.WriteString(hex.EncodeToString(x))
		case time.Time:
			b.WriteString(x.Format(time.RFC3339Nano))
		case float64:
			// An integer read as float (JSON) and as int64 must agree.
			if x == float64(int64(x)) {
				b.WriteString(strconv.FormatInt(int64(x), 10))
			} else {
				b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
			}
		default:
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}

// encodeKey stores key values (a chunk bound) with their types.
func encodeKey(vals []any) string {
	if vals == nil {
		return ""
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case nil:
			parts[i] = "n:"
		case int64:
			parts[i] = "i:" + strconv.FormatInt(x, 10)
		case float64:
			parts[i] = "f:" + strconv.FormatFloat(x, 'g', -1, 64)
		case []byte:
			parts[i] = "b:" + hex.EncodeToString(x)
		case time.Time:
			parts[i] = "t:" + x.Format(time.RFC3339Nano)
		case bool:
			parts[i] = "o:" + strconv.FormatBool(x)
		default:
			parts[i] = "s:" + fmt.Sprint(v)
		}
	}
	b, _ := json.Marshal(parts)
	return string(b)
}

// decodeKey reads what encodeKey wrote; "" is no key.
func decodeKey(s string) ([]any, error) {
	if s == "" {
		return nil, nil
	}
	var parts []string
	if err := json.Unmarshal([]byte(s), &parts); err != nil {
		return nil, fmt.Errorf("decode key %q: %w", s, err)
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		tag, v, _ := strings.Cut(p, ":")
		var err error
		switch tag {
		case "n":
			out[i] = nil
		case "i":
			out[i], err = strconv.ParseInt(v, 10, 64)
		case "f":
			out[i], err = strconv.ParseFloat(v, 64)
		case "b":
			out[i], err = hex.DecodeString(v)
		case "t":
			out[i], err = time.Parse(time.RFC3339Nano, v)
		case "o":
			out[i], err = strconv.ParseBool(v)
		default:
			out[i] = v
		}
		if err != nil {
			return nil, fmt.Errorf("decode key %q: %w", s, err)
		}
	}
	return out, nil
}
