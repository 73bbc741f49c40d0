package testenv

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// The sinks of the in-process benchmarks (apps/internal/tracing's overhead_test.go, apps/products'
// bench_test.go): what a sampled request sends really goes out, but nothing reads it, so that the
// sender's work counts in the benchmark and the receiver's does not.

// DiscardSegments is a UDP socket on loopback that reads and drops what it is sent (as the X-Ray
// daemon's port), until the test or benchmark ends. It returns its address.
func DiscardSegments(tb testing.TB) string {
	tb.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := conn.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return conn.LocalAddr().String()
}

// DiscardOTLP is an OTLP/gRPC trace service on loopback that answers every export without
// decoding it (a codec that reads nothing), until the test or benchmark ends. It returns its
// endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT.
func DiscardOTLP(tb testing.TB) string {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	server := grpc.NewServer(grpc.ForceServerCodec(skipCodec{}))
	collectortrace.RegisterTraceServiceServer(server, discardTraces{})
	go func() { _ = server.Serve(lis) }()
	tb.Cleanup(server.Stop)
	return "http://" + lis.Addr().String()
}

type discardTraces struct {
	collectortrace.UnimplementedTraceServiceServer
}

func (discardTraces) Export(context.Context, *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// skipCodec leaves a request undecoded and answers an empty message (zero bytes in protobuf).
type skipCodec struct{}

func (skipCodec) Marshal(any) ([]byte, error) { return nil, nil }
func (skipCodec) Unmarshal([]byte, any) error { return nil }
func (skipCodec) Name() string                { return "proto" }

// ProcessCPU is the CPU time (user and system, every goroutine) this process used so far: a
// benchmark reports its growth per request as cpu-ns/op, which a loaded machine inflates far less
// than the wall time, and which counts the exporters' and the garbage collector's work on other
// cores too (the figure to compare with a service's CPU per request in make bench).
func ProcessCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
