package ha

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
	"github.com/dbfleet/dbfleet/internal/platform/jsonx"
)

// Mode is what the controller does about a cluster.
type Mode string

// Modes: off watches nothing; notify diagnoses and notifies; automatic
// also fails over a dead primary.
const (
	ModeOff       Mode = "off"
	ModeNotify    Mode = "notify"
	ModeAutomatic Mode = "automatic"
)

// ParseMode validates a mode.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case ModeOff, ModeNotify, ModeAutomatic:
		return Mode(s), nil
	}
	return "", errkind.New(errkind.Invalid, "invalid HA mode %q (off, notify or automatic)", s)
}

// DefaultAntiFlap is how long an automatic failover blocks the next one of
// the same cluster until a human acknowledges it.
const DefaultAntiFlap = time.Hour

// DefaultLagWarning is the replica lag reported as replica_lagging when a
// cluster sets no maximum candidate lag.
const DefaultLagWarning = 60 * time.Second

// Hook events.
const (
	EventPreFailover    = "pre-failover"
	EventPostFailover   = "post-failover"
	EventFence          = "fence"
	EventPreSwitchover  = "pre-switchover"
	EventPostSwitchover = "post-switchover"
)

// HookEvents lists the events a cluster can attach hooks to.
var HookEvents = []string{EventPreFailover, EventPostFailover, EventFence, EventPreSwitchover, EventPostSwitchover}

// Settings are a cluster's HA settings.
type Settings struct {
	Cluster string `json:"cluster"`
	Mode    Mode   `json:"mode"`
	// MaxLag: a replica whose last known lag exceeds it is not a failover
	// candidate; 0 means no limit.
	MaxLag Duration `json:"max_lag"`
	// AntiFlap: an automatic failover blocks the next automatic one of the
	// cluster for this long, unless acknowledged.
	AntiFlap Duration `json:"anti_flap"`
	// Hooks maps an event to the names of hooks (defined in the server
	// configuration, ha.hooks) to run for it, in order.
	Hooks map[string][]string `json:"hooks"`
	// ReplUser is the replication account dbfleet configures when it
	// attaches a node that has no replication settings of its own (the
	// old primary after a switchover); its password is stored encrypted
	// and never returned.
	ReplUser        string    `json:"repl_user,omitempty"`
	ReplPasswordSet bool      `json:"repl_password_set"`
	UpdatedAt       time.Time `json:"updated_at,omitzero"`
}

// DefaultSettings are those of a cluster never configured.
func DefaultSettings(cluster string) Settings {
	return Settings{Cluster: cluster, Mode: ModeOff, AntiFlap: Duration(DefaultAntiFlap), Hooks: map[string][]string{}}
}

// lagWarning is the lag above which a replica is reported as lagging.
func (s Settings) lagWarning() time.Duration {
	if s.MaxLag > 0 {
		return time.Duration(s.MaxLag)
	}
	return DefaultLagWarning
}

// SettingsPatch changes some settings; nil fields stay.
type SettingsPatch struct {
	Mode     *Mode     `json:"mode,omitempty"`
	MaxLag   *Duration `json:"max_lag,omitempty"`
	AntiFlap *Duration `json:"anti_flap,omitempty"`
	// Hooks replaces the hooks of the events it names (an empty list
	// removes them).
	Hooks        map[string][]string `json:"hooks,omitempty"`
	ReplUser     *string             `json:"repl_user,omitempty"`
	ReplPassword *string             `json:"repl_password,omitempty"`
}

func (p SettingsPatch) empty() bool {
	return p.Mode == nil && p.MaxLag == nil && p.AntiFlap == nil && p.Hooks == nil && p.ReplUser == nil && p.ReplPassword == nil
}

// apply changes s, validating against the hooks the server defines.
func (p SettingsPatch) apply(s *Settings, defined []string) error {
	if p.Mode != nil {
		m, err := ParseMode(string(*p.Mode))
		if err != nil {
			return err
		}
		s.Mode = m
	}
	if p.MaxLag != nil {
		if *p.MaxLag < 0 {
			return errkind.New(errkind.Invalid, "max lag cannot be negative")
		}
		s.MaxLag = *p.MaxLag
	}
	if p.AntiFlap != nil {
		if *p.AntiFlap < 0 {
			return errkind.New(errkind.Invalid, "anti-flap period cannot be negative")
		}
		s.AntiFlap = *p.AntiFlap
	}
	for ev, names := range p.Hooks {
		if !slices.Contains(HookEvents, ev) {
			return errkind.New(errkind.Invalid, "unknown hook event %q (%s)", ev, strings.Join(HookEvents, ", "))
		}
		for _, n := range names {
			if !slices.Contains(defined, n) {
				if len(defined) == 0 {
					return errkind.New(errkind.Invalid, "hook %q is not defined: the server configuration defines no hooks (ha.hooks in the config file)", n)
				}
				return errkind.New(errkind.Invalid, "hook %q is not defined in the server configuration (ha.hooks: %s)", n, strings.Join(defined, ", "))
			}
		}
		if s.Hooks == nil {
			s.Hooks = map[string][]string{}
		}
		if len(names) == 0 {
			delete(s.Hooks, ev)
		} else {
			s.Hooks[ev] = slices.Clone(names)
		}
	}
	if p.ReplUser != nil {
		s.ReplUser = *p.ReplUser
	}
	return nil
}

// ParseHookFlags reads EVENT=NAME[,NAME...] pairs (CLI --ha-hook). An
// empty NAME list removes the event's hooks.
func ParseHookFlags(pairs []string) (map[string][]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	for _, kv := range pairs {
		ev, names, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("invalid hook %q: want EVENT=NAME[,NAME...] (events: %s)", kv, strings.Join(HookEvents, ", "))
		}
		list := []string{}
		for n := range strings.SplitSeq(names, ",") {
			if n = strings.TrimSpace(n); n != "" {
				list = append(list, n)
			}
		}
		out[strings.TrimSpace(ev)] = list
	}
	return out, nil
}

// hookList renders hooks as "event=a,b; event2=c".
func hookList(h map[string][]string) string {
	evs := make([]string, 0, len(h))
	for ev := range h {
		evs = append(evs, ev)
	}
	sort.Strings(evs)
	parts := make([]string, 0, len(evs))
	for _, ev := range evs {
		parts = append(parts, ev+"="+strings.Join(h[ev], ","))
	}
	return strings.Join(parts, "; ")
}

// Duration is a time.Duration that reads and writes as "90s" in JSON.
type Duration = jsonx.Duration
