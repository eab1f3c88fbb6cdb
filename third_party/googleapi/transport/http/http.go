// Package http is dbfleet's stand-in for
// google.golang.org/api/transport/http; see package option.
package http

import (
	"context"
	"errors"
	"net/http"

	"google.golang.org/api/option"
)

// NewTransport fails: dbfleet is built without Google Cloud authentication.
func NewTransport(context.Context, http.RoundTripper, ...option.ClientOption) (http.RoundTripper, error) {
	return nil, errors.New("google.golang.org/api: Google Cloud authentication is not built into dbfleet")
}
