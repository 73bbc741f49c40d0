package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/internal/syncbuf"
	"github.com/meshtrace/meshtrace/internal/testenv"
)

// testBinaries are the services, built once for the package's runs (a build links each service:
// seconds apiece, three runs over).
var testBinaries testenv.Binaries

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "local-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if testBinaries, err = testenv.BuildServices(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestTracePrinterPrintsATraceOnceItIsQuiet(t *testing.T) {
	var out syncbuf.Buffer
	p := newTracePrinter(&out, 100*time.Millisecond)
	p.add(testenv.Document{Segment: testenv.Segment{ID: "q1", TraceID: "t1", ParentID: "c1", Name: "payments", StartTime: 1.002, EndTime: 1.003}})
	p.add(testenv.Document{Segment: testenv.Segment{ID: "p1", TraceID: "t1", Name: "products", StartTime: 1, EndTime: 1.005,
		Subsegments: []testenv.Segment{{ID: "c1", Name: "payments:8080", StartTime: 1.001, EndTime: 1.004}}}})
	p.add(testenv.Document{Segment: testenv.Segment{ID: "x1", TraceID: "t2", Name: "products", StartTime: 2, EndTime: 2.001}})
	if out.String() != "" {
		t.Fatalf("printed before the quiet period:\n%s", out.String())
	}
	time.Sleep(300 * time.Millisecond)
	want := "trace t1 (2 segment documents)\n" +
		"products  5.00 ms\n" +
		"└─ payments:8080  3.00 ms\n" +
		"   └─ payments  1.00 ms\n\n"
	if got := out.String(); !strings.Contains(got, want) || !strings.Contains(got, "trace t2 (1 segment document)") {
		t.Fatalf("printed:\n%s\nwant, among others:\n%s", got, want)
	}
}

func TestTracePrinterFlushPrintsPendingTraces(t *testing.T) {
	var out syncbuf.Buffer
	p := newTracePrinter(&out, time.Hour)
	p.add(testenv.Document{Segment: testenv.Segment{ID: "p1", TraceID: "t1", Name: "products", StartTime: 1, EndTime: 1.001}})
	p.flush()
	if !strings.Contains(out.String(), "trace t1") {
		t.Fatalf("flush printed %q", out.String())
	}
}

// TestRunStartsTheSystemAndPrintsTraces runs the command as a person would, minus the terminal.
func TestRunStartsTheSystemAndPrintsTraces(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncbuf.Buffer
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, &out, io.Discard, options{traceQuiet: 100 * time.Millisecond, binaries: testBinaries}, func(url string) { urls <- url })
	}()
	stopped := false
	t.Cleanup(func() { // also when the test fails half-way: stop what run started
		if !stopped {
			cancel()
			<-done
		}
	})
	var productsURL string
	select {
	case productsURL = <-urls:
	case err := <-done:
		t.Fatalf("run ended before the system was ready: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("system not ready after 2 minutes")
	}

	resp, err := http.Get(productsURL + "/api/1.0/payments")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get(productsURL + "/api/1.0/products")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// Both traces are printed as trees: products -> its call -> payments, and products -> SQL.
	call := regexp.MustCompile(`(?m)^products  GET \S+/api/1.0/payments  -> 200  [0-9.]+ ms\n(.*\n)*?└─ 127\.0\.0\.1:\d+ \(remote\)  GET \S+  -> 200  [0-9.]+ ms\n(.*\n)*?   └─ payments  GET \S+/api/1.0/payments  -> 200  [0-9.]+ ms$`)
	query := regexp.MustCompile(`(?m)^└─ DataWarehouseX@127\.0\.0\.1 \(remote\)  SQL: SELECT product_id, sku, name, category, list_price FROM core\.dim_product ORDER BY product_id LIMIT \$1  [0-9.]+ ms$`)
	deadline := time.Now().Add(10 * time.Second)
	for !(call.MatchString(out.String()) && query.MatchString(out.String())) {
		if time.Now().After(deadline) {
			t.Fatalf("traces not printed as expected:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	cancel() // Ctrl-C
	stopped = true
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after Ctrl-C: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("run did not stop within a minute of Ctrl-C")
	}
	if _, err := http.Get(productsURL + "/healthz"); err == nil {
		t.Fatal("products still answers after run returned")
	}
}

// TestRunWithOTelPrintsTraces runs the command with -tracing otel -jaeger=false: a receiver in
// the process gets the spans, and each trace is printed as a tree. (The same with Jaeger, which
// make test does not build: main_jaeger_test.go, go test -tags jaeger ./cmd/local/.)
func TestRunWithOTelPrintsTraces(t *testing.T) {
	out, stop := runOTel(t, options{traceQuiet: 300 * time.Millisecond, tracing: "otel", binaries: testBinaries})
	if !strings.Contains(out.String(), "OpenTelemetry spans go to a receiver in this process (OTLP http://127.0.0.1:") {
		t.Fatalf("the banner does not say where the spans go:\n%s", out.String())
	}
	wantOTelTrees(t, out, "") // and no link after the trace's id: there is no UI
	stop()
}

// runOTel runs the command with opts, makes a request of each endpoint once the system is ready,
// and returns what it prints; stop is Ctrl-C (the test fails if run does not end cleanly).
func runOTel(t *testing.T, opts options) (out *syncbuf.Buffer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncbuf.Buffer{}
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, out, io.Discard, opts, func(url string) { urls <- url })
	}()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cancel()
			<-done
		}
	})
	var productsURL string
	select {
	case productsURL = <-urls:
	case err := <-done:
		t.Fatalf("run ended before the system was ready: %v", err)
	case <-time.After(5 * time.Minute): // the first run with Jaeger builds it
		t.Fatal("system not ready after 5 minutes")
	}
	for _, path := range []string{"/api/1.0/payments", "/api/1.0/products"} {
		resp, err := http.Get(productsURL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	return out, func() {
		t.Helper()
		cancel()
		stopped = true
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run after Ctrl-C: %v", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("run did not stop within a minute of Ctrl-C")
		}
	}
}

// wantOTelTrees waits until out shows both requests' traces as trees: products' server span ->
// its client span -> payments' server span; products -> SQL; each trace headed by its X-Ray id
// and then link (a regular expression, "" for none). It returns the payments trace's match: the
// whole, the X-Ray id and, with a link, the trace id in it.
func wantOTelTrees(t *testing.T, out *syncbuf.Buffer, link string) []string {
	t.Helper()
	call := regexp.MustCompile(`(?m)^trace (1-[0-9a-f]{8}-[0-9a-f]{24}) \(3 spans\)` + link + `\n` +
		`products: GET /api/1\.0/payments \(server\)  GET /api/1\.0/payments  -> 200  [0-9.]+ ms\n` +
		`└─ products: HTTP GET \(client\)  GET http://\S+/api/1\.0/payments  -> 200  [0-9.]+ ms\n` +
		`   └─ payments: GET /api/1\.0/payments \(server\)  GET /api/1\.0/payments  -> 200  [0-9.]+ ms$`)
	query := regexp.MustCompile(`(?m)^└─ products: DataWarehouseX@127\.0\.0\.1 \(client\)  SQL: SELECT product_id, sku, name, category, list_price FROM core\.dim_product ORDER BY product_id LIMIT \$1  [0-9.]+ ms$`)
	deadline := time.Now().Add(15 * time.Second)
	for !(call.MatchString(out.String()) && query.MatchString(out.String())) {
		if time.Now().After(deadline) {
			t.Fatalf("traces not printed as expected:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return call.FindStringSubmatch(out.String())
}
