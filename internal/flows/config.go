package flows

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Config configures work-order flows and the job queue that runs their
// steps: the flows section of the server configuration (docs/config.md,
// docs/flows.md).
type Config struct {
	// Dir holds the flow files (*.xml); empty means DATA/flows, inside the
	// data directory (Fill), so a server never adopts a folder beside it
	// (with --data /var/lib/dbfleet, not /var/lib/flows).
	Dir string `yaml:"dir" env:"DBFLEET_FLOWS_DIR"`
	// Examples installs the example flows when Dir does not exist yet.
	Examples bool `yaml:"examples" env:"DBFLEET_FLOWS_EXAMPLES"`
	// ReloadInterval is how often Dir is checked for edited files.
	ReloadInterval time.Duration `yaml:"reload_interval" env:"DBFLEET_FLOWS_RELOAD_INTERVAL"`
	// Workers is how many ticket steps this server runs at once.
	Workers int `yaml:"workers" env:"DBFLEET_FLOWS_WORKERS"`
	// JobLease is how long a server's claim on a running step lasts
	// without a heartbeat: a step of a server that died is resumed by
	// another (or the restarted one) after it.
	JobLease time.Duration `yaml:"job_lease" env:"DBFLEET_FLOWS_JOB_LEASE"`
	// JobMaxDeaths is how many times the server running a step may die
	// while running it (its lease runs out without a result) before the
	// step's job is quarantined and the ticket fails, instead of crashing
	// the next server too.
	JobMaxDeaths int `yaml:"job_max_deaths" env:"DBFLEET_FLOWS_JOB_MAX_DEATHS"`
}

// DefaultConfig is the built-in configuration (docs/config.md).
func DefaultConfig() Config {
	return Config{Examples: true, ReloadInterval: 2 * time.Second, Workers: 4, JobLease: 30 * time.Second, JobMaxDeaths: 3}
}

// Validate reports every bad setting, each naming its key.
func (c Config) Validate() error {
	var errs []error
	if c.ReloadInterval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("flows.reload_interval %s: must be at least 100ms", c.ReloadInterval))
	}
	if c.Workers < 1 {
		errs = append(errs, errors.New("flows.workers: must be at least 1"))
	}
	if c.JobMaxDeaths < 1 {
		errs = append(errs, fmt.Errorf("flows.job_max_deaths %d: must be at least 1", c.JobMaxDeaths))
	}
	if c.JobLease < 3*time.Second {
		errs = append(errs, fmt.Errorf("flows.job_lease %s: must be at least 3s", c.JobLease))
	}
	return errors.Join(errs...)
}

// Fill derives the defaults that depend on the data directory.
func (c *Config) Fill(data string) {
	if c.Dir == "" {
		c.Dir = filepath.Join(filepath.Clean(data), "flows")
	}
}
