# dbfleet: the commands a newcomer needs. See README.md.
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/dbfleet/dbfleet/internal/app.Version=$(VERSION)

GOLANGCI_LINT ?= $(shell $(GO) env GOPATH)/bin/golangci-lint

# The packages whose loops, leases and workers the race detector runs over
# in CI (about 1.5 minutes with their servers on 2 cores).
RACE_PKGS := ./internal/platform/... ./internal/health ./internal/inventory ./internal/auth ./internal/notify ./internal/testenv

.PHONY: run build test test-short test-race vet fmt deps lint
run:            ## run the server with an embedded SQLite store in ./data
	$(GO) run ./cmd/dbfleet serve

build:          ## build ./dbfleet
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dbfleet ./cmd/dbfleet

test:           ## go vet, then every test: real MariaDB, PostgreSQL, Redis and Chromium (installs what is missing; CI=true, so a missing binary fails)
	@./.ci/install-deps
	$(GO) vet ./...
	CI=$${CI:-true} $(GO) test -count=1 -timeout 30m ./...

test-short:     ## unit tests only: -short starts no server and skips every test that needs one
	$(GO) test -short ./...

test-race:      ## the race detector over RACE_PKGS, with their servers
	CI=$${CI:-true} $(GO) test -race -count=1 -timeout 20m $(RACE_PKGS)

lint:           ## golangci-lint (.golangci.yml): vet, staticcheck, unused, errorlint, depguard (layering, one SQL front end)
	@./.ci/install-deps
	$(GOLANGCI_LINT) run ./...

deps:           ## Debian packages the tests need, and golangci-lint
	./.ci/install-deps

fmt:
	gofmt -w $$(git ls-files '*.go')
