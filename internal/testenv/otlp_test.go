package testenv

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestOTLPReceiverKeepsWhatTheSDKExports sends spans with the OpenTelemetry SDK's own OTLP/gRPC
// exporter (the one the services use) and reads them back as Spans.
func TestOTLPReceiverKeepsWhatTheSDKExports(t *testing.T) {
	r := StartOTLPReceiver(t)
	exporter, err := otlptracegrpc.New(t.Context(), otlptracegrpc.WithEndpointURL(r.OTLPEndpoint))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "products"))))
	defer tp.Shutdown(context.Background())

	tracer := tp.Tracer("test")
	ctx, server := tracer.Start(t.Context(), "GET /x", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.Int("http.response.status_code", 502), attribute.Bool("b", true), attribute.StringSlice("l", []string{"a", "b"})))
	_, call := tracer.Start(ctx, "HTTP GET", trace.WithSpanKind(trace.SpanKindClient))
	call.RecordError(errors.New("boom"))
	call.SetStatus(codes.Error, "boom")
	call.End()
	server.End()
	traceID := server.SpanContext().TraceID().String()

	spans, err := r.WaitForTrace(XRayTraceID(traceID), 2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 2 || r.Exports() != 2 {
		t.Fatalf("%d spans in %d exports, want 2 in 2 (a syncer exports each span as it ends)", len(spans), r.Exports())
	}
	c, s := spans[0], spans[1]
	if s.Name != "GET /x" || s.Kind != "server" || s.ParentSpanID != "" || s.Service != "products" || s.StatusCode != "unset" ||
		s.Attributes["http.response.status_code"] != "502" || s.Attributes["b"] != "true" || s.Attributes["l"] != `["a","b"]` ||
		s.SpanID != server.SpanContext().SpanID().String() || s.TraceID != traceID || !s.End.After(s.Start) {
		t.Errorf("server span: %+v", s)
	}
	if c.Kind != "client" || c.ParentSpanID != s.SpanID || c.StatusCode != "error" || c.StatusMsg != "boom" ||
		len(c.Events) != 1 || c.Events[0].Name != "exception" || c.Events[0].Attributes["exception.message"] != "boom" {
		t.Errorf("client span: %+v", c)
	}
	if found, err := r.FindTraces(t.Context(), "products", s.Start.Add(-time.Millisecond)); err != nil || len(found) != 2 {
		t.Errorf("FindTraces of products since just before: %v %v, want both spans", found, err)
	}
	if found, _ := r.FindTraces(t.Context(), "payments", time.Time{}); len(found) != 0 {
		t.Errorf("FindTraces of payments, which sent nothing: %v", found)
	}
	if found, _ := r.FindTraces(t.Context(), "products", s.End); len(found) != 0 {
		t.Errorf("FindTraces of products since its spans ended: %v", found)
	}
	if got := r.Trace(strings.Repeat("ab", 16)); len(got) != 0 {
		t.Errorf("another trace: %v", got)
	}
	if _, err := r.WaitForTrace(traceID, 3, 100*time.Millisecond); err == nil {
		t.Error("WaitForTrace for 3 spans of a trace of 2 did not time out")
	}
}

// TestOTLPReceiverRejectsMalformedIDs sends what the protocol allows on the wire but a collector
// cannot use: the receiver answers with a partial success and records why.
func TestOTLPReceiverRejectsMalformedIDs(t *testing.T) {
	r, err := ListenOTLP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	conn, err := grpc.NewClient(strings.TrimPrefix(r.OTLPEndpoint, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	good := &tracepb.Span{TraceId: make([]byte, 16), SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Name: "good"}
	good.TraceId[15] = 1
	req := &collectortrace.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{
		good,
		{TraceId: []byte{1, 2, 3, 4}, SpanId: good.SpanId, Name: "short trace id"},
		{TraceId: good.TraceId, SpanId: make([]byte, 8), Name: "zero span id"},
		{TraceId: good.TraceId, SpanId: good.SpanId, ParentSpanId: []byte{1}, Name: "short parent"},
	}}}}}}
	resp, err := collectortrace.NewTraceServiceClient(conn).Export(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetPartialSuccess().GetRejectedSpans() != 3 || len(r.Errors()) != 3 || len(r.Spans()) != 1 || r.Spans()[0].Name != "good" {
		t.Fatalf("partial success %v, errors %v, kept %v: want 3 rejected, the good one kept", resp.GetPartialSuccess(), r.Errors(), r.Spans())
	}
}
