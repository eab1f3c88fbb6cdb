package reports

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// DateRange is a daterange parameter's value: From inclusive, To
// exclusive (midnight UTC after the last day).
type DateRange struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

func (d DateRange) String() string {
	return d.From.Format(time.DateOnly) + ".." + d.To.AddDate(0, 0, -1).Format(time.DateOnly)
}

var (
	lastN    = regexp.MustCompile(`^last-([0-9]{1,4})d$`)
	relDay   = regexp.MustCompile(`^(today|yesterday|-([0-9]{1,4})d)$`)
	namePick = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// parseDate reads YYYY-MM-DD, today, yesterday or -Nd.
func parseDate(s string, now time.Time) (time.Time, error) {
	if m := relDay.FindStringSubmatch(s); m != nil {
		switch {
		case m[1] == "today":
			return day(now), nil
		case m[1] == "yesterday":
			return day(now).AddDate(0, 0, -1), nil
		}
		n, _ := strconv.Atoi(m[2])
		return day(now).AddDate(0, 0, -n), nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want a date YYYY-MM-DD, today, yesterday or -Nd")
	}
	return t, nil
}

// parse reads a value of the parameter's type from its text form.
func (p *Param) parse(s string, now time.Time) (any, error) {
	switch p.Type {
	case ParamNumber:
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("want a number")
		}
		return f, nil
	case ParamEnum:
		if !slices.ContainsFunc(p.Options, func(o Option) bool { return o.Value == s }) {
			vals := make([]string, len(p.Options))
			for i, o := range p.Options {
				vals[i] = o.Value
			}
			return nil, fmt.Errorf("want one of %s", strings.Join(vals, ", "))
		}
		return s, nil
	case ParamDate:
		return parseDate(s, now)
	case ParamDateRange:
		if m := lastN.FindStringSubmatch(s); m != nil {
			n, _ := strconv.Atoi(m[1])
			to := day(now).AddDate(0, 0, 1)
			return DateRange{From: to.AddDate(0, 0, -n), To: to}, nil
		}
		a, b, ok := strings.Cut(s, "..")
		if !ok {
			return nil, fmt.Errorf("want FROM..TO (dates, both days included) or last-Nd")
		}
		from, err := parseDate(a, now)
		if err != nil {
			return nil, fmt.Errorf("from: %w", err)
		}
		to, err := parseDate(b, now)
		if err != nil {
			return nil, fmt.Errorf("to: %w", err)
		}
		if to.Before(from) {
			return nil, fmt.Errorf("the range ends before it starts")
		}
		return DateRange{From: from, To: to.AddDate(0, 0, 1)}, nil
	case ParamInstance, ParamCluster, ParamGroup:
		if !namePick.MatchString(s) {
			return nil, fmt.Errorf("want a%s name", map[bool]string{true: "n"}[p.Type == ParamInstance]+" "+p.Type)
		}
		return s, nil
	default: // text, query
		if len(s) > 4096 {
			return nil, fmt.Errorf("longer than 4096 bytes")
		}
		return s, nil
	}
}

// Locked returns the parameters fixed for the principal by the report's
// grants: those of a grant to the principal's user or to exactly its role
// (a lock for developers does not bind a DBA, whom the same grant
// covers); ${user} is the principal's name.
func (r *Report) Locked(p auth.Principal) map[string]string {
	out := map[string]string{}
	for _, g := range r.Grants {
		if g.User != p.User && (g.User != "" || g.Role != p.Role) {
			continue
		}
		for k, v := range g.Lock {
			out[k] = strings.ReplaceAll(v, "${user}", p.User)
		}
	}
	return out
}

// Resolve checks the given parameter values (text, as a form or the CLI
// sends them) and returns them typed, with defaults filled in and locked
// parameters forced. A value of the wrong type, a missing required one,
// an unknown name or a changed locked one is an errkind.Invalid or
// Forbidden error, before any query runs.
func (r *Report) Resolve(p auth.Principal, in map[string]string, now time.Time) (map[string]any, error) {
	locked := r.Locked(p)
	for k, v := range in {
		if r.Param(k) == nil {
			return nil, errkind.New(errkind.Invalid, "report %s: no parameter %q", r.ID, k)
		}
		if lv, ok := locked[k]; ok && v != "" && v != lv {
			return nil, errkind.New(errkind.Forbidden, "report %s: parameter %q is locked to %q for you", r.ID, k, lv)
		}
	}
	vals := maps.Clone(in)
	if vals == nil {
		vals = map[string]string{}
	}
	maps.Copy(vals, locked)
	out := map[string]any{}
	for _, pr := range r.Params {
		s := strings.TrimSpace(vals[pr.Name])
		if s == "" {
			s = pr.Default
		}
		if s == "" {
			if pr.Required {
				return nil, errkind.New(errkind.Invalid, "report %s: parameter %q is required", r.ID, pr.Name)
			}
			out[pr.Name] = nil
			continue
		}
		v, err := pr.parse(s, now)
		if err != nil {
			return nil, errkind.New(errkind.Invalid, "report %s: parameter %s=%q: %v", r.ID, pr.Name, s, err)
		}
		out[pr.Name] = v
	}
	return out, nil
}

// Text is a typed value's text form (what a link or a form shows).
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.Format(time.DateOnly)
	case DateRange:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}
