package tracing

import (
	"net/http"
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

func newEdgeGuard(forcedPerSecond int) *edgeGuard {
	return &edgeGuard{forced: &reservoir{perSecond: forcedPerSecond}, now: time.Now}
}

// admit rewrites h's trace headers as described on edgeGuard: at most an X-Amzn-Trace-Id
// with a valid Root (and Parent), and Sampled=1 only within the forced budget. It runs on
// every request of the edge: it parses without regular expressions or splitting.
func (g *edgeGuard) admit(h http.Header) {
	var root, parent string
	var decision byte
	if raw := headerValue(h, xrayHeader); raw != "" {
		root, parent, decision = scanXRayFields(raw)
	} else if traceID, spanID, flags, ok := scanTraceparent(headerValue(h, "Traceparent")); ok {
		root, parent = "1-"+traceID[:8]+"-"+traceID[8:], spanID
		if flags == "01" {
			decision = '1'
		}
	}
	delete(h, xrayHeader)
	delete(h, "Traceparent")
	delete(h, "Tracestate")
	if !validXRayRoot(root) {
		return // a fresh trace
	}
	// The trace is named, the decision is ours (as a load balancer's "Root=..." asks), unless
	// the caller asked for it within the budget; then its valid Parent is kept too.
	value := "Root=" + root
	if decision == '1' && g.forced.take(g.now()) {
		if isLowerHex(parent, 16) && strings.Trim(parent, "0") != "" {
			value += ";Parent=" + parent
		}
		value += ";Sampled=1"
	}
	h[xrayHeader] = []string{value}
}

// scanTraceparent reads a W3C traceparent of version 00 with a non-zero trace id.
func scanTraceparent(v string) (traceID, spanID, flags string, ok bool) {
	if len(v) != 55 || v[:3] != "00-" || v[35] != '-' || v[52] != '-' {
		return "", "", "", false
	}
	traceID, spanID, flags = v[3:35], v[36:52], v[53:]
	ok = isLowerHex(traceID, 32) && isLowerHex(spanID, 16) && isLowerHex(flags, 2) && strings.Trim(traceID, "0") != ""
	return traceID, spanID, flags, ok
}

// validXRayRoot reports whether root is an X-Ray trace id: 1-<8 hex>-<24 hex>.
func validXRayRoot(root string) bool {
	return len(root) == 35 && root[:2] == "1-" && root[10] == '-' && isLowerHex(root[2:10], 8) && isLowerHex(root[11:], 24)
}

// isLowerHex reports whether s is n lower-case hexadecimal digits.
func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
