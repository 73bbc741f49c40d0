package tracing

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshtrace/meshtrace/apps/internal/env"
)

func TestConfigFromEnvModes(t *testing.T) {
	for value, want := range map[string]string{"": ModeXRay, "xray": ModeXRay, "on": ModeXRay, "otel": ModeOTel, "off": ModeOff} {
		vars := map[string]string{}
		if value != "" {
			vars["TRACING"] = value
		}
		r := env.NewReader(env.MapLookup(vars))
		cfg := ConfigFromEnv(r, "svc")
		if r.Err() != nil || cfg.Mode != want || cfg.OTLPEndpoint != DefaultOTLPEndpoint {
			t.Errorf("TRACING=%q: mode %q endpoint %q (%v), want %q", value, cfg.Mode, cfg.OTLPEndpoint, r.Err(), want)
		}
	}
	r := env.NewReader(env.MapLookup(map[string]string{"TRACING": "otel", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}))
	if cfg := ConfigFromEnv(r, "svc"); cfg.OTLPEndpoint != "http://collector:4317" {
		t.Errorf("endpoint %q", cfg.OTLPEndpoint)
	}
	if _, err := Setup(Config{Service: "svc", Mode: ModeOTel, OTLPEndpoint: "collector:4317"}); err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_ENDPOINT") {
		t.Errorf("an endpoint without scheme: %v", err)
	}
}

// requestAttrs are the start attributes otelhttp gives a server span.
func requestAttrs(method, host, path string) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("http.request.method", method), attribute.String("server.address", host), attribute.String("url.path", path),
	}
}

func TestDefaultRuleIsOnePerSecondThenFivePercent(t *testing.T) {
	s := newEdgeSampler(defaultSamplingRules())
	clock := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return clock }
	sampled := 0
	const seconds, perSecond = 20, 1000
	for range seconds {
		for range perSecond {
			if s.sample("h", "GET", "/api/1.0/products") {
				sampled++
			}
		}
		clock = clock.Add(time.Second)
	}
	// 1 per second from the reservoir, then 5% of the other 999: about 51 a second.
	want := float64(seconds) * (1 + 0.05*(perSecond-1))
	if got := float64(sampled); got < want*0.85 || got > want*1.15 {
		t.Fatalf("sampled %d of %d requests over %d s, want about %.0f", sampled, seconds*perSecond, seconds, want)
	}
}

