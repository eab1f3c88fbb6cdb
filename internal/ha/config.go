package ha

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config tunes detection and recovery: the ha section of the server
// configuration (docs/config.md). Zero values take the defaults of
// DefaultConfig.
type Config struct {
	// ProbeInterval: how often the controller probes a watched cluster.
	ProbeInterval time.Duration `yaml:"probe_interval" env:"DBFLEET_HA_PROBE_INTERVAL"`
	// ProbeTimeout bounds one probe of one instance (connect and queries):
	// an instance that does not answer within it is unreachable.
	ProbeTimeout time.Duration `yaml:"probe_timeout" env:"DBFLEET_HA_PROBE_TIMEOUT"`
	// Confirmations: how many consecutive probes must find the primary dead
	// before the controller acts; ConfirmInterval apart.
	Confirmations   int           `yaml:"confirmations" env:"DBFLEET_HA_CONFIRMATIONS"`
	ConfirmInterval time.Duration `yaml:"confirm_interval" env:"DBFLEET_HA_CONFIRM_INTERVAL"`
	// ApplyTimeout bounds waiting for a replica to apply what it received;
	// CatchUpTimeout for a candidate to catch up from another replica;
	// SwitchoverTimeout for the target of a switchover to reach the old
	// primary's last transaction (writes are blocked meanwhile).
	ApplyTimeout      time.Duration `yaml:"apply_timeout" env:"DBFLEET_HA_APPLY_TIMEOUT"`
	CatchUpTimeout    time.Duration `yaml:"catchup_timeout" env:"DBFLEET_HA_CATCHUP_TIMEOUT"`
	SwitchoverTimeout time.Duration `yaml:"switchover_timeout" env:"DBFLEET_HA_SWITCHOVER_TIMEOUT"`
	// HeartbeatPeriod is the MASTER_HEARTBEAT_PERIOD dbfleet sets when it
	// points a MariaDB replica at a new source (it lets replicas notice a
	// hung source quickly).
	HeartbeatPeriod time.Duration `yaml:"heartbeat_period" env:"DBFLEET_HA_HEARTBEAT_PERIOD"`
	// Notify names the notify.channels that HA events (dead primary,
	// failover, switchover, fence, acknowledgement) go to; they are
	// always logged too. app wires them.
	Notify []string `yaml:"notify" env:"DBFLEET_HA_NOTIFY"`
	// Hooks are the hooks clusters may name; only the configuration file
	// defines them.
	Hooks []HookDef `yaml:"hooks"`
}

// DefaultConfig is the built-in configuration (docs/config.md).
func DefaultConfig() Config {
	return Config{
		ProbeInterval:     time.Second,
		ProbeTimeout:      time.Second,
		Confirmations:     2,
		ConfirmInterval:   200 * time.Millisecond,
		ApplyTimeout:      30 * time.Second,
		CatchUpTimeout:    30 * time.Second,
		SwitchoverTimeout: 10 * time.Second,
		HeartbeatPeriod:   time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	for _, f := range []struct{ v, def *time.Duration }{
		{&c.ProbeInterval, &d.ProbeInterval}, {&c.ProbeTimeout, &d.ProbeTimeout}, {&c.ConfirmInterval, &d.ConfirmInterval},
		{&c.ApplyTimeout, &d.ApplyTimeout}, {&c.CatchUpTimeout, &d.CatchUpTimeout}, {&c.SwitchoverTimeout, &d.SwitchoverTimeout},
		{&c.HeartbeatPeriod, &d.HeartbeatPeriod},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if c.Confirmations <= 0 {
		c.Confirmations = d.Confirmations
	}
	return c
}

// Validate reports every bad setting, each naming its key.
func (c Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ha.probe_interval", c.ProbeInterval}, {"ha.probe_timeout", c.ProbeTimeout}, {"ha.confirm_interval", c.ConfirmInterval},
		{"ha.apply_timeout", c.ApplyTimeout}, {"ha.catchup_timeout", c.CatchUpTimeout}, {"ha.switchover_timeout", c.SwitchoverTimeout},
		{"ha.heartbeat_period", c.HeartbeatPeriod},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", d.name))
		}
	}
	if c.Confirmations < 1 {
		errs = append(errs, errors.New("ha.confirmations: must be at least 1"))
	}
	seen := map[string]bool{}
	for i, hk := range c.Hooks {
		where := fmt.Sprintf("ha.hooks[%d]", i)
		if hk.Name != "" {
			where += " (" + hk.Name + ")"
		}
		switch {
		case hk.Name == "":
			errs = append(errs, errors.New(where+": a name is required"))
		case seen[hk.Name]:
			errs = append(errs, errors.New(where+": name used twice"))
		}
		seen[hk.Name] = true
		switch {
		case (hk.Command == "") == (hk.URL == ""):
			errs = append(errs, errors.New(where+": want exactly one of command or url"))
		case hk.URL != "":
			if u, err := url.Parse(hk.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, errors.New(where+": url must be an http:// or https:// URL"))
			}
		}
		if hk.Timeout < 0 {
			errs = append(errs, errors.New(where+": timeout cannot be negative"))
		}
	}
	return errors.Join(errs...)
}
