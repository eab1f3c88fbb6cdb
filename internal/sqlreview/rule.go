package sqlreview

import (
	"fmt"
	"regexp"
	"strings"
)

// Level is how serious a finding is; a rule set at off does not run.
type Level string

// Levels, from least to most serious.
const (
	LevelOff     Level = "off"
	LevelWarning Level = "warning"
	LevelError   Level = "error"
)

func (l Level) rank() int {
	switch l {
	case LevelWarning:
		return 1
	case LevelError:
		return 2
	}
	return 0
}

// ParseLevel validates a level name.
func ParseLevel(s string) (Level, error) {
	switch l := Level(strings.ToLower(strings.TrimSpace(s))); l {
	case LevelOff, LevelWarning, LevelError:
		return l, nil
	}
	return "", fmt.Errorf("invalid level %q: want error, warning or off", s)
}

// ParamKind is a parameter's type.
type ParamKind string

// Parameter types.
const (
	ParamInt    ParamKind = "int"
	ParamString ParamKind = "string"
	ParamBool   ParamKind = "bool"
	ParamList   ParamKind = "list"   // list of strings
	ParamRegexp ParamKind = "regexp" // a Go regular expression
)

// Param declares one parameter of a rule.
type Param struct {
	Name    string
	Kind    ParamKind
	Default any // int, string, bool or []string
	Help    string
}

// engineSet says which dialects a rule means something for.
type engineSet uint8

const (
	forMySQL engineSet = 1 << iota
	forPostgres
	forAll = forMySQL | forPostgres
)

func (e engineSet) names() []string {
	var out []string
	if e&forMySQL != 0 {
		out = append(out, "mariadb", "mysql")
	}
	if e&forPostgres != 0 {
		out = append(out, "postgres")
	}
	return out
}

// Rule is one review rule. Each lives in its own file (rule_*.go) and is
// listed in catalog().
type Rule struct {
	ID      string
	Level   Level // default level
	Engines engineSet
	// Summary is one line; Explain is the explanation a ticket shows next
	// to a finding: why the rule exists and what to do instead.
	Summary string
	Explain string
	Params  []Param
	// Live rules need a live schema (an instance) and are skipped offline.
	Live bool
	// Check looks at one statement (with the schema as it stands before
	// the statement) and reports findings through c.
	Check func(c *Check, s *Stmt)
	// Finish, when set, runs once after the last statement.
	Finish func(c *Check)
}

// Check is a rule's view of one review: its level and parameters, the
// schema, and where findings go.
type Check struct {
	rule   *Rule
	level  Level
	params map[string]any
	rv     *review
	re     map[string]*regexp.Regexp
	// state is the rule's memory across the statements of one review.
	state map[string]any
}

// Report adds a finding for statement s at byte offset pos of its text
// (-1: the statement's start).
func (c *Check) Report(s *Stmt, pos int, fix, format string, args ...any) {
	c.rv.add(s, pos, c.rule.ID, c.level, fmt.Sprintf(format, args...), fix)
}

// Int, Str, Bool, List and Regexp return parameter values.
func (c *Check) Int(name string) int { v, _ := c.params[name].(int); return v }

// Str returns a string parameter.
func (c *Check) Str(name string) string { v, _ := c.params[name].(string); return v }

// Bool returns a boolean parameter.
func (c *Check) Bool(name string) bool { v, _ := c.params[name].(bool); return v }

// List returns a list parameter.
func (c *Check) List(name string) []string { v, _ := c.params[name].([]string); return v }

// Regexp returns a compiled regexp parameter (nil when empty).
func (c *Check) Regexp(name string) *regexp.Regexp {
	if re, ok := c.re[name]; ok {
		return re
	}
	src := c.Str(name)
	var re *regexp.Regexp
	if src != "" {
		re = regexp.MustCompile(src) // validated when the settings were built
	}
	if c.re == nil {
		c.re = map[string]*regexp.Regexp{}
	}
	c.re[name] = re
	return re
}

// inList reports whether v is in list, case-insensitively.
func inList(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// Kind is the request's ticket kind ("ddl", "dml" or "").
func (c *Check) Kind() string { return c.rv.req.Kind }

// Env is the environment of the review's target ("" when not given).
func (c *Check) Env() string { return c.rv.req.Env }

// ReportLevel adds a finding at level instead of the rule's.
func (c *Check) ReportLevel(s *Stmt, pos int, level Level, fix, format string, args ...any) {
	c.rv.add(s, pos, c.rule.ID, level, fmt.Sprintf(format, args...), fix)
}

// Postgres reports whether the review is for PostgreSQL.
func (c *Check) Postgres() bool { return c.rv.pg }

// Table returns what is known of a table before the current statement:
// exists is yes, no or unknown; info is nil unless its definition is known
// (created earlier in the file, or read from the live schema).
func (c *Check) Table(ref TableRef) (exists tri, info *tableInfo) {
	return c.rv.schema.lookup(c.rv.ctx, ref)
}

// Live reports whether live-schema checks run in this review.
func (c *Check) Live() bool { return c.rv.schema.live != nil }

// tri is yes, no or unknown.
type tri int8

const (
	unknown tri = iota
	yes
	no
)

// RuleInfo describes a rule with its effective settings, for listings and
// for tickets that show a finding's explanation.
type RuleInfo struct {
	ID           string      `json:"id"`
	Level        Level       `json:"level"`
	DefaultLevel Level       `json:"default_level"`
	Engines      []string    `json:"engines"`
	Live         bool        `json:"live"`
	Summary      string      `json:"summary"`
	Explanation  string      `json:"explanation"`
	Params       []ParamInfo `json:"params"`
}

// ParamInfo is a parameter with its effective value.
type ParamInfo struct {
	Name    string    `json:"name"`
	Type    ParamKind `json:"type"`
	Value   any       `json:"value"`
	Default any       `json:"default"`
	Help    string    `json:"help"`
}
