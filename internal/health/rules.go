package health

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"

	"github.com/dbfleet/dbfleet/internal/engine"
	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// DefaultRulesYAML is the built-in rule file (rules.yaml in this package).
//
//go:embed rules.yaml
var DefaultRulesYAML []byte

// Categories of deductions (Tencent DBbrain's grouping).
var Categories = []string{"availability", "reliability", "performance", "maintainability"}

// Severities, mildest first.
var Severities = []string{"info", "warning", "critical"}

// Families group engines that share metric names and rules.
var Families = []string{"mysql", "postgres", "redis"}

// Family returns the rule family of an engine: mysql for MariaDB, MySQL
// and TiDB, else the engine's own name.
func Family(k engine.Kind) string {
	switch k {
	case engine.MariaDB, engine.MySQL, engine.TiDB:
		return "mysql"
	}
	return string(k)
}

// Rule is one health check: an observed value computed from the inputs,
// and tiers of thresholds that deduct points. The last tier whose
// condition holds applies.
type Rule struct {
	ID       string `yaml:"id" json:"id"`
	Item     string `yaml:"item" json:"item"`
	Title    string `yaml:"title" json:"title"`
	Category string `yaml:"category" json:"category"`
	// Engines are families (mysql, postgres, redis) or engine names; empty
	// means every engine.
	Engines []string `yaml:"engines,omitempty" json:"engines,omitempty"`
	// Windows are "now" and/or "daily"; empty means both.
	Windows []string `yaml:"windows,omitempty" json:"windows,omitempty"`
	// Value is an expression over the inputs giving the observed value.
	// With Each it may use v (the matched input); it defaults to v.
	Value string `yaml:"value" json:"value"`
	// Each, an input-name prefix, evaluates the rule once per input that
	// starts with it (item ITEM:SUFFIX); Cap bounds their sum.
	Each string `yaml:"each,omitempty" json:"each,omitempty"`
	// When, an expression over the inputs, must hold for the rule to apply.
	When string `yaml:"when,omitempty" json:"when,omitempty"`
	Unit string `yaml:"unit,omitempty" json:"unit,omitempty"`
	// Tiers from mild to severe.
	Tiers []Tier `yaml:"tiers" json:"tiers"`
	// Cap bounds the rule's points; 0 means no bound but the score's.
	Cap      float64 `yaml:"cap,omitempty" json:"cap,omitempty"`
	Disabled bool    `yaml:"disabled,omitempty" json:"disabled,omitempty"`

	line  int
	file  string
	value *program
	when  *program
}

// Tier is one threshold of a rule: Above (v > threshold) or Below
// (v < threshold), each an expression over the inputs; Points is an
// expression over v, t (the threshold) and the inputs.
type Tier struct {
	Above    string `yaml:"above,omitempty" json:"above,omitempty"`
	Below    string `yaml:"below,omitempty" json:"below,omitempty"`
	Severity string `yaml:"severity" json:"severity"`
	Points   string `yaml:"points" json:"points"`

	threshold *program
	points    *program
}

// program is a compiled expression and the input names it reads.
type program struct {
	src  string
	prog *vm.Program
	vars []string
}

func compile(src string) (*program, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", src, firstLine(err.Error()))
	}
	collect := &identCollector{seen: map[string]bool{}}
	ast.Walk(&tree.Node, collect)
	prog, err := expr.Compile(src, expr.Env(map[string]any{}), expr.AllowUndefinedVariables())
	if err != nil {
		return nil, fmt.Errorf("%q: %v", src, firstLine(err.Error()))
	}
	sort.Strings(collect.vars)
	return &program{src: src, prog: prog, vars: collect.vars}, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

type identCollector struct {
	seen    map[string]bool
	vars    []string
	callees map[ast.Node]bool
}

func (c *identCollector) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.CallNode:
		if c.callees == nil {
			c.callees = map[ast.Node]bool{}
		}
		c.callees[n.Callee] = true
	case *ast.IdentifierNode:
		if c.callees[n] || c.seen[n.Value] {
			return
		}
		c.seen[n.Value] = true
		c.vars = append(c.vars, n.Value)
	}
}

