// Package sigv4 is dbfleet's stand-in for github.com/prometheus/sigv4
// v0.5.0 (go.mod replaces the module with this directory).
//
// github.com/prometheus/prometheus/tsdb imports prometheus/config for
// ApplyConfig, and config names sigv4.SigV4Config in its remote-write
// settings; the real module's round tripper links the AWS SDK. dbfleet
// never reads a Prometheus configuration file nor signs requests for AWS,
// so this copy keeps the configuration type (sigv4_config.go, unchanged
// from upstream) and refuses to build a round tripper. internal/arch fails
// if an AWS SDK package is linked again.
package sigv4

import (
	"context"
	"errors"
	"net/http"
)

// Option configures NewSigV4RoundTripper (upstream-compatible; unused).
type Option func(*options)

type options struct{ ctx context.Context }

// WithContext is upstream's option; it has no effect here.
func WithContext(ctx context.Context) Option { return func(o *options) { o.ctx = ctx } }

// NewSigV4RoundTripper always fails: dbfleet is built without AWS SigV4
// request signing.
func NewSigV4RoundTripper(*SigV4Config, http.RoundTripper, ...Option) (http.RoundTripper, error) {
	return nil, errors.New("sigv4: AWS SigV4 signing is not built into dbfleet")
}
