package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The fixtures follow the documents that the X-Ray SDK for Go writes: a segment per service
// request, the HTTP client call as a "remote" subsegment named after the host with httptrace
// detail below it, SQL queries as subsegments with an "sql" block.

var want = Expect{Products: "products", Payments: "payments"}

type m = map[string]any

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const (
	paymentsTrace = "1-67450000-aaaaaaaaaaaaaaaaaaaaaaaa"
	productsTrace = "1-67450000-bbbbbbbbbbbbbbbbbbbbbbbb"
	callID        = "c0c0c0c0c0c0c0c0"
	sqlID         = "5a5a5a5a5a5a5a5a"
)

func callSubsegment() m {
	return m{
		"id": callID, "name": "127.0.0.1:8081", "namespace": "remote",
		"start_time": 1.0, "end_time": 1.02,
		"http": m{"request": m{"method": "GET", "url": "http://127.0.0.1:8081/api/1.0/payments"}, "response": m{"status": 200}},
		"subsegments": []m{
			{"id": "d1d1d1d1d1d1d1d1", "name": "connect", "start_time": 1.0, "end_time": 1.001,
				"subsegments": []m{{"id": "d2d2d2d2d2d2d2d2", "name": "dial", "start_time": 1.0, "end_time": 1.001}}},
			{"id": "d3d3d3d3d3d3d3d3", "name": "request", "start_time": 1.001, "end_time": 1.002},
		},
	}
}

func sqlSubsegment(id string) m {
	return m{
		"id": id, "name": "meshtrace@127.0.0.1", "namespace": "remote", "start_time": 2.0, "end_time": 2.003,
		"sql": m{"url": "127.0.0.1:5432/meshtrace", "database_type": "Postgres", "sanitized_query": "SELECT id, name FROM core.dim_product"},
	}
}

func productsSegment(traceID, id string, subs ...m) m {
	return m{
		"id": id, "name": "products", "trace_id": traceID, "start_time": 1.0, "end_time": 1.05,
		"http":        m{"request": m{"method": "GET", "url": "http://127.0.0.1:8080/api/1.0/payments"}, "response": m{"status": 200}},
		"subsegments": subs,
	}
}

func paymentsSegment(traceID, parent string) m {
	s := m{"id": "9a9a9a9a9a9a9a9a", "name": "payments", "trace_id": traceID, "start_time": 1.005, "end_time": 1.015,
		"http": m{"request": m{"method": "GET", "url": "http://127.0.0.1:8081/api/1.0/payments"}, "response": m{"status": 200}}}
	if parent != "" {
		s["parent_id"] = parent
	}
	return s
}

// goodTraces is the healthy pair: the payments request's trace (products -> payments) and the
// products request's trace (products -> SQL).
func goodTraces(t *testing.T) []Trace {
	return []Trace{
		{ID: paymentsTrace, Request: "GET /api/1.0/payments", Documents: []string{
			mustJSON(t, productsSegment(paymentsTrace, "1111111111111111", callSubsegment())),
			mustJSON(t, paymentsSegment(paymentsTrace, callID)),
		}},
		{ID: productsTrace, Request: "GET /api/1.0/products", Documents: []string{
			mustJSON(t, productsSegment(productsTrace, "2222222222222222", sqlSubsegment(sqlID))),
		}},
	}
}

func checkNamed(t *testing.T, r Result, prefix string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if strings.HasPrefix(c.Name, prefix) {
			return c
		}
	}
	t.Fatalf("no check named %q in %+v", prefix, r.Checks)
	return Check{}
}

