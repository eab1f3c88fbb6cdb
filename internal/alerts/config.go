package alerts

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Config configures alerting (docs/alerts.md).
type Config struct {
	// Enabled turns rule evaluation and the notification pipeline on
	// (the default: with no people or channels configured, alerts are
	// evaluated and shown on the alerts page, and reach nobody).
	Enabled bool `yaml:"enabled" env:"DBFLEET_ALERTS_ENABLED"`
	// RuleFiles are Prometheus rule files (globs allowed).
	RuleFiles []string `yaml:"rule_files" env:"DBFLEET_ALERTS_RULE_FILES"`
	// DefaultRules loads the built-in rule set for MariaDB/MySQL,
	// PostgreSQL and Redis.
	DefaultRules       bool          `yaml:"default_rules" env:"DBFLEET_ALERTS_DEFAULT_RULES"`
	EvaluationInterval time.Duration `yaml:"evaluation_interval" env:"DBFLEET_ALERTS_EVALUATION_INTERVAL"`
	// ResolveTimeout resolves an alert not refreshed for that long.
	ResolveTimeout time.Duration `yaml:"resolve_timeout" env:"DBFLEET_ALERTS_RESOLVE_TIMEOUT"`
	// Alertmanagers, when set, receive the firing alerts instead of
	// dbfleet's own pipeline (as Prometheus sends them).
	Alertmanagers []string `yaml:"alertmanagers" env:"DBFLEET_ALERTS_ALERTMANAGERS"`

	// HealthBelow raises HealthScoreLow for an instance whose health
	// score (internal/health, "now" window) is below it; 0 turns it off.
	HealthBelow float64 `yaml:"health_below"`
	// ExecutionSilence silences the target instance of a ticket's
	// execution while it runs: each silence lasts this long and is
	// renewed while the execution runs, ended when it ends; 0 turns it
	// off.
	ExecutionSilence time.Duration `yaml:"execution_silence" env:"DBFLEET_ALERTS_EXECUTION_SILENCE"`
	// ForecastDays raises DiskFullForecast for an instance whose disk
	// forecast (internal/health, days until full) reaches its capacity
	// within that many days, and ForecastLimit for any other forecast
	// with a limit (the health rules' limits); 0 turns it off.
	ForecastDays float64 `yaml:"forecast_days" env:"DBFLEET_ALERTS_FORECAST_DAYS"`
	// TicketApprovalStuck and TicketRunningStuck raise TicketStuck for a
	// ticket waiting for approval, or running the same step, longer than
	// that; 0 turns each off.
	TicketApprovalStuck time.Duration `yaml:"ticket_approval_stuck" env:"DBFLEET_ALERTS_TICKET_APPROVAL_STUCK"`
	TicketRunningStuck  time.Duration `yaml:"ticket_running_stuck" env:"DBFLEET_ALERTS_TICKET_RUNNING_STUCK"`

	Route         Route          `yaml:"route"`
	Receivers     []Receiver     `yaml:"receivers"`
	InhibitRules  []InhibitRule  `yaml:"inhibit_rules"`
	TimeIntervals []TimeInterval `yaml:"time_intervals"`
	Topology      Topology       `yaml:"topology"`
	People        []Person       `yaml:"people"`
	Teams         []Team         `yaml:"teams"`
	Merge         Merge          `yaml:"merge"`
	Flap          Flap           `yaml:"flap"`
	Ack           Ack            `yaml:"ack"`
}

// Route is a node of the routing tree (Alertmanager's semantics: children
// inherit unset fields; the first matching child wins unless it has
// continue).
type Route struct {
	Receiver       string         `yaml:"receiver" json:"receiver"`
	Matchers       []string       `yaml:"matchers" json:"matchers,omitempty"`
	Continue       bool           `yaml:"continue" json:"continue,omitempty"`
	GroupBy        []string       `yaml:"group_by" json:"group_by,omitempty"`
	GroupWait      *time.Duration `yaml:"group_wait" json:"group_wait,omitempty"`
	GroupInterval  *time.Duration `yaml:"group_interval" json:"group_interval,omitempty"`
	RepeatInterval *time.Duration `yaml:"repeat_interval" json:"repeat_interval,omitempty"`
	// MuteTimeIntervals and ActiveTimeIntervals name time_intervals.
	MuteTimeIntervals   []string `yaml:"mute_time_intervals" json:"mute_time_intervals,omitempty"`
	ActiveTimeIntervals []string `yaml:"active_time_intervals" json:"active_time_intervals,omitempty"`
	Routes              []Route  `yaml:"routes" json:"routes,omitempty"`
}

// Receiver is a route's target: a team (whoever is on call) and/or named
// people.
type Receiver struct {
	Name   string   `yaml:"name" json:"name"`
	Team   string   `yaml:"team" json:"team,omitempty"`
	People []string `yaml:"people" json:"people,omitempty"`
	// Channels are notify.channels the receiver itself posts to (a team
	// chat room); it is then merged like a person named "#"+Name.
	Channels []string `yaml:"channels" json:"channels,omitempty"`
}

