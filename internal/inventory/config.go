package inventory

import (
	"errors"
	"fmt"
	"time"
)

// Config configures the live-state probe: the inventory section of the
// server configuration (docs/config.md).
type Config struct {
	// ProbeInterval: how often every instance is checked.
	ProbeInterval time.Duration `yaml:"probe_interval" env:"DBFLEET_INVENTORY_PROBE_INTERVAL"`
	// ProbeConcurrency: instances checked at once.
	ProbeConcurrency int `yaml:"probe_concurrency" env:"DBFLEET_INVENTORY_PROBE_CONCURRENCY"`
	// CheckTimeout bounds one check (Service.CheckTimeout).
	CheckTimeout time.Duration `yaml:"check_timeout" env:"DBFLEET_INVENTORY_CHECK_TIMEOUT"`
}

// DefaultConfig is the built-in configuration (docs/config.md).
func DefaultConfig() Config {
	return Config{ProbeInterval: 15 * time.Second, ProbeConcurrency: 8, CheckTimeout: 10 * time.Second}
}

// Validate reports every bad setting, each naming its key.
func (c Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"inventory.probe_interval", c.ProbeInterval}, {"inventory.check_timeout", c.CheckTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", d.name))
		}
	}
	if c.ProbeConcurrency < 1 {
		errs = append(errs, errors.New("inventory.probe_concurrency: must be at least 1"))
	}
	return errors.Join(errs...)
}

// Prober returns the probe loop c describes over s.
func (c Config) Prober(s *Service, obs CheckObserver) *Prober {
	return &Prober{Inventory: s, Interval: c.ProbeInterval, Concurrency: c.ProbeConcurrency, Observer: obs}
}
