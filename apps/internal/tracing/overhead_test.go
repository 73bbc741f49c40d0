package tracing

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// The cost of tracing a request, without the network: on the two-hop path (products -> payments:
// products' middleware, its client, payments' middleware) and the one-hop path (a middleware
// alone, as products' own endpoint), each service's handler doing nothing; tracing off, an
// unsampled request, a sampled one. What is left over "off" is what each request pays.
//
//	go test -run '^$' -bench 'TwoHop|OneHop' -benchmem ./apps/internal/tracing
//
// A sampled request's spans and segments really go out: X-Ray segments over UDP to a socket of
// the benchmark that reads and drops them (as the daemon's port), OpenTelemetry spans through the
// batch processor and the OTLP/gRPC exporter to a collector stand-in that takes the requests
// without decoding them (testenv.DiscardSegments, testenv.DiscardOTLP), so the exporter's work
// is counted and the receiver's is not.

// inMemory serves a client's requests with a handler, as if over the network.
type inMemory struct{ h http.Handler }

func (m inMemory) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// twoHop builds products (calling payments through its traced client) and payments, both traced
// by tracer (tracing state is per process; one tracer stands for both here).
func twoHop(tracer *Tracer) http.Handler {
	payments := tracer.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	client := tracer.Client(&http.Client{Transport: inMemory{payments}})
	return tracer.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://payments/api/1.0/payments", nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		w.WriteHeader(http.StatusOK)
	}))
}

func benchmarkTwoHop(b *testing.B, tracer *Tracer) { benchmarkHandler(b, twoHop(tracer)) }

// oneHop is a traced service whose handler does nothing.
func oneHop(tracer *Tracer) http.Handler {
	return tracer.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
}