// InhibitRule mutes target alerts while a source alert fires with the
// same values of the equal labels (a missing label equals empty).
type InhibitRule struct {
	SourceMatchers []string `yaml:"source_matchers" json:"source_matchers"`
	TargetMatchers []string `yaml:"target_matchers" json:"target_matchers"`
	Equal          []string `yaml:"equal" json:"equal,omitempty"`
}

// TimeInterval is a named set of weekly time ranges.
type TimeInterval struct {
	Name string `yaml:"name"`
	// Weekdays: "monday".."sunday" or ranges "monday:friday"; empty: every day.
	Weekdays []string `yaml:"weekdays"`
	// Times are "HH:MM-HH:MM" ranges; an end before the start wraps past
	// midnight. Empty: the whole day.
	Times    []string `yaml:"times"`
	Location string   `yaml:"location"`
}

// Topology names the alerts that the inventory's topology turns into
// root causes: what they mute on the instances below them.
type Topology struct {
	// HostDown alerts (label host) mute every other alert of the host's
	// instances.
	HostDown []string `yaml:"host_down" json:"host_down"`
	// InstanceDown alerts mute the instance's other alerts, and
	// PrimaryDownMutes on its replicas when it is a primary.
	InstanceDown     []string `yaml:"instance_down" json:"instance_down"`
	PrimaryDownMutes []string `yaml:"primary_down_mutes" json:"primary_down_mutes"`
	// Failover alerts (label cluster) mute FailoverMutes on the
	// cluster's instances until they resolve.
	Failover      []string `yaml:"failover" json:"failover"`
	FailoverMutes []string `yaml:"failover_mutes" json:"failover_mutes"`
}

// Person is someone who receives messages.
type Person struct {
	Name string `yaml:"name" json:"name"`
	// Channels are notify.channels names; an sms channel gets
	// length-aware text.
	Channels []string `yaml:"channels" json:"channels"`
	// Phone and Email are handed to the channel (sms, email).
	Phone    string `yaml:"phone" json:"-"`
	Email    string `yaml:"email" json:"-"`
	Timezone string `yaml:"timezone" json:"timezone,omitempty"`
	// QuietHours "HH:MM-HH:MM": alerts below QuietMinPriority wait.
	QuietHours       string `yaml:"quiet_hours" json:"quiet_hours,omitempty"`
	QuietMinPriority string `yaml:"quiet_min_priority" json:"quiet_min_priority,omitempty"`
}

// Team is a weekly on-call rotation with overrides.
type Team struct {
	Name     string   `yaml:"name" json:"name"`
	Rotation []string `yaml:"rotation" json:"rotation"`
	// Handoff is when the first person of the rotation starts a week.
	Handoff   time.Time  `yaml:"handoff" json:"handoff"`
	Overrides []Override `yaml:"overrides" json:"overrides,omitempty"`
}

// Override puts someone on call instead for a while.
type Override struct {
	Person string    `yaml:"person" json:"person"`
	Start  time.Time `yaml:"start" json:"start"`
	End    time.Time `yaml:"end" json:"end"`
}

// Merge configures per-recipient merging.
type Merge struct {
	// Interval: a person gets at most one message per interval; what
	// arrives meanwhile waits for the next one. The first message after
	// a quiet interval goes at once.
	Interval time.Duration `yaml:"interval" json:"interval"`
	// Budget messages per BudgetWindow at most; beyond it, one message
	// says how many updates were held.
	Budget       int           `yaml:"budget" json:"budget"`
	BudgetWindow time.Duration `yaml:"budget_window" json:"budget_window"`
	// SMSSegments is the most segments an SMS may take.
	SMSSegments int `yaml:"sms_segments" json:"sms_segments"`
	// ResolvedInterval: a message with no news (only resolutions or
	// reminders) waits this long after the previous one, so that it
	// usually rides along with the next.
	ResolvedInterval time.Duration `yaml:"resolved_interval" json:"resolved_interval"`
	// BudgetSparesP1: a message telling a P1 alert the person has not
	// heard of goes even when the budget is spent.
	BudgetSparesP1 bool `yaml:"budget_spares_p1" json:"budget_spares_p1"`
}

// Flap configures flap damping.
type Flap struct {
	// FireAfter evaluations in a row before an alert fires.
	FireAfter int `yaml:"fire_after" json:"fire_after"`
	// ResolvedHold: a resolved alert is reported resolved only after it
	// stayed resolved that long; re-firing meanwhile is not news.
	ResolvedHold time.Duration `yaml:"resolved_hold" json:"resolved_hold"`
}

// Ack configures acknowledgement and escalation.
type Ack struct {
	// EscalateAfter: a P1 not acknowledged within it is sent to the next
	// person of the team's rotation.
	EscalateAfter time.Duration `yaml:"escalate_after" json:"escalate_after"`
	// LinkTTL is how long a signed link in a message works.
	LinkTTL time.Duration `yaml:"link_ttl" json:"link_ttl"`
}

// SwitchoverSilence is how long a planned switchover silences its
// cluster's alerts (the switchover itself, then replicas catching up).
const SwitchoverSilence = 15 * time.Minute

func dur(d time.Duration) *time.Duration { return &d }

