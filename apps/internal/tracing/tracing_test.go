package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-xray-sdk-go/v2/strategy/sampling"

	"github.com/meshtrace/meshtrace/apps/internal/env"
	"github.com/meshtrace/meshtrace/internal/testenv"
)

func TestConfigFromEnv(t *testing.T) {
	r := env.NewReader(env.MapLookup(nil))
	cfg := ConfigFromEnv(r, "svc")
	if r.Err() != nil || cfg.Mode != ModeXRay || cfg.DaemonAddr != "127.0.0.1:2000" || cfg.SamplingRulesFile != "" || cfg.Service != "svc" {
		t.Fatalf("defaults: %+v, %v", cfg, r.Err())
	}

	r = env.NewReader(env.MapLookup(map[string]string{
		"TRACING": "off", "AWS_XRAY_DAEMON_ADDRESS": "10.0.0.1:3000", "XRAY_SAMPLING_RULES_FILE": "/rules.json",
	}))
	cfg = ConfigFromEnv(r, "svc")
	if r.Err() != nil || cfg.Mode != ModeOff || cfg.DaemonAddr != "10.0.0.1:3000" || cfg.SamplingRulesFile != "/rules.json" {
		t.Fatalf("from env: %+v, %v", cfg, r.Err())
	}

	r = env.NewReader(env.MapLookup(map[string]string{"TRACING": "sometimes"}))
	ConfigFromEnv(r, "svc")
	if r.Err() == nil || !strings.Contains(r.Err().Error(), "TRACING") {
		t.Fatalf("TRACING=sometimes: error %v", r.Err())
	}
}

func TestDisabledTracerLeavesHandlersAndClientsAlone(t *testing.T) {
	tracer, err := Setup(Config{Service: "svc", Mode: ModeOff})
	if err != nil {
		t.Fatal(err)
	}
	h := http.NewServeMux() // a pointer, so the comparison below is meaningful
	if got := tracer.Middleware(h); got != h {
		t.Error("Middleware wrapped the handler with tracing off")
	}
	c := &http.Client{}
	if got := tracer.Client(c); got != c {
		t.Error("Client wrapped the client with tracing off")
	}
}

func TestSetupRejectsABadSamplingRulesFile(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(bad, []byte(`{"version": 2, "default": `), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(Config{Service: "svc", Mode: ModeXRay, DaemonAddr: "127.0.0.1:2000", SamplingRulesFile: bad}); err == nil ||
		!strings.Contains(err.Error(), "XRAY_SAMPLING_RULES_FILE") {
		t.Fatalf("Setup with a broken rules file: %v", err)
	}
}

// setupTracing points the SDK at a new listener, sampling every request.
func setupTracing(t *testing.T, service string) (*Tracer, *testenv.SegmentListener) {
	t.Helper()
	return setupTracingWithRules(t, service, testenv.SampleAllRules)
}

// sampleNothingRules is a local sampling rules file that traces no request.
const sampleNothingRules = `{"version": 2, "rules": [], "default": {"fixed_target": 0, "rate": 0}}`

func setupTracingWithRules(t *testing.T, service, rulesJSON string) (*Tracer, *testenv.SegmentListener) {
	t.Helper()
	segments := testenv.StartSegmentListener(t)
	rules := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(rules, []byte(rulesJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	tracer, err := Setup(Config{Service: service, Mode: ModeXRay, DaemonAddr: segments.Addr(), SamplingRulesFile: rules})
	if err != nil {
		t.Fatal(err)
	}
	return tracer, segments
}

func TestMiddlewareAndClientMakeOneTraceAcrossTwoServers(t *testing.T) {
	tracer, segments := setupTracing(t, "front")
	front, _ := frontAndBack(t, tracer)

	resp, err := http.Get(front + "/outer")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	traceID := strings.TrimPrefix(strings.Split(resp.Header.Get("X-Amzn-Trace-Id"), ";")[0], "Root=")
	docs, err := segments.WaitForTrace(traceID, 2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Both servers share one tracer here, so both segments are named "front": tell them apart by URL.
	var outer, inner testenv.Segment
	for _, d := range docs {
		switch {
		case strings.HasSuffix(d.HTTP.Request.URL, "/outer"):
			outer = d
		case strings.HasSuffix(d.HTTP.Request.URL, "/inner"):
			inner = d
		}
	}
	if outer.Name != "front" || inner.Name != "front" {
		t.Fatalf("segments not named after the service: %+v", docs)
	}
	calls := outer.Find(func(s testenv.Segment) bool { return s.Namespace == "remote" && s.HTTP != nil })
	if len(calls) != 1 || inner.ParentID != calls[0].ID {
		t.Fatalf("inner segment's parent %q is not the outer call subsegment (%d calls)", inner.ParentID, len(calls))
	}
}

func TestRecordErrorMarksTheSegmentWithTheCause(t *testing.T) {
	tracer, segments := setupTracing(t, "svc")
	srv := httptest.NewServer(tracer.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		RecordError(r.Context(), io.ErrUnexpectedEOF)
		RecordError(context.Background(), io.ErrUnexpectedEOF) // no segment there: must do nothing
		io.WriteString(w, "answered, but something failed on the way")
	})))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	traceID := strings.TrimPrefix(strings.Split(resp.Header.Get("X-Amzn-Trace-Id"), ";")[0], "Root=")
	docs, err := segments.WaitForTrace(traceID, 1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d := docs[0]
	if !d.Fault || d.Cause == nil || len(d.Cause.Exceptions) != 1 || d.Cause.Exceptions[0].Message != io.ErrUnexpectedEOF.Error() {
		t.Fatalf("segment %+v: want a fault with the error as its cause", d)
	}
}

// countingStrategy counts the sampling decisions asked of it.
type countingStrategy struct {
	inner sampling.Strategy
	calls atomic.Int64
}

func (c *countingStrategy) ShouldTrace(r *sampling.Request) *sampling.Decision {
	c.calls.Add(1)
	return c.inner.ShouldTrace(r)
}

// frontAndBack starts two traced servers, front calling back, and returns front's URL and the
// trace header back received.
func frontAndBack(t *testing.T, tracer *Tracer) (string, *string) {
	t.Helper()
	var backSaw string
	back := httptest.NewServer(tracer.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		backSaw = r.Header.Get("X-Amzn-Trace-Id")
		io.WriteString(w, "back")
	})))
	t.Cleanup(back.Close)
	client := tracer.Client(&http.Client{})
	front := httptest.NewServer(tracer.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, back.URL+"/inner", nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		io.WriteString(w, "front")
	})))
	t.Cleanup(front.Close)
	return front.URL, &backSaw
}

