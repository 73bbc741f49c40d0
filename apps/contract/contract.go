// Package contract holds the few values that the services in apps/ and the infrastructure that
// runs them (components/) must agree on, side by side, so that one cannot drift from the other.
// It imports nothing but the standard library: the services' Docker build context holds apps/ only.
package contract

import "time"

// Keep-alive idle timeouts. Whoever holds an idle connection longer must be the one that closes
// it: a proxy that reuses a connection the app closed a moment earlier gets a reset, which the
// client sees as a sporadic 502/503. So every proxy in front of an app (the ALB, the Service
// Connect proxy, App Mesh's Envoy) closes idle connections before the app's server does.
const (
	// AppIdleTimeout is the Go servers' http.Server.IdleTimeout.
	AppIdleTimeout = 75 * time.Second
	// ProxyIdleTimeout is the idle timeout of every proxy in front of an app: the ALB's default
	// (60 s), set explicitly; Service Connect's and App Mesh's (whose defaults, 300 s, are above
	// AppIdleTimeout and would race the app's close).
	ProxyIdleTimeout = 60 * time.Second
)

// Health endpoints every service in apps/ serves.
const (
	// LivenessPath answers 200 while the process can serve; it checks no dependency, so an
	// outage of the database does not make ECS replace every task.
	LivenessPath = "/healthz"
	// ReadinessPath (products) answers 200 only when the database answers a ping: for operators
	// and the trace check, not for the load balancer (see LoadBalancerHealthCheckPath).
	ReadinessPath = "/readyz"
)

// The load balancer's health check of a service's targets. ECS replaces a task whose target
// fails it (UnhealthyThreshold failures in a row), and each replacement of products runs the
// migrations first, which wait for the database; so a check that failed with the database
// would turn a failover or a maintenance window into tasks replaced in a loop. The check
// therefore probes liveness (the process serves HTTP); a request that needs the database
// answers 503 on its own while the database is away. docs/database.md#health has the AWS
// sources.
const (
	LoadBalancerHealthCheckPath     = LivenessPath
	LoadBalancerHealthCheckMatcher  = "200" // the ALB's matcher syntax: codes, "a,b" or "a-b"
	LoadBalancerHealthCheckInterval = 15 * time.Second
	// LoadBalancerHealthCheckTimeout is below the interval, as the ALB requires.
	LoadBalancerHealthCheckTimeout = 5 * time.Second
	// Consecutive successes that make a target healthy, failures that make it unhealthy: a
	// target is unhealthy after LoadBalancerUnhealthyThreshold x LoadBalancerHealthCheckInterval
	// (45 s) of failed checks.
	LoadBalancerHealthyThreshold   = 2
	LoadBalancerUnhealthyThreshold = 3
)

// HealthCheckFlag makes a service's binary probe its own LivenessPath on 127.0.0.1:$PORT and
// exit 0 or 1: the container health check of an image without a shell or curl (distroless).
const HealthCheckFlag = "-healthcheck"

// DatabaseAuthFailedMessage is the log message (the JSON logs' msg) products writes, verbatim
// and with nothing added, wherever it finds the database refusing its credential (SQLSTATE
// class 28): an API route and /readyz alike. The stack's alarm counts these lines with
// DatabaseAuthFailedLogFilter, which matches the whole msg.
const DatabaseAuthFailedMessage = "database authentication failed"

// DatabaseAuthFailedLogFilter is the CloudWatch Logs filter pattern (JSON logs: msg equals the
// message exactly) of the stack's metric filter for DatabaseAuthFailedMessage.
const DatabaseAuthFailedLogFilter = `{ $.msg = "` + DatabaseAuthFailedMessage + `" }`

// DatabaseName is the PostgreSQL database products reads (DB_NAME's default, and the name
// the stack's RDS instance creates).
const DatabaseName = "DataWarehouseX"

// The default sampling rule, X-Ray's own: this many requests per second always traced,
// then this share of the rest. The apps apply it when no other rule reaches them; the stack
// declares it as each service's X-Ray sampling rule.
const (
	DefaultSamplingReservoir = 1
	DefaultSamplingFixedRate = 0.05
)
