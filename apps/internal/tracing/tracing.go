// Package tracing traces a service's requests in one of two ways, chosen by TRACING:
//
//   - xray (the default): the AWS X-Ray SDK. Incoming requests become segments named after the
//     service, outgoing calls become subsegments that pass the trace header on, and segments go
//     over UDP to the daemon at AWS_XRAY_DAEMON_ADDRESS.
//   - otel: OpenTelemetry (otel.go). Incoming requests become server spans, outgoing calls client
//     spans, with X-Ray-compatible trace ids and the X-Amzn-Trace-Id header (W3C traceparent
//     accepted too); spans go over OTLP/gRPC to OTEL_EXPORTER_OTLP_ENDPOINT (the ADOT collector).
//   - off: nothing is traced and no tracing code runs (for benchmarks).
//
// Both paths sample with the same rule, decided once at the edge (sampling.go).
package tracing

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-xray-sdk-go/v2/awsplugins/ecs"
	"github.com/aws/aws-xray-sdk-go/v2/header"
	"github.com/aws/aws-xray-sdk-go/v2/strategy/sampling"
	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/aws/aws-xray-sdk-go/v2/xraylog"

	"github.com/meshtrace/meshtrace/apps/internal/env"
)

// DefaultDaemonAddr is where the X-Ray daemon (or the ADOT collector) listens in an ECS task.
const DefaultDaemonAddr = "127.0.0.1:2000"

// Modes of TRACING.
const (
	ModeXRay = "xray"
	ModeOTel = "otel"
	ModeOff  = "off"
	// modeOn is what TRACING=on meant before otel existed: the X-Ray SDK. Still accepted.
	modeOn = "on"
)

// Config says whether and how a service traces.
type Config struct {
	// Service names the segments and spans of incoming requests (the node in the X-Ray service
	// map; service.name in OpenTelemetry).
	Service string
	// Mode is ModeXRay, ModeOTel or ModeOff (TRACING). Empty means ModeXRay.
	Mode string
	// DaemonAddr is AWS_XRAY_DAEMON_ADDRESS: in xray mode where segments go (UDP) and where the
	// SDK polls the sampling rules (TCP); in otel mode where the sampler polls them (the
	// collector's X-Ray proxy, TCP).
	DaemonAddr string
	// OTLPEndpoint is OTEL_EXPORTER_OTLP_ENDPOINT (otel): a URL, http:// for plaintext gRPC.
	OTLPEndpoint string
	// SamplingRulesFile, from XRAY_SAMPLING_RULES_FILE, holds X-Ray local sampling rules (version
	// 2) used in both modes instead of the default rule (1 request/s, then 5%). In xray mode,
	// without it the SDK polls X-Ray's centralized rules through the daemon and falls back to the
	// default rule.
	SamplingRulesFile string
	// SamplingRules, from TRACING_SAMPLING_RULES, is the same rules as JSON text, for a deployment
	// that sets variables rather than files (the stack in adot mode). At most one of the two is
	// set. In otel mode either is the fallback of X-Ray's centralized rules (xraysampler.go): it
	// decides until the first rules arrive and when the proxy was unreachable for an hour.
	SamplingRules string
	// SamplingRulesInterval and SamplingTargetsInterval are how often the otel path polls X-Ray's
	// rules and reports its statistics for new quotas; 0 means the X-Ray SDK's 5 minutes and 10
	// seconds (tests shorten them).
	SamplingRulesInterval, SamplingTargetsInterval time.Duration
	// Edge, from TRACING_EDGE, makes this service the edge: callers may name the trace, not
	// decide its sampling (edge.go). EdgeForcedPerSecond (TRACING_EDGE_FORCED_PER_SECOND) is
	// how many caller-sampled requests a second it still honours.
	Edge                bool
	EdgeForcedPerSecond int
}

// Enabled is false with TRACING=off.
func (c Config) Enabled() bool { return c.Mode != ModeOff }

// FlushTimeout bounds Shutdown at exit: what is not sent by then is lost, and the process exits.
const FlushTimeout = 5 * time.Second

// DefaultOTLPEndpoint is the ADOT collector sidecar's OTLP/gRPC receiver in an ECS task.
const DefaultOTLPEndpoint = "http://127.0.0.1:4317"

