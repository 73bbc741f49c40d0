package testenv

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // an exporter set to OTEL_EXPORTER_OTLP_COMPRESSION=gzip is read too
)

// OTLPReceiver stands in for the collector (or Jaeger) that the services export to with
// TRACING=otel: an OTLP/gRPC server in this process, serving the collector's TraceService from
// go.opentelemetry.io/proto/otlp (the wire protocol the ADOT collector receives), that keeps every
// span it is sent, in arrival order. It checks what it receives the way a collector would have to
// read it: a span with a malformed trace, span or parent id is rejected and recorded in Errors.
type OTLPReceiver struct {
	// OTLPEndpoint is the receiver, as OTEL_EXPORTER_OTLP_ENDPOINT (http://127.0.0.1:port).
	OTLPEndpoint string

	collectortrace.UnimplementedTraceServiceServer
	server *grpc.Server
	done   chan struct{}

	mu      sync.Mutex
	spans   []Span
	errs    []error
	exports int
	arrived chan struct{} // closed and replaced whenever an export arrives
}

// StartOTLPReceiver listens on a free port of 127.0.0.1 until the test ends. The test fails at
// its end if a span was malformed.
func StartOTLPReceiver(tb testing.TB) *OTLPReceiver {
	tb.Helper()
	r, err := ListenOTLP("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		r.Close()
		for _, err := range r.Errors() {
			tb.Errorf("OTLP receiver: %v", err)
		}
	})
	return r
}

// ListenOTLP serves OTLP/gRPC on addr (e.g. "127.0.0.1:0") until Close.
func ListenOTLP(addr string) (*OTLPReceiver, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for OTLP on %s: %w", addr, err)
	}
	r := &OTLPReceiver{
		OTLPEndpoint: "http://" + lis.Addr().String(),
		server:       grpc.NewServer(),
		done:         make(chan struct{}),
		arrived:      make(chan struct{}),
	}
	collectortrace.RegisterTraceServiceServer(r.server, r)
	go func() {
		defer close(r.done)
		_ = r.server.Serve(lis)
	}()
	return r, nil
}

// Close stops the server (after the exports in progress) and waits for it.
func (r *OTLPReceiver) Close() error {
	r.server.GracefulStop()
	<-r.done
	return nil
}

// Export is the TraceService's one method: it keeps the request's spans, each with its
// resource's attributes.
func (r *OTLPReceiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	var spans []Span
	var errs []error
	rejected := int64(0)
	for _, rs := range req.GetResourceSpans() {
		res := attributeText(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				span, err := spanFromProto(s, res)
				if err != nil {
					errs = append(errs, err)
					rejected++
					continue
				}
				spans = append(spans, span)
			}
		}
	}
	r.mu.Lock()
	r.spans = append(r.spans, spans...)
	r.errs = append(r.errs, errs...)
	r.exports++
	close(r.arrived)
	r.arrived = make(chan struct{})
	r.mu.Unlock()
	resp := &collectortrace.ExportTraceServiceResponse{}
	if rejected > 0 {
		// The spec's partial success: the exporter learns how many spans were dropped, and why.
		resp.PartialSuccess = &collectortrace.ExportTracePartialSuccess{RejectedSpans: rejected, ErrorMessage: errs[0].Error()}
	}
	return resp, nil
}