// missing returns the variables of p that env lacks.
func (p *program) missing(env map[string]any) []string {
	var out []string
	for _, v := range p.vars {
		if _, ok := env[v]; !ok {
			out = append(out, v)
		}
	}
	return out
}

// number runs p and converts the result to a float64.
func (p *program) number(env map[string]any) (float64, error) {
	out, err := expr.Run(p.prog, env)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", p.src, err)
	}
	switch x := out.(type) {
	case float64:
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("%s: result %v is not a number", p.src, out)
}

// AnomalyMetric is a key metric compared with its forecast ("now vs.
// history"): a PromQL query and the least standard deviation credited to
// its band, so that a flat history does not turn every change into an
// anomaly.
type AnomalyMetric struct {
	Query string  `yaml:"query" json:"query"`
	MinSD float64 `yaml:"min_sd,omitempty" json:"min_sd,omitempty"`
}

// CapacitySpec says how to forecast "days until full": Used is PromQL for
// the space in use, Capacity an expression over the inputs for the space
// available (host_disk_bytes by default).
type CapacitySpec struct {
	Used     string `yaml:"used" json:"used"`
	Capacity string `yaml:"capacity" json:"capacity"`
}

// Family's inputs and forecast specs.
type familySpec struct {
	Inputs    map[string]string        `yaml:"inputs"`
	Anomalies map[string]AnomalyMetric `yaml:"anomalies"`
	Capacity  *CapacitySpec            `yaml:"capacity"`
	// Limits are other forecasts with a limit (connections against
	// max_connections): used is forecast until it reaches capacity, an
	// expression over the inputs; the days go to input days_until_<name>.
	Limits map[string]CapacitySpec `yaml:"limits"`
}

// fileDoc is a rule file.
type fileDoc struct {
	Version  int                    `yaml:"version"`
	Families map[string]familySpec  `yaml:"families"`
	Rules    []Rule                 `yaml:"rules"`
	Clusters map[string]clusterSpec `yaml:"clusters"`
}

type clusterSpec struct {
	Families map[string]familySpec `yaml:"families"`
	Rules    []Rule                `yaml:"rules"`
}

// rawDoc is the same file with rules kept as nodes, to lay them over
// existing rules field by field.
type rawDoc struct {
	Families map[string]yaml.Node `yaml:"families"`
	Rules    []yaml.Node          `yaml:"rules"`
	Clusters map[string]struct {
		Families map[string]yaml.Node `yaml:"families"`
		Rules    []yaml.Node          `yaml:"rules"`
	} `yaml:"clusters"`
}

// layer is a set of families and rules: the defaults, or one cluster's.
type layer struct {
	families map[string]*familySpec
	rules    []*Rule
}

// RuleSet is the effective rules: the built-in file, a user file laid
// over it (a rule with the same id overrides the fields it names; a new
// id adds a rule; disabled: true drops one), and per-cluster overrides
// laid over that. It is immutable once loaded.
type RuleSet struct {
	base     layer
	clusters map[string]layer
	sources  []string
}

// LoadRules builds the rule set from the built-in rules and, when
// userFile is not empty, the user's file over them.
func LoadRules(userFile string) (*RuleSet, error) {
	rs, err := ParseRules(DefaultRulesYAML, "rules.yaml (built in)", nil)
	if err != nil {
		return nil, fmt.Errorf("built-in health rules: %w", err)
	}
	if userFile == "" {
		return rs, nil
	}
	data, err := os.ReadFile(userFile)
	if err != nil {
		return nil, fmt.Errorf("health rules: %w", err)
	}
	return ParseRules(data, userFile, rs)
}

