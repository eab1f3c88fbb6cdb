// Package option is dbfleet's stand-in for google.golang.org/api/option
// (go.mod replaces the google.golang.org/api module with third_party/googleapi):
// the names github.com/prometheus/prometheus/storage/remote/googleiam
// uses. That package is linked because prometheus/config names its
// settings and prometheus/tsdb imports prometheus/config; dbfleet never
// calls a Google API. The API matches upstream for those names.
package option

import "golang.org/x/oauth2/google"

// ClientOption configures a client.
type ClientOption interface{ apply() }

type opt struct{}

func (opt) apply() {}

// CredentialsType is the kind of a credentials file.
type CredentialsType string

// ServiceAccount is a service account key file.
const ServiceAccount CredentialsType = "service_account"

// WithScopes as upstream; it has no effect here.
func WithScopes(...string) ClientOption { return opt{} }

// WithAuthCredentialsFile as upstream; it has no effect here.
func WithAuthCredentialsFile(CredentialsType, string) ClientOption { return opt{} }

// WithCredentials as upstream; it has no effect here.
func WithCredentials(*google.Credentials) ClientOption { return opt{} }
