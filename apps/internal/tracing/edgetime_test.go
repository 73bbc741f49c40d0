package tracing

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// The edge continues a caller's trace only when the time in its id is within the window X-Ray
// and the collector's X-Ray exporter accept; otherwise the request starts a fresh trace and the
// caller's id is handed back (to become the caller_trace_id annotation).
func TestEdgeContinuesOnlyRecentTraceIDs(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	g := newEdgeGuard(0)
	g.now = func() time.Time { return now }
	cases := []struct {
		name      string
		root      string
		continued bool
	}{
		{"now", rootAt(now), true},
		{"27 days ago", rootAt(now.Add(-27 * 24 * time.Hour)), true},
		{"at the maximum age", rootAt(now.Add(-TraceIDMaxAge)), true},
		{"a second past the maximum age", rootAt(now.Add(-TraceIDMaxAge - time.Second)), false},
		{"a year ago", rootAt(now.Add(-365 * 24 * time.Hour)), false},
		{"4 minutes ahead (clock skew)", rootAt(now.Add(4 * time.Minute)), true},
		{"a second past the skew", rootAt(now.Add(TraceIDMaxSkew + time.Second)), false},
		{"epoch 0", "1-00000000-abcdef012345678912345678", false},
		{"the end of time", "1-ffffffff-abcdef012345678912345678", false},
	}
	for _, c := range cases {
		for _, header := range []http.Header{
			{"X-Amzn-Trace-Id": {"Root=" + c.root + ";Parent=53995c3f42cd8ad8;Sampled=0"}},
			{"Traceparent": {"00-" + c.root[2:10] + c.root[11:] + "-53995c3f42cd8ad8-00"}},
		} {
			kind := "X-Ray"
			if header.Get("Traceparent") != "" {
				kind = "traceparent"
			}
			caller := g.admit(header)
			got := header.Get("X-Amzn-Trace-Id")
			switch {
			case c.continued && (got != "Root="+c.root || caller != ""):
				t.Errorf("%s, %s: header %q, caller %q; want the trace continued", c.name, kind, got, caller)
			case !c.continued && (got != "" || caller != c.root):
				t.Errorf("%s, %s: header %q, caller %q; want a fresh trace and the caller's id %s back", c.name, kind, got, caller, c.root)
			}
		}
	}
}

// callerRequest is a request from a caller that names a trace, in one of the two headers.
type callerRequest struct {
	root, header string
}

// callerRequests are requests naming well-formed roots X-Ray would refuse (epoch 0, the far
// future, a year ago) and a recent one, each in X-Amzn-Trace-Id and in traceparent, each its
// own trace, all asking to be sampled.
func callerRequests() []callerRequest {
	var out []callerRequest
	for i, root := range []string{"1-00000000-abcdef012345678912345678", "1-ffffffff-abcdef012345678912345678",
		rootAt(time.Now().Add(-365 * 24 * time.Hour)), rootAt(time.Now())} {
		for j, header := range []string{"X-Amzn-Trace-Id", "Traceparent"} {
			out = append(out, callerRequest{root[:33] + fmt.Sprintf("%d%d", i, j), header})
		}
	}
	return out
}

