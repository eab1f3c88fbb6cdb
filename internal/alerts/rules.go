package alerts

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"gopkg.in/yaml.v3"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

//go:embed rules/*.yml
var builtinRules embed.FS

// BuiltinRules is the identifier of the default rule set.
const BuiltinRules = "builtin:default.yml"

// ruleLoader is the rule manager's GroupLoader: Prometheus' parser and
// validation (file:line:column errors), the built-in set from the
// binary, and a duplicate check Prometheus lacks.
type ruleLoader struct {
	parser parser.Parser
	log    *slog.Logger
}

func (l ruleLoader) read(id string) ([]byte, error) {
	if name, ok := strings.CutPrefix(id, "builtin:"); ok {
		return builtinRules.ReadFile("rules/" + name)
	}
	return os.ReadFile(id)
}

// Load parses and validates one rule file.
func (l ruleLoader) Load(id string, ignoreUnknownFields bool, scheme model.ValidationScheme) (*rulefmt.RuleGroups, []error) {
	b, err := l.read(id)
	if err != nil {
		return nil, []error{errkind.Wrap(errkind.Invalid, fmt.Errorf("%s: %w", id, err))}
	}
	rgs, errs := rulefmt.Parse(b, ignoreUnknownFields, scheme, l.parser, l.log)
	errs = append(errs, duplicates(b)...)
	for i := range errs {
		errs[i] = errkind.Wrap(errkind.Invalid, fmt.Errorf("%s:%w", id, errs[i]))
	}
	return rgs, errs
}

// Parse parses a rule expression.
func (l ruleLoader) Parse(q string) (parser.Expr, error) { return l.parser.ParseExpr(q) }

