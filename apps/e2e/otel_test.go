package e2e

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// The TRACING=otel path, end to end: both services as processes exporting OTLP/gRPC to a
// receiver in the test process (testenv.OTLPReceiver: the collector's trace service of
// go.opentelemetry.io/proto/otlp), which keeps the spans for the assertions.

// startOTelSystem starts both services with TRACING=otel on pg, exporting to a receiver of the
// test's own, every request but health checks sampled.
func startOTelSystem(t *testing.T, pg *testenv.Postgres, productsEnv, paymentsEnv []string) (*testenv.System, *testenv.OTLPReceiver) {
	t.Helper()
	r := testenv.StartOTLPReceiver(t)
	sys := testenv.StartSystem(t, testenv.SystemOptions{
		Binaries:     binaries,
		Postgres:     pg,
		Tracing:      "otel",
		OTLPEndpoint: r.OTLPEndpoint,
		ProductsEnv:  productsEnv,
		PaymentsEnv:  paymentsEnv,
	})
	return sys, r
}

// getWith is get with request headers.
func getWith(t *testing.T, url string, header http.Header) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body := make([]byte, 0, 4096)
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	return answer{status: resp.StatusCode, body: body, traceID: rootTraceID(resp.Header.Get("X-Amzn-Trace-Id"))}
}

// spansOf waits for at least n spans of a's trace (and a moment more, for stragglers).
func spansOf(t *testing.T, j *testenv.OTLPReceiver, a answer, n int) []testenv.Span {
	t.Helper()
	if a.traceID == "" {
		t.Fatalf("the answer (status %d) has no X-Amzn-Trace-Id header: the request was not traced", a.status)
	}
	spans, err := j.WaitForTrace(a.traceID, n, 10*time.Second)
	if err != nil {
		t.Fatalf("%v%s", err, describeSpans(spans))
	}
	time.Sleep(300 * time.Millisecond) // a span more than expected must show up too
	return j.Trace(a.traceID)
}

func describeSpans(spans []testenv.Span) string {
	var b strings.Builder
	b.WriteString("\n")
	_ = testenv.FormatSpanTree(&b, spans)
	for _, s := range spans {
		b.WriteString("  " + s.Service + " " + s.Name + " " + s.Kind + " id " + s.SpanID + " parent " + s.ParentSpanID + " status " + s.StatusCode + " " + s.StatusMsg + "\n")
		for k, v := range s.Attributes {
			b.WriteString("      " + k + "=" + v + "\n")
		}
	}
	return b.String()
}

// oneSpan returns the one span of service and kind that match (match may be nil).
func oneSpan(t *testing.T, spans []testenv.Span, service, kind string, match func(testenv.Span) bool) testenv.Span {
	t.Helper()
	var found []testenv.Span
	for _, s := range spans {
		if s.Service == service && s.Kind == kind && (match == nil || match(s)) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s %s spans, want 1:%s", len(found), service, kind, describeSpans(spans))
	}
	return found[0]
}

func sqlSpans(spans []testenv.Span) []testenv.Span {
	var found []testenv.Span
	for _, s := range spans {
		if s.Attributes["db.system"] != "" {
			found = append(found, s)
		}
	}
	return found
}

// wantXRayTraceID checks that id (X-Ray form) has the time of its creation in its first 8 hex digits.
func wantXRayTraceID(t *testing.T, id string, started time.Time) {
	t.Helper()
	if len(id) != 35 || !strings.HasPrefix(id, "1-") || id[10] != '-' {
		t.Fatalf("trace id %q is not an X-Ray trace id", id)
	}
	epoch, err := strconv.ParseInt(id[2:10], 16, 64)
	if err != nil || epoch < started.Unix()-1 || epoch > time.Now().Unix()+1 {
		t.Fatalf("trace id %q: first 8 hex digits %q are not the epoch second of the request (%d)", id, id[2:10], started.Unix())
	}
}

// wantError checks that a span has the error status and an exception event or error.type.
func wantError(t *testing.T, s testenv.Span, what string, spans []testenv.Span) {
	t.Helper()
	hasException := false
	for _, e := range s.Events {
		if e.Name == "exception" && e.Attributes["exception.message"] != "" {
			hasException = true
		}
	}
	if s.StatusCode != "error" || (!hasException && s.Attributes["error.type"] == "") {
		t.Fatalf("%s: status %q, exception recorded %v, error.type %q: want the error status with an exception or error.type%s",
			what, s.StatusCode, hasException, s.Attributes["error.type"], describeSpans(spans))
	}
}

