package verify

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/sql"
)

// Table is what the plan needs of a table: its columns in order and the
// key chunks follow (the primary key, or a unique key of NOT NULL columns).
type Table struct {
	Schema  string   `json:"schema"`
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	// Key names the columns of the key, in index order; KeyName is the
	// index (PRIMARY for the primary key).
	Key     []string `json:"key"`
	KeyName string   `json:"key_name"`
	// NotNull marks the columns declared NOT NULL; NoHash those whose
	// text never holds a '#' (numbers, dates and times). Both only make
	// the row text shorter; a column not marked is treated as nullable
	// text.
	NotNull map[string]bool `json:"not_null,omitempty"`
	NoHash  map[string]bool `json:"no_hash,omitempty"`
}

// String is schema.table.
func (t Table) String() string { return t.Schema + "." + t.Name }

// Value is one key value, typed so that it can be stored (JSON) and used
// again as a placeholder argument when a run resumes.
type Value struct {
	// T is the type: i (int64), f (float64), s (string), b (bytes, V in
	// hex), t (time, RFC 3339 with nanoseconds), n (NULL).
	T string `json:"t"`
	V string `json:"v,omitempty"`
}

// ValueOf types a value as the engine adapter returned it.
func ValueOf(v any) Value {
	switch x := v.(type) {
	case nil:
		return Value{T: "n"}
	case int64:
		return Value{T: "i", V: strconv.FormatInt(x, 10)}
	case float64:
		return Value{T: "f", V: strconv.FormatFloat(x, 'g', -1, 64)}
	case []byte:
		return Value{T: "b", V: hex.EncodeToString(x)}
	case time.Time:
		return Value{T: "t", V: x.UTC().Format(time.RFC3339Nano)}
	case bool:
		if x {
			return Value{T: "i", V: "1"}
		}
		return Value{T: "i", V: "0"}
	case string:
		return Value{T: "s", V: x}
	}
	return Value{T: "s", V: fmt.Sprint(v)}
}

// Arg is the value as a placeholder argument.
func (v Value) Arg() (any, error) {
	switch v.T {
	case "n":
		return nil, nil
	case "i":
		return strconv.ParseInt(v.V, 10, 64)
	case "f":
		return strconv.ParseFloat(v.V, 64)
	case "b":
		return hex.DecodeString(v.V)
	case "t":
		return time.Parse(time.RFC3339Nano, v.V)
	case "s":
		return v.V, nil
	}
	return nil, errkind.New(errkind.Invalid, "key value of unknown type %q", v.T)
}

// String shows the value as a user reads it.
func (v Value) String() string {
	switch v.T {
	case "n":
		return "NULL"
	case "b":
		return "0x" + v.V
	}
	return v.V
}

// Key is the value of a table's key for one row (or a chunk bound).
type Key []Value

// KeyOf types a row's key columns.
func KeyOf(vals []any) Key {
	k := make(Key, len(vals))
	for i, v := range vals {
		k[i] = ValueOf(v)
	}
	return k
}

