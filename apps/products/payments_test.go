package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/apps/internal/tracing"
)

// A payments that redirects elsewhere gets no request through to the other host: products
// answers 502 "payments answered with an error" itself, in every tracing mode (the tracer wraps
// the client; the wrapped client must still not follow).
func TestProductsDoesNotFollowRedirectsFromPayments(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"payments":[{"payment_id":"from another host"}]}`))
	}))
	defer other.Close()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		payments := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/api/1.0/payments", status)
		}))
		for _, mode := range []string{tracing.ModeOff, tracing.ModeXRay, tracing.ModeOTel} {
			tr, err := tracing.Setup(tracing.Config{Service: "products", Mode: mode, SamplingRules: everyRequest,
				DaemonAddr: "127.0.0.1:9", OTLPEndpoint: "http://127.0.0.1:9"})
			if err != nil {
				t.Fatal(err)
			}
			a := &app{
				payments: &paymentsClient{http: tr.Client(newPaymentsHTTPClient()), url: payments.URL + "/api/1.0/payments", timeout: time.Second},
				log:      discardLog(),
			}
			rec := serve(tr.Middleware(a.routes()), "GET", "/api/1.0/payments")
			if rec.Code != http.StatusBadGateway {
				t.Errorf("%s, payments answers %d: products answered %d %s, want 502", mode, status, rec.Code, rec.Body)
			} else if body := decode[map[string]string](t, rec); body["error"] != "payments answered with an error" {
				t.Errorf("%s, payments answers %d: body %v", mode, status, body)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			_ = tr.Shutdown(ctx)
			cancel()
		}
		payments.Close()
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the host payments redirected to received %d requests, want 0", n)
	}
}

// everyRequest samples every request, so the traced client path (a client span or subsegment)
// is the one taken.
const everyRequest = `{"version": 2, "default": {"fixed_target": 1, "rate": 1.0}}`