func TestOTelPaymentsCallIsOneConnectedTrace(t *testing.T) {
	sys, j := startOTelSystem(t, sharedPostgres, nil, nil)
	started := time.Now()
	a := get(t, sys.ProductsURL+"/api/1.0/payments")
	if a.status != http.StatusOK {
		t.Fatalf("status %d, body %s", a.status, a.body)
	}
	wantXRayTraceID(t, a.traceID, started)
	spans := spansOf(t, j, a, 3)
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3 (products server, its client call, payments server):%s", len(spans), describeSpans(spans))
	}
	server := oneSpan(t, spans, "products", "server", nil)
	call := oneSpan(t, spans, "products", "client", nil)
	payments := oneSpan(t, spans, "payments", "server", nil)
	if server.ParentSpanID != "" {
		t.Errorf("products' server span has parent %s; it should start the trace", server.ParentSpanID)
	}
	if call.ParentSpanID != server.SpanID || payments.ParentSpanID != call.SpanID {
		t.Fatalf("not one connected trace: the call's parent is %s (want products' server span %s), payments' parent %s (want the call %s)%s",
			call.ParentSpanID, server.SpanID, payments.ParentSpanID, call.SpanID, describeSpans(spans))
	}
	for _, s := range spans {
		if testenv.XRayTraceID(s.TraceID) != a.traceID || s.StatusCode == "error" || s.Attributes["http.response.status_code"] != "200" || s.Attributes["http.request.method"] != "GET" {
			t.Fatalf("span %s: trace %s, status %s, http.response.status_code %q: want %s, no error, 200%s",
				s.Name, s.TraceID, s.StatusCode, s.Attributes["http.response.status_code"], a.traceID, describeSpans(spans))
		}
		if s.Resource["service.name"] != s.Service || s.Resource["telemetry.sdk.language"] != "go" {
			t.Errorf("span %s: resource %v", s.Name, s.Resource)
		}
	}
	if call.Attributes["url.full"] != sys.PaymentsURL+"/api/1.0/payments" || call.Attributes["server.address"] != "127.0.0.1" {
		t.Errorf("client span: url.full %q server.address %q", call.Attributes["url.full"], call.Attributes["server.address"])
	}
	if server.Attributes["url.path"] != "/api/1.0/payments" || payments.Attributes["url.path"] != "/api/1.0/payments" {
		t.Errorf("server spans' url.path: products %q, payments %q", server.Attributes["url.path"], payments.Attributes["url.path"])
	}
	if len(sqlSpans(spans)) != 0 {
		t.Errorf("GET /api/1.0/payments ran SQL%s", describeSpans(spans))
	}
}

