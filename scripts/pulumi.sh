#!/usr/bin/env bash
# Runs a Pulumi command on one stack after the preflight:
#   scripts/pulumi.sh preview|up|destroy|outputs STACK [extra pulumi flags...]
# State: the backend you are logged in to ('pulumi login ...', or PULUMI_BACKEND_URL); when you
# are logged in nowhere, a file backend in .pulumi-state/ of this checkout (no account needed).
set -euo pipefail
cd "$(dirname "$0")/.."

cmd="${1:-}"
stack="${2:-}"
shift 2 || true
case "$cmd" in
  preview|up|destroy|outputs) ;;
  *) echo "pulumi.sh: unknown command '${cmd}': use preview, up, destroy or outputs" >&2; exit 2 ;;
esac

# destroy runs no program (no image build); outputs only reads the state.
case "$cmd" in
  destroy) PREFLIGHT_SKIP="${PREFLIGHT_SKIP:-} docker" ;;
  outputs) PREFLIGHT_SKIP="${PREFLIGHT_SKIP:-} docker aws" ;;
esac
PREFLIGHT_SKIP="${PREFLIGHT_SKIP:-}" scripts/preflight.sh "$stack"

# The backend the CLI would use: PULUMI_BACKEND_URL, else the current login recorded in
# $PULUMI_HOME/credentials.json by 'pulumi login'.
current_backend() {
  if [ -n "${PULUMI_BACKEND_URL:-}" ]; then echo "$PULUMI_BACKEND_URL"; return; fi
  local creds="${PULUMI_HOME:-$HOME/.pulumi}/credentials.json"
  [ -f "$creds" ] && grep -o '"current"[[:space:]]*:[[:space:]]*"[^"]*"' "$creds" | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/'
}

backend="$(current_backend || true)"
if [ -z "$backend" ]; then
  backend="file://$PWD/.pulumi-state"
  mkdir -p .pulumi-state
  pulumi login "$backend" >/dev/null
fi
echo "pulumi: state in ${backend} (switch with 'pulumi login <url>')"

# Self-managed backends encrypt stack secrets with a passphrase unless the stack names another
# secrets provider; without one the CLI would stop to prompt for it.
if [[ "$backend" != https://* ]] && [ -z "${PULUMI_CONFIG_PASSPHRASE+set}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ] \
  && ! grep -q '^secretsprovider:' "Pulumi.${stack}.yaml" 2>/dev/null; then
  echo "preflight: PULUMI_CONFIG_PASSPHRASE not set: the ${backend%%://*} state backend encrypts the stack's secrets with a passphrase; export PULUMI_CONFIG_PASSPHRASE=... (or PULUMI_CONFIG_PASSPHRASE_FILE=path)" >&2
  exit 1
fi

pulumi stack select --create "$stack" >/dev/null
case "$cmd" in
  preview) exec pulumi preview --stack "$stack" "$@" ;;
  up) exec pulumi up --stack "$stack" "$@" ;;
  destroy) exec pulumi destroy --stack "$stack" "$@" ;;
  outputs) exec pulumi stack output --json --stack "$stack" "$@" ;;
esac
