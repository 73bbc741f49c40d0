package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newApp migrates a new database on the shared server and returns products' app on it. Its
// payments client points at a closed port: these tests do not call payments (the end-to-end
// tests in apps/e2e do, with the real payments service).
func newApp(t *testing.T, cfg dbConfig) *app {
	t.Helper()
	pool := newPool(t, cfg)
	if err := migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return &app{
		store:    &store{pool: pool, queryTimeout: cfg.QueryTimeout},
		payments: &paymentsClient{http: &http.Client{}, url: "http://127.0.0.1:1/api/1.0/payments", timeout: time.Second},
		log:      discardLog(),
	}
}

// serve sends one request through the routes and returns the recorded answer.
func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return v
}

func TestProductsListsTheWarehouseRows(t *testing.T) {
	a := newApp(t, newDatabase(t, sharedPostgres))
	h := a.routes()

	rec := serve(h, "GET", "/api/1.0/products")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	body := decode[struct{ Products []product }](t, rec)
	if len(body.Products) != seedRows {
		t.Fatalf("%d products, want %d", len(body.Products), seedRows)
	}
	first := body.Products[0]
	if first != (product{ProductID: 1, SKU: "MT-1001", Name: "Trail running shoes", Category: "Footwear", ListPrice: 129.00}) {
		t.Errorf("first product %+v", first)
	}

	// What is in the table is what is served: no cache, no hard-coded list.
	if _, err := a.store.pool.Exec(context.Background(), "INSERT INTO core.dim_product VALUES (11, 'MT-1011', 'Added', 'Gear', 1.50)"); err != nil {
		t.Fatal(err)
	}
	body = decode[struct{ Products []product }](t, serve(h, "GET", "/api/1.0/products"))
	if len(body.Products) != seedRows+1 || body.Products[seedRows].Name != "Added" {
		t.Fatalf("after an insert: %+v", body.Products)
	}
}

func TestHelloHealthAndRouting(t *testing.T) {
	h := newApp(t, newDatabase(t, sharedPostgres)).routes()

	cases := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/", 200, ""},
		{"GET", "/healthz", 200, ""},
		{"GET", "/nope", 404, ""},
		{"GET", "/api/1.0/products/7", 404, ""},
		{"POST", "/api/1.0/products", 405, "GET, HEAD"},
		{"DELETE", "/api/1.0/payments", 405, "GET, HEAD"},
		{"PUT", "/", 405, "GET, HEAD"},
	}
	for _, c := range cases {
		rec := serve(h, c.method, c.path)
		if rec.Code != c.status || rec.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s: status %d Allow %q, want %d %q", c.method, c.path, rec.Code, rec.Header().Get("Allow"), c.status, c.allow)
			continue
		}
		body := decode[map[string]any](t, rec)
		if c.status >= 400 && body["error"] == nil {
			t.Errorf("%s %s: error answer without an error field: %s", c.method, c.path, rec.Body)
		}
	}
	if body := decode[map[string]string](t, serve(h, "GET", "/")); body["service"] != "products" {
		t.Errorf("hello: %v", body)
	}
}

func TestDatabaseDownAnswers503AndRecovers(t *testing.T) {
	pg := testenv.StartPostgres(t) // stopped below
	a := newApp(t, newDatabase(t, pg))
	h := a.routes()
	if rec := serve(h, "GET", "/api/1.0/products"); rec.Code != http.StatusOK {
		t.Fatalf("before the outage: %d %s", rec.Code, rec.Body)
	}

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a pooled connection the server closed, then no connection at all
		rec := serve(h, "GET", "/api/1.0/products")
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("database down: status %d, body %s", rec.Code, rec.Body)
		}
		if body := decode[map[string]string](t, rec); body["error"] != "database unavailable" {
			t.Fatalf("database down: body %v", body)
		}
	}
	if rec := serve(h, "GET", "/healthz"); rec.Code != http.StatusOK {
		t.Fatalf("healthz while the database is down: %d", rec.Code)
	}

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec := serve(h, "GET", "/api/1.0/products")
		if rec.Code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery 10s after the database came back: %d %s", rec.Code, rec.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestQueryTimeoutAnswers503(t *testing.T) {
	cfg := newDatabase(t, sharedPostgres)
	a := newApp(t, cfg)
	a.store.queryTimeout = 100 * time.Millisecond
	// Hold a lock the query needs, so it waits past its timeout.
	tx, err := a.store.pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(context.Background(), "LOCK TABLE core.dim_product IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	rec := serve(a.routes(), "GET", "/api/1.0/products")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 when the query times out", rec.Code)
	}
	if elapsed := time.Since(started); elapsed > 2*time.Second {
		t.Fatalf("answered after %s: the query timeout did not apply", elapsed)
	}
}

func TestBrokenQueryAnswers500(t *testing.T) {
	a := newApp(t, newDatabase(t, sharedPostgres))
	if _, err := a.store.pool.Exec(context.Background(), "ALTER TABLE core.dim_product RENAME COLUMN sku TO stock_keeping_unit"); err != nil {
		t.Fatal(err)
	}
	rec := serve(a.routes(), "GET", "/api/1.0/products")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: a query the database refuses is our bug, not an outage", rec.Code)
	}
}

func TestPaymentsUnreachableAnswers502(t *testing.T) {
	a := newApp(t, newDatabase(t, sharedPostgres))
	rec := serve(a.routes(), "GET", "/api/1.0/payments")
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", rec.Code)
	}
	if body := decode[map[string]string](t, rec); body["error"] != "payments unavailable" {
		t.Fatalf("body %v", body)
	}
}