func TestOTelProductsQueryIsASQLSpan(t *testing.T) {
	sys, j := startOTelSystem(t, sharedPostgres, nil, nil)
	started := time.Now()
	a := get(t, sys.ProductsURL+"/api/1.0/products")
	if a.status != http.StatusOK || !strings.Contains(string(a.body), "MT-1001") {
		t.Fatalf("status %d, body %s", a.status, a.body)
	}
	wantXRayTraceID(t, a.traceID, started)
	spans := spansOf(t, j, a, 2)
	server := oneSpan(t, spans, "products", "server", nil)
	queries := sqlSpans(spans)
	if len(spans) != 2 || len(queries) != 1 {
		t.Fatalf("%d spans, %d SQL spans: want products' server span and one SQL span%s", len(spans), len(queries), describeSpans(spans))
	}
	q := queries[0]
	want := map[string]string{
		"db.system":      "postgresql",
		"db.name":        sharedPostgres.DBName,
		"db.namespace":   sharedPostgres.DBName,
		"db.user":        testenv.AppRole,
		"server.address": sharedPostgres.Host,
		"server.port":    strconv.Itoa(sharedPostgres.Port),
	}
	for k, v := range want {
		if q.Attributes[k] != v {
			t.Errorf("SQL span %s = %q, want %q", k, q.Attributes[k], v)
		}
	}
	for _, k := range []string{"db.statement", "db.query.text"} {
		if !strings.Contains(q.Attributes[k], "FROM core.dim_product") {
			t.Errorf("SQL span %s = %q, want the page query", k, q.Attributes[k])
		}
	}
	if q.Kind != "client" || q.ParentSpanID != server.SpanID || q.StatusCode == "error" {
		t.Errorf("SQL span: kind %s parent %s (want client, under %s), status %s%s", q.Kind, q.ParentSpanID, server.SpanID, q.StatusCode, describeSpans(spans))
	}
	if q.Start.Before(server.Start) || q.End.After(server.End) || !q.End.After(q.Start) {
		t.Errorf("SQL span [%s, %s] is not within the server span [%s, %s]", q.Start, q.End, server.Start, server.End)
	}
	appPassword, err := os.ReadFile(sys.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range spans {
		for k, v := range s.Attributes {
			for _, password := range []string{sharedPostgres.Password, strings.TrimSpace(string(appPassword))} {
				if strings.Contains(v, password) {
					t.Fatalf("a database password is in attribute %s of span %s", k, s.Name)
				}
			}
		}
	}
}

func TestOTelIncomingXRayHeaderIsContinued(t *testing.T) {
	sys, j := startOTelSystem(t, sharedPostgres, nil, nil)
	root := "1-" + strconv.FormatInt(time.Now().Unix(), 16) + "-" + "5759e988bd862e3fe1be46a9"

	// An AWS load balancer names the trace and leaves the decision to the service.
	a := getWith(t, sys.ProductsURL+"/api/1.0/payments", http.Header{"X-Amzn-Trace-Id": {"Root=" + root}})
	if a.status != http.StatusOK || a.traceID != root {
		t.Fatalf("status %d, answer's trace %q, want %s continued", a.status, a.traceID, root)
	}
	spans := spansOf(t, j, a, 3)
	if server := oneSpan(t, spans, "products", "server", nil); server.ParentSpanID != "" {
		t.Errorf("the load balancer's root has no parent span, but products' span has parent %s", server.ParentSpanID)
	}

	// A traced caller: its span is the parent, its decision is followed.
	root2 := "1-" + strconv.FormatInt(time.Now().Unix(), 16) + "-" + "0123456789abcdef01234567"
	const parent = "53995c3f42cd8ad8"
	a = getWith(t, sys.ProductsURL+"/api/1.0/products", http.Header{"X-Amzn-Trace-Id": {"Root=" + root2 + ";Parent=" + parent + ";Sampled=1"}})
	if a.status != http.StatusOK || a.traceID != root2 {
		t.Fatalf("status %d, answer's trace %q, want %s", a.status, a.traceID, root2)
	}
	spans = spansOf(t, j, a, 2)
	if server := oneSpan(t, spans, "products", "server", nil); server.ParentSpanID != parent {
		t.Errorf("products' server span has parent %q, want the caller's %s", server.ParentSpanID, parent)
	}

	// W3C traceparent is accepted too (its first 8 hex digits a recent time: the edge starts a
	// fresh trace for an id X-Ray would refuse).
	traceparentID := strconv.FormatInt(time.Now().Unix(), 16) + "00000000000000000000abcd"
	a = getWith(t, sys.ProductsURL+"/api/1.0/products", http.Header{"Traceparent": {"00-" + traceparentID + "-" + parent + "-01"}})
	if a.status != http.StatusOK || a.traceID != testenv.XRayTraceID(traceparentID) {
		t.Fatalf("status %d, answer's trace %q, want %s", a.status, a.traceID, testenv.XRayTraceID(traceparentID))
	}
	spansOf(t, j, a, 2)

	// products is the edge (TRACING_EDGE, as the stack runs it): an internet caller's
	// Sampled=0 does not hide its request from the rule (here: trace everything), and payments
	// follows products, so the trace is whole.
	root3 := "1-" + strconv.FormatInt(time.Now().Unix(), 16) + "-" + "aaaaaaaaaaaaaaaaaaaaaaaa"
	a = getWith(t, sys.ProductsURL+"/api/1.0/payments", http.Header{"X-Amzn-Trace-Id": {"Root=" + root3 + ";Parent=" + parent + ";Sampled=0"}})
	if a.status != http.StatusOK || a.traceID != root3 {
		t.Fatalf("status %d, answer's trace %q, want %s", a.status, a.traceID, root3)
	}
	spansOf(t, j, a, 3)
}

func TestOTelPaymentsDownIsAnErrorOnTheCall(t *testing.T) {
	sys, j := startOTelSystem(t, sharedPostgres, nil, nil)
	if err := sys.Payments.Stop(); err != nil {
		t.Fatal(err)
	}
	a := get(t, sys.ProductsURL+"/api/1.0/payments")
	wantJSONError(t, a, http.StatusBadGateway)
	spans := spansOf(t, j, a, 2)
	server := oneSpan(t, spans, "products", "server", nil)
	call := oneSpan(t, spans, "products", "client", nil)
	wantError(t, call, "the call to payments (down)", spans)
	wantError(t, server, "products' server span (502)", spans)
	if server.Attributes["http.response.status_code"] != "502" || call.ParentSpanID != server.SpanID {
		t.Errorf("products' span status code %q, the call's parent %s%s", server.Attributes["http.response.status_code"], call.ParentSpanID, describeSpans(spans))
	}
}

func TestOTelPaymentsTooSlowIsAnErrorOnTheCall(t *testing.T) {
	sys, j := startOTelSystem(t, sharedPostgres, []string{"PAYMENT_TIMEOUT=300ms"}, []string{"PAYMENTS_DELAY=5s"})
	a := get(t, sys.ProductsURL+"/api/1.0/payments")
	wantJSONError(t, a, http.StatusGatewayTimeout)
	spans := spansOf(t, j, a, 3) // payments' span ends when products hangs up
	server := oneSpan(t, spans, "products", "server", nil)
	call := oneSpan(t, spans, "products", "client", nil)
	payments := oneSpan(t, spans, "payments", "server", nil)
	wantError(t, call, "the call to payments (timed out)", spans)
	wantError(t, server, "products' server span (504)", spans)
	if server.Attributes["http.response.status_code"] != "504" || payments.ParentSpanID != call.SpanID {
		t.Errorf("products' status code %q; payments' parent %s, want the call %s%s", server.Attributes["http.response.status_code"], payments.ParentSpanID, call.SpanID, describeSpans(spans))
	}
}

func TestOTelPayments5xxIsAnErrorInBothServices(t *testing.T) {
	sys, j := startOTelSystem(t, sharedPostgres, nil, []string{"PAYMENTS_FAIL_STATUS=500"})
	a := get(t, sys.ProductsURL+"/api/1.0/payments")
	wantJSONError(t, a, http.StatusBadGateway)
	spans := spansOf(t, j, a, 3)
	server := oneSpan(t, spans, "products", "server", nil)
	call := oneSpan(t, spans, "products", "client", nil)
	payments := oneSpan(t, spans, "payments", "server", nil)
	wantError(t, payments, "payments' server span (500)", spans)
	wantError(t, call, "the call to payments (500)", spans)
	wantError(t, server, "products' server span (502)", spans)
	if payments.Attributes["http.response.status_code"] != "500" || call.Attributes["http.response.status_code"] != "500" ||
		server.Attributes["http.response.status_code"] != "502" || payments.ParentSpanID != call.SpanID {
		t.Errorf("status codes payments %q, call %q, products %q; payments' parent %s, want %s",
			payments.Attributes["http.response.status_code"], call.Attributes["http.response.status_code"], server.Attributes["http.response.status_code"], payments.ParentSpanID, call.SpanID)
	}
}

func TestOTelDatabaseDownIsAnErrorOnTheSQLSpan(t *testing.T) {
	pg := testenv.StartPostgres(t) // this test stops its database
	sys, j := startOTelSystem(t, pg, nil, nil)
	if a := get(t, sys.ProductsURL+"/api/1.0/products"); a.status != http.StatusOK {
		t.Fatalf("before the outage: %d %s", a.status, a.body)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		a := get(t, sys.ProductsURL+"/api/1.0/products")
		wantJSONError(t, a, http.StatusServiceUnavailable)
		spans := spansOf(t, j, a, 2)
		server := oneSpan(t, spans, "products", "server", nil)
		wantError(t, server, "products' server span (503)", spans)
		queries := sqlSpans(spans)
		if len(queries) == 0 || len(queries) > 2 {
			t.Fatalf("request %d during the outage: %d SQL spans, want one or two (a retry)%s", i+1, len(queries), describeSpans(spans))
		}
		for _, q := range queries {
			wantError(t, q, "an SQL span during the outage", spans)
			if q.ParentSpanID != server.SpanID || q.Attributes["db.system"] != "postgresql" {
				t.Fatalf("SQL span parent %s db.system %q%s", q.ParentSpanID, q.Attributes["db.system"], describeSpans(spans))
			}
		}
	}
}

func TestOTelSpansAreFlushedOnSIGTERM(t *testing.T) {
	// The batch would wait a minute: only the flush at exit can send the spans in time.
	sys, j := startOTelSystem(t, sharedPostgres, []string{"OTEL_BSP_SCHEDULE_DELAY=60000"}, []string{"OTEL_BSP_SCHEDULE_DELAY=60000"})
	a := get(t, sys.ProductsURL+"/api/1.0/payments")
	if a.status != http.StatusOK {
		t.Fatalf("status %d", a.status)
	}
	time.Sleep(500 * time.Millisecond)
	if spans := j.Spans(); len(spans) != 0 {
		t.Fatalf("spans arrived before the exit: the batch delay was not applied, so this test proves nothing%s", describeSpans(spans))
	}
	if err := sys.Products.Stop(); err != nil {
		t.Fatalf("products after SIGTERM: %v", err)
	}
	if err := sys.Payments.Stop(); err != nil {
		t.Fatalf("payments after SIGTERM: %v", err)
	}
	spans, err := j.WaitForTrace(a.traceID, 3, 5*time.Second)
	if err != nil {
		t.Fatalf("after SIGTERM: %v%s", err, describeSpans(spans))
	}
}

func TestOTelDefaultRuleSamplesAFewRequests(t *testing.T) {
	r := testenv.StartOTLPReceiver(t)
	sys := testenv.StartSystem(t, testenv.SystemOptions{
		Binaries: binaries, Postgres: sharedPostgres, Tracing: "otel", OTLPEndpoint: r.OTLPEndpoint, SamplingRules: "default",
	})
	// 60 requests within about a second: the reservoir takes 1 (or 2, across a second boundary),
	// 5% of the rest a few more. Far from all, and not none.
	var sampled []string
	for range 60 {
		if id, ok := sampledAnswer(t, sys.ProductsURL); ok {
			sampled = append(sampled, id)
		}
	}
	if len(sampled) == 0 || len(sampled) > 20 {
		t.Fatalf("the default rule sampled %d of 60 requests", len(sampled))
	}
	// What the answers say is what is exported: each sampled request's whole trace (products'
	// server span, its call, payments' server span), and no span of the others. (The default
	// rule also samples the health checks that StartSystem waits with: a trace of their own.)
	want := map[string]bool{}
	for _, id := range sampled {
		if spans, err := r.WaitForTrace(id, 3, 10*time.Second); err != nil {
			t.Fatalf("sampled request: %v%s", err, describeSpans(spans))
		}
		want[testenv.OTelTraceID(id)] = true
	}
	time.Sleep(300 * time.Millisecond) // a span of an unsampled request would have arrived by now
	perTrace := map[string]int{}
	for _, s := range r.Spans() {
		if !want[s.TraceID] && s.Attributes["url.path"] != "/healthz" {
			t.Fatalf("span %s %s of an unsampled request was exported%s", s.Service, s.Name, describeSpans(r.Spans()))
		}
		perTrace[s.TraceID]++
	}
	for id := range want {
		if perTrace[id] != 3 {
			t.Errorf("sampled trace %s: %d spans, want 3%s", id, perTrace[id], describeSpans(r.Trace(id)))
		}
	}
}

// sampledAnswer makes one request and returns its trace id and whether its answer says Sampled=1.
func sampledAnswer(t *testing.T, productsURL string) (string, bool) {
	t.Helper()
	resp, err := http.Get(productsURL + "/api/1.0/payments")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header.Get("X-Amzn-Trace-Id")
	if !strings.Contains(h, "Sampled=") {
		t.Fatalf("answer's X-Amzn-Trace-Id %q has no Sampled", h)
	}
	return rootTraceID(h), strings.Contains(h, "Sampled=1")
}
