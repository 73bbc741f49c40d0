package tracing

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// The cost of tracing an unsampled request on the two-hop path (products -> payments), without
// the network: products' middleware, its client, payments' middleware, each service's handler
// doing nothing. What is left over "off" is what every unsampled request pays.
//
//	go test -run '^$' -bench TwoHop -benchmem ./apps/internal/tracing

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

func benchmarkTwoHop(b *testing.B, tracer *Tracer) {
	h := twoHop(tracer)
	req := httptest.NewRequest(http.MethodGet, "http://products/api/1.0/payments", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

func sampleNothingFile(b *testing.B) string {
	path := filepath.Join(b.TempDir(), "rules.json")
	if err := os.WriteFile(path, []byte(sampleNothingRules), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
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
