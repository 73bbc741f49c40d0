package tracing

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/contrib/detectors/aws/ecs"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// otelTracer is the OpenTelemetry path (TRACING=otel):
//
//   - server spans by otelhttp's handler, client spans by its transport, SQL spans by the
//     products service's pgx tracer (TracerProvider hands it the provider);
//   - X-Ray trace ids (time-based first 32 bits) from the X-Ray ID generator, so that X-Ray takes
//     the spans the ADOT collector exports; the X-Amzn-Trace-Id header in and out (W3C traceparent
//     too), and a trace whose root an AWS load balancer started is continued (xrayEdgePropagator);
//   - the sampler of xraysampler.go: X-Ray's centralized rules through the collector's X-Ray
//     proxy, the local rules of sampling.go as the fallback; decided once at the edge,
//     parent-based downstream;
//   - resource: service.name, and the ECS task's attributes where the service runs on ECS;
//   - a batch span processor exporting over OTLP/gRPC, flushed by shutdown (on SIGTERM).
type otelTracer struct {
	provider    *sdktrace.TracerProvider
	propagators propagation.TextMapPropagator
	sampler     *xraySampler
	ids         edgeIDGenerator
}

func setupOTel(cfg Config) (*otelTracer, error) {
	rules, err := localSamplingRules(cfg)
	if err != nil {
		return nil, err
	}
	if rules == nil {
		rules = defaultSamplingRules()
	}
	endpoint := cfg.OTLPEndpoint
	if endpoint == "" {
		endpoint = DefaultOTLPEndpoint
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT=%q is not a URL such as %s", endpoint, DefaultOTLPEndpoint)
	}
	// The exporter connects lazily: a collector that is not up yet costs retries, not the start.
	exporter, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter to %s: %w", endpoint, err)
	}
	res, err := serviceResource(cfg.Service)
	if err != nil {
		return nil, err
	}
	// Rules match the service as X-Ray names it (service.name, which OTEL_SERVICE_NAME may set)
	// and, on ECS, its origin, as in xray mode.
	service := cfg.Service
	if v, ok := res.Set().Value(semconv.ServiceNameKey); ok {
		service = v.AsString()
	}
	serviceType := ""
	if runsOnECS() {
		serviceType = ecsServiceType
	}
	sampler, err := newCentralSampler(centralSamplerConfig{
		local: rules, daemonAddr: cfg.DaemonAddr, service: service, serviceType: serviceType,
		rulesEvery: cfg.SamplingRulesInterval, targetsEvery: cfg.SamplingTargetsInterval,
	})
	if err != nil {
		return nil, err
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter), // OTEL_BSP_* tune it
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sampler)),
		sdktrace.WithIDGenerator(newIDGenerator()),
	)
	sampler.start()
	// The SDK reports export failures (collector unreachable) through the global handler, which
	// writes them to stderr; stdout stays the service's JSON log.
	return &otelTracer{
		provider:    provider,
		propagators: newPropagator(),
		sampler:     sampler,
		ids:         newIDGenerator(),
	}, nil
}

// newPropagator reads and writes W3C traceparent and X-Amzn-Trace-Id; the latter wins when a
// request has both.
func newPropagator() propagation.TextMapPropagator {
	return canonicalKeys{propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, xrayEdgePropagator{})}
}

// canonicalKeys gives the propagators (ours, and otelhttp's in the traced path) the headers of a
// propagation.HeaderCarrier through headerCarrier: W3C names its fields in lower case, and
// http.Header canonicalizes such a key, a new string, at every Get and Set: on an unsampled
// two-hop request, three allocations and 6% of BenchmarkTwoHopOTelUnsampled's CPU profile.
type canonicalKeys struct{ propagation.TextMapPropagator }

func (p canonicalKeys) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	if h, ok := carrier.(propagation.HeaderCarrier); ok {
		carrier = headerCarrier(h)
	}
	return p.TextMapPropagator.Extract(ctx, carrier)
}

func (p canonicalKeys) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	if h, ok := carrier.(propagation.HeaderCarrier); ok {
		carrier = headerCarrier(h)
	}
	p.TextMapPropagator.Inject(ctx, carrier)
}

// headerCarrier is propagation.HeaderCarrier with W3C's two keys in their canonical form.
type headerCarrier http.Header

func canonicalKey(key string) string {
	switch key {
	case "traceparent":
		return "Traceparent"
	case "tracestate":
		return "Tracestate"
	}
	return http.CanonicalHeaderKey(key)
}

func (h headerCarrier) Get(key string) string { return headerValue(http.Header(h), canonicalKey(key)) }

func (h headerCarrier) Set(key, value string) { h[canonicalKey(key)] = []string{value} }