func TestUnsampledRequestsSendNothingAndPassTheDecisionOn(t *testing.T) {
	tracer, segments := setupTracingWithRules(t, "front", sampleNothingRules)
	front, backSaw := frontAndBack(t, tracer)
	// Without an incoming trace id: the call still carries the decision, under a new id.
	resp, err := http.Get(front + "/outer")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(*backSaw, "Root=1-") || !strings.HasSuffix(*backSaw, ";Sampled=0") {
		t.Errorf("the called service got %q, want Root=...;Sampled=0", *backSaw)
	}
	// With one (as from an ALB): the same root is answered and passed on.
	const root = "1-6b072002-fcc8f46e9ca8fe228b4b1b2e"
	req, _ := http.NewRequest(http.MethodGet, front+"/outer", nil)
	req.Header.Set("X-Amzn-Trace-Id", "Root="+root)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Amzn-Trace-Id"); got != "Root="+root+";Sampled=0" {
		t.Errorf("answered trace header %q, want Root=%s;Sampled=0", got, root)
	}
	if *backSaw != "Root="+root+";Sampled=0" {
		t.Errorf("the called service got %q, want the same root with Sampled=0", *backSaw)
	}
	time.Sleep(300 * time.Millisecond) // segments would have arrived by now
	if n := len(segments.Segments()); n != 0 {
		t.Errorf("%d segments sent for an unsampled request", n)
	}
}

func TestSamplingIsDecidedOncePerTrace(t *testing.T) {
	// With local rules the edge sampler decides (as in otel mode); without, the SDK's strategy.
	t.Run("edge sampler", func(t *testing.T) {
		tracer, segments := setupTracing(t, "front")
		var calls atomic.Int64
		tracer.edge.now = func() time.Time { calls.Add(1); return time.Now() } // once per decision
		tracer.strategy = &countingStrategy{inner: tracer.strategy}
		decidedOnce(t, tracer, segments, &calls)
		if n := tracer.strategy.(*countingStrategy).calls.Load(); n != 0 {
			t.Errorf("the SDK's strategy was asked %d times although the edge sampler decides", n)
		}
	})
	t.Run("SDK strategy", func(t *testing.T) {
		tracer, segments := setupTracing(t, "front")
		counting := &countingStrategy{inner: tracer.strategy}
		tracer.strategy, tracer.edge = counting, nil
		decidedOnce(t, tracer, segments, &counting.calls)
	})
}

func decidedOnce(t *testing.T, tracer *Tracer, segments *testenv.SegmentListener, calls *atomic.Int64) {
	t.Helper()
	front, backSaw := frontAndBack(t, tracer)
	resp, err := http.Get(front + "/outer")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	root := strings.TrimPrefix(strings.Split(resp.Header.Get("X-Amzn-Trace-Id"), ";")[0], "Root=")
	if _, err := segments.WaitForTrace(root, 2, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the sampling was decided %d times for one trace across two services, want 1", n)
	}
	if !strings.Contains(*backSaw, "Sampled=1") {
		t.Errorf("the called service got %q, want Sampled=1", *backSaw)
	}
}