// ParseRules parses a rule file named name; with a base it is laid over
// the base's rules. Errors name the file and line.
func ParseRules(data []byte, name string, base *RuleSet) (*RuleSet, error) {
	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, errkind.New(errkind.Invalid, "%s", yamlError(name, err))
	}
	if doc.Version != 0 && doc.Version != 1 {
		return nil, errkind.New(errkind.Invalid, "%s: version %d: want 1", name, doc.Version)
	}
	var raw rawDoc
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, errkind.New(errkind.Invalid, "%s", yamlError(name, err))
	}
	rs := &RuleSet{clusters: map[string]layer{}}
	if base != nil {
		rs.base = base.base.clone()
		for c, l := range base.clusters {
			rs.clusters[c] = l.clone()
		}
		rs.sources = append(rs.sources, base.sources...)
	} else {
		rs.base = layer{families: map[string]*familySpec{}}
	}
	rs.sources = append(rs.sources, name)
	var errs []string
	// This file's defaults go under every cluster's overrides made so far,
	// then its own cluster overrides on top.
	errs = append(errs, rs.base.apply(name, raw.Families, raw.Rules)...)
	for cname, l := range rs.clusters {
		errs = append(errs, l.apply(name, raw.Families, raw.Rules)...)
		rs.clusters[cname] = l
	}
	for cname, c := range raw.Clusters {
		l, ok := rs.clusters[cname]
		if !ok {
			l = rs.base.clone()
		}
		errs = append(errs, l.apply(name, c.Families, c.Rules)...)
		rs.clusters[cname] = l
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		errs = compactStrings(errs)
		return nil, errkind.New(errkind.Invalid, "invalid health rules:\n  %s", strings.Join(errs, "\n  "))
	}
	return rs, nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+): `)

func yamlError(name string, err error) string {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for i, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		if sm := yamlLineRE.FindStringSubmatchIndex(m); sm != nil && sm[0] == 0 {
			m = name + ":" + m[sm[2]:sm[3]] + ": " + m[sm[1]:]
		} else {
			m = name + ": " + m
		}
		m = strings.Replace(m, " in type health.", " in ", 1)
		msgs[i] = m
	}
	return strings.Join(msgs, "\n  ")
}

func (l layer) clone() layer {
	out := layer{families: map[string]*familySpec{}}
	for k, f := range l.families {
		c := *f
		c.Inputs = cloneMap(f.Inputs)
		c.Anomalies = cloneMap(f.Anomalies)
		c.Limits = cloneMap(f.Limits)
		if f.Capacity != nil {
			cp := *f.Capacity
			c.Capacity = &cp
		}
		out.families[k] = &c
	}
	for _, r := range l.rules {
		c := *r
		c.Tiers = append([]Tier(nil), r.Tiers...)
		out.rules = append(out.rules, &c)
	}
	return out
}

func compactStrings(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func cloneMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// apply lays families and rule nodes over l, and returns what is wrong.
func (l *layer) apply(file string, fams map[string]yaml.Node, rules []yaml.Node) []string {
	var errs []string
	names := make([]string, 0, len(fams))
	for k := range fams {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, fname := range names {
		node := fams[fname]
		if !knownFamily(fname) {
			errs = append(errs, fmt.Sprintf("%s:%d: unknown engine family %q: want %s", file, node.Line, fname, strings.Join(Families, ", ")))
			continue
		}
		var f familySpec
		if err := node.Decode(&f); err != nil {
			errs = append(errs, yamlError(file, err))
			continue
		}
		cur := l.families[fname]
		if cur == nil {
			cur = &familySpec{Inputs: map[string]string{}, Anomalies: map[string]AnomalyMetric{}}
			l.families[fname] = cur
		}
		for k, v := range f.Inputs {
			if !identRE.MatchString(k) {
				errs = append(errs, fmt.Sprintf("%s:%d: input %q: want a name of letters, digits and _", file, node.Line, k))
			}
			if v == "" {
				delete(cur.Inputs, k)
			} else {
				cur.Inputs[k] = v
			}
		}
		for k, v := range f.Anomalies {
			if !identRE.MatchString(k) {
				errs = append(errs, fmt.Sprintf("%s:%d: anomaly metric %q: want a name of letters, digits and _", file, node.Line, k))
			}
			if v.Query == "" {
				delete(cur.Anomalies, k)
			} else {
				cur.Anomalies[k] = v
			}
		}
		if len(f.Limits) > 0 && cur.Limits == nil {
			cur.Limits = map[string]CapacitySpec{}
		}
		for k, v := range f.Limits {
			switch {
			case !identRE.MatchString(k) || k == "full":
				errs = append(errs, fmt.Sprintf("%s:%d: limit %q: want a name of letters, digits and _ (not full)", file, node.Line, k))
			case v.Used == "":
				delete(cur.Limits, k)
			case v.Capacity == "":
				errs = append(errs, fmt.Sprintf("%s:%d: %s limit %s: capacity is required (an expression over the inputs)", file, node.Line, fname, k))
			default:
				if _, err := compile(v.Capacity); err != nil {
					errs = append(errs, fmt.Sprintf("%s:%d: %s limit %s capacity: %v", file, node.Line, fname, k, err))
				}
				cur.Limits[k] = v
			}
		}
		if f.Capacity != nil {
			if f.Capacity.Used == "" {
				cur.Capacity = nil
			} else {
				c := *f.Capacity
				if c.Capacity == "" {
					c.Capacity = "host_disk_bytes"
				}
				if _, err := compile(c.Capacity); err != nil {
					errs = append(errs, fmt.Sprintf("%s:%d: %s capacity: %v", file, node.Line, fname, err))
				}
				cur.Capacity = &c
			}
		}
	}
	for i := range rules {
		node := &rules[i]
		var head struct {
			ID string `yaml:"id"`
		}
		if err := node.Decode(&head); err != nil || head.ID == "" {
			errs = append(errs, fmt.Sprintf("%s:%d: rule without an id", file, node.Line))
			continue
		}
		idx := -1
		for j, r := range l.rules {
			if r.ID == head.ID {
				idx = j
			}
		}
		var r Rule
		if idx >= 0 {
			r = *l.rules[idx]
			r.Tiers = append([]Tier(nil), r.Tiers...)
		}
		if err := node.Decode(&r); err != nil {
			errs = append(errs, yamlError(file, err))
			continue
		}
		r.line, r.file = node.Line, file
		if err := r.compile(); err != nil {
			errs = append(errs, fmt.Sprintf("%s:%d: rule %s: %v", file, node.Line, r.ID, err))
			continue
		}
		if idx >= 0 {
			l.rules[idx] = &r
		} else {
			l.rules = append(l.rules, &r)
		}
	}
	return errs
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func knownFamily(f string) bool {
	for _, k := range Families {
		if k == f {
			return true
		}
	}
	return false
}

func oneOf(v string, list []string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// compile validates the rule and compiles its expressions.
func (r *Rule) compile() error {
	var errs []string
	if !identRE.MatchString(strings.ReplaceAll(r.ID, ".", "_")) {
		errs = append(errs, fmt.Sprintf("id %q: want letters, digits, _ and .", r.ID))
	}
	if r.Item == "" {
		r.Item = r.ID
	}
	if !oneOf(r.Category, Categories) {
		errs = append(errs, fmt.Sprintf("category %q: want one of %s", r.Category, strings.Join(Categories, ", ")))
	}
	for _, e := range r.Engines {
		if !knownFamily(e) {
			if _, err := engine.ParseKind(e); err != nil {
				errs = append(errs, fmt.Sprintf("engine %q: want a family (%s) or an engine name", e, strings.Join(Families, ", ")))
			}
		}
	}
	for _, w := range r.Windows {
		if w != string(Now) && w != string(Daily) {
			errs = append(errs, fmt.Sprintf("window %q: want now or daily", w))
		}
	}
	if r.Cap < 0 {
		errs = append(errs, fmt.Sprintf("cap %g: must not be negative", r.Cap))
	}
	value := r.Value
	if value == "" && r.Each != "" {
		value = "v"
	}
	if value == "" {
		errs = append(errs, "value: an expression is required")
	} else if p, err := compile(value); err != nil {
		errs = append(errs, "value: "+err.Error())
	} else {
		r.value = p
	}
	r.when = nil
	if r.When != "" {
		if p, err := compile(r.When); err != nil {
			errs = append(errs, "when: "+err.Error())
		} else {
			r.when = p
		}
	}
	if len(r.Tiers) == 0 && !r.Disabled {
		errs = append(errs, "tiers: at least one is required")
	}
	for i := range r.Tiers {
		t := &r.Tiers[i]
		where := fmt.Sprintf("tier %d", i+1)
		if (t.Above == "") == (t.Below == "") {
			errs = append(errs, where+": want exactly one of above or below")
			continue
		}
		if !oneOf(t.Severity, Severities) {
			errs = append(errs, fmt.Sprintf("%s: severity %q: want one of %s", where, t.Severity, strings.Join(Severities, ", ")))
		}
		src := t.Above
		if src == "" {
			src = t.Below
		}
		p, err := compile(src)
		if err != nil {
			errs = append(errs, where+" threshold: "+err.Error())
		}
		t.threshold = p
		if t.Points == "" {
			errs = append(errs, where+": points: an expression is required")
			continue
		}
		if t.points, err = compile(t.Points); err != nil {
			errs = append(errs, where+" points: "+err.Error())
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// appliesTo says whether the rule is for this engine and window.
func (r *Rule) appliesTo(kind engine.Kind, w Window) bool {
	if r.Disabled {
		return false
	}
	if len(r.Windows) > 0 && !oneOf(string(w), r.Windows) {
		return false
	}
	if len(r.Engines) == 0 {
		return true
	}
	fam := Family(kind)
	for _, e := range r.Engines {
		if e == fam || e == string(kind) {
			return true
		}
	}
	return false
}

func (rs *RuleSet) layer(cluster string) layer {
	if l, ok := rs.clusters[cluster]; ok && cluster != "" {
		return l
	}
	return rs.base
}

// Rules returns the rules that apply to an instance of this engine in
// this cluster and window.
func (rs *RuleSet) Rules(kind engine.Kind, cluster string, w Window) []*Rule {
	var out []*Rule
	for _, r := range rs.layer(cluster).rules {
		if r.appliesTo(kind, w) {
			out = append(out, r)
		}
	}
	return out
}

// AllRules lists every rule for a cluster ("" for the defaults),
// disabled ones included, for display.
func (rs *RuleSet) AllRules(cluster string) []Rule {
	var out []Rule
	for _, r := range rs.layer(cluster).rules {
		out = append(out, *r)
	}
	return out
}

// Inputs returns the PromQL input queries of an engine's family.
func (rs *RuleSet) Inputs(kind engine.Kind, cluster string) map[string]string {
	if f := rs.layer(cluster).families[Family(kind)]; f != nil {
		return f.Inputs
	}
	return nil
}

// Anomalies returns the metrics compared with their forecast.
func (rs *RuleSet) Anomalies(kind engine.Kind, cluster string) map[string]AnomalyMetric {
	if f := rs.layer(cluster).families[Family(kind)]; f != nil {
		return f.Anomalies
	}
	return nil
}

// Capacity returns how to forecast days until full, or nil.
func (rs *RuleSet) Capacity(kind engine.Kind, cluster string) *CapacitySpec {
	if f := rs.layer(cluster).families[Family(kind)]; f != nil {
		return f.Capacity
	}
	return nil
}

// Limits returns the forecasts with a limit other than the disk's, by
// name.
func (rs *RuleSet) Limits(kind engine.Kind, cluster string) map[string]CapacitySpec {
	if f := rs.layer(cluster).families[Family(kind)]; f != nil {
		return f.Limits
	}
	return nil
}

// Sources are the files the rule set was built from.
func (rs *RuleSet) Sources() []string { return append([]string(nil), rs.sources...) }

// finite reports whether v is a usable number.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
