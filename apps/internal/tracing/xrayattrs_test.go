package tracing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// The ADOT collector's X-Ray exporter builds a segment's http block from span attributes
// (exporter/awsxrayexporter, internal/translator/http.go; docs/tracing.md): the method and the
// status from http.request.method and http.response.status_code; the request URL of a server
// span from url.scheme, server.address, server.port and url.path, of a client span from
// url.full. A span without them gives X-Ray a segment with no request, no response or a
// URL of "http:///". These are the attributes each kind of span must carry.
var xrayHTTPAttributes = map[string][]string{
	"server": {"http.request.method", "http.response.status_code", "url.scheme", "server.address", "url.path"},
	"client": {"http.request.method", "http.response.status_code", "url.full"},
}

func TestOTelHTTPSpansCarryWhatTheXRayExporterReads(t *testing.T) {
	receiver := testenv.StartOTLPReceiver(t)
	tr, err := Setup(Config{Service: "products", Mode: ModeOTel, Edge: true, EdgeForcedPerSecond: 100,
		DaemonAddr: "127.0.0.1:9", OTLPEndpoint: receiver.OTLPEndpoint,
		SamplingRules: `{"version": 2, "default": {"fixed_target": 1, "rate": 1.0}}`})
	if err != nil {
		t.Fatal(err)
	}
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer downstream.Close()
	client := tr.Client(&http.Client{Timeout: 5 * time.Second})
	h := tr.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, downstream.URL+"/api/1.0/payments", nil)
		resp, err := client.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.WriteHeader(http.StatusOK)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://products.example/api/1.0/payments", nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil { // flush
		t.Fatal(err)
	}
	spans := receiver.Spans()
	seen := map[string]bool{}
	for _, s := range spans {
		want, ok := xrayHTTPAttributes[s.Kind]
		if !ok {
			continue
		}
		seen[s.Kind] = true
		for _, k := range want {
			if s.Attributes[k] == "" {
				t.Errorf("%s span %s has no %s (attributes %v)", s.Kind, s.Name, k, s.Attributes)
			}
		}
	}
	if !seen["server"] || !seen["client"] {
		t.Fatalf("status %d, spans %+v: want a server and a client span", rec.Code, spans)
	}
}
