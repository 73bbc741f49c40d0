# Single entry point for people and CI. STACK selects the Pulumi stack (dev or prod).
STACK ?= dev

.PHONY: install test
install:
	scripts/install.sh

test:
	scripts/test.sh

# --- Operating meshtrace (see README "Operating meshtrace") ---------------------------------
# Each Pulumi target runs scripts/preflight.sh first (pulumi CLI and plugins, AWS credentials,
# Docker), logs in to the state backend (a file backend in .pulumi-state/ unless you are logged
# in elsewhere) and selects or creates the stack. ARGS passes extra flags, e.g. ARGS=--yes.
ARGS ?=

.PHONY: preflight preview up destroy outputs tracecheck lint-workflows
preflight:
	@scripts/preflight.sh $(STACK)

preview up destroy outputs:
	@scripts/pulumi.sh $@ $(STACK) $(ARGS)

# Post-deploy check: requests through the stack's url, then the traces in X-Ray.
tracecheck:
	@go run ./cmd/tracecheck --stack $(STACK) $(ARGS)

lint-workflows:
	go tool actionlint

# The whole system on this machine: PostgreSQL, both services, and every trace printed as a tree
# (see README "The services (apps/)"). Ctrl-C stops it. TRACING=otel make local: the services use
# OpenTelemetry and a local Jaeger (built from tools/jaeger on first use) receives the spans; each
# trace is printed with its Jaeger link (docs/tracing.md). ARGS=-jaeger=false: no Jaeger, the
# spans go to a receiver in the process.
.PHONY: local local-jaeger-test
local:
	go run ./cmd/local $(ARGS)

# The local run with Jaeger, end to end (builds Jaeger on first use: minutes; not in make test).
local-jaeger-test:
	go test -count=1 -tags jaeger -run Jaeger ./cmd/local/

# --- Benchmarks (see README "Benchmarks"; not part of make test) ----------------------------
# The service benchmark: real PostgreSQL and both services, wrk and an open loop at 200 req/s,
# tracing off / default sampling / 100%, X-Ray SDK and OpenTelemetry, side by side (about 12
# minutes; docs/tracing.md). BENCH_ARGS passes flags,
# e.g. BENCH_ARGS='-runs 5 -json build/bench.json' or BENCH_ARGS='-pprof build/pprof'.
BENCH_ARGS ?=

.PHONY: bench
bench:
	go run ./cmd/bench $(BENCH_ARGS)
