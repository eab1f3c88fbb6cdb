package reports

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Config configures reports: the reports section of the server
// configuration (docs/config.md, docs/reports.md).
type Config struct {
	// Dir holds the report files (*.xml); empty means DATA/reports,
	// inside the data directory (Fill), like flows.dir: never the
	// repository's own reports/ under go run.
	Dir string `yaml:"dir" env:"DBFLEET_REPORTS_DIR"`
	// Examples installs the shipped reports when Dir does not exist yet.
	Examples bool `yaml:"examples" env:"DBFLEET_REPORTS_EXAMPLES"`
	// ReloadInterval is how often Dir is checked for edited files.
	ReloadInterval time.Duration `yaml:"reload_interval" env:"DBFLEET_REPORTS_RELOAD_INTERVAL"`
	// MaxRows caps every dataset, whatever its max-rows says.
	MaxRows int `yaml:"max_rows" env:"DBFLEET_REPORTS_MAX_ROWS"`
	// Timeout caps every dataset's run, whatever its data source says.
	Timeout time.Duration `yaml:"timeout" env:"DBFLEET_REPORTS_TIMEOUT"`
}

// DefaultConfig is the built-in configuration (docs/config.md).
func DefaultConfig() Config {
	return Config{Examples: true, ReloadInterval: 2 * time.Second, MaxRows: 100000, Timeout: 2 * time.Minute}
}

// Validate reports every bad setting, each naming its key.
func (c Config) Validate() error {
	var errs []error
	if c.ReloadInterval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("reports.reload_interval %s: must be at least 100ms", c.ReloadInterval))
	}
	if c.MaxRows < 1 {
		errs = append(errs, errors.New("reports.max_rows: must be at least 1"))
	}
	if c.Timeout < time.Second {
		errs = append(errs, fmt.Errorf("reports.timeout %s: must be at least 1s", c.Timeout))
	}
	return errors.Join(errs...)
}

// Fill derives the defaults that depend on the data directory.
func (c *Config) Fill(data string) {
	if c.Dir == "" {
		c.Dir = filepath.Join(filepath.Clean(data), "reports")
	}
}
