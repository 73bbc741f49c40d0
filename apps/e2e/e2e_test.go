package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

var (
	// binaries are built once for every test in this package.
	binaries testenv.Binaries
	// sharedPostgres serves the tests that do not stop the database.
	sharedPostgres *testenv.Postgres
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	binDir, err := os.MkdirTemp("", "e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)
	if binaries, err = testenv.BuildServices(binDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pgDir, err := os.MkdirTemp("", "e2e-postgres-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(pgDir)
	if sharedPostgres, err = testenv.StartPostgresProcess(pgDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer sharedPostgres.Close()
	return m.Run()
}

// startSystem starts both services on pg, sending segments to a new listener.
func startSystem(t *testing.T, pg *testenv.Postgres, productsEnv, paymentsEnv []string) (*testenv.System, *testenv.SegmentListener) {
	t.Helper()
	segments := testenv.StartSegmentListener(t)
	sys := testenv.StartSystem(t, testenv.SystemOptions{
		Binaries:    binaries,
		Postgres:    pg,
		DaemonAddr:  segments.Addr(),
		ProductsEnv: productsEnv,
		PaymentsEnv: paymentsEnv,
	})
	return sys, segments
}

// answer is an HTTP answer and the trace its request started.
type answer struct {
	status  int
	body    []byte
	traceID string
}

func get(t *testing.T, url string) answer {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return answer{status: resp.StatusCode, body: body, traceID: rootTraceID(resp.Header.Get("X-Amzn-Trace-Id"))}
}

// rootTraceID takes the trace ID from an X-Amzn-Trace-Id header ("Root=1-...;Parent=...").
func rootTraceID(header string) string {
	for _, part := range strings.Split(header, ";") {
		if id, ok := strings.CutPrefix(strings.TrimSpace(part), "Root="); ok {
			return id
		}
	}
	return ""
}

// wantJSONError checks an error answer: the status, and a JSON body {"error": "..."}.
func wantJSONError(t *testing.T, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d; body %s", a.status, status, a.body)
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil || body.Error == "" {
		t.Fatalf("body %q is not a JSON error: %v", a.body, err)
	}
}

// traceOf waits for n segment documents of a's trace.
func traceOf(t *testing.T, segments *testenv.SegmentListener, a answer, n int) []testenv.Segment {
	t.Helper()
	switch a.traceID {
	case "":
		t.Fatal("the answer has no X-Amzn-Trace-Id header: the request was not traced")
	case "1-00000000-000000000000000000000000":
		t.Fatal("the request was not sampled (the SDK gives unsampled requests this no-op trace ID): was the sampling rules file used?")
	}
	docs, err := segments.WaitForTrace(a.traceID, n, 5*time.Second)
	if err != nil {
		// With a missing document, say what did arrive: e.g. payments in a trace of its own
		// when the trace header did not reach it.
		t.Fatalf("%v; this trace:%s all documents received:%s", err, describe(docs), describe(segments.Segments()))
	}
	return docs
}

// only returns the one document named name.
func only(t *testing.T, docs []testenv.Segment, name string) testenv.Segment {
	t.Helper()
	var found []testenv.Segment
	for _, d := range docs {
		if d.Name == name {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %q segment documents in the trace, want 1: %s", len(found), name, describe(docs))
	}
	return found[0]
}

// callTo returns products' subsegment for its HTTP call to url.
func callTo(t *testing.T, products testenv.Segment, url string) testenv.Segment {
	t.Helper()
	calls := products.Find(func(s testenv.Segment) bool {
		return s.Namespace == "remote" && s.HTTP != nil && s.HTTP.Request != nil && s.HTTP.Request.URL == url
	})
	if len(calls) != 1 {
		t.Fatalf("%d remote HTTP subsegments for %s in products' segment, want 1: %s", len(calls), url, describe([]testenv.Segment{products}))
	}
	return calls[0]
}

// sqlSubsegments returns the SQL subsegments of a segment.
func sqlSubsegments(seg testenv.Segment) []testenv.Segment {
	return seg.Find(func(s testenv.Segment) bool { return s.SQL != nil })
}

func describe(docs []testenv.Segment) string {
	var b strings.Builder
	b.WriteString("\n")
	_ = testenv.FormatTraceTree(&b, docs)
	return b.String()
}

func TestPaymentsCallIsOneConnectedTrace(t *testing.T) {
	sys, segments := startSystem(t, sharedPostgres, nil, nil)

	viaProducts := get(t, sys.ProductsURL+"/api/1.0/payments")
	if viaProducts.status != http.StatusOK {
		t.Fatalf("GET products /api/1.0/payments: status %d, body %s", viaProducts.status, viaProducts.body)
	}
	direct := get(t, sys.PaymentsURL+"/api/1.0/payments")
	var got, want any
	if err := json.Unmarshal(viaProducts.body, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(direct.body, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("products answered %s, payments answers %s", viaProducts.body, direct.body)
	}

	docs := traceOf(t, segments, viaProducts, 2)
	products := only(t, docs, "products")
	payments := only(t, docs, "payments")
	if products.TraceID != viaProducts.traceID || payments.TraceID != viaProducts.traceID {
		t.Fatalf("trace ids: products %s, payments %s, answer header %s", products.TraceID, payments.TraceID, viaProducts.traceID)
	}
	if products.ParentID != "" {
		t.Errorf("products segment has parent %s; it should start the trace", products.ParentID)
	}
	call := callTo(t, products, sys.PaymentsURL+"/api/1.0/payments")
	if payments.ParentID != call.ID {
		t.Fatalf("payments segment's parent_id is %q, want %q (products' subsegment for the call): the trace header did not carry the call's id to payments%s",
			payments.ParentID, call.ID, describe(docs))
	}
	if call.Fault || products.Fault || payments.Fault {
		t.Errorf("fault flags set on a successful call%s", describe(docs))
	}
	if call.HTTP.Response == nil || call.HTTP.Response.Status != 200 || payments.HTTP.Response.Status != 200 || products.HTTP.Response.Status != 200 {
		t.Errorf("statuses in the trace are not all 200%s", describe(docs))
	}
	if len(sqlSubsegments(products)) != 0 {
		t.Errorf("GET /api/1.0/payments ran SQL%s", describe(docs))
	}
}

func TestProductsQueryIsASQLSubsegment(t *testing.T) {
	sys, segments := startSystem(t, sharedPostgres, nil, nil)

	a := get(t, sys.ProductsURL+"/api/1.0/products")
	if a.status != http.StatusOK {
		t.Fatalf("status %d, body %s", a.status, a.body)
	}
	var body struct {
		Products []struct {
			ProductID int     `json:"product_id"`
			SKU       string  `json:"sku"`
			ListPrice float64 `json:"list_price"`
		} `json:"products"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Products) != 10 || body.Products[0].SKU != "MT-1001" || body.Products[9].ListPrice != 449.00 {
		t.Fatalf("products are not the 10 seed rows: %s", a.body)
	}

	docs := traceOf(t, segments, a, 1)
	products := only(t, docs, "products")
	queries := sqlSubsegments(products)
	if len(queries) != 1 {
		t.Fatalf("%d SQL subsegments, want 1 (one query)%s", len(queries), describe(docs))
	}
	q := queries[0]
	wantName := sharedPostgres.DBName + "@" + sharedPostgres.Host
	if q.Name != wantName || q.Namespace != "remote" || q.Fault {
		t.Errorf("SQL subsegment %q namespace %q fault %v, want %q, remote, no fault", q.Name, q.Namespace, q.Fault, wantName)
	}
	if !strings.Contains(q.SQL.SanitizedQuery, "FROM core.dim_product") || q.SQL.DatabaseType != "PostgreSQL" ||
		q.SQL.User != testenv.AppRole || !strings.HasPrefix(q.SQL.DatabaseVersion, "15") {
		t.Errorf("sql block %+v", *q.SQL)
	}
	if q.StartTime < products.StartTime || q.EndTime > products.EndTime || q.EndTime <= q.StartTime {
		t.Errorf("SQL subsegment [%f, %f] is not within products' segment [%f, %f]", q.StartTime, q.EndTime, products.StartTime, products.EndTime)
	}
	appPassword, err := os.ReadFile(sys.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range segments.RawSegments() {
		for _, password := range []string{sharedPostgres.Password, strings.TrimSpace(string(appPassword))} {
			if strings.Contains(raw, password) {
				t.Fatalf("a database password is in a segment document: %s", raw)
			}
		}
	}
}

func TestPaymentsDownIsA502FaultAndProductsKeepsServing(t *testing.T) {
	sys, segments := startSystem(t, sharedPostgres, nil, nil)
	if err := sys.Payments.Stop(); err != nil {
		t.Fatalf("stop payments: %v", err)
	}

	a := get(t, sys.ProductsURL+"/api/1.0/payments")
	wantJSONError(t, a, http.StatusBadGateway)
	docs := traceOf(t, segments, a, 1)
	products := only(t, docs, "products")
	call := callTo(t, products, sys.PaymentsURL+"/api/1.0/payments")
	if !products.Fault || !call.Fault || call.Cause == nil || len(call.Cause.Exceptions) == 0 {
		t.Fatalf("want fault flags on products and on its call, with the cause on the call%s", describe(docs))
	}
	if products.HTTP.Response.Status != http.StatusBadGateway {
		t.Errorf("products segment status %d, want 502", products.HTTP.Response.Status)
	}

	if a := get(t, sys.ProductsURL+"/api/1.0/products"); a.status != http.StatusOK {
		t.Fatalf("products stopped serving its own data while payments is down: %d %s", a.status, a.body)
	}
	if err := sys.Payments.Start(); err != nil {
		t.Fatal(err)
	}
	if a := get(t, sys.ProductsURL+"/api/1.0/payments"); a.status != http.StatusOK {
		t.Fatalf("payments is back but products answers %d %s", a.status, a.body)
	}
}

func TestPaymentsTooSlowIsA504Fault(t *testing.T) {
	sys, segments := startSystem(t, sharedPostgres, []string{"PAYMENT_TIMEOUT=300ms"}, []string{"PAYMENTS_DELAY=5s"})

	started := time.Now()
	a := get(t, sys.ProductsURL+"/api/1.0/payments")
	elapsed := time.Since(started)
	wantJSONError(t, a, http.StatusGatewayTimeout)
	if elapsed > 2*time.Second {
		t.Errorf("products took %s to give up on payments, want about PAYMENT_TIMEOUT (300ms)", elapsed)
	}

	// payments' segment arrives too: it ends when products hangs up.
	docs := traceOf(t, segments, a, 2)
	products := only(t, docs, "products")
	payments := only(t, docs, "payments")
	call := callTo(t, products, sys.PaymentsURL+"/api/1.0/payments")
	if !products.Fault || !call.Fault || products.HTTP.Response.Status != http.StatusGatewayTimeout {
		t.Fatalf("want fault flags on products (status 504) and on its call%s", describe(docs))
	}
	if payments.ParentID != call.ID {
		t.Errorf("payments segment is not linked to the call that timed out%s", describe(docs))
	}
	if a := get(t, sys.ProductsURL+"/healthz"); a.status != http.StatusOK {
		t.Fatalf("products unhealthy after a timeout: %d", a.status)
	}
}

func TestPayments5xxIsA502FaultInBothServices(t *testing.T) {
	sys, segments := startSystem(t, sharedPostgres, nil, nil)
	if err := sys.Payments.Restart("PAYMENTS_FAIL_STATUS=500"); err != nil {
		t.Fatal(err)
	}

	a := get(t, sys.ProductsURL+"/api/1.0/payments")
	wantJSONError(t, a, http.StatusBadGateway)
	docs := traceOf(t, segments, a, 2)
	products := only(t, docs, "products")
	payments := only(t, docs, "payments")
	call := callTo(t, products, sys.PaymentsURL+"/api/1.0/payments")
	if payments.ParentID != call.ID {
		t.Fatalf("payments segment is not linked to products' call%s", describe(docs))
	}
	if !payments.Fault || payments.HTTP.Response.Status != 500 {
		t.Errorf("payments segment: fault %v status %d, want a fault with 500", payments.Fault, payments.HTTP.Response.Status)
	}
	if !call.Fault || call.HTTP.Response.Status != 500 {
		t.Errorf("products' call: fault %v status %d, want a fault with 500", call.Fault, call.HTTP.Response.Status)
	}
	if !products.Fault || products.HTTP.Response.Status != http.StatusBadGateway {
		t.Errorf("products segment: fault %v status %d, want a fault with 502", products.Fault, products.HTTP.Response.Status)
	}

	// payments recovers (restarted without the injected failure): products passes its answers on again.
	if err := sys.Payments.Restart(); err != nil {
		t.Fatal(err)
	}
	if a := get(t, sys.ProductsURL+"/api/1.0/payments"); a.status != http.StatusOK {
		t.Fatalf("after payments recovered: %d %s", a.status, a.body)
	}
}

func TestDatabaseDownIsA503FaultAndRecovers(t *testing.T) {
	pg := testenv.StartPostgres(t) // this test stops its database
	sys, segments := startSystem(t, pg, nil, nil)
	if a := get(t, sys.ProductsURL+"/api/1.0/products"); a.status != http.StatusOK {
		t.Fatalf("before the outage: %d %s", a.status, a.body)
	}

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	// Twice: the first query may fail on a pooled connection the server closed (and is tried
	// once more on a new connection, which fails to connect: two SQL subsegments), the second
	// fails to connect at all. Both must be 503 with the database's fault in the trace.
	for i := range 2 {
		a := get(t, sys.ProductsURL+"/api/1.0/products")
		wantJSONError(t, a, http.StatusServiceUnavailable)
		docs := traceOf(t, segments, a, 1)
		products := only(t, docs, "products")
		queries := sqlSubsegments(products)
		if !products.Fault || len(queries) == 0 || len(queries) > 2 {
			t.Fatalf("request %d during the outage: want a fault on products and one or two (a retry) SQL subsegments%s", i+1, describe(docs))
		}
		for _, q := range queries {
			if !q.Fault || q.Namespace != "remote" {
				t.Fatalf("request %d during the outage: an SQL subsegment without the fault%s", i+1, describe(docs))
			}
		}
	}
	if a := get(t, sys.ProductsURL+"/healthz"); a.status != http.StatusOK {
		t.Fatalf("products unhealthy while only the database is down: %d", a.status)
	}

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := get(t, sys.ProductsURL+"/api/1.0/products")
		if a.status == http.StatusOK {
			docs := traceOf(t, segments, a, 1)
			if queries := sqlSubsegments(only(t, docs, "products")); len(queries) != 1 || queries[0].Fault {
				t.Fatalf("after recovery: want one SQL subsegment without fault%s", describe(docs))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("products did not recover within 10s of the database coming back: %d %s", a.status, a.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSIGTERMFinishesInFlightRequests(t *testing.T) {
	// payments takes 3s: time enough to send SIGTERM while the request waits, and to see new
	// connections refused before it is answered, even on a loaded machine.
	sys, _ := startSystem(t, sharedPostgres, []string{"PAYMENT_TIMEOUT=10s"}, []string{"PAYMENTS_DELAY=3s"})

	inFlight := make(chan answer, 1)
	go func() {
		resp, err := http.Get(sys.ProductsURL + "/api/1.0/payments")
		if err != nil {
			inFlight <- answer{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		inFlight <- answer{status: resp.StatusCode, body: body}
	}()
	time.Sleep(700 * time.Millisecond) // the request is now waiting on payments
	if err := sys.Products.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// products stops accepting new connections at once...
	deadline := time.Now().Add(1500 * time.Millisecond)
	for {
		resp, err := http.Get(sys.ProductsURL + "/healthz")
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("products still accepts new requests 1.5s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// ...but answers the one in flight, then exits with status 0.
	var a answer
	select {
	case a = <-inFlight:
	case <-time.After(10 * time.Second):
		t.Fatal("the in-flight request got no answer")
	}
	if a.status != http.StatusOK {
		t.Fatalf("in-flight request after SIGTERM: status %d, body %s", a.status, a.body)
	}
	if err := sys.Products.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := sys.Products.ExitErr(); err != nil {
		t.Fatalf("products exited with %v after SIGTERM, want status 0", err)
	}
}

func TestTracingOffSendsNoSegments(t *testing.T) {
	sys, segments := startSystem(t, sharedPostgres, []string{"TRACING=off"}, []string{"TRACING=off"})
	for _, path := range []string{"/api/1.0/products", "/api/1.0/payments"} {
		if a := get(t, sys.ProductsURL+path); a.status != http.StatusOK || a.traceID != "" {
			t.Fatalf("GET %s with TRACING=off: status %d, trace header %q", path, a.status, a.traceID)
		}
	}
	// Segments would arrive within milliseconds; give them ample time to show up.
	time.Sleep(300 * time.Millisecond)
	if docs := segments.Segments(); len(docs) != 0 {
		t.Fatalf("%d segment documents sent with TRACING=off%s", len(docs), describe(docs))
	}
}
