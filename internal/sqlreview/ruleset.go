package sqlreview

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// defaultsYAML holds the built-in rule sets per environment.
//
//go:embed defaults.yaml
var defaultsYAML []byte

// DefaultRules returns the built-in rule-set file, a starting point for
// one's own.
func DefaultRules() []byte { return bytes.Clone(defaultsYAML) }

// RuleFile is a parsed rule-set file:
//
//	rules:            # every environment
//	  table-require-pk: error
//	  column-varchar-max-length: {level: warning, params: {max_length: 1024}}
//	envs:             # per environment, over rules
//	  prod:
//	    statement-affected-rows-limit: {level: error, params: {max_rows: 10000}}
//	clusters:         # per cluster, over its environment
//	  orders:
//	    table-engine-innodb: off
type RuleFile struct {
	Name     string
	Rules    map[string]setting
	Envs     map[string]map[string]setting
	Clusters map[string]map[string]setting
}

// setting is one rule's entry in a layer.
type setting struct {
	level  Level // "" when the entry sets only parameters
	params map[string]any
}

// effective is a rule's level and parameters after all layers.
type effective struct {
	level  Level
	params map[string]any
}

// LoadRuleFile reads and validates a rule-set file.
func LoadRuleFile(path string) (*RuleFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, errkind.Wrap(errkind.Invalid, fmt.Errorf("read rules: %w", err))
	}
	return ParseRuleFile(path, data)
}

// ParseRuleFile parses and validates a rule-set file; errors name
// name:line, the rule and the parameter.
func ParseRuleFile(name string, data []byte) (*RuleFile, error) {
	byID := map[string]*Rule{}
	for _, r := range catalog() {
		byID[r.ID] = r
	}
	return parseRuleFile(name, data, byID)
}

type ruleFileParser struct {
	name string
	byID map[string]*Rule
	errs []string
}

func (p *ruleFileParser) errorf(n *yaml.Node, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, fmt.Sprintf("%s:%d: %s", p.name, line, fmt.Sprintf(format, args...)))
}

func parseRuleFile(name string, data []byte, byID map[string]*Rule) (*RuleFile, error) {
	rf := &RuleFile{Name: name, Rules: map[string]setting{}, Envs: map[string]map[string]setting{}, Clusters: map[string]map[string]setting{}}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return rf, nil
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := regexp.MustCompile(`^line (\d+): (.*)$`).FindStringSubmatch(msg); m != nil {
			msg = m[1] + ": " + m[2]
		} else {
			msg = "0: " + msg
		}
		return nil, errkind.New(errkind.Invalid, "invalid rules file:\n  %s:%s", name, msg)
	}
	p := &ruleFileParser{name: name, byID: byID}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "want a mapping with rules, envs and clusters")
	} else {
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], root.Content[i+1]
			switch k.Value {
			case "rules":
				rf.Rules = p.layer(v, "")
			case "envs", "clusters":
				if v.Kind != yaml.MappingNode {
					p.errorf(v, "%s: want a mapping of names to rule settings", k.Value)
					continue
				}
				for j := 0; j+1 < len(v.Content); j += 2 {
					n, l := v.Content[j], v.Content[j+1]
					layer := p.layer(l, k.Value[:len(k.Value)-1]+" "+n.Value+": ")
					if k.Value == "envs" {
						rf.Envs[n.Value] = layer
					} else {
						rf.Clusters[n.Value] = layer
					}
				}
			default:
				p.errorf(k, "unknown key %q: want rules, envs or clusters", k.Value)
			}
		}
	}
	if len(p.errs) > 0 {
		return nil, errkind.New(errkind.Invalid, "invalid rules file:\n  %s", strings.Join(p.errs, "\n  "))
	}
	return rf, nil
}

// layer parses "rule-id: level" or "rule-id: {level: ..., params: {...}}".
func (p *ruleFileParser) layer(n *yaml.Node, where string) map[string]setting {
	out := map[string]setting{}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return out
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%swant a mapping of rule ids to settings", where)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		rule, ok := p.byID[k.Value]
		if !ok {
			p.errorf(k, "%sunknown rule %q%s", where, k.Value, suggest(k.Value, p.byID))
			continue
		}
		out[rule.ID] = p.setting(rule, v, where)
	}
	return out
}

func (p *ruleFileParser) setting(rule *Rule, v *yaml.Node, where string) setting {
	var s setting
	switch v.Kind {
	case yaml.ScalarNode:
		l, err := ParseLevel(v.Value)
		if err != nil {
			p.errorf(v, "%srule %q: %v", where, rule.ID, err)
		}
		s.level = l
	case yaml.MappingNode:
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, val := v.Content[i], v.Content[i+1]
			switch k.Value {
			case "level":
				l, err := ParseLevel(val.Value)
				if err != nil || val.Kind != yaml.ScalarNode {
					p.errorf(val, "%srule %q: invalid level %q: want error, warning or off", where, rule.ID, val.Value)
				}
				s.level = l
			case "params":
				s.params = p.params(rule, val, where)
			default:
				p.errorf(k, "%srule %q: unknown key %q: want level or params", where, rule.ID, k.Value)
			}
		}
	default:
		p.errorf(v, "%srule %q: want a level (error, warning, off) or {level: ..., params: {...}}", where, rule.ID)
	}
	return s
}

