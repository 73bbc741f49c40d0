package testenv

import (
	"strings"
	"testing"
)

func TestParseOTLPTracesReadsBothEncodings(t *testing.T) {
	// Jaeger's v3 API: ids in hex, enums as names, 64-bit numbers as strings.
	hexJSON := `{"result":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"products"}}]},
		"scopeSpans":[{"spans":[{"traceId":"6b0c3dd25759e988bd862e3fe1be46a9","spanId":"53995c3f42cd8ad8","parentSpanId":"",
		"name":"GET /x","kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1000000","endTimeUnixNano":"3500000",
		"attributes":[{"key":"http.response.status_code","value":{"intValue":"502"}},{"key":"url.path","value":{"stringValue":"/x"}}],
		"events":[{"name":"exception","attributes":[{"key":"exception.message","value":{"stringValue":"boom"}}]}],
		"status":{"code":"STATUS_CODE_ERROR","message":"boom"}}]}]}]}}`
	// The OTLP/JSON of the spec: ids in base64 (protobuf's bytes), enums as numbers.
	b64JSON := `{"result":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payments"}}]},
		"scopeSpans":[{"spans":[{"traceId":"aww90ldZ6Yi9hi4/4b5GqQ==","spanId":"U5lcP0LNitg=","parentSpanId":"AAAAAAAAAAA=",
		"name":"GET /y","kind":3,"startTimeUnixNano":1000,"endTimeUnixNano":2000,"status":{"code":1}}]}]}]}}`
	a, err := ParseOTLPTraces([]byte(hexJSON))
	if err != nil || len(a) != 1 {
		t.Fatalf("%v %v", a, err)
	}
	s := a[0]
	if s.TraceID != "6b0c3dd25759e988bd862e3fe1be46a9" || s.SpanID != "53995c3f42cd8ad8" || s.ParentSpanID != "" || s.Kind != "server" ||
		s.Service != "products" || s.Attributes["http.response.status_code"] != "502" || s.StatusCode != "error" || s.Duration().Microseconds() != 2500 ||
		len(s.Events) != 1 || s.Events[0].Attributes["exception.message"] != "boom" {
		t.Fatalf("hex form: %+v", s)
	}
	b, err := ParseOTLPTraces([]byte(b64JSON))
	if err != nil || len(b) != 1 {
		t.Fatalf("%v %v", b, err)
	}
	if s := b[0]; s.TraceID != "6b0c3dd25759e988bd862e3fe1be46a9" || s.SpanID != "53995c3f42cd8ad8" || s.ParentSpanID != "" || s.Kind != "client" || s.StatusCode != "ok" {
		t.Fatalf("base64 form: %+v", s)
	}
	if XRayTraceID(s.TraceID) != "1-6b0c3dd2-5759e988bd862e3fe1be46a9" || OTelTraceID("1-6b0c3dd2-5759e988bd862e3fe1be46a9") != s.TraceID {
		t.Fatal("X-Ray id conversions")
	}
	var tree strings.Builder
	child := a[0]
	child.SpanID, child.ParentSpanID, child.Name, child.Kind = "1111111111111111", a[0].SpanID, "HTTP GET", "client"
	if err := FormatSpanTree(&tree, []Span{child, a[0]}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tree.String(), "products: GET /x (server)  -> 502  2.50 ms  ERROR  cause: boom\n└─ products: HTTP GET (client)") {
		t.Fatalf("tree:\n%s", tree.String())
	}
}
