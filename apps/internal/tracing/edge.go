package tracing

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
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
//   - a malformed Root or traceparent is dropped, so the request starts a fresh trace;
//   - so is a well-formed one whose embedded time (the first 8 hex digits, epoch seconds) is
//     outside the window traces are accepted in (recentTraceID): its segments and spans would
//     be refused, and the request would be missing from X-Ray. The caller's id is kept on the
//     fresh trace as the annotation CallerTraceAnnotation, so it can still be found.
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
// with a valid, recent Root (and Parent), and Sampled=1 only within the forced budget. It
// returns the caller's trace id when it was well formed but not recent (the request starts a
// fresh trace), else "". It runs on every request of the edge: it parses without regular
// expressions or splitting.
func (g *edgeGuard) admit(h http.Header) (staleCallerTrace string) {
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
		return "" // a fresh trace
	}
	if !recentTraceID(root, g.now()) {
		return root // a fresh trace, annotated with the caller's
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
	return ""
}

// The window of trace times that are accepted. X-Ray takes X-Ray-format trace ids whose time
// is within the last 30 days; the ADOT collector's X-Ray exporter (the otel path's way to
// X-Ray) drops spans whose trace time is more than 28 days old or more than 5 minutes ahead
// of its clock. The edge keeps to the narrower window, so a trace it continues is accepted on
// both paths. Sources: docs/security.md#the-edge.
const (
	TraceIDMaxAge  = 28 * 24 * time.Hour
	TraceIDMaxSkew = 5 * time.Minute
)

// CallerTraceAnnotation is the annotation (X-Ray segment annotation; span attribute indexed
// as one by the collector's X-Ray exporter) that holds a caller's trace id the edge did not
// continue.
const CallerTraceAnnotation = "caller_trace_id"

// recentTraceID reports whether the time in a valid X-Ray root, 1-<epoch seconds, 8 hex>-...,
// is within [now - TraceIDMaxAge, now + TraceIDMaxSkew].
func recentTraceID(root string, now time.Time) bool {
	secs, err := strconv.ParseUint(root[2:10], 16, 32)
	if err != nil {
		return false
	}
	t := time.Unix(int64(secs), 0)
	return !t.Before(now.Add(-TraceIDMaxAge)) && !t.After(now.Add(TraceIDMaxSkew))
}

// callerTraceKey carries, in a request's context, the caller's trace id that admit refused.
type callerTraceKey struct{}

// annotateCallerTrace adds the caller's refused trace id, if the request has one, to the
// request's segment (xray) or recording span (otel) before h runs. It wraps h inside the
// tracing middleware, where the segment or span exists.
func annotateCallerTrace(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if caller, ok := r.Context().Value(callerTraceKey{}).(string); ok {
			ctx := r.Context()
			if span := trace.SpanFromContext(ctx); span.IsRecording() {
				// aws.xray.annotations names the attributes the X-Ray exporter indexes.
				span.SetAttributes(attribute.String(CallerTraceAnnotation, caller),
					attribute.StringSlice("aws.xray.annotations", []string{CallerTraceAnnotation}))
			} else if seg := xray.GetSegment(ctx); seg != nil {
				_ = seg.AddAnnotation(CallerTraceAnnotation, caller)
			}
		}
		h.ServeHTTP(w, r)
	})
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