// send serves c's request with h and returns the trace id the answer names.
func (c callerRequest) send(h http.Handler) string {
	r := httptest.NewRequest(http.MethodGet, "/api/1.0/products", nil)
	if c.header == "Traceparent" {
		r.Header.Set(c.header, "00-"+c.root[2:10]+c.root[11:]+"-53995c3f42cd8ad8-01")
	} else {
		r.Header.Set(c.header, "Root="+c.root+";Parent=53995c3f42cd8ad8;Sampled=1")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	root, _ := scanXRayHeader(rec.Header().Get("X-Amzn-Trace-Id"))
	return root
}

// wantFreshRecentTrace checks the trace id a request got instead of the caller's stale one.
func wantFreshRecentTrace(t *testing.T, mode, caller, got string) {
	t.Helper()
	if !xrayRootPattern.MatchString(got) || got == caller || !recentTraceID(got, time.Now()) {
		t.Errorf("%s: caller root %s: the request's trace is %q, want a fresh, recent id", mode, caller, got)
	}
}

// xray path: the segment documents the SDK sends. A caller's stale root gives a segment of a
// fresh, recent trace annotated caller_trace_id; a recent root is continued, unannotated.
func TestEdgeStaleTraceIDsInSegmentDocuments(t *testing.T) {
	segments := testenv.StartSegmentListener(t)
	tr, err := Setup(Config{Service: "edge", Mode: ModeXRay, Edge: true, EdgeForcedPerSecond: 100,
		DaemonAddr: segments.Addr(), SamplingRules: `{"version": 2, "default": {"fixed_target": 1, "rate": 1.0}}`})
	if err != nil {
		t.Fatal(err)
	}
	h := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	for _, c := range callerRequests() {
		root := c.send(h)
		if _, err := segments.WaitForTrace(root, 1, 5*time.Second); err != nil {
			t.Fatalf("%s %s: %v", c.header, c.root, err)
		}
		annotation := segmentAnnotation(t, segments, root, CallerTraceAnnotation)
		if recentTraceID(c.root, time.Now()) {
			if root != c.root || annotation != nil {
				t.Errorf("%s: recent root %s: segment of trace %s, annotation %v; want the caller's trace, no annotation", c.header, c.root, root, annotation)
			}
			continue
		}
		wantFreshRecentTrace(t, "xray "+c.header, c.root, root)
		if annotation != c.root {
			t.Errorf("%s: caller root %s: segment annotation %s = %v, want the caller's id", c.header, c.root, CallerTraceAnnotation, annotation)
		}
	}
}

// segmentAnnotation is annotation key of the segment document of traceID, as sent.
func segmentAnnotation(t *testing.T, segments *testenv.SegmentListener, traceID, key string) any {
	t.Helper()
	for _, raw := range segments.RawSegments() {
		var doc struct {
			TraceID     string         `json:"trace_id"`
			Annotations map[string]any `json:"annotations"`
		}
		if err := json.Unmarshal([]byte(raw), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.TraceID == traceID {
			return doc.Annotations[key]
		}
	}
	return nil
}

// otel path: the spans exported over OTLP. Same as the segments: a fresh trace with the
// caller's id as caller_trace_id (indexed as an X-Ray annotation by the collector's exporter).
func TestEdgeStaleTraceIDsInSpans(t *testing.T) {
	receiver := testenv.StartOTLPReceiver(t)
	tr, err := Setup(Config{Service: "edge", Mode: ModeOTel, Edge: true, EdgeForcedPerSecond: 100,
		DaemonAddr: "127.0.0.1:9", OTLPEndpoint: receiver.OTLPEndpoint,
		SamplingRules: `{"version": 2, "default": {"fixed_target": 1, "rate": 1.0}}`})
	if err != nil {
		t.Fatal(err)
	}
	h := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	requests := callerRequests()
	roots := make([]string, len(requests))
	for i, c := range requests {
		roots[i] = c.send(h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil { // flush
		t.Fatal(err)
	}
	for i, c := range requests {
		spans := receiver.Trace(roots[i])
		if len(spans) != 1 || spans[0].Kind != "server" {
			t.Errorf("%s %s: %d spans of trace %s, want its server span", c.header, c.root, len(spans), roots[i])
			continue
		}
		attrs := spans[0].Attributes
		if recentTraceID(c.root, time.Now()) {
			if roots[i] != c.root || attrs[CallerTraceAnnotation] != "" {
				t.Errorf("%s: recent root %s: span of trace %s, %s=%q; want the caller's trace, no annotation", c.header, c.root, roots[i], CallerTraceAnnotation, attrs[CallerTraceAnnotation])
			}
			continue
		}
		wantFreshRecentTrace(t, "otel "+c.header, c.root, roots[i])
		if attrs[CallerTraceAnnotation] != c.root || !strings.Contains(attrs["aws.xray.annotations"], CallerTraceAnnotation) {
			t.Errorf("%s: caller root %s: span attributes %v, want %s = the caller's id, indexed as an annotation", c.header, c.root, attrs, CallerTraceAnnotation)
		}
	}
}
