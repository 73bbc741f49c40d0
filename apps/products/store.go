package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// product is one row of core.dim_product.
type product struct {
	ProductID int64   `json:"product_id"`
	SKU       string  `json:"sku"`
	Name      string  `json:"name"`
	Category  string  `json:"category"`
	ListPrice float64 `json:"list_price"`
}

// store reads the warehouse through a pgx pool whose every query is an X-Ray SQL subsegment (or an
// OpenTelemetry span).
type store struct {
	pool         *pgxpool.Pool
	queryTimeout time.Duration
	log          *slog.Logger
}

// Pool lifetimes. A connection is replaced after maxConnLifetime (plus up to the jitter, so the
// tasks' connections do not all reconnect at once), which also bounds how long a connection
// opened with a credential that has since been revoked lives on; idle ones go after
// maxConnIdleTime. An IAM token only matters when a connection is opened.
const (
	maxConnLifetime       = 15 * time.Minute
	maxConnLifetimeJitter = time.Minute
	maxConnIdleTime       = 5 * time.Minute
)

// openPool creates the pool without connecting: connections are made on first use, so a
// database that is down does not stop products from starting or serving /healthz. Every new
// connection gets its password from src. tracer (sqlTracer, otelSQLTracer or nil) traces the
// queries and failed acquisitions.
func openPool(ctx context.Context, cfg dbConfig, src credentialSource, tracer pgx.QueryTracer) (*pgxpool.Pool, error) {
	poolCfg, err := pgxpool.ParseConfig(cfg.connString())
	if err != nil {
		return nil, fmt.Errorf("database settings (DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_SSLMODE, DB_SSLROOTCERT) do not form a valid connection: %w", err)
	}
	poolCfg.ConnConfig.ConnectTimeout = cfg.QueryTimeout
	poolCfg.ConnConfig.Tracer = tracer
	poolCfg.BeforeConnect = beforeConnect(src)
	poolCfg.MaxConns = int32(cfg.MaxConns)
	poolCfg.MinConns = int32(cfg.MinConns)
	poolCfg.MaxConnLifetime = maxConnLifetime
	poolCfg.MaxConnLifetimeJitter = maxConnLifetimeJitter
	poolCfg.MaxConnIdleTime = maxConnIdleTime
	return pgxpool.NewWithConfig(ctx, poolCfg)
}

// errBadRow marks a row that does not fit product: our bug, not the database's state.
var errBadRow = errors.New("core.dim_product row does not scan into product")

// The page queries: keyset pagination on the primary key, one row more than the page to know
// whether another page follows.
const (
	listProductsSQL      = `SELECT product_id, sku, name, category, list_price FROM core.dim_product ORDER BY product_id LIMIT $1`
	listProductsAfterSQL = `SELECT product_id, sku, name, category, list_price FROM core.dim_product WHERE product_id > $1 ORDER BY product_id LIMIT $2`
)

// page is one page of products; More says whether rows follow the last one.
type page struct {
	Products []product
	More     bool
}

// listProducts returns up to limit products with product_id above *after (from the first when
// after is nil). A read that failed because its connection was lost (the server terminated it,
// or the connection could not be opened with the credential of the moment) is tried once more,
// on a new connection: the query only reads, so running it twice is harmless.
func (s *store) listProducts(ctx context.Context, limit int, after *int64) (page, error) {
	ctx, cancel := context.WithTimeout(ctx, s.queryTimeout)
	defer cancel()
	p, err := s.readPage(ctx, limit, after)
	if err != nil && s.beforeRetry(ctx, err) {
		p, err = s.readPage(ctx, limit, after)
	}
	return p, err
}

// beforeRetry tells whether a read that failed with err is tried again, and prepares the pool
// for it. A connection the server closed under a read (terminated, failed over, restarted) is
// rarely the only one: the other idle connections of the pool are most likely closed too, and
// a retry could pick one of them. So the pool is reset first (idle connections closed now,
// connections in use when they come back), as pgx advises for errors that disrupt every
// connection, and the retry opens a new one.
func (s *store) beforeRetry(ctx context.Context, err error) bool {
	if !retryable(err) || ctx.Err() != nil {
		return false
	}
	if !authenticationFailed(err) {
		s.pool.Reset()
	}
	if s.log != nil {
		s.log.Warn("retrying a read on a new connection", "error", err.Error(), "sqlstate", sqlState(err))
	}
	return true
}

func (s *store) readPage(ctx context.Context, limit int, after *int64) (page, error) {
	var (
		rows pgx.Rows
		err  error
	)
	if after == nil {
		rows, err = s.pool.Query(ctx, listProductsSQL, limit+1)
	} else {
		rows, err = s.pool.Query(ctx, listProductsAfterSQL, *after, limit+1)
	}
	if err != nil {
		return page{}, err
	}
	defer rows.Close()
	products := make([]product, 0, min(limit+1, 64))
	for rows.Next() {
		var p product
		if err := rows.Scan(&p.ProductID, &p.SKU, &p.Name, &p.Category, &p.ListPrice); err != nil {
			return page{}, fmt.Errorf("%w: %w", errBadRow, err)
		}
		products = append(products, p)
	}
	if err := rows.Err(); err != nil {
		return page{}, err
	}
	if len(products) > limit {
		return page{Products: products[:limit], More: true}, nil
	}
	return page{Products: products}, nil
}

// ping checks that the database answers on a connection of the pool (opening one if needed).
func (s *store) ping(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := s.pool.Ping(ctx)
	if err != nil && s.beforeRetry(ctx, err) {
		err = s.pool.Ping(ctx)
	}
	return err
}

// sqlState is the SQLSTATE of the server's error in err, or "" when the server did not answer.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// authenticationFailed tells an error of SQLSTATE class 28 (invalid authorization
// specification: 28P01 invalid_password, 28000), which is what a rotated or expired credential
// gets when a connection is opened.
func authenticationFailed(err error) bool {
	return strings.HasPrefix(sqlState(err), "28")
}

// retryable tells whether a read that failed with err is worth one more try on a new
// connection: the connection was closed under it (SQLSTATE 57P01 admin_shutdown, as after
// pg_terminate_backend or a failover, or closed without a word), or could not be opened with the
// credential of that moment (class 28: the source gives a fresh one at the next connection).
// A timeout is not (the time is spent), nor a server that cannot be reached.
func retryable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || pgconn.Timeout(err) {
		return false
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		// No connection could be opened: only a refused credential may go better at once.
		return authenticationFailed(err)
	}
	switch code := sqlState(err); {
	case code == "57P01", strings.HasPrefix(code, "28"), strings.HasPrefix(code, "08"):
		return true
	case code != "":
		return false // the server answered: the same query would get the same answer
	}
	// No answer from the server: a connection closed under the query, or one that could not be
	// opened. Both go to a new connection on the next try.
	return !errors.Is(err, errBadRow)
}

// databaseUnavailable tells a database that cannot answer now (unreachable, timed out, shutting
// down, starting up, out of connections, refusing our credential: worth a 503 and a retry) from
// a query the database refused (a bug: 500).
func databaseUnavailable(err error) bool {
	if errors.Is(err, errBadRow) {
		return false
	}
	code := sqlState(err)
	if code == "" {
		return true // no answer from the server at all: network, timeout, closed connection
	}
	// SQLSTATE classes 08 connection exception, 28 invalid authorization, 53 insufficient
	// resources, 57 operator intervention.
	for _, class := range []string{"08", "28", "53", "57"} {
		if strings.HasPrefix(code, class) {
			return true
		}
	}
	return false
}
