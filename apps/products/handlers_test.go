package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meshtrace/meshtrace/internal/syncbuf"
	"github.com/meshtrace/meshtrace/internal/testenv"
)

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// slogTo is a JSON logger writing to w, as products logs.
func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

// fixture is products' app on a database of its own, migrated (dev data set included), serving
// as its app role with a password file as credential source.
type fixture struct {
	*app
	db     testDB
	cfg    dbConfig
	master *pgxpool.Pool // the owner, for changes behind products' back
	logs   *syncbuf.Buffer
}

// newApp migrates a new database on pg and returns products' app on it. Its payments client
// points at a closed port: these tests do not call payments (the end-to-end tests in apps/e2e
// do, with the real payments service). src replaces the credential source when not nil.
func newApp(t testing.TB, pg *testenv.Postgres, src func(credentialSource) credentialSource) fixture {
	t.Helper()
	db := newDatabase(t, pg)
	db.migrate(t)
	cfg := db.appConfig(t)
	source, err := newCredentialSource(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if src != nil {
		source = src(source)
	}
	pool := newPool(t, cfg, source)
	logs := &syncbuf.Buffer{}
	log := slogTo(logs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("products log:\n%s", logs)
		}
	})
	return fixture{
		app: &app{
			store:    &store{pool: pool, queryTimeout: cfg.QueryTimeout, log: log},
			payments: &paymentsClient{http: &http.Client{}, url: "http://127.0.0.1:1/api/1.0/payments", timeout: time.Second},
			log:      log,
		},
		db:     db,
		cfg:    cfg,
		master: db.masterPool(t),
		logs:   logs,
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
	a := newApp(t, sharedPostgres, nil)
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
	if _, err := a.master.Exec(context.Background(), "INSERT INTO core.dim_product VALUES (11, 'MT-1011', 'Added', 'Gear', 1.50)"); err != nil {
		t.Fatal(err)
	}
	body = decode[struct{ Products []product }](t, serve(h, "GET", "/api/1.0/products"))
	if len(body.Products) != seedRows+1 || body.Products[seedRows].Name != "Added" {
		t.Fatalf("after an insert: %+v", body.Products)
	}
}

func TestHelloHealthAndRouting(t *testing.T) {
	h := newApp(t, sharedPostgres, nil).routes()

	cases := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/", 200, ""},
		{"GET", "/healthz", 200, ""},
		{"GET", "/readyz", 200, ""},
		{"POST", "/readyz", 405, "GET, HEAD"},
		{"GET", "/nope", 404, ""},
		{"GET", "/api/1.0/products/7", 404, ""},
		{"GET", "/api/1.0/payments/..", 404, ""}, // not a redirect without Location
		{"GET", "/api/1.0//products", 404, ""},
		{"GET", "/api/1.0/products?limit=5;after=3", 400, ""},
		{"GET", "/api/1.0/products?limit=5&limit=500", 400, ""},
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
	a := newApp(t, pg, nil)
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
	if rec := serve(h, "GET", "/readyz"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz while the database is down: %d %s, want 503", rec.Code, rec.Body)
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
	if rec := serve(h, "GET", "/readyz"); rec.Code != http.StatusOK {
		t.Fatalf("readyz after the database came back: %d %s", rec.Code, rec.Body)
	}
}

func TestQueryTimeoutAnswers503(t *testing.T) {
	a := newApp(t, sharedPostgres, nil)
	a.store.queryTimeout = 100 * time.Millisecond
	// Hold a lock the query needs, so it waits past its timeout.
	tx, err := a.master.Begin(context.Background())
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
	a := newApp(t, sharedPostgres, nil)
	if _, err := a.master.Exec(context.Background(), "ALTER TABLE core.dim_product RENAME COLUMN sku TO stock_keeping_unit"); err != nil {
		t.Fatal(err)
	}
	rec := serve(a.routes(), "GET", "/api/1.0/products")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: a query the database refuses is our bug, not an outage", rec.Code)
	}
}

func TestPaymentsUnreachableAnswers502(t *testing.T) {
	a := newApp(t, sharedPostgres, nil)
	rec := serve(a.routes(), "GET", "/api/1.0/payments")
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", rec.Code)
	}
	if body := decode[map[string]string](t, rec); body["error"] != "payments unavailable" {
		t.Fatalf("body %v", body)
	}
}