// ConfigFromEnv reads the tracing settings of a service behind the edge (payments): TRACING
// (xray|otel|off, default xray; "on" is taken as xray), AWS_XRAY_DAEMON_ADDRESS,
// OTEL_EXPORTER_OTLP_ENDPOINT, XRAY_SAMPLING_RULES_FILE, TRACING_SAMPLING_RULES, and TRACING_EDGE
// (default false: it follows its caller's decision, so a trace stays whole).
func ConfigFromEnv(r *env.Reader, service string) Config {
	return configFromEnv(r, service, false)
}

// EdgeConfigFromEnv is ConfigFromEnv for the service the internet reaches (products):
// TRACING_EDGE defaults to true, so the service run with nothing but its documented environment
// is protected; only an explicit TRACING_EDGE=false lets callers decide its sampling.
func EdgeConfigFromEnv(r *env.Reader, service string) Config {
	return configFromEnv(r, service, true)
}

func configFromEnv(r *env.Reader, service string, edge bool) Config {
	cfg := Config{
		Service:             service,
		DaemonAddr:          r.String("AWS_XRAY_DAEMON_ADDRESS", DefaultDaemonAddr),
		OTLPEndpoint:        r.String("OTEL_EXPORTER_OTLP_ENDPOINT", DefaultOTLPEndpoint),
		SamplingRulesFile:   r.String("XRAY_SAMPLING_RULES_FILE", ""),
		SamplingRules:       r.String("TRACING_SAMPLING_RULES", ""),
		Edge:                r.Bool("TRACING_EDGE", edge),
		EdgeForcedPerSecond: r.IntBetween("TRACING_EDGE_FORCED_PER_SECOND", DefaultEdgeForcedPerSecond, 0, 1000),
	}
	cfg.Mode = r.OneOf("TRACING", ModeXRay, ModeXRay, ModeOTel, ModeOff, modeOn)
	if cfg.Mode == modeOn {
		cfg.Mode = ModeXRay
	}
	return cfg
}

// Tracer wraps handlers and clients according to its Config.
type Tracer struct {
	cfg Config
	// edge decides at the edge in xray mode when local rules are given (see sampleAtEdge).
	edge *edgeSampler
	// strategy decides sampling in xray mode; the SDK is configured with the same one.
	strategy sampling.Strategy
	// serviceType is the origin sampling rules match on (AWS::ECS::Container on ECS).
	serviceType string
	// otel is the OpenTelemetry set-up in otel mode.
	otel *otelTracer
	// guard rewrites the incoming trace headers at the edge; nil elsewhere.
	guard *edgeGuard
}

// Setup configures tracing as cfg says and returns the Tracer. In xray mode it configures the
// SDK's global recorder (daemon address, sampling, ECS origin); in otel mode a tracer provider
// of its own (see otel.go); with tracing off it touches nothing. Call Shutdown before exiting.
func Setup(cfg Config) (*Tracer, error) {
	if cfg.DaemonAddr == "" {
		cfg.DaemonAddr = DefaultDaemonAddr
	}
	if cfg.Mode == "" || cfg.Mode == modeOn {
		cfg.Mode = ModeXRay
	}
	t := &Tracer{cfg: cfg}
	if cfg.Edge {
		t.guard = newEdgeGuard(cfg.EdgeForcedPerSecond)
	}
	if cfg.SamplingRulesFile != "" && cfg.SamplingRules != "" {
		return nil, errors.New("XRAY_SAMPLING_RULES_FILE and TRACING_SAMPLING_RULES are both set: give the rules once")
	}
	switch cfg.Mode {
	case ModeOff:
		return t, nil
	case ModeOTel:
		var err error
		t.otel, err = setupOTel(cfg)
		return t, err
	case ModeXRay:
	default:
		return nil, fmt.Errorf("tracing mode %q is not one of %s, %s, %s", cfg.Mode, ModeXRay, ModeOTel, ModeOff)
	}
	// The SDK logs at info level to stdout by default; keep stdout for the service's own JSON logs.
	xray.SetLogger(xraylog.NewDefaultLogger(os.Stderr, xraylog.LogLevelWarn))

	inner, err := xray.NewDefaultEmitter(nil) // Configure points it at DaemonAddr
	if err != nil {
		return nil, err
	}
	xcfg := xray.Config{DaemonAddr: cfg.DaemonAddr, Emitter: newOnceEmitter(inner)}
	switch {
	case cfg.SamplingRulesFile != "":
		t.strategy, err = sampling.NewLocalizedStrategyFromFilePath(cfg.SamplingRulesFile)
		if err != nil {
			return nil, fmt.Errorf("XRAY_SAMPLING_RULES_FILE=%s: %w", cfg.SamplingRulesFile, err)
		}
	case cfg.SamplingRules != "":
		if t.strategy, err = sampling.NewLocalizedStrategyFromJSONBytes([]byte(cfg.SamplingRules)); err != nil {
			return nil, fmt.Errorf("TRACING_SAMPLING_RULES: %w", err)
		}
	default:
		// The SDK's default: rules from X-Ray through the daemon, else 1 request/s + 5%.
		if t.strategy, err = sampling.NewCentralizedStrategy(); err != nil {
			return nil, err
		}
	}
	xcfg.SamplingStrategy = t.strategy
	// The middleware decides with the same rules through the edge sampler (the SDK's strategy
	// stays configured for the SDK's own use). Rules the SDK takes and the edge sampler does not
	// (version 1) stay with the SDK's strategy.
	if rules, err := localSamplingRules(cfg); err == nil && rules != nil {
		t.edge = newEdgeSampler(rules)
	}
	if runsOnECS() {
		// Marks segments with origin AWS::ECS::Container and the container name.
		ecs.Init()
		t.serviceType = ecsServiceType
	}
	if err := xray.Configure(xcfg); err != nil {
		return nil, fmt.Errorf("configure X-Ray (AWS_XRAY_DAEMON_ADDRESS=%s): %w", cfg.DaemonAddr, err)
	}
	return t, nil
}

