// Package errkind classifies domain errors so that the edges (API, CLI, UI)
// can map them to a status without knowing the domain.
//
// A domain error wraps one of the kinds:
//
//	return errkind.New(errkind.NotFound, "instance %q not found", name)
//	return fmt.Errorf("add host: %w", errkind.Wrap(errkind.Conflict, err))
package errkind

import (
	"errors"
	"fmt"
)

// Kind is the class of an error.
type Kind int

// The kinds, in the order the API maps them to HTTP status codes.
const (
	Unknown      Kind = iota // anything else: 500
	Invalid                  // bad input: 400
	Unauthorized             // no or bad credentials: 401
	Forbidden                // authenticated, not allowed: 403
	NotFound                 // 404
	Conflict                 // duplicate name, still in use: 409
	TooMany                  // rate limited: 429
	Unavailable              // a dependency (a managed database) is down: 503
	Upstream                 // a managed database refused (its credentials, its privileges): 502
)

var names = map[Kind]string{
	Unknown:      "unknown",
	Invalid:      "invalid",
	Unauthorized: "unauthorized",
	Forbidden:    "forbidden",
	NotFound:     "not_found",
	Conflict:     "conflict",
	TooMany:      "too_many_requests",
	Unavailable:  "unavailable",
	Upstream:     "upstream",
}

func (k Kind) String() string {
	if s, ok := names[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

type kindError struct {
	kind Kind
	err  error
}

func (e *kindError) Error() string { return e.err.Error() }
func (e *kindError) Unwrap() error { return e.err }

// New returns an error of kind k with a formatted message.
func New(k Kind, format string, args ...any) error {
	return &kindError{kind: k, err: fmt.Errorf(format, args...)}
}

// Wrap marks err as being of kind k. Wrap(k, nil) is nil.
func Wrap(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &kindError{kind: k, err: err}
}

// Of returns the kind of the outermost classified error in err's chain, or
// Unknown.
func Of(err error) Kind {
	var ke *kindError
	if errors.As(err, &ke) {
		return ke.kind
	}
	return Unknown
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return err != nil && Of(err) == k }
