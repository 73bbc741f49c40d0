#!/usr/bin/env bash
# Installs everything the tests and the local run need on a fresh Debian 12 machine.
# Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: PostgreSQL server for the services' tests, wrk for the benchmarks.
need_pkgs=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_pkgs+=(postgresql)
command -v wrk >/dev/null || need_pkgs+=(wrk)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  echo "install: apt-get install ${need_pkgs[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}"
fi

# Python packages for the AWS API model check: boto3 (botocore's service models) and moto (moto_server).
# PyPI may be unreachable (it is on our CI machines, which ship them preinstalled): try, then verify.
if ! python3 -c 'import boto3, botocore, moto, yaml' 2>/dev/null || ! command -v moto_server >/dev/null; then
  echo "install: pip install 'moto[server]' boto3 pyyaml"
  python3 -m pip install -q 'moto[server]' boto3 pyyaml || true
fi
python3 -c 'import boto3, botocore, moto, yaml' || { echo "install: python3 needs boto3, botocore, moto and pyyaml: pip install 'moto[server]' boto3 pyyaml" >&2; exit 1; }
command -v moto_server >/dev/null || { echo "install: moto_server not on PATH: pip install 'moto[server]'" >&2; exit 1; }

# Go modules (pinned in go.mod/go.sum), and those of the engine checks' and the component
# package's own modules. Not Jaeger's (tools/jaeger): only `TRACING=otel make local` uses it, and
# builds it on first use; the tests receive OTLP in process (internal/testenv/otlp.go).
go mod download
(cd checks/engine && go mod download)
(cd provider && go mod download)
# The collector-config check's module (tools/collectorcheck: the collector's own config code).
(cd tools/collectorcheck && go mod download)

# The TypeScript example's typescript and @pulumi/pulumi (pinned in examples/ts/package-lock.json),
# which provider/'s tests compile the generated SDK with. Node 20 and npm come with the machine.
command -v npm >/dev/null || { echo "install: npm (Node.js 20) is needed for examples/ts" >&2; exit 1; }
if ! (cd examples/ts && npm ls --depth=0 >/dev/null 2>&1); then
  echo "install: npm ci in examples/ts"
  (cd examples/ts && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "install: ok"
