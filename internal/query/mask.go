package query

import (
	"fmt"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// MaskKind says how a masked value is shown.
type MaskKind string

// Mask kinds.
const (
	MaskPhone    MaskKind = "phone"     // 138****5678: first 3 and last 4 kept
	MaskEmail    MaskKind = "email"     // a***@example.com: first letter and domain kept
	MaskIDCard   MaskKind = "id_card"   // 110101********1234: first 6 and last 4 of 15+ characters kept
	MaskBankCard MaskKind = "bank_card" // ************1234: last 4 kept
	MaskFull     MaskKind = "full"      // ****** whatever the value (its length is not shown either)
	MaskCustom   MaskKind = "custom"    // keep_first and keep_last characters kept
)

// MaskKinds lists every kind.
var MaskKinds = []MaskKind{MaskPhone, MaskEmail, MaskIDCard, MaskBankCard, MaskFull, MaskCustom}

// fullMask is what a fully masked value reads.
const fullMask = "******"

// MaskRule masks the columns it matches for callers without query.unmask.
// Instance, Database and Table are globs ('*', '?') or empty for any;
// Column is a glob. Matching ignores case. For PostgreSQL, Table matches
// "schema.table", or the table name alone when the glob has no dot.
type MaskRule struct {
	ID        int64     `json:"id"`
	Instance  string    `json:"instance,omitempty"`
	Database  string    `json:"database,omitempty"`
	Table     string    `json:"table,omitempty"`
	Column    string    `json:"column"`
	Kind      MaskKind  `json:"kind"`
	KeepFirst int       `json:"keep_first,omitempty"`
	KeepLast  int       `json:"keep_last,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// ParseMaskKind validates a kind name.
func ParseMaskKind(s string) (MaskKind, error) {
	for _, k := range MaskKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", errkind.New(errkind.Invalid, "unknown mask kind %q (kinds: phone, email, id_card, bank_card, full, custom)", s)
}

// validate checks a rule before it is stored.
func (r *MaskRule) validate() error {
	if r.Column == "" {
		return errkind.New(errkind.Invalid, "a masking rule needs a column (name or glob such as *phone*)")
	}
	if _, err := ParseMaskKind(string(r.Kind)); err != nil {
		return err
	}
	for _, g := range []struct{ what, v string }{{"instance", r.Instance}, {"database", r.Database}, {"table", r.Table}, {"column", r.Column}} {
		if _, err := path.Match(strings.ToLower(g.v), ""); err != nil {
			return errkind.New(errkind.Invalid, "masking rule %s %q: bad glob: %v", g.what, g.v, err)
		}
		if strings.ContainsAny(g.v, " \t\n/") {
			return errkind.New(errkind.Invalid, "masking rule %s %q: blanks and '/' are not allowed", g.what, g.v)
		}
	}
	if r.KeepFirst < 0 || r.KeepLast < 0 || r.KeepFirst > 64 || r.KeepLast > 64 {
		return errkind.New(errkind.Invalid, "keep_first and keep_last must be between 0 and 64")
	}
	if r.Kind != MaskCustom && (r.KeepFirst != 0 || r.KeepLast != 0) {
		return errkind.New(errkind.Invalid, "keep_first and keep_last apply to kind custom only, not %s", r.Kind)
	}
	return nil
}

// ParseColumnSpec reads a masking rule's target: COLUMN, TABLE.COLUMN,
// DB.TABLE.COLUMN or, for PostgreSQL, DB.SCHEMA.TABLE.COLUMN; each part a
// glob.
func ParseColumnSpec(spec string) (db, table, column string, err error) {
	parts := strings.Split(spec, ".")
	for _, p := range parts {
		if p == "" {
			return "", "", "", errkind.New(errkind.Invalid, "column spec %q: empty part (want COLUMN, TABLE.COLUMN, DB.TABLE.COLUMN or DB.SCHEMA.TABLE.COLUMN)", spec)
		}
	}
	switch len(parts) {
	case 1:
		return "", "", parts[0], nil
	case 2:
		return "", parts[0], parts[1], nil
	case 3:
		return parts[0], parts[1], parts[2], nil
	case 4:
		return parts[0], parts[1] + "." + parts[2], parts[3], nil
	}
	return "", "", "", errkind.New(errkind.Invalid, "column spec %q: too many parts (want COLUMN, TABLE.COLUMN, DB.TABLE.COLUMN or DB.SCHEMA.TABLE.COLUMN)", spec)
}

// Spec renders the rule's target the way ParseColumnSpec reads it.
func (r MaskRule) Spec() string {
	var parts []string
	if r.Database != "" {
		parts = append(parts, r.Database)
	}
	if r.Table != "" || r.Database != "" {
		parts = append(parts, orStar(r.Table))
	}
	return strings.Join(append(parts, r.Column), ".")
}

func orStar(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

func globMatch(pattern, s string) bool {
	if pattern == "" || pattern == "*" {
		return true
	}
	ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(s))
	return ok
}

// matches reports whether the rule covers column c of instance.
func (r MaskRule) matches(instance string, c Col) bool {
	if !globMatch(r.Instance, instance) || !globMatch(r.Database, c.DB) || !globMatch(r.Column, c.Column) {
		return false
	}
	if globMatch(r.Table, c.Table) {
		return true
	}
	if r.Table != "" && !strings.Contains(r.Table, ".") {
		if i := strings.LastIndexByte(c.Table, '.'); i >= 0 {
			return globMatch(r.Table, c.Table[i+1:])
		}
	}
	return false
}

// applies reports whether any of rules could match a column of instance.
func anyRuleFor(rules []MaskRule, instance string) bool {
	for _, r := range rules {
		if globMatch(r.Instance, instance) {
			return true
		}
	}
	return false
}

// maskFor decides how to mask an output column from its lineage: nil when
// no source column is masked. A column that is exactly one masked source
// (through aliases, derived tables, views and UNION branches) gets its
// rule's kind; anything computed from a masked column, or from columns
// masked in different ways, is masked fully: a partial mask of a
// substring or concatenation could reveal what the rule hides.
func maskFor(rules []MaskRule, instance string, l lineage) *MaskRule {
	var hit *MaskRule
	mixed := false
	for _, c := range l.srcs {
		for i := range rules {
			if !rules[i].matches(instance, c) {
				continue
			}
			if hit == nil {
				hit = &rules[i]
			} else if hit.Kind != rules[i].Kind || hit.KeepFirst != rules[i].KeepFirst || hit.KeepLast != rules[i].KeepLast {
				mixed = true
			}
			break
		}
	}
	if hit == nil {
		return nil
	}
	if !l.direct || mixed {
		return &MaskRule{Kind: MaskFull, Column: hit.Column}
	}
	return hit
}

// Apply masks one value. NULL stays NULL (its absence is not a secret
// these rules protect); every other value becomes a string.
func (r MaskRule) Apply(v any) any {
	if v == nil {
		return nil
	}
	s := valueString(v)
	switch r.Kind {
	case MaskPhone:
		return keep(s, 3, 4)
	case MaskEmail:
		at := strings.LastIndexByte(s, '@')
		if at <= 0 {
			return fullMask
		}
		first, _ := utf8.DecodeRuneInString(s)
		return string(first) + "***" + s[at:]
	case MaskIDCard:
		if utf8.RuneCountInString(s) >= 15 {
			return keep(s, 6, 4)
		}
		return keep(s, 1, 1)
	case MaskBankCard:
		return keep(s, 0, 4)
	case MaskCustom:
		return keep(s, r.KeepFirst, r.KeepLast)
	}
	return fullMask
}

// keep shows the first and last characters and stars the rest; a value no
// longer than what would be shown is masked fully.
func keep(s string, first, last int) string {
	rs := []rune(s)
	if len(rs) <= first+last {
		return fullMask
	}
	return string(rs[:first]) + strings.Repeat("*", len(rs)-first-last) + string(rs[len(rs)-last:])
}

func valueString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}
