package app

import (
	"fmt"

	"github.com/dbfleet/dbfleet/internal/config"
	"github.com/dbfleet/dbfleet/internal/sqlreview"
)

// newReviewer builds the SQL review engine with the built-in rule sets and
// the configured rule file (review.rules), validated now so that a bad
// file stops the start with its file:line.
func newReviewer(cfg config.Review) (*sqlreview.Reviewer, error) {
	rv, err := sqlreview.New(sqlreview.Options{RulesFile: cfg.Rules, QueryTimeout: cfg.QueryTimeout})
	if err != nil {
		return nil, fmt.Errorf("review.rules: %w", err)
	}
	return rv, nil
}