// runsOnECS is true inside an ECS task: the agent sets the task metadata endpoint.
func runsOnECS() bool {
	return os.Getenv("ECS_CONTAINER_METADATA_URI_V4") != "" || os.Getenv("ECS_CONTAINER_METADATA_URI") != ""
}

// Enabled tells whether requests are traced.
func (t *Tracer) Enabled() bool { return t.cfg.Enabled() }

// Mode is ModeXRay, ModeOTel or ModeOff.
func (t *Tracer) Mode() string { return t.cfg.Mode }

// Shutdown sends what is still buffered (otel mode: the batch of ended spans) and stops. The X-Ray
// SDK sends each segment when it ends, so in xray mode there is nothing to flush.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t.otel != nil {
		return t.otel.shutdown(ctx)
	}
	return nil
}

// Middleware makes every sampled request handled by h a segment named after the service,
// continuing the trace of an incoming X-Amzn-Trace-Id header when there is one.
//
// Sampling is decided before the SDK runs: the SDK's handler builds a segment, and its client
// subsegments, for unsampled requests too and then drops them, which at the default 5% costs
// nearly as much CPU as tracing everything. An unsampled request runs without a segment and
// passes "Sampled=0" on, so the services it calls do not sample it either.
func (t *Tracer) Middleware(h http.Handler) http.Handler {
	if !t.cfg.Enabled() {
		return h
	}
	if t.guard != nil {
		inner := t.middleware(annotateCallerTrace(h))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if caller := t.guard.admit(r.Header); caller != "" {
				r = r.WithContext(context.WithValue(r.Context(), callerTraceKey{}, caller))
			}
			inner.ServeHTTP(w, r)
		})
	}
	return t.middleware(h)
}

func (t *Tracer) middleware(h http.Handler) http.Handler {
	if t.otel != nil {
		return t.otel.middleware(h)
	}
	traced := xray.Handler(xray.NewFixedSegmentNamer(t.cfg.Service), h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := headerValue(r.Header, xrayHeader)
		root, decision := scanXRayHeader(raw)
		sampled := decision == '1'
		if decision != '1' && decision != '0' {
			sampled = t.sampleAtEdge(r)
		}
		if sampled {
			// Hand the SDK the decision so that it does not ask the strategy a second time.
			in := &header.Header{}
			if raw != "" {
				in = header.FromString(raw)
			}
			if in.TraceID == "" {
				in.TraceID = xray.NewTraceID()
			}
			in.SamplingDecision = header.Sampled
			r.Header[xrayHeader] = []string{in.String()}
			traced.ServeHTTP(w, r)
			return
		}
		// A trace id for an unsampled request is made only when a call needs one.
		if root != "" {
			w.Header()[xrayHeader] = []string{"Root=" + root + ";Sampled=0"}
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), unsampledKey{}, root)))
	})
}