// DefaultConfig is the built-in alerting configuration: the default rule
// set, one team route with Alertmanager's default timers, the default
// topology rules.
func DefaultConfig() Config {
	return Config{
		Enabled:             true,
		DefaultRules:        true,
		EvaluationInterval:  15 * time.Second,
		ResolveTimeout:      5 * time.Minute,
		HealthBelow:         60,
		ExecutionSilence:    time.Hour,
		ForecastDays:        4,
		TicketApprovalStuck: 24 * time.Hour,
		TicketRunningStuck:  6 * time.Hour,
		Route: Route{
			Receiver: "default", GroupBy: []string{"alertname", "cluster"},
			GroupWait: dur(30 * time.Second), GroupInterval: dur(5 * time.Minute), RepeatInterval: dur(4 * time.Hour),
		},
		Receivers: []Receiver{{Name: "default"}},
		Topology: Topology{
			HostDown:         []string{"HostDown"},
			InstanceDown:     []string{"MySQLDown", "PostgreSQLDown", "RedisDown", "InstanceDown"},
			PrimaryDownMutes: []string{"MySQLReplicationIOStopped", "MySQLReplicationLag", "PostgreSQLReplicationLag", "RedisReplicationBroken"},
			Failover:         []string{"FailoverInProgress"},
			FailoverMutes: []string{"MySQLReplicationLag", "MySQLReplicationIOStopped", "MySQLReplicationSQLStopped", "PostgreSQLReplicationLag",
				"MySQLTooManyConnections", "PostgreSQLTooManyConnections", "RedisReplicationBroken"},
		},
		Merge: Merge{Interval: 2 * time.Minute, Budget: 5, BudgetWindow: 30 * time.Minute, SMSSegments: 2, ResolvedInterval: 15 * time.Minute, BudgetSparesP1: true},
		Flap:  Flap{FireAfter: 1, ResolvedHold: 2 * time.Minute},
		Ack:   Ack{EscalateAfter: 15 * time.Minute, LinkTTL: 24 * time.Hour},
	}
}

// Validate checks the configuration; errors name the key, one a line.
func (c Config) Validate() error {
	var errs []string
	add := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	if c.EvaluationInterval < time.Second {
		add("alerts.evaluation_interval: must be at least 1s")
	}
	if c.ResolveTimeout <= 0 {
		add("alerts.resolve_timeout: must be positive")
	}
	for i, u := range c.Alertmanagers {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			add("alerts.alertmanagers[%d] %q: want an http(s) URL", i, u)
		}
	}
	if _, err := Compile(c); err != nil {
		add("%v", err)
	}
	if c.Merge.Interval < 0 || c.Merge.BudgetWindow < 0 || c.Merge.Budget < 0 {
		add("alerts.merge: interval, budget and budget_window must not be negative")
	}
	if c.Merge.SMSSegments < 1 {
		add("alerts.merge.sms_segments: must be at least 1")
	}
	if c.Flap.FireAfter < 1 {
		add("alerts.flap.fire_after: must be at least 1")
	}
	if c.Ack.LinkTTL <= 0 {
		add("alerts.ack.link_ttl: must be positive")
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "\n"))
}

// ParseMatchers reads Alertmanager-style matchers: `name="v"`, `name!=v`,
// `name=~"re"`, `name!~re` (quotes optional), or several in braces.
func ParseMatchers(ss []string) ([]*labels.Matcher, error) {
	var out []*labels.Matcher
	p := parser.NewParser(parser.Options{})
	for _, s := range ss {
		s = strings.TrimSpace(s)
		s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
		var parts []string
		for _, part := range splitMatchers(s) {
			parts = append(parts, quoteValue(part))
		}
		ms, err := p.ParseMetricSelector("{" + strings.Join(parts, ",") + "}")
		if err != nil {
			return nil, fmt.Errorf("matcher %q: %w", s, err)
		}
		out = append(out, ms...)
	}
	return out, nil
}

// splitMatchers splits on commas outside quotes.
func splitMatchers(s string) []string {
	var out []string
	var cur strings.Builder
	inq := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && inq && i+1 < len(s):
			cur.WriteByte(c)
			i++
			cur.WriteByte(s[i])
			continue
		case c == '"':
			inq = !inq
		case c == ',' && !inq:
			if t := strings.TrimSpace(cur.String()); t != "" {
				out = append(out, t)
			}
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	if t := strings.TrimSpace(cur.String()); t != "" {
		out = append(out, t)
	}
	return out
}

// quoteValue quotes an unquoted matcher value (Alertmanager allows
// severity=critical; PromQL needs the quotes).
func quoteValue(m string) string {
	for _, op := range []string{"=~", "!~", "!=", "="} {
		if i := strings.Index(m, op); i > 0 {
			name, val := strings.TrimSpace(m[:i]), strings.TrimSpace(m[i+len(op):])
			if !strings.HasPrefix(val, `"`) && !strings.HasPrefix(val, "'") && !strings.HasPrefix(val, "`") {
				val = fmt.Sprintf("%q", val)
			}
			return name + op + val
		}
	}
	return m
}

func matchAll(ms []*labels.Matcher, l map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(l[m.Name]) {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
