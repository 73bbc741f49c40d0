//go:build jaeger

// The local run with Jaeger, which make test does not build (minutes on a cold cache): run with
// go test -tags jaeger ./cmd/local/ (make local-jaeger-test).

package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRunWithOTelPrintsTracesFromJaeger runs the command with -tracing otel: a real Jaeger gets the
// spans, and each trace is printed as a tree with its link in the Jaeger UI.
func TestRunWithOTelPrintsTracesFromJaeger(t *testing.T) {
	out, stop := runOTel(t, options{traceQuiet: 300 * time.Millisecond, tracing: "otel", jaeger: true, binaries: testBinaries})
	uiURL := regexp.MustCompile(`its UI: (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(out.String())
	if uiURL == nil {
		t.Fatalf("the banner does not give the Jaeger UI:\n%s", out.String())
	}
	m := wantOTelTrees(t, out, `  `+regexp.QuoteMeta(uiURL[1])+`/trace/([0-9a-f]{32})`)
	// The link is Jaeger's page of that trace, served while local runs.
	if strings.ReplaceAll(m[1][2:], "-", "") != m[2] {
		t.Fatalf("printed trace %s links to %s", m[1], m[2])
	}
	resp, err := http.Get(uiURL[1] + "/trace/" + m[2])
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the trace's link: %v %v", err, resp)
	}
	resp.Body.Close()
	stop()
}
