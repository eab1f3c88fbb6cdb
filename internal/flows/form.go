package flows

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// FieldError is one form field that failed validation.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// FormError lists the fields that failed validation. It is an Invalid
// error (HTTP 400) whose message names each field.
type FormError struct {
	Flow   string
	Fields []FieldError
}

func (e *FormError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = fmt.Sprintf("field %q: %s", f.Field, f.Message)
	}
	return fmt.Sprintf("invalid form for flow %s: %s", e.Flow, strings.Join(parts, "; "))
}

// For returns the message of field name, or "".
func (e *FormError) For(name string) string {
	for _, f := range e.Fields {
		if f.Field == name {
			return f.Message
		}
	}
	return ""
}

// maxSQL bounds an sql field (and any text) unless max says otherwise.
const maxSQL = 1 << 20

// Validate checks raw form input (each field's values as entered; several
// for a multiple choice) against the flow's form and returns the typed
// values: string, float64, bool or []string. Unknown fields are errors.
// Defaults fill absent fields.
func (fl *Flow) Validate(raw map[string][]string) (map[string]any, error) {
	out := map[string]any{}
	fe := &FormError{Flow: fl.Name}
	for name := range raw {
		if fl.Field(name) == nil {
			fe.Fields = append(fe.Fields, FieldError{Field: name, Message: "the form has no such field" + suggest(name, fl.fieldNames())})
		}
	}
	for _, f := range fl.Fields {
		vals := raw[f.Name]
		if len(vals) == 0 || (len(vals) == 1 && strings.TrimSpace(vals[0]) == "") {
			vals = nil
		}
		if vals == nil && f.Default != "" {
			vals = splitDefault(f, f.Default)
		}
		v, msg := f.parse(vals)
		if msg != "" {
			switch {
			case msg == "required":
				msg = "is required"
			case f.Message != "":
				msg = f.Message
			}
			fe.Fields = append(fe.Fields, FieldError{Field: f.Name, Message: msg})
			continue
		}
		if v != nil {
			out[f.Name] = v
		}
	}
	if len(fe.Fields) > 0 {
		sort.SliceStable(fe.Fields, func(i, j int) bool { return fl.fieldIndex(fe.Fields[i].Field) < fl.fieldIndex(fe.Fields[j].Field) })
		return nil, errkind.Wrap(errkind.Invalid, fe)
	}
	return out, nil
}

func (fl *Flow) fieldNames() []string {
	out := make([]string, len(fl.Fields))
	for i, f := range fl.Fields {
		out[i] = f.Name
	}
	return out
}

func (fl *Flow) fieldIndex(name string) int {
	for i, f := range fl.Fields {
		if f.Name == name {
			return i
		}
	}
	return len(fl.Fields)
}

