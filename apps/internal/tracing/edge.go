package tracing

import (
	"net/http"
	"regexp"
	"strings"
	"time"
)

// At the edge (products, which the internet reaches through the load balancer) a caller may
// name the trace it belongs to, but not decide whether it is traced: anyone could force every
// request into X-Ray (cost, noise) or hide theirs from it. edgeGuard rewrites the incoming
// trace headers before either tracing path reads them:
//
//   - a valid trace id (X-Ray Root, or a W3C traceparent's) is kept, so a trace the load
//     balancer started continues;
//   - "Sampled=1" (or traceparent flag 01) is honoured for at most ForcedPerSecond requests
//     a second, so debugging a request stays possible; beyond that, and for "Sampled=0", the
//     service's own rule decides;
//   - a malformed Root or traceparent is dropped, so the request starts a fresh trace.
//
// Services behind the edge (payments) follow their caller's decision, so a trace stays whole.
type edgeGuard struct {
	forced *reservoir
	now    func() time.Time
}

// DefaultEdgeForcedPerSecond is how many caller-sampled requests a second the edge honours.
const DefaultEdgeForcedPerSecond = 1

var (
	xrayRootPattern   = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)
	spanIDPattern     = regexp.MustCompile(`^[0-9a-f]{16}$`)
	traceparentFormat = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`)
)

func newEdgeGuard(forcedPerSecond int) *edgeGuard {
	return &edgeGuard{forced: &reservoir{perSecond: forcedPerSecond}, now: time.Now}
}

// admit rewrites h's trace headers as described on edgeGuard: at most an X-Amzn-Trace-Id
// with a valid Root (and Parent), and Sampled=1 only within the forced budget.
func (g *edgeGuard) admit(h http.Header) {
	root, parent, sampled := "", "", false
	if raw := headerValue(h, xrayHeader); raw != "" {
		for _, part := range strings.Split(raw, ";") {
			key, value, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch key {
			case "Root":
				root = value
			case "Parent":
				parent = value
			case "Sampled":
				sampled = value == "1"
			}
		}
	} else if m := traceparentFormat.FindStringSubmatch(headerValue(h, "Traceparent")); m != nil && strings.Trim(m[1], "0") != "" {
		root, parent, sampled = "1-"+m[1][:8]+"-"+m[1][8:], m[2], m[3] == "01"
	}
	delete(h, xrayHeader)
	delete(h, "Traceparent")
	delete(h, "Tracestate")
	if !xrayRootPattern.MatchString(root) {
		return // a fresh trace
	}
	// The trace is named, the decision is ours (as a load balancer's "Root=..." asks), unless
	// the caller asked for it within the budget; then its valid Parent is kept too.
	value := "Root=" + root
	if sampled && g.forced.take(g.now()) {
		if spanIDPattern.MatchString(parent) && strings.Trim(parent, "0") != "" {
			value += ";Parent=" + parent
		}
		value += ";Sampled=1"
	}
	h[xrayHeader] = []string{value}
}
