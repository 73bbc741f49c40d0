#!/usr/bin/env bash
# The test command: formatting, vet, and every Go test (which include the AWS API model check,
# the PostgreSQL-backed service tests and the end-to-end trace tests).
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted="$(gofmt -l $(git ls-files -co --exclude-standard '*.go'))"
if [ -n "$unformatted" ]; then echo "gofmt needed on:"; echo "$unformatted"; exit 1; fi
go vet ./...
go test -count=1 -timeout 45m "$@" ./...
