package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/apps/internal/env"
	"github.com/meshtrace/meshtrace/apps/internal/tracing"
)

func newTestHandler(t *testing.T, f faults) http.Handler {
	t.Helper()
	h, err := newHandler(f)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPaymentsListsTheEmbeddedRecords(t *testing.T) {
	rec := serve(newTestHandler(t, faults{}), httptest.NewRequest("GET", "/api/1.0/payments", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var body struct{ Payments []payment }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	var embedded []payment
	if err := json.Unmarshal(paymentsJSON, &embedded); err != nil {
		t.Fatal(err)
	}
	if len(body.Payments) != len(embedded) || len(embedded) == 0 {
		t.Fatalf("%d payments served, %d embedded", len(body.Payments), len(embedded))
	}
	for i := range embedded {
		if body.Payments[i] != embedded[i] {
			t.Errorf("payment %d: served %+v, embedded %+v", i, body.Payments[i], embedded[i])
		}
	}
	first := body.Payments[0]
	if first.PaymentID == "" || first.ProductID == 0 || first.Amount <= 0 || first.Currency == "" || first.Status == "" || first.PaidAt == "" {
		t.Errorf("a record with empty fields: %+v (check the json tags against payments.json)", first)
	}
}

func TestPaymentsRouting(t *testing.T) {
	h := newTestHandler(t, faults{})
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/healthz", 200},
		{"GET", "/", 404},
		{"GET", "/api/1.0/products", 404},
		{"POST", "/api/1.0/payments", 405},
	} {
		rec := serve(h, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, rec.Code, c.status)
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Errorf("%s %s: body %q is not JSON", c.method, c.path, rec.Body)
		}
	}
}

func TestInjectedFailureStatus(t *testing.T) {
	h := newTestHandler(t, faults{FailStatus: 503})
	rec := serve(h, httptest.NewRequest("GET", "/api/1.0/payments", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"error"`) {
		t.Fatalf("status %d body %s, want the injected 503 with a JSON error", rec.Code, rec.Body)
	}
	if rec := serve(h, httptest.NewRequest("GET", "/healthz", nil)); rec.Code != 200 {
		t.Fatalf("healthz with an injected failure: %d; only the payments route misbehaves", rec.Code)
	}
}

func TestInjectedDelayEndsWhenTheCallerGivesUp(t *testing.T) {
	h := newTestHandler(t, faults{Delay: 300 * time.Millisecond})
	started := time.Now()
	if rec := serve(h, httptest.NewRequest("GET", "/api/1.0/payments", nil)); rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if elapsed := time.Since(started); elapsed < 300*time.Millisecond {
		t.Fatalf("answered after %s, before the 300ms delay", elapsed)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	started = time.Now()
	serve(h, httptest.NewRequest("GET", "/api/1.0/payments", nil).WithContext(ctx))
	if elapsed := time.Since(started); elapsed > 250*time.Millisecond {
		t.Fatalf("kept waiting %s after the caller gave up at 50ms", elapsed)
	}
}

func TestPaymentsConfig(t *testing.T) {
	cfg, err := loadConfig(env.MapLookup(nil))
	if err != nil || cfg.Port != 8080 || cfg.Faults != (faults{}) || cfg.Tracing.Mode != tracing.ModeXRay || cfg.Tracing.Service != "payments" {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	cfg, err = loadConfig(env.MapLookup(map[string]string{"PORT": "9000", "PAYMENTS_DELAY": "2s", "PAYMENTS_FAIL_STATUS": "500"}))
	if err != nil || cfg.Port != 9000 || cfg.Faults != (faults{Delay: 2 * time.Second, FailStatus: 500}) {
		t.Fatalf("from env: %+v, %v", cfg, err)
	}
	for key, value := range map[string]string{"PAYMENTS_FAIL_STATUS": "200", "PAYMENTS_DELAY": "soon", "PORT": "0"} {
		if _, err := loadConfig(env.MapLookup(map[string]string{key: value})); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%s: error %v, want one naming it", key, value, err)
		}
	}
}

// payments is behind the edge: by default it follows its caller's sampling decision, so that a
// trace products started stays whole.
func TestPaymentsFollowsItsCallerByDefault(t *testing.T) {
	cfg, err := loadConfig(env.MapLookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tracing.Edge {
		t.Fatal("payments is the edge by default: products' sampled traces would lose their payments half")
	}
}
