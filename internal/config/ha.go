package config

import (
	"fmt"
	"net/url"
	"time"
)

// HA configures the HA controller (internal/ha): how often and how
// patiently it probes clusters whose HA mode is not off, how long a
// recovery may wait, and the hooks clusters may name.
type HA struct {
	ProbeInterval     time.Duration `yaml:"probe_interval" env:"DBFLEET_HA_PROBE_INTERVAL"`
	ProbeTimeout      time.Duration `yaml:"probe_timeout" env:"DBFLEET_HA_PROBE_TIMEOUT"`
	Confirmations     int           `yaml:"confirmations" env:"DBFLEET_HA_CONFIRMATIONS"`
	ConfirmInterval   time.Duration `yaml:"confirm_interval" env:"DBFLEET_HA_CONFIRM_INTERVAL"`
	ApplyTimeout      time.Duration `yaml:"apply_timeout" env:"DBFLEET_HA_APPLY_TIMEOUT"`
	CatchUpTimeout    time.Duration `yaml:"catchup_timeout" env:"DBFLEET_HA_CATCHUP_TIMEOUT"`
	SwitchoverTimeout time.Duration `yaml:"switchover_timeout" env:"DBFLEET_HA_SWITCHOVER_TIMEOUT"`
	HeartbeatPeriod   time.Duration `yaml:"heartbeat_period" env:"DBFLEET_HA_HEARTBEAT_PERIOD"`
	// Notify names the notify.channels that HA events (dead primary,
	// failover, switchover, fence, acknowledgement) go to; they are
	// always logged too.
	Notify []string `yaml:"notify" env:"DBFLEET_HA_NOTIFY"`
	// Hooks are shell commands or webhooks run around failovers; only
	// this file defines them, clusters refer to them by name.
	Hooks []HAHook `yaml:"hooks"`
}

// HAHook is one named hook: a command (run with /bin/sh -c) or a URL
// (POSTed a JSON body).
type HAHook struct {
	Name    string        `yaml:"name"`
	Command string        `yaml:"command"`
	URL     string        `yaml:"url"`
	Timeout time.Duration `yaml:"timeout"`
}

func defaultHA() HA {
	return HA{
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

func (h *HA) validate() []string {
	var errs []string
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"ha.probe_interval", h.ProbeInterval}, {"ha.probe_timeout", h.ProbeTimeout}, {"ha.confirm_interval", h.ConfirmInterval},
		{"ha.apply_timeout", h.ApplyTimeout}, {"ha.catchup_timeout", h.CatchUpTimeout}, {"ha.switchover_timeout", h.SwitchoverTimeout},
		{"ha.heartbeat_period", h.HeartbeatPeriod},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Sprintf("%s: must be positive", d.name))
		}
	}
	if h.Confirmations < 1 {
		errs = append(errs, "ha.confirmations: must be at least 1")
	}
	seen := map[string]bool{}
	for i, hk := range h.Hooks {
		where := fmt.Sprintf("ha.hooks[%d]", i)
		if hk.Name != "" {
			where += " (" + hk.Name + ")"
		}
		switch {
		case hk.Name == "":
			errs = append(errs, where+": a name is required")
		case seen[hk.Name]:
			errs = append(errs, where+": name used twice")
		}
		seen[hk.Name] = true
		switch {
		case (hk.Command == "") == (hk.URL == ""):
			errs = append(errs, where+": want exactly one of command or url")
		case hk.URL != "":
			if u, err := url.Parse(hk.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, where+": url must be an http:// or https:// URL")
			}
		}
		if hk.Timeout < 0 {
			errs = append(errs, where+": timeout cannot be negative")
		}
	}
	return errs
}
