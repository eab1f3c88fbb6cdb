// Package cloud is the part of the Azure SDK's azcore/cloud package that
// github.com/prometheus/prometheus/storage/remote/azuread names; see
// package azcore.
package cloud

// ServiceName names an Azure service.
type ServiceName string

// ServiceConfiguration configures a service.
type ServiceConfiguration struct {
	Audience string
	Endpoint string
}

// Configuration configures a cloud.
type Configuration struct {
	ActiveDirectoryAuthorityHost string
	Services                     map[ServiceName]ServiceConfiguration
}

// The public clouds, as upstream defines them.
var (
	AzureChina      = Configuration{ActiveDirectoryAuthorityHost: "https://login.chinacloudapi.cn/", Services: map[ServiceName]ServiceConfiguration{}}
	AzureGovernment = Configuration{ActiveDirectoryAuthorityHost: "https://login.microsoftonline.us/", Services: map[ServiceName]ServiceConfiguration{}}
	AzurePublic     = Configuration{ActiveDirectoryAuthorityHost: "https://login.microsoftonline.com/", Services: map[ServiceName]ServiceConfiguration{}}
)
