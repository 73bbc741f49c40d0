// Package opscheck holds the tests of meshtrace's operator tooling: the preflight that guards
// `make preview|up|destroy` (scripts/preflight.sh, scripts/pulumi.sh) and the GitHub Actions
// workflow (.github/workflows), linted with actionlint. It has no code of its own.
package opscheck
