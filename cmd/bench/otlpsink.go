package main

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// spanSink stands in for the ADOT collector in the otel configurations: an OTLP/gRPC trace
// receiver that decodes each export and counts its spans, then drops them. Like segmentSink, it
// lets the services do all their work (batching, protobuf, gRPC) without a collector's own CPU
// competing with them for the machine.
type spanSink struct {
	coltracepb.UnimplementedTraceServiceServer
	ln     net.Listener
	server *grpc.Server
	spans  atomic.Int64
}

func listenSpans() (*spanSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for OTLP: %w", err)
	}
	s := &spanSink{ln: ln, server: grpc.NewServer()}
	coltracepb.RegisterTraceServiceServer(s.server, s)
	go func() { _ = s.server.Serve(ln) }()
	return s, nil
}

// Export counts the spans of one batch.
func (s *spanSink) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	var n int64
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			n += int64(len(ss.GetSpans()))
		}
	}
	s.spans.Add(n)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// Endpoint is the address for OTEL_EXPORTER_OTLP_ENDPOINT.
func (s *spanSink) Endpoint() string { return "http://" + s.ln.Addr().String() }

// Count is how many spans arrived so far.
func (s *spanSink) Count() int64 { return s.spans.Load() }

func (s *spanSink) Close() { s.server.Stop() }