// String is "1" for a one-column key, "(1, 'a')" for more.
func (k Key) String() string {
	if len(k) == 1 {
		return k[0].String()
	}
	parts := make([]string, len(k))
	for i, v := range k {
		parts[i] = v.String()
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Args are the key's values as placeholder arguments.
func (k Key) Args() ([]any, error) {
	out := make([]any, len(k))
	for i, v := range k {
		a, err := v.Arg()
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// Encode is the key as JSON, for storage ("" for no key).
func (k Key) Encode() string {
	if k == nil {
		return ""
	}
	b, _ := json.Marshal(k)
	return string(b)
}

// DecodeKey reads what Encode wrote.
func DecodeKey(s string) (Key, error) {
	if s == "" {
		return nil, nil
	}
	var k Key
	if err := json.Unmarshal([]byte(s), &k); err != nil {
		return nil, fmt.Errorf("stored key %q: %w", s, err)
	}
	return k, nil
}

// Chunk is a key range (Lower, Upper]: Lower nil means from the first row,
// Upper nil means to the last.
type Chunk struct {
	Index int `json:"index"`
	Lower Key `json:"lower,omitempty"`
	Upper Key `json:"upper,omitempty"`
}

// Plan writes the SQL of every step for one table (MariaDB/MySQL).
type Plan struct {
	T Table
	// Hash is HashCRC64 (the default) or HashMD5.
	Hash string
	d    sql.Dialect
}

// NewPlan checks the table and returns its plan.
func NewPlan(t Table) (*Plan, error) {
	if len(t.Columns) == 0 {
		return nil, errkind.New(errkind.Invalid, "table %s has no columns", t)
	}
	if len(t.Key) == 0 {
		return nil, errkind.New(errkind.Invalid, "table %s has no primary key and no unique key on NOT NULL columns: rows cannot be compared one by one (add a primary key)", t)
	}
	return &Plan{T: t, Hash: HashCRC64, d: sql.MariaDB}, nil
}

func (p *Plan) ident(name string) string { return sql.QuoteIdent(p.d, name) }

func (p *Plan) table() string { return sql.QuoteQualified(p.d, p.T.Schema, p.T.Name) }

func (p *Plan) keyList() string {
	parts := make([]string, len(p.T.Key))
	for i, c := range p.T.Key {
		parts[i] = p.ident(c)
	}
	return strings.Join(parts, ", ")
}

func (p *Plan) index() string {
	if p.T.KeyName == "" {
		return ""
	}
	return " FORCE INDEX (" + p.ident(p.T.KeyName) + ")"
}

// after is "key > k" for a key of one or more columns, expanded so that the
// range optimizer uses the index:
// (a > ?) OR (a = ? AND b > ?).
func (p *Plan) after(k Key) (string, []any, error) { return p.compare(k, ">", false) }

// atOrBefore is "key <= k": (a < ?) OR (a = ? AND b < ?) OR (a = ? AND b = ?).
func (p *Plan) atOrBefore(k Key) (string, []any, error) { return p.compare(k, "<", true) }

func (p *Plan) compare(k Key, op string, orEqual bool) (string, []any, error) {
	if len(k) != len(p.T.Key) {
		return "", nil, errkind.New(errkind.Invalid, "bound %s has %d values for the %d key columns of %s", k, len(k), len(p.T.Key), p.T)
	}
	vals, err := k.Args()
	if err != nil {
		return "", nil, err
	}
	var terms []string
	var args []any
	n := len(p.T.Key)
	for i := 0; i < n; i++ {
		var conj []string
		for j := 0; j < i; j++ {
			conj = append(conj, p.ident(p.T.Key[j])+" = ?")
			args = append(args, vals[j])
		}
		conj = append(conj, p.ident(p.T.Key[i])+" "+op+" ?")
		args = append(args, vals[i])
		terms = append(terms, "("+strings.Join(conj, " AND ")+")")
	}
	if orEqual {
		var conj []string
		for j := 0; j < n; j++ {
			conj = append(conj, p.ident(p.T.Key[j])+" = ?")
			args = append(args, vals[j])
		}
		terms = append(terms, "("+strings.Join(conj, " AND ")+")")
	}
	if len(terms) == 1 {
		return strings.Trim(terms[0], "()"), args, nil
	}
	return "(" + strings.Join(terms, " OR ") + ")", args, nil
}

// rangeWhere is the WHERE clause of a chunk ("1 = 1" for the whole table).
func (p *Plan) rangeWhere(c Chunk) (string, []any, error) {
	var conds []string
	var args []any
	if c.Lower != nil {
		w, a, err := p.after(c.Lower)
		if err != nil {
			return "", nil, err
		}
		conds, args = append(conds, w), append(args, a...)
	}
	if c.Upper != nil {
		w, a, err := p.atOrBefore(c.Upper)
		if err != nil {
			return "", nil, err
		}
		conds, args = append(conds, w), append(args, a...)
	}
	if len(conds) == 0 {
		return "1 = 1", nil, nil
	}
	return strings.Join(conds, " AND "), args, nil
}

// NextUpper is the query for the upper bound of the chunk that starts
// after lower (nil: at the first row) and holds size rows: the key of the
// size-th row. No row back means the rest of the table fits in the chunk.
func (p *Plan) NextUpper(lower Key, size int) (string, []any, error) {
	if size < 1 {
		return "", nil, errkind.New(errkind.Invalid, "chunk size %d: want at least 1", size)
	}
	where := ""
	var args []any
	if lower != nil {
		w, a, err := p.after(lower)
		if err != nil {
			return "", nil, err
		}
		where, args = " WHERE "+w, a
	}
	q := fmt.Sprintf("SELECT %s FROM %s%s%s ORDER BY %s LIMIT 1 OFFSET %d",
		p.keyList(), p.table(), p.index(), where, p.keyList(), size-1)
	return q, args, nil
}

// KeyRange is the query of the smallest and largest key of a table with a
// one-column key. Integer keys are then chunked by value (NextIntUpper),
// with no query for the bounds.
func (p *Plan) KeyRange() (string, error) {
	if len(p.T.Key) != 1 {
		return "", errkind.New(errkind.Invalid, "table %s: a key range needs a one-column key, not %d columns", p.T, len(p.T.Key))
	}
	k := p.ident(p.T.Key[0])
	return fmt.Sprintf("SELECT MIN(%s), MAX(%s) FROM %s", k, k, p.table()), nil
}

// NextIntUpper is the upper bound of the chunk after lower (nil: from the
// table's first key, min) for an integer key: lower + step, or nil (to the
// end) once it reaches max. step adapts to the keys' density (Adapt).
func NextIntUpper(lower Key, minKey, maxKey, step int64) (Key, error) {
	start := minKey - 1
	if lower != nil {
		a, err := lower[0].Arg()
		if err != nil {
			return nil, err
		}
		n, ok := a.(int64)
		if !ok {
			return nil, errkind.New(errkind.Invalid, "bound %s is not an integer", lower)
		}
		start = n
	}
	if step < 1 {
		step = 1
	}
	if start >= maxKey || maxKey-start <= step {
		return nil, nil
	}
	return Key{ValueOf(start + step)}, nil
}

// Adapt is the next step for integer chunks: the step that would have
// given want rows at the density just seen, within [1, 2^40] and at most
// four times the last step.
func Adapt(step, rows int64, want int) int64 {
	next := step * 4
	if rows > 0 {
		next = min(next, max(1, step*int64(want)/rows))
	}
	return min(next, 1<<40)
}

// rowText is the SQL expression of a row's canonical text: the columns
// joined by '#', then a NULL flag per column that can be NULL ("01": the
// second is NULL), then the length in bytes of every non-NULL value whose
// text could hold a '#' (strings, binary, JSON, ENUM, SET). The flags tell
// NULL from the empty string; the lengths tell where each value ends, so
// no two rows write the same text even when values contain '#'. Numbers
// and dates never write '#' and need no length; NOT NULL columns no flag.
func (p *Plan) rowText() string {
	var cols, nulls, lens []string
	for _, c := range p.T.Columns {
		q := p.ident(c)
		cols = append(cols, q)
		if !p.T.NotNull[c] {
			nulls = append(nulls, "ISNULL("+q+")")
		}
		if !p.T.NoHash[c] {
			lens = append(lens, "LENGTH("+q+")")
		}
	}
	parts := cols
	if len(nulls) > 0 {
		parts = append(parts, "CONCAT("+strings.Join(nulls, ", ")+")")
	}
	if len(lens) > 0 {
		parts = append(parts, "CONCAT_WS(',', "+strings.Join(lens, ", ")+")")
	}
	return "CONCAT_WS('#', " + strings.Join(parts, ", ") + ")"
}

// Hash functions of a chunk's rows.
const (
	// HashCRC64 is CRC32 and CRC32C of the row's text side by side, a
	// 64-bit value (MariaDB 10.8 and later, which have CRC32C). The text
	// is computed once per row, through a session variable.
	HashCRC64 = "crc32+crc32c"
	// HashMD5 is the first 64 bits of MD5 of the row's text: older
	// servers; several times the CPU per row.
	HashMD5 = "md5"
)

// rowHash is the SQL expression of a row's 64-bit hash, as an unsigned
// integer.
func (p *Plan) rowHash() string {
	if p.Hash == HashMD5 {
		return "CAST(CONV(LEFT(MD5(" + p.rowText() + "), 16), 16, 10) AS UNSIGNED)"
	}
	return "((CRC32(@dbfleet_row := " + p.rowText() + ") << 32) | CRC32C(@dbfleet_row))"
}

// Checksum is the query of a chunk's row count and checksum: the SUM of
// each row's 64-bit hash (exact: SUM of BIGINT UNSIGNED is a DECIMAL).
// Rows are added, not XORed, so equal changes to two rows and swapped
// values do not cancel out.
func (p *Plan) Checksum(c Chunk) (string, []any, error) {
	where, args, err := p.rangeWhere(c)
	if err != nil {
		return "", nil, err
	}
	q := fmt.Sprintf("SELECT COUNT(*), COALESCE(SUM(%s), 0) FROM %s%s WHERE %s",
		p.rowHash(), p.table(), p.index(), where)
	return q, args, nil
}

// RowHashes is the query of each row's key and MD5 of its text in a chunk
// (a few rows: the stronger hash).
func (p *Plan) RowHashes(c Chunk) (string, []any, error) {
	where, args, err := p.rangeWhere(c)
	if err != nil {
		return "", nil, err
	}
	q := fmt.Sprintf("SELECT %s, MD5(%s) FROM %s%s WHERE %s ORDER BY %s",
		p.keyList(), p.rowText(), p.table(), p.index(), where, p.keyList())
	return q, args, nil
}

// keyEquals is "a = ? AND b = ?" for one row.
func (p *Plan) keyEquals(k Key) (string, []any, error) {
	if len(k) != len(p.T.Key) {
		return "", nil, errkind.New(errkind.Invalid, "key %s has %d values for the %d key columns of %s", k, len(k), len(p.T.Key), p.T)
	}
	args, err := k.Args()
	if err != nil {
		return "", nil, err
	}
	conj := make([]string, len(k))
	for i, c := range p.T.Key {
		conj[i] = p.ident(c) + " = ?"
	}
	return strings.Join(conj, " AND "), args, nil
}

// SelectRow reads one row's columns by key; forUpdate locks it.
func (p *Plan) SelectRow(k Key, forUpdate bool) (string, []any, error) {
	where, args, err := p.keyEquals(k)
	if err != nil {
		return "", nil, err
	}
	cols := make([]string, len(p.T.Columns))
	for i, c := range p.T.Columns {
		cols[i] = p.ident(c)
	}
	q := fmt.Sprintf("SELECT %s FROM %s WHERE %s", strings.Join(cols, ", "), p.table(), where)
	if forUpdate {
		q += " FOR UPDATE"
	}
	return q, args, nil
}

// Replace writes a row as it is on the primary (values in column order).
func (p *Plan) Replace(values []any) (string, []any, error) {
	if len(values) != len(p.T.Columns) {
		return "", nil, errkind.New(errkind.Invalid, "%d values for the %d columns of %s", len(values), len(p.T.Columns), p.T)
	}
	cols := make([]string, len(p.T.Columns))
	marks := make([]string, len(p.T.Columns))
	for i, c := range p.T.Columns {
		cols[i], marks[i] = p.ident(c), "?"
	}
	return fmt.Sprintf("REPLACE INTO %s (%s) VALUES (%s)", p.table(), strings.Join(cols, ", "), strings.Join(marks, ", ")), values, nil
}

// Delete removes one row by key.
func (p *Plan) Delete(k Key) (string, []any, error) {
	where, args, err := p.keyEquals(k)
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("DELETE FROM %s WHERE %s", p.table(), where), args, nil
}

// RowDiff is one row that differs between the primary and a replica.
type RowDiff struct {
	Key Key `json:"key"`
	// Kind: missing (on the replica), extra (only on the replica),
	// different (both have it, with other values).
	Kind string `json:"kind"`
}

// Row difference kinds.
const (
	Missing   = "missing"
	Extra     = "extra"
	Different = "different"
)

// DiffRows compares the (key, hash) rows of a chunk from both sides. Keys
// are matched by their typed values, not by the server's collation, so a
// key that differs only in case shows as one missing and one extra row.
func DiffRows(primary, replica []KeyHash) []RowDiff {
	byKey := make(map[string]string, len(primary))
	for _, r := range primary {
		byKey[r.Key.Encode()] = r.Hash
	}
	seen := make(map[string]bool, len(replica))
	var out []RowDiff
	for _, r := range replica {
		k := r.Key.Encode()
		seen[k] = true
		h, ok := byKey[k]
		switch {
		case !ok:
			out = append(out, RowDiff{Key: r.Key, Kind: Extra})
		case h != r.Hash:
			out = append(out, RowDiff{Key: r.Key, Kind: Different})
		}
	}
	for _, r := range primary {
		if !seen[r.Key.Encode()] {
			out = append(out, RowDiff{Key: r.Key, Kind: Missing})
		}
	}
	return out
}

// KeyHash is a row's key and hash.
type KeyHash struct {
	Key  Key
	Hash string
}
