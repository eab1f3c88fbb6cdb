// Package bytesize reads and writes sizes such as "64GiB", "512M" or "2TB":
// the one size parser of dbfleet (configuration keys, host capacities).
package bytesize

import (
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Parse reads a size: a plain number of bytes, or a number with a unit.
// KiB, MiB, GiB... and the bare letters K, M, G, T, P are powers of 1024
// (as MySQL sizes are); KB, MB, GB... are powers of 1000. Empty is 0.
func Parse(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	in := s
	// A bare unit letter (64G, 512m) is binary; go-humanize reads it as SI.
	if n := len(s); n > 1 && strings.ContainsRune("kKmMgGtTpP", rune(s[n-1])) && (s[n-2] == ' ' || s[n-2] == '.' || s[n-2] >= '0' && s[n-2] <= '9') {
		s += "i"
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		return 0, errkind.New(errkind.Invalid, "invalid size %q: want a number with an optional unit, e.g. 512MiB or 64GiB", in)
	}
	n, err := humanize.ParseBytes(s)
	if err != nil || n > 1<<62 {
		return 0, errkind.New(errkind.Invalid, "invalid size %q: want a number with an optional unit, e.g. 512MiB or 64GiB", in)
	}
	return int64(n), nil
}

// Format renders bytes with a binary unit: "64GiB", "1.5TiB"; "-" for 0.
func Format(b int64) string {
	if b == 0 {
		return "-"
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	f := float64(b)
	u := 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d%s", int64(f), units[u])
	}
	return fmt.Sprintf("%.1f%s", f, units[u])
}

// Size is a number of bytes that configuration files and the environment
// write as text ("1GiB"); see Parse.
type Size int64

// UnmarshalText implements encoding.TextUnmarshaler (YAML and the
// environment).
func (s *Size) UnmarshalText(text []byte) error {
	n, err := Parse(string(text))
	if err != nil {
		return err
	}
	*s = Size(n)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) {
	if s == 0 {
		return []byte("0"), nil
	}
	return []byte(Format(int64(s))), nil
}

// String renders the size as Format does, "0" for none.
func (s Size) String() string {
	b, _ := s.MarshalText()
	return string(b)
}