func TestVerifyPassesOnConnectedTraces(t *testing.T) {
	r := Verify(goodTraces(t), want)
	if !r.OK() {
		t.Fatalf("want pass, failed: %v", r.Failed())
	}
	if len(r.Checks) != 4 {
		t.Fatalf("want 4 checks, got %+v", r.Checks)
	}
	call := checkNamed(t, r, "payments segment")
	if !strings.Contains(call.Detail, callID) || !strings.Contains(call.Detail, "GET http://127.0.0.1:8081/api/1.0/payments") {
		t.Errorf("payments check should name the call subsegment, got %q", call.Detail)
	}
	if d := checkNamed(t, r, "SQL").Detail; !strings.Contains(d, "core.dim_product") {
		t.Errorf("SQL check should show a query, got %q", d)
	}
	tree := strings.Join(r.Trees, "\n")
	for _, s := range []string{"segment products", "segment payments id=9a9a9a9a9a9a9a9a parent=" + callID, "sql Postgres", "-> 200"} {
		if !strings.Contains(tree, s) {
			t.Errorf("tree lacks %q:\n%s", s, tree)
		}
	}
	// httptrace detail (connect/dial) is noise in the report.
	if strings.Contains(tree, "dial") {
		t.Errorf("tree shows httptrace detail:\n%s", tree)
	}
}

func TestVerifyPassesWithAllInOneTrace(t *testing.T) {
	traces := []Trace{{ID: paymentsTrace, Documents: []string{
		mustJSON(t, productsSegment(paymentsTrace, "1111111111111111", sqlSubsegment(sqlID), callSubsegment())),
		mustJSON(t, paymentsSegment(paymentsTrace, callID)),
	}}}
	if r := Verify(traces, want); !r.OK() {
		t.Fatalf("want pass, failed: %v", r.Failed())
	}
}

// The SDK streams subsegments as documents of their own when a segment has many; the parent
// link must then be followed through parent_id.
func TestVerifyFollowsStreamedSubsegments(t *testing.T) {
	call := callSubsegment()
	call["type"] = "subsegment"
	call["trace_id"] = paymentsTrace
	call["parent_id"] = "1111111111111111"
	sql := sqlSubsegment(sqlID)
	sql["type"] = "subsegment"
	sql["trace_id"] = paymentsTrace
	sql["parent_id"] = "1111111111111111"
	traces := []Trace{{ID: paymentsTrace, Documents: []string{
		mustJSON(t, paymentsSegment(paymentsTrace, callID)),
		mustJSON(t, call),
		mustJSON(t, sql),
		mustJSON(t, productsSegment(paymentsTrace, "1111111111111111")),
	}}}
	if r := Verify(traces, want); !r.OK() {
		t.Fatalf("want pass, failed: %v", r.Failed())
	}
}

// X-Ray may add inferred segments; one must not stand in for the subsegment it came from.
func TestVerifyIgnoresInferredSegments(t *testing.T) {
	traces := goodTraces(t)
	inferred := m{"id": callID, "name": "payments", "inferred": true, "trace_id": paymentsTrace, "parent_id": callID, "start_time": 1.0, "end_time": 1.02}
	traces[0].Documents = append(traces[0].Documents, mustJSON(t, inferred))
	if r := Verify(traces, want); !r.OK() {
		t.Fatalf("want pass, failed: %v", r.Failed())
	}
	// Without the real payments segment, the inferred one does not count.
	traces[0].Documents = []string{traces[0].Documents[0], traces[0].Documents[2]}
	if r := Verify(traces, want); r.OK() {
		t.Fatal("an inferred payments segment passed for the real one")
	}
}

