package health

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes the service: the health section of the server
// configuration (docs/config.md); the fields without a yaml key are
// internal tuning. Zero values take the defaults of DefaultConfig.
type Config struct {
	// RulesFile is a YAML rule file laid over the built-in rules (per-rule
	// and per-cluster overrides); empty means the built-in rules alone.
	// app loads it with LoadRules.
	RulesFile string `yaml:"rules_file" env:"DBFLEET_HEALTH_RULES_FILE"`
	// Interval between "now" scores.
	Interval time.Duration `yaml:"interval" env:"DBFLEET_HEALTH_INTERVAL"`
	// History is how much metric history a forecast is fitted on, sampled
	// every Step; MinHistory the least it needs.
	History    time.Duration `yaml:"forecast_history" env:"DBFLEET_HEALTH_FORECAST_HISTORY"`
	Step       time.Duration `yaml:"-"`
	MinHistory time.Duration `yaml:"-"`
	// Refit is how old a fitted model may get before it is fitted again
	// (nightly).
	Refit time.Duration `yaml:"-"`
	// Sustain is how long |z| must stay high to count.
	Sustain time.Duration `yaml:"-"`
	// CapacityHorizon is how far ahead "days until full" looks.
	CapacityHorizon time.Duration `yaml:"-"`
	// KeepNow and KeepDaily are how long scores are kept.
	KeepNow   time.Duration `yaml:"keep_now" env:"DBFLEET_HEALTH_KEEP_NOW"`
	KeepDaily time.Duration `yaml:"-"`
	// Timeout bounds scoring one instance.
	Timeout time.Duration `yaml:"-"`
	// Concurrency is how many instances are scored at once.
	Concurrency int `yaml:"-"`
}

// DefaultConfig is the built-in configuration (docs/config.md).
func DefaultConfig() Config {
	return Config{
		Interval:        time.Minute,
		History:         28 * 24 * time.Hour,
		Step:            15 * time.Minute,
		MinHistory:      48 * time.Hour,
		Refit:           24 * time.Hour,
		Sustain:         15 * time.Minute,
		CapacityHorizon: 90 * 24 * time.Hour,
		KeepNow:         7 * 24 * time.Hour,
		KeepDaily:       400 * 24 * time.Hour,
		Timeout:         30 * time.Second,
		Concurrency:     4,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	for _, f := range []struct{ v, def *time.Duration }{
		{&c.Interval, &d.Interval}, {&c.History, &d.History}, {&c.Step, &d.Step}, {&c.MinHistory, &d.MinHistory},
		{&c.Refit, &d.Refit}, {&c.Sustain, &d.Sustain}, {&c.CapacityHorizon, &d.CapacityHorizon},
		{&c.KeepNow, &d.KeepNow}, {&c.KeepDaily, &d.KeepDaily}, {&c.Timeout, &d.Timeout},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if c.Concurrency < 1 {
		c.Concurrency = d.Concurrency
	}
	return c
}

// Validate reports every bad setting, each naming its key. The rules file
// is checked when it is loaded.
func (c Config) Validate() error {
	var errs []error
	if c.Interval < 10*time.Second {
		errs = append(errs, fmt.Errorf("health.interval %s: must be at least 10s", c.Interval))
	}
	if c.History < 48*time.Hour {
		errs = append(errs, fmt.Errorf("health.forecast_history %s: must be at least 48h (a forecast needs two days)", c.History))
	}
	if c.KeepNow < time.Hour {
		errs = append(errs, fmt.Errorf("health.keep_now %s: must be at least 1h", c.KeepNow))
	}
	return errors.Join(errs...)
}
