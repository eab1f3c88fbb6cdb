package sqlreview

import (
	"fmt"
	"time"
)

// Config configures a Reviewer: the review section of the server
// configuration (docs/config.md).
type Config struct {
	// RulesFile is a rule-set file applied over the built-in rule sets
	// (per environment and per cluster); empty for the built-in ones only.
	// New reads and validates it: an error names file:line.
	RulesFile string `yaml:"rules" env:"DBFLEET_REVIEW_RULES"`
	// Rules is an already parsed rule-set file; it takes precedence over
	// RulesFile.
	Rules *RuleFile `yaml:"-"`
	// QueryTimeout bounds each live catalog query and EXPLAIN; zero takes
	// the default.
	QueryTimeout time.Duration `yaml:"query_timeout" env:"DBFLEET_REVIEW_QUERY_TIMEOUT"`
}

// DefaultConfig is the built-in configuration (docs/config.md).
func DefaultConfig() Config { return Config{QueryTimeout: 10 * time.Second} }

// Validate reports a bad setting, naming its key. The rules file is
// checked by New.
func (c Config) Validate() error {
	if c.QueryTimeout <= 0 {
		return fmt.Errorf("review.query_timeout %s: must be positive", c.QueryTimeout)
	}
	return nil
}
