package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
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
