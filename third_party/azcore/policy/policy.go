// Package policy is the part of the Azure SDK's azcore/policy package that
// github.com/prometheus/prometheus/storage/remote/azuread names; see
// package azcore.
package policy

import "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

// ClientOptions configure a client.
type ClientOptions struct {
	Cloud cloud.Configuration
}

// TokenRequestOptions are what a token is requested for.
type TokenRequestOptions struct {
	Claims    string
	EnableCAE bool
	Scopes    []string
	TenantID  string
}
