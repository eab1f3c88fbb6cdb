package query

import (
	"errors"

	"github.com/dbfleet/dbfleet/internal/platform/errkind"
)

// Refusal is a statement or request the console does not run. Rule names
// the check that refused it (a short id such as "function-not-allowed"),
// so that the API's error body and the audit entry can say which;
// callers match it with errors.As, never by its text.
type Refusal struct {
	Rule string
	err  error // an errkind error: Forbidden, or Invalid for what does not parse
}

func (r *Refusal) Error() string { return r.err.Error() }
func (r *Refusal) Unwrap() error { return r.err }

// RefusalRule is what the HTTP edge reads to name the rule in the error
// body (an interface there, so that it needs no import of this package).
func (r *Refusal) RefusalRule() string { return r.Rule }

// The rules a refusal names.
const (
	RuleEncoding          = "encoding"              // invalid UTF-8 or a NUL byte
	RuleTooLarge          = "too-large"             // longer or deeper than the parser accepts
	RuleSyntax            = "syntax"                // does not parse
	RuleEmpty             = "empty"                 // no statement
	RuleMultiStatement    = "multi-statement"       // more than one statement
	RuleSpecialComment    = "special-comment"       // /*! /*M! /*T! /*+
	RuleRewritten         = "rewritten"             // the grammar read a normalised text
	RuleManual            = "manual"                // no syntax tree (MariaDB-only syntax)
	RuleStatement         = "statement-not-allowed" // not a read
	RuleInto              = "into"                  // SELECT ... INTO
	RuleLockingRead       = "locking-read"          // FOR UPDATE / SHARE
	RuleDataModifyingWith = "data-modifying-with"   // WITH x AS (DELETE ...)
	RuleAssignment        = "assignment"            // @a := ...
	RuleFunction          = "function-not-allowed"  // not on the allow-list
	RuleOperator          = "operator-not-allowed"  // not on the allow-list
	RuleShow              = "show-not-allowed"      // a SHOW outside the allowed set
	RuleShowSubquery      = "show-subquery"         // a subquery in SHOW ... WHERE / LIKE
	RuleSetting           = "setting-not-allowed"   // PostgreSQL SHOW / current_setting of a secret setting
	RuleExplain           = "explain-not-allowed"   // an EXPLAIN form that runs writes or prints values
	RuleNoGrant           = "no-grant"              // no grant at all on the instance
	RuleNotGranted        = "not-granted"           // a table or database not granted
	RuleCatalogMasked     = "catalog-masked"        // statistics that hold column values, for a masked caller
	RuleSystemDatabase    = "system-database"       // mysql, performance_schema, sys: no reader reads them
	RuleLineage           = "lineage"               // masking cannot be guaranteed
	RuleNoDatabase        = "no-database"           // an unqualified table and no database
	RuleOtherDatabase     = "other-database"        // PostgreSQL cross-database reference
	RuleEngine            = "engine"                // an engine the console does not serve
	RuleNotAllowed        = "not-allowed"           // anything else (Redis commands...)
)

// refuseRule is a Forbidden refusal by rule.
func refuseRule(rule, format string, args ...any) error {
	return &Refusal{Rule: rule, err: errkind.New(errkind.Forbidden, format, args...)}
}

// invalidRule is a refusal of input that cannot be checked (it does not
// parse, is too large, is not UTF-8): errkind.Invalid.
func invalidRule(rule, format string, args ...any) error {
	return &Refusal{Rule: rule, err: errkind.New(errkind.Invalid, format, args...)}
}

// refuse is a refusal without a more specific rule (the Redis checks).
func refuse(format string, args ...any) error {
	return refuseRule(RuleNotAllowed, format, args...)
}

// refuseInvalid is a refusal of something that does not parse.
func refuseInvalid(format string, args ...any) error {
	return invalidRule(RuleSyntax, format, args...)
}

// asRefusal returns the Refusal in err's chain, if any.
func asRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}
