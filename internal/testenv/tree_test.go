package testenv

import (
	"strings"
	"testing"
)

func TestFormatTraceTreeLinksServicesThroughTheirCalls(t *testing.T) {
	products := Segment{
		ID: "p1", TraceID: "t", Name: "products", StartTime: 10, EndTime: 10.012,
		HTTP: &HTTP{Request: &HTTPRequest{Method: "GET", URL: "http://localhost/api/1.0/payments"}, Response: &HTTPResponse{Status: 200}},
		Subsegments: []Segment{
			{ID: "c1", Name: "payments:8080", Namespace: "remote", StartTime: 10.001, EndTime: 10.011,
				HTTP:        &HTTP{Request: &HTTPRequest{Method: "GET", URL: "http://payments:8080/api/1.0/payments"}, Response: &HTTPResponse{Status: 200}},
				Subsegments: []Segment{{ID: "d1", Name: "connect", StartTime: 10.001, EndTime: 10.002}}},
			{ID: "s1", Name: "db@host", Namespace: "remote", StartTime: 10.0005, EndTime: 10.0009, Fault: true,
				SQL:   &SQL{SanitizedQuery: "SELECT 1\n  FROM t"},
				Cause: &Cause{Exceptions: []Exception{{Message: "connection refused"}}}},
		},
	}
	payments := Segment{ID: "q1", TraceID: "t", ParentID: "c1", Name: "payments", StartTime: 10.003, EndTime: 10.004,
		HTTP: &HTTP{Request: &HTTPRequest{Method: "GET", URL: "http://payments:8080/api/1.0/payments"}, Response: &HTTPResponse{Status: 200}}}

	var b strings.Builder
	// Documents arrive in any order: payments usually first.
	if err := FormatTraceTree(&b, []Segment{payments, products}); err != nil {
		t.Fatal(err)
	}
	want := `products  GET http://localhost/api/1.0/payments  -> 200  12.00 ms
├─ db@host (remote)  SQL: SELECT 1 FROM t  0.40 ms  FAULT  cause: connection refused
└─ payments:8080 (remote)  GET http://payments:8080/api/1.0/payments  -> 200  10.00 ms
   ├─ connect  1.00 ms
   └─ payments  GET http://payments:8080/api/1.0/payments  -> 200  1.00 ms
`
	if b.String() != want {
		t.Fatalf("tree:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestBuildTraceTreeKeepsOrphansAsRoots(t *testing.T) {
	roots := BuildTraceTree([]Segment{
		{ID: "a", Name: "a", StartTime: 2},
		{ID: "b", Name: "b", ParentID: "missing", StartTime: 1},
	})
	if len(roots) != 2 || roots[0].Segment.Name != "b" || roots[1].Segment.Name != "a" {
		t.Fatalf("roots %+v, want both, in start order", roots)
	}
}