func TestVerifyRejectsBrokenTraces(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(t *testing.T, tr []Trace) []Trace
		check  string
		detail string
	}{
		{"payments segment missing", func(t *testing.T, tr []Trace) []Trace {
			tr[0].Documents = tr[0].Documents[:1]
			return tr
		}, "payments segment", `has no "payments" segment (segments: products)`},
		{"wrong parent id", func(t *testing.T, tr []Trace) []Trace {
			tr[0].Documents[1] = mustJSON(t, paymentsSegment(paymentsTrace, "0123456789abcdef"))
			return tr
		}, "payments segment", "has parent_id 0123456789abcdef, which is no segment or subsegment in the trace; HTTP calls of products: \"127.0.0.1:8081\" (id " + callID + ")"},
		{"no parent id", func(t *testing.T, tr []Trace) []Trace {
			tr[0].Documents[1] = mustJSON(t, paymentsSegment(paymentsTrace, ""))
			return tr
		}, "payments segment", "has no parent_id"},
		{"parent is products itself", func(t *testing.T, tr []Trace) []Trace {
			tr[0].Documents[1] = mustJSON(t, paymentsSegment(paymentsTrace, "1111111111111111"))
			return tr
		}, "payments segment", "segment 1111111111111111 itself, not a subsegment for its HTTP call"},
		{"parent belongs to payments", func(t *testing.T, tr []Trace) []Trace {
			pay := paymentsSegment(paymentsTrace, "4444444444444444")
			pay["subsegments"] = []m{{"id": "4444444444444444", "name": "self", "start_time": 1.0, "end_time": 1.001}}
			tr[0].Documents[1] = mustJSON(t, pay)
			return tr
		}, "payments segment", `which belongs to segment "payments", not "products"`},
		{"parent is a SQL subsegment", func(t *testing.T, tr []Trace) []Trace {
			tr[0].Documents[0] = mustJSON(t, productsSegment(paymentsTrace, "1111111111111111", callSubsegment(), sqlSubsegment("7777777777777777")))
			tr[0].Documents[1] = mustJSON(t, paymentsSegment(paymentsTrace, "7777777777777777"))
			return tr
		}, "payments segment", "is not an HTTP call"},
		{"payments in another trace", func(t *testing.T, tr []Trace) []Trace {
			tr[0].Documents = tr[0].Documents[:1]
			tr = append(tr, Trace{ID: "1-67450000-cccccccccccccccccccccccc", Documents: []string{mustJSON(t, paymentsSegment("1-67450000-cccccccccccccccccccccccc", callID))}})
			return tr
		}, "payments segment", "which is no segment or subsegment in the trace"},
		{"no SQL subsegments", func(t *testing.T, tr []Trace) []Trace {
			tr[1].Documents = []string{mustJSON(t, productsSegment(productsTrace, "2222222222222222"))}
			return tr
		}, "SQL", `no subsegment with an "sql" block under a "products" segment in any of the 2 trace(s)`},
		{"SQL only in payments", func(t *testing.T, tr []Trace) []Trace {
			pay := paymentsSegment(paymentsTrace, callID)
			pay["subsegments"] = []m{sqlSubsegment("8888888888888888")}
			tr[0].Documents[1] = mustJSON(t, pay)
			tr[1].Documents = []string{mustJSON(t, productsSegment(productsTrace, "2222222222222222"))}
			return tr
		}, "SQL", `SQL subsegments only outside "products" ("meshtrace@127.0.0.1" in payments)`},
		{"products segment missing", func(t *testing.T, tr []Trace) []Trace {
			tr[1].Documents = []string{mustJSON(t, m{"id": "3333333333333333", "name": "frontend", "trace_id": productsTrace, "start_time": 1.0, "end_time": 2.0})}
			return tr
		}, "products segment", `has no "products" segment (segments: frontend)`},
		{"trace without documents", func(t *testing.T, tr []Trace) []Trace {
			tr[1].Documents = nil
			return tr
		}, "traces", "trace " + productsTrace + " (GET /api/1.0/products): no segments"},
		{"document not JSON", func(t *testing.T, tr []Trace) []Trace {
			tr[1].Documents = append(tr[1].Documents, "{not json")
			return tr
		}, "traces", "document 2 is not JSON"},
		{"no traces at all", func(t *testing.T, tr []Trace) []Trace { return nil }, "traces", "X-Ray returned none of the traces"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Verify(tc.break_(t, goodTraces(t)), want)
			if r.OK() {
				t.Fatalf("broken trace passed: %+v", r.Checks)
			}
			c := checkNamed(t, r, tc.check)
			if c.OK {
				t.Fatalf("check %q passed, want it failed; all: %+v", c.Name, r.Checks)
			}
			if !strings.Contains(c.Detail, tc.detail) {
				t.Fatalf("check %q detail\n  %s\nlacks\n  %s", c.Name, c.Detail, tc.detail)
			}
		})
	}
}

