package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// otelSQLTracer is sqlTracer for TRACING=otel: every query through the pool is a client span of
// the request's span, and a failed connection acquisition (database down) a failed one.
//
// Why not otelpgx (v0.9.3): it adds a pool.acquire span to every request and connect and prepare
// spans beside the query's, names spans after the whole SQL text, records metric instruments on
// each query, and sets only the current semantic conventions (db.namespace, db.query.text). The
// ADOT collector's X-Ray exporter builds X-Ray's sql block from db.system plus db.name,
// db.statement, db.user and db.connection_string in the versions deployed today, and from the
// newer names in later ones. This tracer sets both generations, one span per query, named like
// the X-Ray SQL subsegment ("<database>@<host>"), and never the query's arguments or a password.
type otelSQLTracer struct {
	tracer trace.Tracer
	name   string
	// startOpts start every span: a client span with the connection facts, built once (the
	// SDK copies the attributes into each span).
	startOpts []trace.SpanStartOption
}

var (
	_ pgx.QueryTracer       = (*otelSQLTracer)(nil)
	_ pgxpool.AcquireTracer = (*otelSQLTracer)(nil)
)

func newOTelSQLTracer(provider trace.TracerProvider, cfg dbConfig) *otelSQLTracer {
	return &otelSQLTracer{
		tracer: provider.Tracer("github.com/meshtrace/meshtrace/apps/products"),
		name:   cfg.Name + "@" + cfg.Host,
		startOpts: []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("db.system", "postgresql"),
			attribute.String("db.system.name", "postgresql"),
			attribute.String("db.name", cfg.Name),
			attribute.String("db.namespace", cfg.Name),
			attribute.String("db.user", cfg.User),
			attribute.String("db.connection_string", fmt.Sprintf("postgresql://%s:%d/%s", cfg.Host, cfg.Port, cfg.Name)),
			attribute.String("server.address", cfg.Host),
			attribute.Int("server.port", cfg.Port),
		)},
	}
}

func (t *otelSQLTracer) start(ctx context.Context, query string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if len(opts) > 0 { // a failed acquisition's start time; a query's span copies nothing here
		opts = append(opts, t.startOpts...)
	} else {
		opts = t.startOpts
	}
	ctx, span := t.tracer.Start(ctx, t.name, opts...)
	if query != "" {
		// pgx sends arguments separately from the text ($1, $2...), so the text holds no values.
		span.SetAttributes(attribute.String("db.statement", query), attribute.String("db.query.text", query))
	}
	return ctx, span
}

// TraceQueryStart opens the span, under the request's span when it is being recorded.
func (t *otelSQLTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx // unsampled, or not serving a request (e.g. a ping at start-up): no span
	}
	ctx, _ = t.start(ctx, data.SQL)
	return ctx
}

// TraceQueryEnd ends the span (for Query: when its rows are closed), with the error if any.
func (t *otelSQLTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	endSQLSpan(span, data.Err)
}

// TraceAcquireStart notes when the pool started looking for a connection.
func (t *otelSQLTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx
	}
	return context.WithValue(ctx, acquireStartKey{}, time.Now())
}

// TraceAcquireEnd records a failed acquisition as a failed SQL span from when it began: the query
// never ran, and without it the trace would not show that the database is what failed.
func (t *otelSQLTracer) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, data pgxpool.TraceAcquireEndData) {
	start, ok := ctx.Value(acquireStartKey{}).(time.Time)
	if !ok || data.Err == nil {
		return
	}
	_, span := t.start(ctx, "", trace.WithTimestamp(start))
	endSQLSpan(span, fmt.Errorf("acquire a database connection: %w", data.Err))
}

func endSQLSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		errorType := "_OTHER"
		if code := sqlState(err); code != "" {
			span.SetAttributes(attribute.String("db.response.status_code", code))
			errorType = code
		} else if pgconn.Timeout(err) {
			errorType = "timeout"
		}
		span.SetAttributes(attribute.String("error.type", errorType))
	}
	span.End()
}