// sampleAtEdge decides for a request that brought no decision: with local rules (a file or
// TRACING_SAMPLING_RULES) the edge sampler of sampling.go, the one place both modes decide; with
// none, the SDK's centralized strategy (X-Ray's rules, polled through the daemon).
func (t *Tracer) sampleAtEdge(r *http.Request) bool {
	if t.edge != nil {
		return t.edge.sample(hostOnly(r.Host), r.Method, r.URL.Path)
	}
	return t.strategy.ShouldTrace(&sampling.Request{
		Host: r.Host, URL: r.URL.Path, Method: r.Method, ServiceName: t.cfg.Service, ServiceType: t.serviceType,
	}).Sample
}

// headerValue is h.Get(key) for a key already in canonical form (no canonicalization, which
// allocates for a key such as the SDK's lower-case "x-amzn-trace-id").
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// scanXRayHeader reads the Root and the Sampled decision ('1', '0', or 0 when absent or "?") of an
// X-Amzn-Trace-Id value without allocating.
func scanXRayHeader(raw string) (root string, decision byte) {
	root, _, decision = scanXRayFields(raw)
	return root, decision
}

// scanXRayFields is scanXRayHeader with the Parent too.
func scanXRayFields(raw string) (root, parent string, decision byte) {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, ";")
		key, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch key {
		case "Root":
			root = value
		case "Parent":
			parent = value
		case "Sampled":
			if value == "1" || value == "0" {
				decision = value[0]
			}
		}
	}
	return root, parent, decision
}

// unsampledKey marks the context of an unsampled request; its value is the trace id.
type unsampledKey struct{}

// Client returns a client whose requests become subsegments of the segment in their context and
// carry the X-Amzn-Trace-Id header, so the called service joins the same trace. Requests of an
// unsampled request only carry the header, with "Sampled=0".
func (t *Tracer) Client(c *http.Client) *http.Client {
	if t.otel != nil {
		return t.otel.client(c)
	}
	if !t.cfg.Enabled() {
		return c
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	wrapped := *c
	wrapped.Transport = samplingTransport{traced: xray.RoundTripper(base), plain: base}
	return &wrapped
}

// samplingTransport traces the calls of sampled requests only.
type samplingTransport struct {
	traced, plain http.RoundTripper
}

func (s samplingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	traceID, unsampled := r.Context().Value(unsampledKey{}).(string)
	if !unsampled {
		return s.traced.RoundTrip(r)
	}
	if traceID == "" {
		traceID = newXRayTraceID()
	}
	return s.plain.RoundTrip(withHeader(r, xrayHeader, "Root="+traceID+";Sampled=0"))
}

// withHeader is a copy of r with one more header: a RoundTripper must not change the caller's
// request. Only the header map is copied (the values are shared, and left alone); the rest of the
// request is the caller's, as http.Request.Clone would deep-copy for nothing.
func withHeader(r *http.Request, key, value string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = make(http.Header, len(r.Header)+1)
	for k, v := range r.Header {
		r2.Header[k] = v
	}
	r2.Header[key] = []string{value}
	return r2
}

// newXRayTraceID is a new X-Ray trace id, 1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>, as
// the SDK's NewTraceID makes it, without its fmt and crypto/rand: an unsampled request's trace
// id only links the services' logs, it is never recorded.
func newXRayTraceID() string {
	var b [35]byte
	copy(b[:], "1-")
	binary.BigEndian.PutUint32(b[27:31], uint32(time.Now().Unix()))
	hex.Encode(b[2:10], b[27:31])
	b[10] = '-'
	var random [12]byte
	binary.LittleEndian.PutUint64(random[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(random[8:], rand.Uint32())
	hex.Encode(b[11:35], random[:])
	return string(b[:])
}

// RecordError adds err, with fault set, to the segment or subsegment in ctx, if there is one; in
// otel mode, to the recording span in ctx, as an exception event with the span's status set to
// error.
func RecordError(ctx context.Context, err error) {
	if recordOTelError(ctx, err) {
		return
	}
	if xray.GetSegment(ctx) != nil {
		_ = xray.AddError(ctx, err)
	}
}