// readyBody is the answer of /readyz.
type readyBody struct {
	Status string
	Error  string
	Pool   poolStats
}

func TestReadyzReportsThePool(t *testing.T) {
	a := newApp(t, sharedPostgres, nil)
	rec := serve(a.routes(), "GET", "/readyz")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	body := decode[readyBody](t, rec)
	// A connection being opened (the pool's minimum, in the background) counts in total only.
	if body.Status != "ready" || body.Pool.MaxConns != int32(a.cfg.MaxConns) || body.Pool.TotalConns < 1 || body.Pool.IdleConns+body.Pool.AcquiredConns > body.Pool.TotalConns {
		t.Fatalf("readyz %s: want ready, max_conns %d, at least the pinged connection", rec.Body, a.cfg.MaxConns)
	}
}

func TestPagination(t *testing.T) {
	a := newApp(t, sharedPostgres, nil)
	h := a.routes()
	// 120 more rows: 130 in all, beyond one default page of 50.
	if _, err := a.master.Exec(context.Background(), "INSERT INTO core.dim_product SELECT i, 'GEN-' || i, 'Generated ' || i, 'Gen', i FROM generate_series(11, 130) AS i"); err != nil {
		t.Fatal(err)
	}
	type pageBody struct {
		Products  []product
		NextAfter *int64 `json:"next_after"`
	}

	// Walk every page with the default size: each product once, in order.
	var seen []int64
	path := "/api/1.0/products"
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("more than 10 pages for 130 rows")
		}
		rec := serve(h, "GET", path)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		p := decode[pageBody](t, rec)
		if len(p.Products) > defaultPageSize {
			t.Fatalf("GET %s: %d products, above the default page size %d", path, len(p.Products), defaultPageSize)
		}
		for _, pr := range p.Products {
			seen = append(seen, pr.ProductID)
		}
		if p.NextAfter == nil {
			break
		}
		if *p.NextAfter != p.Products[len(p.Products)-1].ProductID {
			t.Fatalf("next_after %d is not the last product of the page", *p.NextAfter)
		}
		path = "/api/1.0/products?after=" + itoa(int(*p.NextAfter))
	}
	if len(seen) != 130 {
		t.Fatalf("walked %d products, want 130", len(seen))
	}
	for i, id := range seen {
		if id != int64(i+1) {
			t.Fatalf("product %d of the walk has id %d: pages overlap or skip", i, id)
		}
	}

	// An explicit limit; a last page that is exactly full says nothing follows only when
	// nothing does.
	p := decode[pageBody](t, serve(h, "GET", "/api/1.0/products?limit=5&after=120"))
	if len(p.Products) != 5 || p.Products[0].ProductID != 121 || p.NextAfter == nil || *p.NextAfter != 125 {
		t.Fatalf("limit=5 after=120: %+v next %v", p.Products, p.NextAfter)
	}
	p = decode[pageBody](t, serve(h, "GET", "/api/1.0/products?limit=10&after=120"))
	if len(p.Products) != 10 || p.NextAfter != nil {
		t.Fatalf("the last 10 rows: %d products, next_after %v; want 10 and none", len(p.Products), p.NextAfter)
	}
	if p := decode[pageBody](t, serve(h, "GET", "/api/1.0/products?limit=500")); len(p.Products) != 130 || p.NextAfter != nil {
		t.Fatalf("limit=500: %d products, next_after %v", len(p.Products), p.NextAfter)
	}

	for query, param := range map[string]string{
		"limit=0": "limit", "limit=501": "limit", "limit=ten": "limit", "limit=": "limit", "limit=-1": "limit",
		"after=x": "after", "after=": "after", "after=1.5": "after", "after=99999999999": "after",
	} {
		rec := serve(h, "GET", "/api/1.0/products?"+query)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("?%s: status %d, want 400", query, rec.Code)
			continue
		}
		if body := decode[map[string]string](t, rec); !strings.HasPrefix(body["error"], param+" ") {
			t.Errorf("?%s: error %q does not name %s", query, body["error"], param)
		}
	}
}
