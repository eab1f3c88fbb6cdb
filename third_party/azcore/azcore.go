// Package azcore is dbfleet's stand-in for the Azure SDK's azcore module
// (go.mod replaces github.com/Azure/azure-sdk-for-go/sdk/azcore with this
// directory). It declares only what
// github.com/prometheus/prometheus/storage/remote/azuread names: that
// package is linked because prometheus/config names its settings, and
// prometheus/tsdb imports prometheus/config; dbfleet never authenticates
// to Azure. The API matches upstream v1 for those names.
package azcore

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// AccessToken is an access token and its expiry.
type AccessToken struct {
	Token     string
	ExpiresOn time.Time
	RefreshOn time.Time
}

// TokenCredential gets access tokens.
type TokenCredential interface {
	GetToken(ctx context.Context, options policy.TokenRequestOptions) (AccessToken, error)
}

// ClientOptions configure a client.
type ClientOptions = policy.ClientOptions
