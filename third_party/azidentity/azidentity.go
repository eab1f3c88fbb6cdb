// Package azidentity is dbfleet's stand-in for the Azure SDK's azidentity
// module (go.mod replaces it with this directory): the names
// github.com/prometheus/prometheus/storage/remote/azuread uses, with
// constructors that refuse. See package azcore in third_party/azcore.
package azidentity

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

var errNotBuilt = errors.New("azidentity: Azure authentication is not built into dbfleet")

// Credential is what every constructor here would return; none does.
type Credential struct{}

// GetToken always fails.
func (*Credential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errNotBuilt
}

// ManagedIDKind identifies a managed identity.
type ManagedIDKind interface{ String() string }

// ClientID is a managed identity's client ID.
type ClientID string

func (c ClientID) String() string { return string(c) }

// ManagedIdentityCredentialOptions as upstream.
type ManagedIdentityCredentialOptions struct {
	azcore.ClientOptions
	ID ManagedIDKind
}

// WorkloadIdentityCredentialOptions as upstream.
type WorkloadIdentityCredentialOptions struct {
	azcore.ClientOptions
	ClientID      string
	TenantID      string
	TokenFilePath string
}

// ClientSecretCredentialOptions as upstream.
type ClientSecretCredentialOptions struct {
	azcore.ClientOptions
}

// DefaultAzureCredentialOptions as upstream.
type DefaultAzureCredentialOptions struct {
	azcore.ClientOptions
	TenantID string
}

// ClientCertificateCredentialOptions as upstream.
type ClientCertificateCredentialOptions struct {
	azcore.ClientOptions
	SendCertificateChain bool
}

// NewManagedIdentityCredential fails.
func NewManagedIdentityCredential(*ManagedIdentityCredentialOptions) (*Credential, error) {
	return nil, errNotBuilt
}

// NewWorkloadIdentityCredential fails.
func NewWorkloadIdentityCredential(*WorkloadIdentityCredentialOptions) (*Credential, error) {
	return nil, errNotBuilt
}

// NewClientSecretCredential fails.
func NewClientSecretCredential(string, string, string, *ClientSecretCredentialOptions) (*Credential, error) {
	return nil, errNotBuilt
}

// NewDefaultAzureCredential fails.
func NewDefaultAzureCredential(*DefaultAzureCredentialOptions) (*Credential, error) {
	return nil, errNotBuilt
}

// NewClientCertificateCredential fails.
func NewClientCertificateCredential(string, string, []*x509.Certificate, crypto.PrivateKey, *ClientCertificateCredentialOptions) (*Credential, error) {
	return nil, errNotBuilt
}

// ParseCertificates fails.
func ParseCertificates([]byte, []byte) ([]*x509.Certificate, crypto.PrivateKey, error) {
	return nil, nil, errNotBuilt
}