// parse validates one field's raw values. It returns the typed value (nil
// when absent and optional), or a message; "required" means absent.
func (f *Field) parse(vals []string) (any, string) {
	if len(vals) == 0 {
		switch {
		case f.Type == TypeBool && f.Required:
			return nil, "must be checked"
		case f.Type == TypeBool:
			return false, ""
		case f.Required:
			return nil, "required"
		case f.Multiple:
			return []string{}, ""
		}
		return nil, ""
	}
	if f.Multiple {
		var out []string
		for _, v := range vals {
			for _, x := range list(v) {
				if !f.hasOption(x) {
					return nil, fmt.Sprintf("%q is not one of the choices (%s)", x, f.optionValues())
				}
				if !slices.Contains(out, x) {
					out = append(out, x)
				}
			}
		}
		if f.Required && len(out) == 0 {
			return nil, "required"
		}
		if f.Min != nil && float64(len(out)) < *f.Min {
			return nil, fmt.Sprintf("choose at least %s", formatNumber(*f.Min))
		}
		if f.Max != nil && float64(len(out)) > *f.Max {
			return nil, fmt.Sprintf("choose at most %s", formatNumber(*f.Max))
		}
		return out, ""
	}
	if len(vals) > 1 {
		return nil, "takes one value"
	}
	v := vals[0]
	if f.Type != TypeSQL && f.Type != TypeTextarea {
		v = strings.TrimSpace(v)
	}
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return nil, "is not valid text"
	}
	switch f.Type {
	case TypeText, TypeTextarea, TypeSQL:
		n := utf8.RuneCountInString(v)
		if f.Min != nil && float64(n) < *f.Min {
			return nil, fmt.Sprintf("must be at least %s characters", formatNumber(*f.Min))
		}
		limit := float64(maxSQL)
		if f.Max != nil {
			limit = *f.Max
		}
		if float64(n) > limit {
			return nil, fmt.Sprintf("must be at most %s characters", formatNumber(limit))
		}
		if f.Type == TypeText && strings.ContainsAny(v, "\r\n") {
			return nil, "must be one line"
		}
		if f.re != nil && !f.re.MatchString(v) {
			return nil, fmt.Sprintf("does not match the pattern %s", f.Pattern)
		}
		return v, ""
	case TypeNumber:
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Sprintf("%q is not a number", v)
		}
		if f.Min != nil && x < *f.Min {
			return nil, fmt.Sprintf("must be at least %s", formatNumber(*f.Min))
		}
		if f.Max != nil && x > *f.Max {
			return nil, fmt.Sprintf("must be at most %s", formatNumber(*f.Max))
		}
		return x, ""
	case TypeBool:
		switch strings.ToLower(v) {
		case "true", "yes", "on", "1":
			return true, ""
		case "false", "no", "off", "0":
			if f.Required {
				return nil, "must be checked"
			}
			return false, ""
		}
		return nil, fmt.Sprintf("%q is not true or false", v)
	case TypeEnum:
		if !f.hasOption(v) {
			return nil, fmt.Sprintf("%q is not one of the choices (%s)", v, f.optionValues())
		}
		return v, ""
	case TypeDate:
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return nil, fmt.Sprintf("%q is not a date (YYYY-MM-DD)", v)
		}
		return t.Format("2006-01-02"), ""
	case TypeTime:
		for _, layout := range []string{"15:04", "15:04:05"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.Format("15:04"), ""
			}
		}
		return nil, fmt.Sprintf("%q is not a time of day (HH:MM)", v)
	case TypeDatetime:
		t, err := ParseDatetime(v)
		if err != nil {
			return nil, fmt.Sprintf("%q is not a date and time (YYYY-MM-DDTHH:MM, UTC unless a zone is given)", v)
		}
		return t.UTC().Format(time.RFC3339), ""
	case TypeCluster, TypeInstance:
		if !nameLike(v) {
			return nil, fmt.Sprintf("%q is not a valid %s name", v, f.Type)
		}
		return v, ""
	case TypeDatabase:
		inst, db, ok := strings.Cut(v, "/")
		if !ok || !nameLike(inst) || !validDatabaseName(db) {
			return nil, fmt.Sprintf("%q: want INSTANCE/DATABASE, e.g. orders-1/shop", v)
		}
		return v, ""
	}
	return nil, fmt.Sprintf("unsupported field type %s", f.Type)
}

// ParseDatetime reads the datetime formats a form accepts.
func ParseDatetime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date and time")
}

func (f *Field) hasOption(v string) bool {
	for _, o := range f.Options {
		if o.Value == v {
			return true
		}
	}
	return false
}

func (f *Field) optionValues() string {
	vs := make([]string, len(f.Options))
	for i, o := range f.Options {
		vs[i] = o.Value
	}
	return strings.Join(vs, ", ")
}

// nameLike accepts inventory names.
func nameLike(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// validDatabaseName accepts database and schema names that need no quoting
// trickery: letters, digits, '_' and '$', not starting with a digit, at most
// 63 characters (PostgreSQL's limit; MySQL's is 64).
func validDatabaseName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		case r >= '0' && r <= '9', r == '$':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func formatNumber(x float64) string {
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// FormatValue renders a typed form value for display.
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return formatNumber(x)
	case []string:
		return strings.Join(x, ", ")
	case []any:
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = fmt.Sprint(e)
		}
		return strings.Join(s, ", ")
	default:
		return fmt.Sprint(x)
	}
}
