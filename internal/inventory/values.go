package inventory

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Labels are free key/value tags.
type Labels map[string]string

var (
	objectName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	labelKey   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._/-]{0,62}$`)
	envName    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
)

func checkName(what, name string) error {
	if name == "new" {
		return errkind.New(errkind.Invalid, "%s name %q is reserved for the web UI's add pages; choose another", what, name)
	}
	if !objectName.MatchString(name) {
		return errkind.New(errkind.Invalid, "invalid %s name %q: 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", what, name)
	}
	return nil
}

// ParseLabels reads "k=v" pairs.
func ParseLabels(pairs []string) (Labels, error) {
	l := Labels{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, errkind.New(errkind.Invalid, "invalid label %q: want key=value", p)
		}
		if err := l.set(k, v); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l Labels) set(k, v string) error {
	if !labelKey.MatchString(k) {
		return errkind.New(errkind.Invalid, "invalid label key %q: a letter then letters, digits, '.', '_', '/' or '-'", k)
	}
	if len(v) > 256 {
		return errkind.New(errkind.Invalid, "label %q: value longer than 256 characters", k)
	}
	l[k] = v
	return nil
}

func (l Labels) validate() error {
	for k, v := range l {
		if err := (Labels{}).set(k, v); err != nil {
			return err
		}
	}
	return nil
}

// String renders labels as sorted k=v pairs.
func (l Labels) String() string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + l[k]
	}
	return strings.Join(parts, ",")
}

func (l Labels) encode() string {
	if len(l) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func decodeLabels(s string) Labels {
	l := Labels{}
	json.Unmarshal([]byte(s), &l)
	return l
}

// ParseSize reads a capacity such as "64GiB", "2TB", "512M" or a plain
// number of bytes. K/M/G/T/P are powers of 1024 with or without "iB"; "KB",
// "GB"... are powers of 1000.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToUpper(strings.TrimSpace(s[i:]))
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, errkind.New(errkind.Invalid, "invalid size %q: want a number with an optional unit (e.g. 64GiB, 2TB)", s)
	}
	mult := map[string]float64{
		"": 1, "B": 1,
		"K": 1 << 10, "KI": 1 << 10, "KIB": 1 << 10, "KB": 1e3,
		"M": 1 << 20, "MI": 1 << 20, "MIB": 1 << 20, "MB": 1e6,
		"G": 1 << 30, "GI": 1 << 30, "GIB": 1 << 30, "GB": 1e9,
		"T": 1 << 40, "TI": 1 << 40, "TIB": 1 << 40, "TB": 1e12,
		"P": 1 << 50, "PI": 1 << 50, "PIB": 1 << 50, "PB": 1e15,
	}
	m, ok := mult[unit]
	if !ok {
		return 0, errkind.New(errkind.Invalid, "invalid size %q: unknown unit %q", s, unit)
	}
	return int64(f * m), nil
}

// FormatSize renders bytes with a binary unit.
func FormatSize(b int64) string {
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
