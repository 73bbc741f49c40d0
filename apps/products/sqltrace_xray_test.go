package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The ADOT collector's X-Ray exporter turns a span into an SQL subsegment only when db.system
// names an SQL database, and fills the sql block from db.name, db.user, db.statement and
// db.connection_string (exporter/awsxrayexporter, internal/translator/sql.go; docs/tracing.md).
// The newer names (db.namespace, db.query.text, db.system.name) are set too; the e2e tests
// check them with a real query.
func TestOTelSQLSpansCarryWhatTheXRayExporterReads(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	tracer := newOTelSQLTracer(provider, dbConfig{Host: "db.internal", Port: 5432, Name: "DataWarehouseX", User: "products_app"})

	ctx, request := provider.Tracer("test").Start(context.Background(), "GET /api/1.0/products")
	ctx = tracer.TraceQueryStart(ctx, nil, pgx.TraceQueryStartData{SQL: "SELECT 1"})
	tracer.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{})
	request.End()

	var query sdktrace.ReadOnlySpan
	for _, s := range recorder.Ended() {
		if s.Name() == "DataWarehouseX@db.internal" {
			query = s
		}
	}
	if query == nil {
		t.Fatalf("no SQL span among %d", len(recorder.Ended()))
	}
	if query.SpanKind() != trace.SpanKindClient {
		t.Errorf("kind %s, want client", query.SpanKind())
	}
	attrs := map[string]string{}
	for _, kv := range query.Attributes() {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	// The database systems the translator takes for SQL (its isSQL).
	if sqlSystems := []string{"db2", "derby", "hive", "mariadb", "mssql", "mysql", "oracle", "postgresql", "sqlite", "teradata", "other_sql"}; !slices.Contains(sqlSystems, attrs["db.system"]) {
		t.Errorf("db.system %q: the exporter makes no SQL subsegment of it", attrs["db.system"])
	}
	for k, want := range map[string]string{
		"db.name": "DataWarehouseX", "db.user": "products_app", "db.statement": "SELECT 1",
		"db.connection_string": "postgresql://db.internal:5432/DataWarehouseX",
	} {
		if attrs[k] != want {
			t.Errorf("%s = %q, want %q (attributes %v)", k, attrs[k], want, attrs)
		}
	}
	if strings.Contains(attrs["db.connection_string"], "@") {
		t.Errorf("connection string %q carries credentials", attrs["db.connection_string"])
	}
}

// TestOTelFailedAcquisitionIsAFailedSQLSpan: a connection that could not be had is a client SQL
// span from when the pool began looking for one, failed, with the connection facts and no query.
func TestOTelFailedAcquisitionIsAFailedSQLSpan(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	tracer := newOTelSQLTracer(provider, dbConfig{Host: "db.internal", Port: 5432, Name: "DataWarehouseX", User: "products_app"})

	ctx, request := provider.Tracer("test").Start(context.Background(), "GET /api/1.0/products")
	before := time.Now()
	ctx = tracer.TraceAcquireStart(ctx, nil, pgxpool.TraceAcquireStartData{})
	time.Sleep(2 * time.Millisecond)
	tracer.TraceAcquireEnd(ctx, nil, pgxpool.TraceAcquireEndData{Err: errors.New("connection refused")})
	request.End()

	spans := recorder.Ended()
	if len(spans) != 2 || spans[0].Name() != "DataWarehouseX@db.internal" {
		t.Fatalf("%d spans, want the failed SQL span then the request's", len(spans))
	}
	s := spans[0]
	attrs := map[string]string{}
	for _, kv := range s.Attributes() {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	if s.SpanKind() != trace.SpanKindClient || s.Status().Code != codes.Error || !strings.Contains(s.Status().Description, "acquire a database connection") {
		t.Errorf("kind %s status %v, want a failed client span", s.SpanKind(), s.Status())
	}
	if s.StartTime().Before(before) || s.EndTime().Sub(s.StartTime()) < 2*time.Millisecond {
		t.Errorf("span [%s, %s], want it from the acquisition's start (%s)", s.StartTime(), s.EndTime(), before)
	}
	if attrs["db.system"] != "postgresql" || attrs["db.connection_string"] != "postgresql://db.internal:5432/DataWarehouseX" || attrs["db.statement"] != "" {
		t.Errorf("attributes %v, want the connection facts and no statement", attrs)
	}
}