// spanFromProto is s as a Span, or why a collector could not take it: OTLP's trace id is 16
// bytes and its span id 8, neither all zero; a parent span id is 8 bytes or empty.
func spanFromProto(s *tracepb.Span, res map[string]string) (Span, error) {
	if len(s.TraceId) != 16 || allZero(s.TraceId) {
		return Span{}, fmt.Errorf("span %q: trace id %x is not 16 bytes, not all zero", s.Name, s.TraceId)
	}
	if len(s.SpanId) != 8 || allZero(s.SpanId) {
		return Span{}, fmt.Errorf("span %q: span id %x is not 8 bytes, not all zero", s.Name, s.SpanId)
	}
	if len(s.ParentSpanId) != 0 && len(s.ParentSpanId) != 8 {
		return Span{}, fmt.Errorf("span %q: parent span id %x is not 8 bytes", s.Name, s.ParentSpanId)
	}
	span := Span{
		TraceID:    hex.EncodeToString(s.TraceId),
		SpanID:     hex.EncodeToString(s.SpanId),
		Name:       s.Name,
		Kind:       enumText(int32(s.Kind), s.Kind.String(), "SPAN_KIND_"),
		Service:    res["service.name"],
		Start:      time.Unix(0, int64(s.StartTimeUnixNano)),
		End:        time.Unix(0, int64(s.EndTimeUnixNano)),
		Attributes: attributeText(s.Attributes),
		Resource:   res,
		StatusCode: enumText(int32(s.GetStatus().GetCode()), s.GetStatus().GetCode().String(), "STATUS_CODE_"),
		StatusMsg:  s.GetStatus().GetMessage(),
	}
	if len(s.ParentSpanId) == 8 && !allZero(s.ParentSpanId) {
		span.ParentSpanID = hex.EncodeToString(s.ParentSpanId)
	}
	for _, e := range s.Events {
		span.Events = append(span.Events, SpanEvent{Name: e.Name, Attributes: attributeText(e.Attributes)})
	}
	return span, nil
}

// enumText is an OTLP enum as Span has it: "SPAN_KIND_SERVER" is "server"; a number without a
// name stays a number.
func enumText(n int32, name, prefix string) string {
	if !strings.HasPrefix(name, prefix) {
		return strconv.Itoa(int(n))
	}
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}

// attributeText is attributes with every value as text, as Span has them (as ParseOTLPTraces
// reads Jaeger's JSON: an int 502 is "502", a bool "true").
func attributeText(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = anyValueText(kv.Value)
	}
	return m
}

func anyValueText(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_BytesValue:
		return hex.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		var parts []string
		for _, e := range x.ArrayValue.GetValues() {
			parts = append(parts, strconv.Quote(anyValueText(e)))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case *commonpb.AnyValue_KvlistValue:
		var parts []string
		for _, kv := range x.KvlistValue.GetValues() {
			parts = append(parts, strconv.Quote(kv.Key)+":"+strconv.Quote(anyValueText(kv.Value)))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return ""
}

// Spans returns every span received so far, in arrival order.
func (r *OTLPReceiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Exports is how many export requests arrived.
func (r *OTLPReceiver) Exports() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exports
}

// Errors returns why spans were rejected.
func (r *OTLPReceiver) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// Trace returns the spans received so far of traceID (32 hex digits, or an X-Ray id).
func (r *OTLPReceiver) Trace(traceID string) []Span {
	id := OTelTraceID(traceID)
	var spans []Span
	for _, s := range r.Spans() {
		if s.TraceID == id {
			spans = append(spans, s)
		}
	}
	return spans
}

// WaitForTrace waits until at least n spans of traceID have arrived, and returns them.
func (r *OTLPReceiver) WaitForTrace(traceID string, n int, timeout time.Duration) ([]Span, error) {
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		arrived := r.arrived
		r.mu.Unlock()
		spans := r.Trace(traceID)
		if len(spans) >= n {
			return spans, nil
		}
		select {
		case <-arrived:
		case <-deadline:
			return spans, fmt.Errorf("trace %s: %d span(s) received after %s, want %d", traceID, len(spans), timeout, n)
		}
	}
}

// FindTraces returns the spans of the traces with a span of service that started after since
// (as Jaeger.FindTraces does, for a program that reads either).
func (r *OTLPReceiver) FindTraces(_ context.Context, service string, since time.Time) ([]Span, error) {
	all := r.Spans()
	match := map[string]bool{}
	for _, s := range all {
		if s.Service == service && s.Start.After(since) {
			match[s.TraceID] = true
		}
	}
	var spans []Span
	for _, s := range all {
		if match[s.TraceID] {
			spans = append(spans, s)
		}
	}
	return spans, nil
}