func (h headerCarrier) Keys() []string { return propagation.HeaderCarrier(h).Keys() }

func newIDGenerator() edgeIDGenerator { return edgeIDGenerator{xray.NewIDGenerator()} }

// serviceResource names the service and, on ECS, its task and container (cluster, task ARN,
// family and revision, container, log group: the ECS resource detector).
func serviceResource(service string) (*resource.Resource, error) {
	opts := []resource.Option{
		resource.WithAttributes(semconv.ServiceName(service)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME
	}
	if runsOnECS() {
		opts = append(opts, resource.WithDetectors(ecs.NewResourceDetector()))
	}
	res, err := resource.New(context.Background(), opts...)
	if err != nil && res != nil && errors.Is(err, resource.ErrPartialResource) {
		// A metadata endpoint that did not answer: trace with what was detected.
		fmt.Fprintf(os.Stderr, "tracing: resource detection incomplete: %v\n", err)
		return res, nil
	}
	return res, err
}

func (o *otelTracer) shutdown(ctx context.Context) error {
	o.sampler.shutdown()
	if err := o.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush spans: %w", err)
	}
	return nil
}

// TracerProvider is the provider of the otel path, for instrumentation of the service's own (the
// SQL spans); nil in the other modes.
func (t *Tracer) TracerProvider() trace.TracerProvider {
	if t.otel == nil {
		return nil
	}
	return t.otel.provider
}

// middleware makes each sampled request a server span named after its route; the answer carries
// X-Amzn-Trace-Id (Root and Sampled) as the X-Ray SDK's handler does, so a client can find its
// trace.
//
// Sampling is decided before otelhttp runs, as in xray mode: otelhttp builds the span's
// attributes, wraps the writer and the body and computes metric attributes for unsampled requests
// too, which at the default 5% costs most of what tracing everything costs. An unsampled request
// runs with a non-recording span context (its caller's, or new ids), so that its calls pass
// "not sampled" on and the services after it do not decide again.
func (o *otelTracer) middleware(h http.Handler) http.Handler {
	withHeader := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		span := trace.SpanFromContext(r.Context())
		if sc := span.SpanContext(); sc.IsValid() {
			w.Header()[xrayHeader] = []string{xrayRootHeader(sc)}
		}
		if !span.IsRecording() {
			h.ServeHTTP(w, r)
			return
		}
		// otelhttp sets the error status on a 5xx answer; error.type (the status code, as the
		// semantic conventions ask) says what kind of error, also when the handler recorded none.
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status >= 500 {
			span.SetAttributes(attribute.String("error.type", strconv.Itoa(rec.status)))
		}
	})
	traced := otelhttp.NewHandler(withHeader, "",
		otelhttp.WithTracerProvider(o.provider),
		otelhttp.WithPropagators(o.propagators),
		otelhttp.WithMeterProvider(noopMeters),
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := o.propagators.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		parent := trace.SpanContextFromContext(ctx)
		var sampled bool
		if parent.IsValid() {
			sampled = parent.IsSampled() // the caller decided
		} else {
			sampled = o.sampler.sample(samplingRequest{host: hostOnly(r.Host), method: r.Method, path: r.URL.Path, r: r})
		}
		if sampled {
			if !parent.IsValid() {
				// The sampler (parent-based, this edge rule for roots) must not decide again.
				r = r.WithContext(context.WithValue(r.Context(), edgeSampledKey{}, true))
			}
			traced.ServeHTTP(w, r)
			return
		}
		sc := parent
		if !sc.IsValid() {
			traceID, spanID := o.ids.NewIDs(ctx) // keeps a load balancer's root
			sc = trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceID, SpanID: spanID})
		}
		w.Header()[xrayHeader] = []string{xrayRootHeader(sc)}
		h.ServeHTTP(w, r.WithContext(trace.ContextWithSpanContext(r.Context(), sc)))
	})
}

// hostOnly is a Host header without its port, as otelhttp's server.address.
func hostOnly(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		return strings.TrimSuffix(strings.TrimPrefix(host[:i], "["), "]")
	}
	return host
}

// edgeSampledKey marks a request the middleware sampled at the edge.
type edgeSampledKey struct{}

// statusRecorder notes the status code of an answer.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// client makes each request of c a client span whose context goes out in X-Amzn-Trace-Id and
// traceparent.
func (o *otelTracer) client(c *http.Client) *http.Client {
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	wrapped := *c
	wrapped.Transport = unsampledTransport{
		traced: otelhttp.NewTransport(base,
			otelhttp.WithTracerProvider(o.provider),
			otelhttp.WithPropagators(o.propagators),
			otelhttp.WithMeterProvider(noopMeters),
		),
		plain:       base,
		propagators: o.propagators,
	}
	return &wrapped
}

