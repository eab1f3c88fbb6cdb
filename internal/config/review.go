package config

import (
	"fmt"
	"time"
)

// Review configures SQL review (docs/sqlreview.md).
type Review struct {
	// Rules is a YAML rule-set file applied over the built-in rule sets
	// (per environment and per cluster); empty means the built-in ones.
	// It is read and validated at start: an error names file:line.
	Rules string `yaml:"rules" env:"DBFLEET_REVIEW_RULES"`
	// QueryTimeout bounds each catalog query and EXPLAIN of a live-schema
	// review.
	QueryTimeout time.Duration `yaml:"query_timeout" env:"DBFLEET_REVIEW_QUERY_TIMEOUT"`
}

func defaultReview() Review { return Review{QueryTimeout: 10 * time.Second} }

func (r *Review) validate() []string {
	if r.QueryTimeout <= 0 {
		return []string{fmt.Sprintf("review.query_timeout %s: must be positive", r.QueryTimeout)}
	}
	return nil
}
