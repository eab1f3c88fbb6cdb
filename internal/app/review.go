package app

import (
	"fmt"

	"github.com/dbfleet/dbfleet/internal/sqlreview"
)

// newReviewer builds the SQL review engine with the built-in rule sets and
// the configured rule file (review.rules), validated now so that a bad
// file stops the start with its file:line.
func newReviewer(cfg sqlreview.Config) (*sqlreview.Reviewer, error) {
	rv, err := sqlreview.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("review.rules: %w", err)
	}
	return rv, nil
}