func TestRulesMatchInOrderAndTheReservoirRefillsEachSecond(t *testing.T) {
	rules, err := parseSamplingRules([]byte(`{"version": 2, "rules": [
		{"description": "health", "host": "*", "http_method": "GET", "url_path": "/health*", "fixed_target": 0, "rate": 0},
		{"description": "two a second", "host": "api.*", "http_method": "*", "url_path": "/api/?.0/*", "fixed_target": 2, "rate": 0}
	], "default": {"fixed_target": 0, "rate": 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	s := newEdgeSampler(rules)
	clock := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return clock }
	if s.sample("x", "GET", "/healthz") {
		t.Error("health check sampled")
	}
	if !s.sample("x", "POST", "/healthz") {
		t.Error("POST /healthz is not the health rule's: the default (100%) should sample it")
	}
	got := 0
	for range 10 {
		if s.sample("API.example.com", "GET", "/api/1.0/products") {
			got++
		}
	}
	clock = clock.Add(time.Second)
	if got != 2 || !s.sample("api.x", "GET", "/api/1.0/payments") {
		t.Errorf("reservoir of 2/s let %d of 10 through, or did not refill the next second", got)
	}
}

func TestParseSamplingRulesRefusesBadRules(t *testing.T) {
	for _, bad := range []string{
		`{"version": 1, "default": {"fixed_target": 1, "rate": 0.05}}`,
		`{"version": 2, "rules": []}`,
		`{"version": 2, "default": {"fixed_target": 1, "rate": 1.5}}`,
		`{"version": 2, "rules": [{"url_path": "/x", "fixed_target": 1, "rate": 0}], "default": {"fixed_target": 1, "rate": 0.05}}`,
		`{"version": 2, `,
	} {
		if _, err := parseSamplingRules([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestWildcardMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, text string
		want          bool
	}{
		{"*", "", true}, {"/api/*", "/api/1.0/x", true}, {"/api/*", "/apx/1", false}, {"GET", "get", true},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"*.example.com", "x.example.com", true}, {"*b*d", "abxxd", true}, {"*b*d", "abxx", false},
	} {
		if got := wildcardMatch(c.pattern, c.text); got != c.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", c.pattern, c.text, got)
		}
	}
}

// startServerSpan runs what the otel middleware does for an incoming request with headers h: extract,
// then start the server span with the sampler of rules.
func startServerSpan(t *testing.T, rules *samplingRules, h http.Header) trace.SpanContext {
	t.Helper()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(newSampler(rules)), sdktrace.WithIDGenerator(newIDGenerator()))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	prop := newPropagator()
	ctx := prop.Extract(context.Background(), propagation.HeaderCarrier(h))
	_, span := tp.Tracer("t").Start(ctx, "server", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(requestAttrs("GET", "h", "/x")...))
	span.End()
	return span.SpanContext()
}

var (
	sampleAll  = &samplingRules{Version: 2, Default: &samplingRule{FixedTarget: 0, Rate: 1}}
	sampleNone = &samplingRules{Version: 2, Default: &samplingRule{FixedTarget: 0, Rate: 0}}
)

func TestTraceIDsAreXRayIDs(t *testing.T) {
	before := time.Now().Unix()
	sc := startServerSpan(t, sampleAll, http.Header{})
	id := xrayTraceID(sc.TraceID())
	parsed, ok := parseXRayTraceID(id)
	if !ok || parsed != sc.TraceID() {
		t.Fatalf("%s does not round-trip", id)
	}
	epoch := int64(sc.TraceID()[0])<<24 | int64(sc.TraceID()[1])<<16 | int64(sc.TraceID()[2])<<8 | int64(sc.TraceID()[3])
	if epoch < before-1 || epoch > time.Now().Unix()+1 {
		t.Fatalf("trace id %s: first 8 hex digits are %d, not the current epoch second", id, epoch)
	}
}

func TestALBRootIsContinuedAndDecidedHere(t *testing.T) {
	const root = "1-67891233-abcdef012345678912345678"
	for _, header := range []string{"Root=" + root, "Root=" + root + ";Sampled=?", "Self=1-67891233-12456789abcdef012345678;Root=" + root} {
		sc := startServerSpan(t, sampleAll, http.Header{"X-Amzn-Trace-Id": {header}})
		if got := xrayTraceID(sc.TraceID()); got != root || !sc.IsSampled() {
			t.Errorf("%q: trace %s sampled %v, want %s sampled by the rule", header, got, sc.IsSampled(), root)
		}
		if sc := startServerSpan(t, sampleNone, http.Header{"X-Amzn-Trace-Id": {header}}); sc.IsSampled() {
			t.Errorf("%q: sampled although the rule samples nothing", header)
		}
	}
}

func TestCallersDecisionIsFollowed(t *testing.T) {
	const root = "1-67891233-abcdef012345678912345678"
	cases := []struct {
		header, value string
		rules         *samplingRules
		sampled       bool
	}{
		{"X-Amzn-Trace-Id", "Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=1", sampleNone, true},
		{"X-Amzn-Trace-Id", "Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=0", sampleAll, false},
		{"Traceparent", "00-67891233abcdef012345678912345678-53995c3f42cd8ad8-01", sampleNone, true},
		{"Traceparent", "00-67891233abcdef012345678912345678-53995c3f42cd8ad8-00", sampleAll, false},
	}
	for _, c := range cases {
		sc := startServerSpan(t, c.rules, http.Header{c.header: {c.value}})
		if xrayTraceID(sc.TraceID()) != root || sc.IsSampled() != c.sampled {
			t.Errorf("%s: %s: trace %s sampled %v, want %s sampled %v", c.header, c.value, xrayTraceID(sc.TraceID()), sc.IsSampled(), root, c.sampled)
		}
	}
}

func TestOutgoingCallsCarryBothHeaders(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(newSampler(sampleAll)), sdktrace.WithIDGenerator(newIDGenerator()))
	defer tp.Shutdown(context.Background())
	ctx, span := tp.Tracer("t").Start(context.Background(), "client")
	defer span.End()
	h := http.Header{}
	newPropagator().Inject(ctx, propagation.HeaderCarrier(h))
	sc := span.SpanContext()
	wantXRay := "Root=" + xrayTraceID(sc.TraceID()) + ";Parent=" + sc.SpanID().String() + ";Sampled=1"
	if h.Get("X-Amzn-Trace-Id") != wantXRay || !strings.Contains(h.Get("Traceparent"), sc.SpanID().String()) {
		t.Fatalf("headers %v, want X-Amzn-Trace-Id %s and a traceparent", h, wantXRay)
	}
}

func TestSamplingRulesFromTheEnvironment(t *testing.T) {
	r := env.NewReader(env.MapLookup(map[string]string{"TRACING": "otel", "TRACING_SAMPLING_RULES": `{"version": 2, "default": {"fixed_target": 0, "rate": 0}}`}))
	cfg := ConfigFromEnv(r, "svc")
	tracer, err := Setup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tracer.Shutdown(context.Background())
	if tracer.otel.sampler.sample(samplingRequest{host: "h", method: "GET", path: "/x"}) {
		t.Error("TRACING_SAMPLING_RULES samples nothing, but a request was sampled")
	}
	for _, mode := range []string{ModeOTel, ModeXRay} {
		if _, err := Setup(Config{Service: "svc", Mode: mode, SamplingRules: `{"version": 2, `}); err == nil || !strings.Contains(err.Error(), "TRACING_SAMPLING_RULES") {
			t.Errorf("%s: broken TRACING_SAMPLING_RULES: %v", mode, err)
		}
		if _, err := Setup(Config{Service: "svc", Mode: mode, SamplingRules: "{}", SamplingRulesFile: "/x.json"}); err == nil {
			t.Errorf("%s: both the rules file and the rules variable accepted", mode)
		}
	}
}

func TestScanXRayHeader(t *testing.T) {
	for raw, want := range map[string]struct {
		root     string
		decision byte
	}{
		"":                                  {},
		"Root=1-a-b":                        {"1-a-b", 0},
		"Root=1-a-b;Parent=c;Sampled=1":     {"1-a-b", '1'},
		"Sampled=0; Root=1-a-b":             {"1-a-b", '0'},
		"Root=1-a-b;Sampled=?":              {"1-a-b", 0},
		"Self=1-x;Root=1-a-b;Sampled=1;x=y": {"1-a-b", '1'},
	} {
		root, decision := scanXRayHeader(raw)
		if root != want.root || decision != want.decision {
			t.Errorf("%q: root %q decision %q, want %q %q", raw, root, decision, want.root, want.decision)
		}
	}
}

func TestNewXRayTraceID(t *testing.T) {
	a, b := newXRayTraceID(), newXRayTraceID()
	id, ok := parseXRayTraceID(a)
	if !ok || a == b || xrayTraceID(id) != a {
		t.Fatalf("%s, %s: not two distinct X-Ray trace ids", a, b)
	}
	if epoch := strconv.FormatInt(time.Now().Unix(), 16); a[2:10] != fmt.Sprintf("%08s", epoch) {
		t.Fatalf("%s does not start with the epoch second %s", a, epoch)
	}
}

// captureTransport keeps the last request it was given.
type captureTransport struct{ last *http.Request }

func (c *captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.last = r
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
}

func TestUnsampledCallsCarryWhatThePropagatorsWrite(t *testing.T) {
	capture := &captureTransport{}
	u := unsampledTransport{traced: capture, plain: capture, propagators: newPropagator()}
	traceID, spanID := newIDGenerator().NewIDs(context.Background())
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID}))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://payments/x", nil)
	req.Header.Set("Accept", "application/json")
	if _, err := u.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	want := http.Header{"Accept": {"application/json"}}
	newPropagator().Inject(ctx, propagation.HeaderCarrier(want))
	if got := capture.last.Header; len(got) != len(want) || got.Get("Traceparent") != want.Get("Traceparent") || got.Get("X-Amzn-Trace-Id") != want.Get("X-Amzn-Trace-Id") {
		t.Fatalf("sent %v, the propagators write %v", got, want)
	}
	if len(req.Header) != 1 {
		t.Fatalf("the caller's request was changed: %v", req.Header)
	}
}