// unsampledTransport sends the calls of unsampled requests without a client span: they only
// carry the trace context, marked not sampled.
type unsampledTransport struct {
	traced, plain http.RoundTripper
	propagators   propagation.TextMapPropagator
}

func (u unsampledTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	span := trace.SpanFromContext(r.Context())
	if span.IsRecording() || !span.SpanContext().IsValid() {
		return u.traced.RoundTrip(r)
	}
	r2 := new(http.Request) // a RoundTripper must not change the caller's request: copy the header map
	*r2 = *r
	r2.Header = make(http.Header, len(r.Header)+2)
	for k, v := range r.Header {
		r2.Header[k] = v
	}
	sc := span.SpanContext()
	if sc.TraceState().Len() > 0 {
		u.propagators.Inject(r2.Context(), propagation.HeaderCarrier(r2.Header))
		return u.plain.RoundTrip(r2)
	}
	// What the propagators write for an unsampled context, with the header keys already in
	// canonical form (Header.Set canonicalizes, and allocates, at every call).
	traceID, spanID := sc.TraceID().String(), sc.SpanID().String()
	r2.Header["Traceparent"] = []string{"00-" + traceID + "-" + spanID + "-00"}
	r2.Header[xrayHeader] = []string{"Root=1-" + traceID[:8] + "-" + traceID[8:] + ";Parent=" + spanID + ";Sampled=0"}
	return u.plain.RoundTrip(r2)
}

// recordOTelError records err on the recording span in ctx, if any.
func recordOTelError(ctx context.Context, err error) bool {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return false
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	return true
}

// noopMeters: the services export no metrics; otelhttp would otherwise record its histograms
// into the global provider.
var noopMeters = metricnoop.NewMeterProvider()

const xrayHeader = "X-Amzn-Trace-Id"

// xrayTraceID is an OpenTelemetry trace id in X-Ray's form, 1-<8 hex>-<24 hex>.
func xrayTraceID(id trace.TraceID) string {
	h := id.String()
	return "1-" + h[:8] + "-" + h[8:]
}

// xrayRootHeader is the X-Amzn-Trace-Id of an answer: the trace and whether it is sampled. (One
// concatenation: one allocation at every request, where building the id with xrayTraceID first
// took two.)
func xrayRootHeader(sc trace.SpanContext) string {
	sampled := "0"
	if sc.IsSampled() {
		sampled = "1"
	}
	h := sc.TraceID().String()
	return "Root=1-" + h[:8] + "-" + h[8:] + ";Sampled=" + sampled
}

// xrayEdgePropagator is the X-Ray propagator, plus what it leaves out: a header that names the
// trace but leaves the decision to us (an AWS load balancer sends "Root=1-...", with no Parent
// and no Sampled; "Sampled=?" asks the same). The trace id is kept (edgeIDGenerator gives it to
// the server span) and the sampler decides, as the X-Ray SDK does.
type xrayEdgePropagator struct{}

type edgeRootKey struct{}

func (xrayEdgePropagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	xray.Propagator{}.Inject(ctx, carrier)
}

func (xrayEdgePropagator) Fields() []string { return xray.Propagator{}.Fields() }

func (xrayEdgePropagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	header := carrier.Get(xrayHeader)
	if header == "" {
		return ctx
	}
	var root, parent, sampled string
	for part := range strings.SplitSeq(header, ";") {
		key, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch key {
		case "Root":
			root = value
		case "Parent":
			parent = value
		case "Sampled":
			sampled = value
		}
	}
	if parent != "" && (sampled == "0" || sampled == "1") {
		return xray.Propagator{}.Extract(ctx, carrier)
	}
	if id, ok := parseXRayTraceID(root); ok {
		return context.WithValue(ctx, edgeRootKey{}, id)
	}
	return ctx
}

// parseXRayTraceID reads 1-<8 hex>-<24 hex>.
func parseXRayTraceID(s string) (trace.TraceID, bool) {
	var id trace.TraceID
	if len(s) != 35 || s[:2] != "1-" || s[10] != '-' {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(s[2:10]+s[11:])); err != nil || !id.IsValid() {
		return id, false
	}
	return id, true
}

// edgeIDGenerator is the X-Ray ID generator, continuing the trace id of an incoming header that
// named a root only.
type edgeIDGenerator struct{ *xray.IDGenerator }

func (g edgeIDGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if id, ok := ctx.Value(edgeRootKey{}).(trace.TraceID); ok {
		return id, g.NewSpanID(ctx, id)
	}
	return g.IDGenerator.NewIDs(ctx)
}
