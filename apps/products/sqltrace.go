package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// sqlTracer makes every query run through the pool an X-Ray SQL subsegment of the request's
// segment: named "<database>@<host>" with namespace "remote" and a "sql" block, the same shape
// the SDK's own database/sql wrapper (xray.SQLContext) produces.
//
// Why not xray.SQLContext: it only wraps database/sql, so it would replace pgxpool with
// database/sql's pool over pgx's stdlib adapter; its wrapper opens connections outside any
// subsegment, so when the database is down nothing in the trace points at it; and it runs an
// extra query on every new connection. pgx's tracer hooks see every query and every failed
// connection attempt, with the pool kept as is.
type sqlTracer struct {
	name string       // the database's node in the service map
	sql  xray.SQLData // connection facts shared by every subsegment; never the password
}

var (
	_ pgx.QueryTracer       = (*sqlTracer)(nil)
	_ pgxpool.AcquireTracer = (*sqlTracer)(nil)
)

func newSQLTracer(cfg dbConfig) *sqlTracer {
	return &sqlTracer{
		name: cfg.Name + "@" + cfg.Host,
		sql: xray.SQLData{
			URL:           "postgresql://" + cfg.Host + ":" + strconv.Itoa(cfg.Port) + "/" + cfg.Name,
			DatabaseType:  "PostgreSQL",
			DriverVersion: "github.com/jackc/pgx/v5",
			User:          cfg.User,
		},
	}
}

type (
	sqlSubsegmentKey struct{}
	acquireStartKey  struct{}
)

// TraceQueryStart opens the subsegment; pgx passes the returned context to TraceQueryEnd.
func (t *sqlTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if xray.GetSegment(ctx) == nil {
		return ctx // not serving a traced request (e.g. the start-up migration): nothing to attach to
	}
	ctx, seg := xray.BeginSubsegment(ctx, t.name)
	t.describe(seg, data.SQL, conn.PgConn().ParameterStatus("server_version"))
	return context.WithValue(ctx, sqlSubsegmentKey{}, seg)
}

// TraceQueryEnd closes the subsegment when the query is done (for Query: when its rows are
// closed), marking it as a fault with the error if the query failed.
func (t *sqlTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	if seg, ok := ctx.Value(sqlSubsegmentKey{}).(*xray.Segment); ok {
		seg.Close(data.Err)
	}
}

// TraceAcquireStart notes when the pool started looking for a connection.
func (t *sqlTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	if xray.GetSegment(ctx) == nil {
		return ctx
	}
	return context.WithValue(ctx, acquireStartKey{}, time.Now())
}

// TraceAcquireEnd records a failed acquisition (database down or unreachable) as a faulted SQL
// subsegment: the query never ran, so TraceQueryStart was not called, and without this the
// trace would not show that the database is what failed.
func (t *sqlTracer) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, data pgxpool.TraceAcquireEndData) {
	start, ok := ctx.Value(acquireStartKey{}).(time.Time)
	if !ok || data.Err == nil {
		return
	}
	_, seg := xray.BeginSubsegment(ctx, t.name)
	t.describe(seg, "", "")
	seg.Lock()
	seg.StartTime = float64(start.UnixNano()) / float64(time.Second)
	seg.Unlock()
	seg.Close(fmt.Errorf("acquire a database connection: %w", data.Err))
}

func (t *sqlTracer) describe(seg *xray.Segment, query, serverVersion string) {
	sql := t.sql
	// pgx sends arguments separately from the text ($1, $2...), so the text holds no values.
	sql.SanitizedQuery = query
	sql.DatabaseVersion = serverVersion
	seg.Lock()
	seg.Namespace = "remote"
	seg.SQL = &sql
	seg.Unlock()
}