func TestResultWithoutChecksIsNotOK(t *testing.T) {
	if (Result{}).OK() {
		t.Fatal("an empty result must not pass")
	}
}

func TestTraceIDs(t *testing.T) {
	now := time.Unix(0x67450000, 0)
	id := newTraceID(now)
	if !regexp.MustCompile(`^1-67450000-[0-9a-f]{24}$`).MatchString(id) {
		t.Fatalf("bad trace id %q", id)
	}
	if newTraceID(now) == id {
		t.Fatal("trace ids repeat")
	}
	for in, want := range map[string]string{
		"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1":                     "1-5759e988-bd862e3fe1be46a994272793",
		"Self=1-abc-def; Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c": "1-5759e988-bd862e3fe1be46a994272793",
		"Sampled=1": "",
		"":          "",
	} {
		if got := rootOf(in); got != want {
			t.Errorf("rootOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	var sink strings.Builder
	cfg, err := parseFlags([]string{"--url", "http://x", "--region", "eu-west-1", "--paths", "/a, /b", "--requests", "2"}, &sink)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.URL != "http://x" || cfg.Region != "eu-west-1" || strings.Join(cfg.Paths, "|") != "/a|/b" || cfg.Requests != 2 {
		t.Fatalf("unexpected config %+v", cfg)
	}
	if cfg.Expect != want {
		t.Fatalf("default segment names %+v", cfg.Expect)
	}
	t.Setenv("AWS_REGION", "")
	for _, args := range [][]string{{"--region", "r"}, {"--url", "http://x"}, {"--url", "http://x", "--region", "r", "--requests", "0"}, {"--url", "u", "--region", "r", "extra"}} {
		if _, err := parseFlags(args, &sink); err == nil {
			t.Errorf("parseFlags(%q) accepted bad arguments", args)
		}
	}
	// --stack without the pulumi CLI says so in one line.
	t.Setenv("PATH", t.TempDir())
	_, err = parseFlags([]string{"--stack", "dev"}, &sink)
	if err == nil || !strings.Contains(err.Error(), "needs the pulumi CLI") {
		t.Fatalf("--stack without pulumi: %v", err)
	}
}

// Only the trace holding the payments segment is reported when its parent is wrong: the
// products request's trace, which has no payments segment by design, is not noise there.
func TestVerifyReportsOnlyTheRelevantTrace(t *testing.T) {
	traces := goodTraces(t)
	traces[0].Documents[1] = mustJSON(t, paymentsSegment(paymentsTrace, "0123456789abcdef"))
	c := checkNamed(t, Verify(traces, want), "payments segment")
	if c.OK || strings.Contains(c.Detail, productsTrace) {
		t.Fatalf("want a failure about %s only, got: %s", paymentsTrace, c.Detail)
	}
}

// moto 5.2.1 answers GetTraceSummaries with "Users": {} where the API has a list.
func TestFixTraceSummaries(t *testing.T) {
	moto := `{"ApproximateTime": 1, "TracesProcessedCount": 1, "TraceSummaries": [{"Id": "1-a-b", "Users": {}, "ServiceIds": []}]}`
	var page struct {
		TraceSummaries []map[string]json.RawMessage
	}
	if err := json.Unmarshal(fixTraceSummaries([]byte(moto)), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.TraceSummaries) != 1 || string(page.TraceSummaries[0]["Id"]) != `"1-a-b"` {
		t.Fatalf("summary lost: %+v", page)
	}
	if _, ok := page.TraceSummaries[0]["Users"]; ok {
		t.Fatal("Users object kept")
	}
	aws := `{"TraceSummaries": [{"Id": "1-a-b", "Users": [{"UserName": "u"}]}]}`
	if got := string(fixTraceSummaries([]byte(aws))); got != aws {
		t.Fatalf("a valid page was changed: %s", got)
	}
	if got := string(fixTraceSummaries([]byte("not json"))); got != "not json" {
		t.Fatalf("unreadable body changed: %s", got)
	}
}
