#!/usr/bin/env bash
# Checks what `pulumi preview|up|destroy` needs before running it, so a fresh machine gets one
# line per missing piece (what, and how to get it) instead of a failure halfway through.
#   scripts/preflight.sh STACK
# Exit 0 when ready, 1 when something is missing, 2 on bad usage.
# PREFLIGHT_SKIP="docker aws" skips checks by name (e.g. docker when the stack config gives
# prebuilt image URIs instead of building them).
set -uo pipefail
cd "$(dirname "$0")/.."

stack="${1:-}"
case "$stack" in
  dev|prod) ;;
  *) echo "preflight: unknown stack '${stack}': use STACK=dev or STACK=prod" >&2; exit 2 ;;
esac

problems=0
fail() { echo "preflight: $*" >&2; problems=$((problems + 1)); }
skipped() { [[ " ${PREFLIGHT_SKIP:-} " == *" $1 "* ]]; }

# Version of a Go module required in go.mod, without the leading v (for plugin hints).
gomod_version() { sed -n "s#^[[:space:]]*$1 v\([^ ]*\).*#\1#p" go.mod | head -n 1; }

check_go() {
  command -v go >/dev/null 2>&1 && return
  fail "Go toolchain not found: the Pulumi program is Go; install Go $(sed -n 's/^go //p' go.mod) from https://go.dev/dl/ and put it on PATH"
}

check_pulumi() {
  if ! command -v pulumi >/dev/null 2>&1; then
    fail "pulumi CLI not found (so no Pulumi Go language host and no AWS plugin either): install it with 'curl -fsSL https://get.pulumi.com | sh' (see https://www.pulumi.com/docs/install/), put ~/.pulumi/bin on PATH, then run 'pulumi install' for the plugins"
    return
  fi
  # The Go language host ships next to the CLI; pulumi looks for it on PATH and beside itself.
  local bindir
  bindir="$(dirname "$(command -v pulumi)")"
  if ! command -v pulumi-language-go >/dev/null 2>&1 && [ ! -x "$bindir/pulumi-language-go" ]; then
    fail "Pulumi Go language host (pulumi-language-go) not found next to $(command -v pulumi): reinstall the Pulumi CLI with 'curl -fsSL https://get.pulumi.com | sh'"
  fi
  local plugins missing=()
  if ! plugins="$(pulumi plugin ls 2>/dev/null)"; then
    fail "'pulumi plugin ls' failed: run it to see why (a broken ~/.pulumi?), then retry"
    return
  fi
  local name
  for name in aws awsx; do
    awk -v n="$name" '$1 == n && $2 == "resource" { found = 1 } END { exit !found }' <<<"$plugins" || missing+=("$name")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    fail "Pulumi plugin(s) not installed: ${missing[*]} (the program uses aws $(gomod_version github.com/pulumi/pulumi-aws/sdk/v6) and awsx $(gomod_version github.com/pulumi/pulumi-awsx/sdk/v2)): run 'pulumi install' in this directory"
  fi
}

# Credentials are looked for where the AWS SDKs look, without calling AWS: environment keys,
# a profile, web identity (CI's OIDC), or the ECS/CodeBuild container endpoint. On EC2 with an
# instance role, use a profile with credential_source = Ec2InstanceMetadata.
aws_credentials_source() {
  if [ -n "${AWS_ACCESS_KEY_ID:-}" ] && [ -n "${AWS_SECRET_ACCESS_KEY:-}" ]; then echo "environment keys"; return; fi
  if [ -n "${AWS_WEB_IDENTITY_TOKEN_FILE:-}" ] && [ -n "${AWS_ROLE_ARN:-}" ]; then echo "web identity role ${AWS_ROLE_ARN}"; return; fi
  if [ -n "${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-}${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}" ]; then echo "container credentials"; return; fi
  local profile="${AWS_PROFILE:-${AWS_DEFAULT_PROFILE:-default}}"
  local creds="${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}" conf="${AWS_CONFIG_FILE:-$HOME/.aws/config}"
  if [ -f "$creds" ] && grep -q "^\[${profile}\]" "$creds"; then echo "profile ${profile} in ${creds}"; return; fi
  if [ -f "$conf" ] && grep -Eq "^\[(profile )?${profile}\]" "$conf"; then echo "profile ${profile} in ${conf}"; return; fi
  return 1
}

check_aws() {
  local source
  if ! source="$(aws_credentials_source)"; then
    fail "AWS credentials not configured (no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, no AWS_PROFILE or ~/.aws profile, no web identity): run 'aws configure' or 'aws sso login --profile NAME' and export AWS_PROFILE=NAME"
    return
  fi
  # With the AWS CLI at hand, ask STS whether the credentials work (bounded: no hang offline).
  if command -v aws >/dev/null 2>&1 && [ "${PREFLIGHT_AWS_VERIFY:-1}" = 1 ]; then
    local out
    if ! out="$(timeout 30 aws sts get-caller-identity --output text 2>&1)"; then
      fail "AWS credentials from ${source} do not work ('aws sts get-caller-identity': $(echo "$out" | grep -v '^\s*$' | tail -n 1)): renew them (aws sso login, aws configure) or check the network"
    fi
  fi
  if [ -z "${AWS_REGION:-}${AWS_DEFAULT_REGION:-}" ] && ! grep -q '^[[:space:]]*aws:region:' "Pulumi.${stack}.yaml" 2>/dev/null; then
    fail "no AWS region: set aws:region in Pulumi.${stack}.yaml ('pulumi config set aws:region us-east-1 --stack ${stack}') or export AWS_REGION"
  fi
}

check_docker() {
  if ! command -v docker >/dev/null 2>&1; then
    fail "Docker not found: the stack builds the service images with it; install Docker Engine (https://docs.docker.com/engine/install/) and start it"
    return
  fi
  local out
  if ! out="$(timeout 20 docker info 2>&1 >/dev/null)"; then
    fail "Docker engine not reachable ('docker info': $(echo "$out" | grep -v '^\s*$' | head -n 1)): start it ('sudo systemctl start docker' or Docker Desktop) or point DOCKER_HOST at one"
  fi
}

skipped go || check_go
skipped pulumi || check_pulumi
skipped aws || check_aws
skipped docker || check_docker

if [ "$problems" -gt 0 ]; then
  exit 1
fi
echo "preflight: ready for stack ${stack} (pulumi $(pulumi version 2>/dev/null), AWS credentials from $(aws_credentials_source || echo 'skipped check'))"