func (p *ruleFileParser) params(rule *Rule, n *yaml.Node, where string) map[string]any {
	out := map[string]any{}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%srule %q: params: want a mapping", where, rule.ID)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var spec *Param
		for j := range rule.Params {
			if rule.Params[j].Name == k.Value {
				spec = &rule.Params[j]
			}
		}
		if spec == nil {
			var names []string
			for _, pp := range rule.Params {
				names = append(names, pp.Name)
			}
			known := "it has none"
			if len(names) > 0 {
				known = "known: " + strings.Join(names, ", ")
			}
			p.errorf(k, "%srule %q: unknown param %q (%s)", where, rule.ID, k.Value, known)
			continue
		}
		val, err := paramValue(spec, v)
		if err != nil {
			p.errorf(v, "%srule %q: param %q: %v", where, rule.ID, spec.Name, err)
			continue
		}
		out[spec.Name] = val
	}
	return out
}

func paramValue(spec *Param, v *yaml.Node) (any, error) {
	switch spec.Kind {
	case ParamInt:
		var n int
		if v.Kind != yaml.ScalarNode || v.Decode(&n) != nil {
			return nil, fmt.Errorf("want an integer, got %q", v.Value)
		}
		if n < 0 {
			return nil, fmt.Errorf("want a non-negative integer, got %d", n)
		}
		return n, nil
	case ParamBool:
		var b bool
		if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
			return nil, fmt.Errorf("want true or false, got %q", v.Value)
		}
		return b, nil
	case ParamString:
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("want a string")
		}
		return v.Value, nil
	case ParamRegexp:
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("want a regular expression")
		}
		if _, err := regexp.Compile(v.Value); err != nil {
			return nil, fmt.Errorf("invalid regular expression: %v", err)
		}
		return v.Value, nil
	case ParamList:
		switch v.Kind {
		case yaml.SequenceNode:
			out := []string{}
			for _, e := range v.Content {
				if e.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("want a list of strings")
				}
				out = append(out, e.Value)
			}
			return out, nil
		case yaml.ScalarNode:
			if v.Value == "" {
				return []string{}, nil
			}
			return []string{v.Value}, nil
		}
		return nil, fmt.Errorf("want a list of strings")
	}
	return nil, fmt.Errorf("unsupported parameter type %s", spec.Kind)
}

// suggest proposes the closest rule id for a misspelt one.
func suggest(id string, byID map[string]*Rule) string {
	best, bestD := "", 4
	ids := make([]string, 0, len(byID))
	for k := range byID {
		ids = append(ids, k)
	}
	sort.Strings(ids)
	for _, k := range ids {
		if d := editDistance(id, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return " (dbfleet review rules lists them)"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// settings computes each rule's effective level and parameters: the
// rule's defaults, then for the built-in file and the user's file in turn
// its rules, envs[env] and clusters[cluster].
func (r *Reviewer) settings(env, cluster string) map[string]effective {
	out := make(map[string]effective, len(r.rules))
	for _, rule := range r.rules {
		e := effective{level: rule.Level, params: map[string]any{}}
		for _, p := range rule.Params {
			e.params[p.Name] = p.Default
		}
		out[rule.ID] = e
	}
	for _, f := range []*RuleFile{r.builtin, r.user} {
		if f == nil {
			continue
		}
		layers := []map[string]setting{f.Rules}
		if env != "" {
			layers = append(layers, f.Envs[env])
		}
		if cluster != "" {
			layers = append(layers, f.Clusters[cluster])
		}
		for _, l := range layers {
			for id, s := range l {
				e, ok := out[id]
				if !ok {
					continue
				}
				if s.level != "" {
					e.level = s.level
				}
				if len(s.params) > 0 {
					np := make(map[string]any, len(e.params))
					for k, v := range e.params {
						np[k] = v
					}
					for k, v := range s.params {
						np[k] = v
					}
					e.params = np
				}
				out[id] = e
			}
		}
	}
	// On prod a DROP or TRUNCATE is at least a warning, whatever a rule
	// set says.
	if strings.EqualFold(env, ProdEnv) {
		if e, ok := out[ruleNoTruncateDropID]; ok && e.level == LevelOff {
			e.level = LevelWarning
			out[ruleNoTruncateDropID] = e
		}
	}
	return out
}

// ProdEnv is the environment where statements that destroy data are
// always reported (inventory's default environment).
const ProdEnv = "prod"