// benchmarkHandler serves a request b.N times. Besides the wall time it reports cpu-ns/op, the
// process's CPU time (user and system, every goroutine: the batch exporter's and the garbage
// collector's work included) per request, which a loaded machine inflates far less than the wall
// time: the figure to compare with the services' CPU per request in make bench.
func benchmarkHandler(b *testing.B, h http.Handler) {
	req := httptest.NewRequest(http.MethodGet, "http://products/api/1.0/payments", nil)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := testenv.ProcessCPU(b)
	for range b.N {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
	b.ReportMetric(float64(testenv.ProcessCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
}

func sampleNothingFile(b *testing.B) string { return rulesFile(b, sampleNothingRules) }

func rulesFile(b *testing.B, rules string) string {
	path := filepath.Join(b.TempDir(), "rules.json")
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchTracer is a Tracer in mode with rules (a local rules file), its spans or segments sent to
// stand-ins of the benchmark (see the top of this file).
func benchTracer(b *testing.B, mode, rules string) *Tracer {
	b.Helper()
	cfg := Config{Service: "svc", Mode: mode, DaemonAddr: testenv.DiscardSegments(b), OTLPEndpoint: testenv.DiscardOTLP(b), SamplingRulesFile: rulesFile(b, rules)}
	if mode == ModeOTel {
		// The sampler polls X-Ray's rules at DaemonAddr (TCP): nobody answers, the local rules decide.
		cfg.DaemonAddr = "127.0.0.1:9"
	}
	tracer, err := Setup(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tracer.Shutdown(context.Background()) })
	return tracer
}

func BenchmarkTwoHopOff(b *testing.B) {
	tracer, err := Setup(Config{Service: "svc", Mode: ModeOff})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkTwoHop(b, tracer)
}

func BenchmarkTwoHopXRayUnsampled(b *testing.B) {
	tracer, err := Setup(Config{Service: "svc", Mode: ModeXRay, DaemonAddr: "127.0.0.1:9", SamplingRulesFile: sampleNothingFile(b)})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkTwoHop(b, tracer)
}

func BenchmarkTwoHopOTelUnsampled(b *testing.B) {
	tracer, err := Setup(Config{Service: "svc", Mode: ModeOTel, OTLPEndpoint: "http://127.0.0.1:9", SamplingRulesFile: sampleNothingFile(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer tracer.Shutdown(b.Context())
	benchmarkTwoHop(b, tracer)
}

func BenchmarkTwoHopXRaySampled(b *testing.B) {
	benchmarkTwoHop(b, benchTracer(b, ModeXRay, sampleAllRules))
}

func BenchmarkTwoHopOTelSampled(b *testing.B) {
	benchmarkTwoHop(b, benchTracer(b, ModeOTel, sampleAllRules))
}

// BenchmarkOneHop is one service's middleware alone, as products' own endpoint (without its SQL).
func BenchmarkOneHop(b *testing.B) {
	off, err := Setup(Config{Service: "svc", Mode: ModeOff})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("off", func(b *testing.B) { benchmarkHandler(b, oneHop(off)) })
	for _, mode := range []string{ModeXRay, ModeOTel} {
		b.Run(mode+"-unsampled", func(b *testing.B) { benchmarkHandler(b, oneHop(benchTracer(b, mode, sampleNothingRules))) })
		b.Run(mode+"-sampled", func(b *testing.B) { benchmarkHandler(b, oneHop(benchTracer(b, mode, sampleAllRules))) })
	}
}

// TestPropagatorsReadW3CKeysWithoutCopies: reading a request's trace headers through
// propagation.HeaderCarrier (as our middleware and otelhttp's do) allocates nothing when there
// is nothing to read, and the carrier still finds every header in any case.
func TestPropagatorsReadW3CKeysWithoutCopies(t *testing.T) {
	p := newPropagator()
	h := http.Header{"Accept": {"*/*"}}
	if n := testing.AllocsPerRun(100, func() { p.Extract(context.Background(), propagation.HeaderCarrier(h)) }); n != 0 {
		t.Errorf("extracting from a request without trace headers: %.0f allocations, want 0", n)
	}
	h = http.Header{}
	h.Set("traceparent", "00-6789123400000000000000000000abcd-53995c3f42cd8ad8-01")
	h.Set("tracestate", "a=b")
	c := headerCarrier(h)
	if c.Get("traceparent") == "" || c.Get("Traceparent") != c.Get("traceparent") || c.Get("tracestate") != "a=b" || c.Get("accept") != "" {
		t.Fatalf("carrier reads %q %q %q", c.Get("traceparent"), c.Get("Traceparent"), c.Get("tracestate"))
	}
	sc := trace.SpanContextFromContext(p.Extract(context.Background(), propagation.HeaderCarrier(h)))
	if sc.TraceID().String() != "6789123400000000000000000000abcd" || !sc.IsSampled() || sc.TraceState().Get("a") != "b" {
		t.Fatalf("extracted %v", sc)
	}
	out := http.Header{}
	p.Inject(trace.ContextWithSpanContext(context.Background(), sc), propagation.HeaderCarrier(out))
	if out["Traceparent"][0] != h.Get("Traceparent") || out["Tracestate"][0] != "a=b" || len(out[xrayHeader]) != 1 {
		t.Fatalf("injected %v", out)
	}
}

// TestAnswerHeaderIsOneAllocation: the X-Amzn-Trace-Id of every answer in otel mode.
func TestAnswerHeaderIsOneAllocation(t *testing.T) {
	id, _ := trace.TraceIDFromHex("6789123400000000000000000000abcd")
	for _, flags := range []trace.TraceFlags{0, trace.FlagsSampled} {
		sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: id, SpanID: trace.SpanID{1}, TraceFlags: flags})
		want := "Root=1-67891234-00000000000000000000abcd;Sampled=0"
		if flags.IsSampled() {
			want = want[:len(want)-1] + "1"
		}
		if got := xrayRootHeader(sc); got != want {
			t.Errorf("xrayRootHeader = %q, want %q", got, want)
		}
		if n := testing.AllocsPerRun(100, func() { xrayRootHeader(sc) }); n != 1 {
			t.Errorf("%.0f allocations, want 1", n)
		}
	}
}

// TestUnsampledTwoHopAllocations pins the unsampled two-hop path's allocations in otel mode
// (BenchmarkTwoHopOTelUnsampled), so that a change that adds some shows here, not only in a
// benchmark nobody reads: 20 of them are the harness's own (BenchmarkTwoHopOff).
func TestUnsampledTwoHopAllocations(t *testing.T) {
	tracer, err := Setup(Config{Service: "svc", Mode: ModeOTel, OTLPEndpoint: "http://127.0.0.1:9", DaemonAddr: "127.0.0.1:9",
		SamplingRules: sampleNothingRules})
	if err != nil {
		t.Fatal(err)
	}
	defer tracer.Shutdown(context.Background())
	h := twoHop(tracer)
	req := httptest.NewRequest(http.MethodGet, "http://products/api/1.0/payments", nil)
	// The least of three runs: the sampler's poller allocates too, now and then.
	n := testing.AllocsPerRun(200, func() { h.ServeHTTP(httptest.NewRecorder(), req) })
	for range 2 {
		n = min(n, testing.AllocsPerRun(200, func() { h.ServeHTTP(httptest.NewRecorder(), req) }))
	}
	if n > 49 {
		t.Errorf("%.0f allocations for an unsampled two-hop request, want at most 49 (54 before the W3C keys were read in canonical form and the answer header built in place)", n)
	}
}
