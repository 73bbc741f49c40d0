package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/meshtrace/meshtrace/apps/internal/tracing"
	"github.com/meshtrace/meshtrace/internal/testenv"
)

// BenchmarkListProducts is products' own endpoint, GET /api/1.0/products (the first page: one
// query), served in process by the routes and middleware of main against the test PostgreSQL,
// in each tracing mode: off, unsampled and sampled with the X-Ray SDK and with OpenTelemetry.
// It is apps/internal/tracing's BenchmarkOneHop with the database path added: the pool's SQL
// tracer of the mode (sqlTracerFor), an X-Ray SQL subsegment or an OpenTelemetry SQL span per
// query. What is sent goes to sinks that do not read it (testenv.DiscardSegments, DiscardOTLP).
//
//	go test -run '^$' -bench ListProducts -benchmem ./apps/products
//
// cpu-ns/op is this process's CPU time per request (PostgreSQL's is another process's: not
// counted), the figure to compare with products' server CPU per request in make bench.
func BenchmarkListProducts(b *testing.B) {
	fx := newApp(b, sharedPostgres, nil)
	src, err := newCredentialSource(context.Background(), fx.cfg)
	if err != nil {
		b.Fatal(err)
	}
	const sampleNothing = `{"version": 2, "rules": [], "default": {"fixed_target": 0, "rate": 0}}`
	for _, mode := range []struct{ name, mode, rules string }{
		{"off", tracing.ModeOff, ""},
		{"xray-unsampled", tracing.ModeXRay, sampleNothing},
		{"otel-unsampled", tracing.ModeOTel, sampleNothing},
		{"xray-sampled", tracing.ModeXRay, testenv.SampleAllRules},
		{"otel-sampled", tracing.ModeOTel, testenv.SampleAllRules},
	} {
		b.Run(mode.name, func(b *testing.B) {
			cfg := tracing.Config{Service: "products", Mode: mode.mode, SamplingRules: mode.rules,
				Edge: true, EdgeForcedPerSecond: tracing.DefaultEdgeForcedPerSecond}
			switch mode.mode {
			case tracing.ModeXRay:
				cfg.DaemonAddr = testenv.DiscardSegments(b)
			case tracing.ModeOTel:
				// The sampler polls X-Ray's rules at DaemonAddr (TCP): nobody answers, the local rules decide.
				cfg.DaemonAddr, cfg.OTLPEndpoint = "127.0.0.1:9", testenv.DiscardOTLP(b)
			}
			tracer, err := tracing.Setup(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = tracer.Shutdown(context.Background()) })
			pool, err := openPool(context.Background(), fx.cfg, src, sqlTracerFor(tracer, fx.cfg))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(pool.Close)
			a := *fx.app
			a.store = &store{pool: pool, queryTimeout: fx.cfg.QueryTimeout, log: fx.log}
			benchmarkRequest(b, tracer.Middleware(a.routes()), "/api/1.0/products")
		})
	}
}

// benchmarkRequest serves GET path b.N times, reporting cpu-ns/op (testenv.ProcessCPU) besides
// the wall time; a warm-up request first opens the pool's connection and prepares the query.
func benchmarkRequest(b *testing.B, h http.Handler, path string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	serveOK := func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: status %d: %s", path, rec.Code, rec.Body)
		}
	}
	serveOK()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := testenv.ProcessCPU(b)
	for range b.N {
		serveOK()
	}
	b.ReportMetric(float64(testenv.ProcessCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
}
