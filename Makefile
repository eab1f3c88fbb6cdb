# dbfleet: the commands a newcomer needs. See README.md.
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/dbfleet/dbfleet/internal/app.Version=$(VERSION)

GOLANGCI_LINT ?= $(shell $(GO) env GOPATH)/bin/golangci-lint

.PHONY: run build test test-short vet fmt deps lint
run:            ## run the server with an embedded SQLite store in ./data
	$(GO) run ./cmd/dbfleet serve

build:          ## build ./dbfleet
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dbfleet ./cmd/dbfleet

test:           ## the full test suite: real MariaDB, PostgreSQL, Redis and Chromium (installs what is missing)
	@./.ci/install-deps
	$(GO) vet ./...
	CI=$${CI:-true} $(GO) test -count=1 -timeout 30m ./...

test-short:     ## unit tests only, no servers
	$(GO) test -short ./...

lint:           ## golangci-lint (.golangci.yml): vet, staticcheck, unused, errorlint, depguard (layering, one SQL front end)
	@./.ci/install-deps
	$(GOLANGCI_LINT) run ./...

deps:           ## Debian packages the tests need, and golangci-lint
	./.ci/install-deps

fmt:
	gofmt -w $$(git ls-files '*.go')
