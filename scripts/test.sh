#!/usr/bin/env bash
# The test command: formatting, vet, and every Go test (which include the AWS API model check,
# the PostgreSQL-backed service tests and the end-to-end trace tests).
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted="$(gofmt -l $(git ls-files -co --exclude-standard '*.go'))"
if [ -n "$unformatted" ]; then echo "gofmt needed on:"; echo "$unformatted"; exit 1; fi
go vet ./...
# -ldflags=-w: test binaries without DWARF (stack traces keep their symbols) link faster; the
# pulumi-aws binaries' links are much of the suite's time (docs/verification.md).
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-ldflags=-w"
go test -count=1 -timeout 45m "$@" ./...
# The program under the real Pulumi engine with fake providers (checks/engine, docs/verification.md):
# a module of its own, so that the program's go.mod does not carry pulumi/pkg. It follows the
# program's go.mod through a replace; when that changed, its own go.mod is tidied first. -v prints
# the plans the config-change tests assert on.
(
  cd checks/engine
  go mod tidy -diff >/dev/null 2>&1 || { echo "checks/engine: go.mod behind the program's go.mod: go mod tidy"; go mod tidy; }
  go vet ./...
  go test -count=1 -timeout 20m -v ./...
)
# The ADOT sidecar's configuration (components/xray/collector.yaml) loaded and validated by the
# collector's own code (tools/collectorcheck: a module of its own, so that the program's go.mod
# does not carry the collector's modules; docs/tracing.md).
(
  cd tools/collectorcheck
  go vet ./...
  go test -count=1 -timeout 10m ./...
)
# The component package (provider/, its own module for pulumi-go-provider and pulumi/pkg, like
# checks/engine): the schema's golden file, each component constructed under mocks, and the
# TypeScript SDK generated from the schema compiled with examples/ts.
(
  cd provider
  go mod tidy -diff >/dev/null 2>&1 || { echo "provider: go.mod behind the program's go.mod: go mod tidy"; go mod tidy; }
  go vet ./...
  go test -count=1 -timeout 10m ./...
)
