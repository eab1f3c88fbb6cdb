package slowlog

import (
	"context"
	"fmt"
	"strings"

	"github.com/dbfleet/dbfleet/internal/auth"
	"github.com/dbfleet/dbfleet/internal/engine"
)

// Access is how much of a class's example a caller may see. Examples are
// statements others ran, with their data: "Slow-query examples are shown
// only to callers with a query grant on that instance and with the
// masking rules applied."
type Access string

// Access levels.
const (
	// AccessNone: no query grant on the instance; the fingerprint only.
	AccessNone Access = "none"
	// AccessNormalized: a grant, but masking rules apply to the caller on
	// the instance: the example with every literal replaced by ?.
	AccessNormalized Access = "normalized"
	// AccessFull: a grant and no masking rule applies (or query.unmask):
	// the example, credentials redacted.
	AccessFull Access = "full"
)

// ExampleAccessor decides how much of an instance's examples p may see:
// the query console's grants and masking rules, wired by app.
type ExampleAccessor interface {
	ExampleAccess(ctx context.Context, p auth.Principal, instance string) (Access, error)
}

// access asks the accessor; without one nobody sees examples.
func (s *Service) access(ctx context.Context, p auth.Principal, instance string) (Access, error) {
	if s.Examples == nil {
		return AccessNone, nil
	}
	a, err := s.Examples.ExampleAccess(ctx, p, instance)
	if err != nil {
		return AccessNone, fmt.Errorf("decide who sees the examples of %q: %w", instance, err)
	}
	switch a {
	case AccessFull, AccessNormalized:
		return a, nil
	}
	return AccessNone, nil
}

// exampleFor is the example as p may see it, and a note saying why when
// it is not the whole statement.
func exampleFor(a Access, p auth.Principal, instance string, k engine.Kind, ex, fingerprint string) (string, string) {
	switch a {
	case AccessFull:
		return ex, ""
	case AccessNormalized:
		note := fmt.Sprintf("literals hidden: masking rules apply to you (%s) on instance %s", p.User, instance)
		d, ok := sqlDialect(k)
		if !ok {
			return fingerprint, note
		}
		body, cut := strings.CutSuffix(ex, truncatedMark)
		body = hideLiterals(body, d)
		if cut {
			body += truncatedMark
		}
		return body, note
	}
	return "", fmt.Sprintf("no example: user %s (role %s) has no query grant on instance %s; the fingerprint shows the statement's shape (a DBA can grant one: dbfleet query grant --user %s %s)",
		p.User, p.Role, instance, p.User, instance)
}

// maskedExplain says why a caller under masking rules gets no EXPLAIN: a
// plan shows the statement's literals (PostgreSQL's filters, MariaDB's
// const tables).
func maskedExplain(p auth.Principal, instance string) string {
	return fmt.Sprintf("EXPLAIN would show the example's literals, which masking rules on instance %s hide from user %s", instance, p.User)
}

// RuleMaskedExample names the refusal of EXPLAIN to a caller under
// masking rules (in API error bodies, beside the console's rules).
const RuleMaskedExample = "masked-example"

// refusal is a Forbidden error that names its rule, as the console's do.
type refusal struct {
	rule string
	err  error
}

func (r *refusal) Error() string       { return r.err.Error() }
func (r *refusal) Unwrap() error       { return r.err }
func (r *refusal) RefusalRule() string { return r.rule }
