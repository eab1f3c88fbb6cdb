package merge

import (
	"bytes"
	"math"
	"math/big"
	"strings"
	"time"
)

// Values are what the engine adapters deliver: nil, int64, float64, bool,
// string (text, and DECIMAL/NUMERIC digits), []byte and time.Time.
//
// Ordering follows the servers where it can be known without the
// collation:
//
//   - numbers (int64, float64, and the decimal text of a column the shard
//     says is numeric, or of a re-aggregated SUM/AVG) by value;
//   - text byte by byte: the order of a binary collation (utf8mb4_bin,
//     PostgreSQL's "C"). This is the collation assumption: with a
//     case- or accent-insensitive collation the servers order (and group)
//     "a" and "A" together, the merge does not;
//   - []byte byte by byte, times by instant, false before true;
//   - NULL first in ascending order on the MySQL family and last on
//     PostgreSQL (each server's default), or as NULLS FIRST/LAST says.

// compareValues orders two non-NULL values; numeric says decimal text
// compares as a number.
func compareValues(a, b any, numeric bool) int {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmpInt(x, y)
		case float64:
			return cmpFloat(float64(x), y)
		case string:
			if numeric {
				return cmpDecimalText(decimalOfInt(x), y)
			}
		}
	case float64:
		switch y := b.(type) {
		case float64:
			return cmpFloat(x, y)
		case int64:
			return cmpFloat(x, float64(y))
		case string:
			if numeric {
				if d, ok := parseDecimal(y); ok {
					f, _ := d.float()
					return cmpFloat(x, f)
				}
			}
		}
	case string:
		switch y := b.(type) {
		case string:
			if numeric {
				dx, okx := parseDecimal(x)
				dy, oky := parseDecimal(y)
				if okx && oky {
					return dx.cmp(dy)
				}
			}
			return strings.Compare(x, y)
		case int64:
			if numeric {
				return -cmpDecimalText(decimalOfInt(y), x)
			}
		case float64:
			if numeric {
				return -compareValues(y, x, true)
			}
		case []byte:
			return strings.Compare(x, string(y))
		}
	case []byte:
		switch y := b.(type) {
		case []byte:
			return bytes.Compare(x, y)
		case string:
			return strings.Compare(string(x), y)
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y)
		}
	case bool:
		if y, ok := b.(bool); ok {
			return cmpInt(b2i(x), b2i(y))
		}
	}
	// Different kinds (a server would not mix them in one column): by kind.
	return cmpInt(int64(rank(a)), int64(rank(b)))
}

func cmpDecimalText(d decimal, s string) int {
	e, ok := parseDecimal(s)
	if !ok {
		return -1
	}
	return d.cmp(e)
}

func rank(v any) int {
	switch v.(type) {
	case bool:
		return 1
	case int64, float64:
		return 2
	case time.Time:
		return 3
	case string:
		return 4
	case []byte:
		return 5
	}
	return 6
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case math.IsNaN(a) && !math.IsNaN(b):
		return 1
	case !math.IsNaN(a) && math.IsNaN(b):
		return -1
	}
	return 0
}

// equalValues reports whether two values (NULL included) are the same
// group key: NULLs group together, as GROUP BY does.
func equalValues(a, b any, numeric bool) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return compareValues(a, b, numeric) == 0
}

// cloneValue copies what a stream may reuse after Next ([]byte).
func cloneValue(v any) any {
	if b, ok := v.([]byte); ok {
		return bytes.Clone(b)
	}
	return v
}

// decimal is an exact decimal number: unscaled * 10^-scale.
type decimal struct {
	unscaled *big.Int
	scale    int
}

func decimalOfInt(n int64) decimal { return decimal{unscaled: big.NewInt(n)} }

// parseDecimal reads the digits servers print for DECIMAL/NUMERIC
// ("-12.340"); exponents and anything else are not decimals.
func parseDecimal(s string) (decimal, bool) {
	if s == "" {
		return decimal{}, false
	}
	digits := s
	neg := false
	if digits[0] == '-' || digits[0] == '+' {
		neg = digits[0] == '-'
		digits = digits[1:]
	}
	intPart, frac, _ := strings.Cut(digits, ".")
	if intPart == "" && frac == "" {
		return decimal{}, false
	}
	for _, part := range [2]string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return decimal{}, false
			}
		}
	}
	u, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		return decimal{}, false
	}
	if neg {
		u.Neg(u)
	}
	return decimal{unscaled: u, scale: len(frac)}, true
}

var ten = big.NewInt(10)

func pow10(n int) *big.Int { return new(big.Int).Exp(ten, big.NewInt(int64(n)), nil) }

// rescale returns d with at least scale digits after the point.
func (d decimal) rescale(scale int) decimal {
	if scale <= d.scale {
		return d
	}
	return decimal{unscaled: new(big.Int).Mul(d.unscaled, pow10(scale-d.scale)), scale: scale}
}

func (d decimal) add(e decimal) decimal {
	s := max(d.scale, e.scale)
	a, b := d.rescale(s), e.rescale(s)
	return decimal{unscaled: new(big.Int).Add(a.unscaled, b.unscaled), scale: s}
}

func (d decimal) cmp(e decimal) int {
	s := max(d.scale, e.scale)
	return d.rescale(s).unscaled.Cmp(e.rescale(s).unscaled)
}

// div returns d/n rounded half away from zero to scale digits.
func (d decimal) div(n *big.Int, scale int) decimal {
	num := new(big.Int).Mul(d.unscaled, pow10(scale+1))
	den := new(big.Int).Mul(n, pow10(d.scale))
	q := new(big.Int).Quo(num, den) // truncated, one extra digit
	r := new(big.Int).Rem(q, ten)
	q.Quo(q, ten)
	if r.CmpAbs(big.NewInt(5)) >= 0 {
		if num.Sign()*den.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return decimal{unscaled: q, scale: scale}
}

func (d decimal) float() (float64, bool) {
	f, _ := new(big.Float).SetInt(d.unscaled).Float64()
	return f / math.Pow10(d.scale), true
}

func (d decimal) String() string {
	s := new(big.Int).Abs(d.unscaled).String()
	if d.scale > 0 {
		if len(s) <= d.scale {
			s = strings.Repeat("0", d.scale-len(s)+1) + s
		}
		s = s[:len(s)-d.scale] + "." + s[len(s)-d.scale:]
	}
	if d.unscaled.Sign() < 0 {
		s = "-" + s
	}
	return s
}
