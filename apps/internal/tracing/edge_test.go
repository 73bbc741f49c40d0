package tracing

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"go.opentelemetry.io/otel/trace"
)

// edgeCounts sends n requests with header to a service that is the edge, in a tracing mode,
// at the default rule (1/s then 5%), and counts the traced ones. It reports the trace ids the
// service answered with.
func edgeCounts(t *testing.T, mode string, n int, header http.Header) (sampled int, roots []string) {
	t.Helper()
	tr, err := Setup(Config{Service: "edge", Mode: mode, Edge: true, EdgeForcedPerSecond: DefaultEdgeForcedPerSecond,
		DaemonAddr: "127.0.0.1:9", OTLPEndpoint: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		// Nothing listens for the spans: do not wait for the exporter's timeout.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		tr.Shutdown(ctx)
	}()
	var traced bool
	h := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		traced = trace.SpanFromContext(r.Context()).IsRecording() || segmentSampled(r)
	}))
	for range n {
		r := httptest.NewRequest(http.MethodGet, "/api/1.0/products", nil)
		for k, v := range header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		traced = false
		h.ServeHTTP(w, r)
		if traced {
			sampled++
		}
		roots = append(roots, w.Header().Get("X-Amzn-Trace-Id"))
	}
	return sampled, roots
}

// validRoot is a well-formed X-Ray root of now, as a load balancer makes it (an edge continues
// only recent ones).
var validRoot = rootAt(time.Now())

// rootAt is an X-Ray root whose embedded time is t.
func rootAt(t time.Time) string {
	return fmt.Sprintf("1-%08x-abcdef012345678912345678", t.Unix())
}

// xrayRootPattern is what an X-Ray trace id looks like, as the tests judge it.
var xrayRootPattern = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)

// Internet clients cannot change how much is traced, in either mode.
func TestTheEdgeDecidesSampling(t *testing.T) {
	for _, mode := range []string{ModeXRay, ModeOTel} {
		// 1,000 requests in well under a second: the rule traces 1 (reservoir) + ~5% of the rest,
		// the forced budget adds 1. Not 1,000.
		forced, _ := edgeCounts(t, mode, 1000, http.Header{"X-Amzn-Trace-Id": {"Root=" + validRoot + ";Parent=53995c3f42cd8ad8;Sampled=1"}})
		if forced < 2 || forced > 120 {
			t.Errorf("%s: %d of 1,000 requests with Sampled=1 traced, want about 2 + 5%% (50)", mode, forced)
		}
		w3c, _ := edgeCounts(t, mode, 1000, http.Header{"Traceparent": {"00-" + strings.ReplaceAll(validRoot[2:], "-", "") + "-53995c3f42cd8ad8-01"}})
		if w3c < 2 || w3c > 120 {
			t.Errorf("%s: %d of 1,000 requests with traceparent flag 01 traced", mode, w3c)
		}
		// Sampled=0 does not hide requests from the rule.
		hidden, _ := edgeCounts(t, mode, 1000, http.Header{"X-Amzn-Trace-Id": {"Root=" + validRoot + ";Parent=53995c3f42cd8ad8;Sampled=0"}})
		if hidden < 15 || hidden > 120 {
			t.Errorf("%s: %d of 1,000 requests with Sampled=0 traced, want about 1 + 5%% (50)", mode, hidden)
		}
		// A garbage Root starts a fresh, valid trace (the first request, in the reservoir, is
		// traced; an untraced one may carry no id at all in xray mode), never the garbage.
		_, roots := edgeCounts(t, mode, 3, http.Header{"X-Amzn-Trace-Id": {"Root=garbage;Sampled=1"}})
		for i, got := range roots {
			root, _ := scanXRayHeader(got)
			if (i == 0 || got != "") && !xrayRootPattern.MatchString(root) {
				t.Errorf("%s: garbage root answered with %q, want a new valid trace id", mode, got)
			}
		}
		// A valid root (the load balancer's) is continued.
		_, roots = edgeCounts(t, mode, 1, http.Header{"X-Amzn-Trace-Id": {"Root=" + validRoot}})
		if !strings.Contains(roots[0], validRoot) {
			t.Errorf("%s: the load balancer's root is not continued: %q", mode, roots[0])
		}
	}
}

func TestEdgeGuardRewritesTheHeaders(t *testing.T) {
	g := newEdgeGuard(1)
	cases := []struct {
		in   http.Header
		want string
	}{
		{http.Header{"X-Amzn-Trace-Id": {"Root=" + validRoot + ";Parent=53995c3f42cd8ad8;Sampled=1"}}, "Root=" + validRoot + ";Parent=53995c3f42cd8ad8;Sampled=1"},
		{http.Header{"X-Amzn-Trace-Id": {"Root=" + validRoot + ";Parent=53995c3f42cd8ad8;Sampled=1"}}, "Root=" + validRoot}, // budget spent
		{http.Header{"X-Amzn-Trace-Id": {"Root=" + validRoot + ";Sampled=0"}}, "Root=" + validRoot},
		{http.Header{"X-Amzn-Trace-Id": {"Root=1-zz-1;Sampled=1"}}, ""},
		{http.Header{"Traceparent": {"00-00000000000000000000000000000000-53995c3f42cd8ad8-01"}}, ""},
	}
	for i, c := range cases {
		g.admit(c.in)
		if got := c.in.Get("X-Amzn-Trace-Id"); got != c.want || c.in.Get("Traceparent") != "" {
			t.Errorf("case %d: %q (traceparent %q), want %q", i, got, c.in.Get("Traceparent"), c.want)
		}
	}
}

// segmentSampled: in xray mode a traced request carries a sampled SDK segment.
func segmentSampled(r *http.Request) bool {
	seg := xray.GetSegment(r.Context())
	return seg != nil && seg.Sampled
}
