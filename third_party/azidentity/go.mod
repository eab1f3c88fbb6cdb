module github.com/Azure/azure-sdk-for-go/sdk/azidentity

go 1.24

require github.com/Azure/azure-sdk-for-go/sdk/azcore v1.23.3
