package inventory

import (
	"encoding/json"
	"regexp"
	"sort"
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