// duplicates finds alerting rules defined twice in one group with the same
// name and labels (errors as "line:col: ..."): the second would only
// shadow the first's alerts.
func duplicates(b []byte) []error {
	var doc struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert  yaml.Node         `yaml:"alert"`
				Labels map[string]string `yaml:"labels"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil // rulefmt reports it
	}
	var errs []error
	for _, g := range doc.Groups {
		seen := map[string]int{}
		for _, r := range g.Rules {
			if r.Alert.Value == "" {
				continue
			}
			key := r.Alert.Value + fingerprint(r.Labels)
			if line, dup := seen[key]; dup {
				errs = append(errs, fmt.Errorf("%d:%d: group %q: alert %q with the same labels is already defined at line %d", r.Alert.Line, r.Alert.Column, g.Name, r.Alert.Value, line))
				continue
			}
			seen[key] = r.Alert.Line
		}
	}
	return errs
}

var validation = model.UTF8Validation

func newParser() parser.Parser { return parser.NewParser(parser.Options{}) }

// CheckRuleFile validates a rule file offline: every error as
// FILE:LINE:COLUMN: what.
func CheckRuleFile(path string) (groups, rulesN int, errs []error) {
	l := ruleLoader{parser: parser.NewParser(parser.Options{}), log: slog.New(slog.DiscardHandler)}
	rgs, errs := l.Load(path, false, model.UTF8Validation)
	if rgs != nil {
		groups = len(rgs.Groups)
		for _, g := range rgs.Groups {
			rulesN += len(g.Rules)
		}
	}
	return groups, rulesN, errs
}

// ExpandRuleFiles resolves the configured globs (and the built-in set).
func ExpandRuleFiles(c Config) ([]string, error) {
	var out []string
	if c.DefaultRules {
		out = append(out, BuiltinRules)
	}
	for _, pat := range c.RuleFiles {
		m, err := filepath.Glob(pat)
		if err != nil {
			return nil, errkind.New(errkind.Invalid, "alerts.rule_files: bad pattern %q: %v", pat, err)
		}
		if len(m) == 0 && !strings.ContainsAny(pat, "*?[") {
			m = []string{pat} // a missing file is reported by the loader
		}
		out = append(out, m...)
	}
	return out, nil
}

// RuleStorage is what the evaluator needs from the metric store: PromQL
// at an instant, and the storage where the rule manager keeps ALERTS and
// ALERTS_FOR_STATE (so pending "for" state survives a restart).
type RuleStorage interface {
	Instant(ctx context.Context, query string, ts time.Time) (promql.Vector, error)
	RuleStorage() storage.Storage
}

// Evaluator runs Prometheus' rule manager over the metric store and hands
// every alert it sends to a sink.
type Evaluator struct {
	mu      sync.Mutex
	mgr     *rules.Manager
	files   []string
	loadErr error
	cfg     Config
	log     *slog.Logger
}

// NewEvaluator builds the rule manager; Load then gives it its files.
func NewEvaluator(ctx context.Context, c Config, st RuleStorage, reg prometheus.Registerer, sink func([]Alert), log *slog.Logger) *Evaluator {
	p := parser.NewParser(parser.Options{})
	ev := &Evaluator{cfg: c, log: log}
	notify := func(ctx context.Context, expr string, as ...*rules.Alert) {
		out := make([]Alert, 0, len(as))
		for _, a := range as {
			al := Alert{Labels: a.Labels.Map(), Annotations: a.Annotations.Map(), StartsAt: a.FiredAt, Source: "rule"}
			if !a.ResolvedAt.IsZero() {
				al.EndsAt = a.ResolvedAt
			} else {
				al.EndsAt = a.ValidUntil
			}
			out = append(out, al)
		}
		sink(out)
	}
	ev.mgr = rules.NewManager(&rules.ManagerOptions{
		NameValidationScheme: model.UTF8Validation,
		QueryFunc:            st.Instant,
		NotifyFunc:           notify,
		Context:              ctx,
		AppendableV2:         st.RuleStorage(),
		Queryable:            st.RuleStorage(),
		Logger:               log.With("component", "rules"),
		Registerer:           reg,
		OutageTolerance:      time.Hour,
		ForGracePeriod:       10 * time.Minute,
		ResendDelay:          c.EvaluationInterval,
		GroupLoader:          ruleLoader{parser: p, log: log},
		Parser:               p,
	})
	return ev
}

// Load (re)loads the rule files. On an error the previous rules stay
// active and the error names file:line.
func (ev *Evaluator) Load() error {
	files, err := ExpandRuleFiles(ev.cfg)
	if err == nil {
		// Check every file first: the manager only logs which failed.
		var errs []error
		for _, f := range files {
			_, _, fe := CheckRuleFile(f)
			errs = append(errs, fe...)
		}
		err = errors.Join(errs...)
	}
	if err == nil {
		err = ev.mgr.Update(ev.cfg.EvaluationInterval, files, labels.EmptyLabels(), "", nil)
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if err != nil {
		ev.loadErr = errkind.Wrap(errkind.Invalid, fmt.Errorf("rules not reloaded, the previous ones stay active: %w", err))
		return ev.loadErr
	}
	ev.files, ev.loadErr = files, nil
	return nil
}

// Run evaluates until ctx ends.
func (ev *Evaluator) Run(ctx context.Context) error {
	go ev.mgr.Run()
	<-ctx.Done()
	ev.mgr.Stop()
	return nil
}

// RuleState is one rule as the alerts page and API show it.
type RuleState struct {
	Group      string            `json:"group"`
	File       string            `json:"file"`
	Name       string            `json:"name"`
	Expr       string            `json:"expr"`
	For        string            `json:"for,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	State      string            `json:"state"` // inactive, pending, firing
	Health     string            `json:"health"`
	LastError  string            `json:"last_error,omitempty"`
	Active     int               `json:"active"`
	LastEvalAt time.Time         `json:"last_eval_at,omitzero"`
}

// Rules lists the loaded alerting rules with their state, and the last
// reload error.
func (ev *Evaluator) Rules() ([]RuleState, error) {
	var out []RuleState
	for _, g := range ev.mgr.RuleGroups() {
		for _, r := range g.Rules() {
			ar, ok := r.(*rules.AlertingRule)
			if !ok {
				continue
			}
			rs := RuleState{Group: g.Name(), File: g.File(), Name: ar.Name(), Expr: ar.Query().String(), Labels: ar.Labels().Map(),
				State: ar.State().String(), Health: string(ar.Health()), Active: len(ar.ActiveAlerts()), LastEvalAt: ar.GetEvaluationTimestamp()}
			if d := ar.HoldDuration(); d > 0 {
				rs.For = model.Duration(d).String()
			}
			if err := ar.LastError(); err != nil {
				rs.LastError = err.Error()
			}
			out = append(out, rs)
		}
	}
	slices.SortFunc(out, func(a, b RuleState) int { return strings.Compare(a.Group+"\x00"+a.Name, b.Group+"\x00"+b.Name) })
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return out, ev.loadErr
}
