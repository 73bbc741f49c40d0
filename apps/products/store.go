package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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

// store reads the warehouse through a pgx pool whose every query is an X-Ray SQL subsegment.
type store struct {
	pool         *pgxpool.Pool
	queryTimeout time.Duration
}

// openPool creates the pool without connecting: connections are made on first use, so a
// database that is down does not stop products from starting its retry loop or serving /healthz.
func openPool(ctx context.Context, cfg dbConfig) (*pgxpool.Pool, error) {
	poolCfg, err := pgxpool.ParseConfig(cfg.connString())
	if err != nil {
		// The error would quote the URL, password included: name the fields instead.
		return nil, fmt.Errorf("database settings (DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_SSLMODE) do not form a valid connection string")
	}
	poolCfg.ConnConfig.ConnectTimeout = cfg.QueryTimeout
	poolCfg.ConnConfig.Tracer = newSQLTracer(cfg)
	return pgxpool.NewWithConfig(ctx, poolCfg)
}

// errBadRow marks a row that does not fit product: our bug, not the database's state.
var errBadRow = errors.New("core.dim_product row does not scan into product")

const listProductsSQL = `SELECT product_id, sku, name, category, list_price FROM core.dim_product ORDER BY product_id`

func (s *store) listProducts(ctx context.Context) ([]product, error) {
	ctx, cancel := context.WithTimeout(ctx, s.queryTimeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, listProductsSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	products := []product{}
	for rows.Next() {
		var p product
		if err := rows.Scan(&p.ProductID, &p.SKU, &p.Name, &p.Category, &p.ListPrice); err != nil {
			return nil, fmt.Errorf("%w: %w", errBadRow, err)
		}
		products = append(products, p)
	}
	return products, rows.Err()
}

// databaseUnavailable tells a database that cannot answer now (unreachable, timed out, shutting
// down, starting up, out of connections: worth a 503 and a retry) from a query the database
// refused (a bug: 500).
func databaseUnavailable(err error) bool {
	if errors.Is(err, errBadRow) {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return true // no answer from the server at all: network, timeout, closed connection
	}
	// SQLSTATE classes 08 connection exception, 53 insufficient resources, 57 operator intervention.
	return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "53") || strings.HasPrefix(pgErr.Code, "57")
}
