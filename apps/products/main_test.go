package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// sharedPostgres serves every test that does not stop its database; each test gets a database
// of its own on it.
var sharedPostgres *testenv.Postgres

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "products-test-postgres-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if sharedPostgres, err = testenv.StartPostgresProcess(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer sharedPostgres.Close()
	return m.Run()
}

var databaseCount atomic.Int64

// newDatabase creates an empty database on pg and returns the products settings for it.
func newDatabase(t *testing.T, pg *testenv.Postgres) dbConfig {
	t.Helper()
	name := fmt.Sprintf("test_%d_%s", databaseCount.Add(1), strings.ToLower(t.Name()))
	if len(name) > 60 {
		name = name[:60]
	}
	if err := pg.CreateDatabase(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	return dbConfig{Host: pg.Host, Port: pg.Port, Name: name, User: pg.User, Password: pg.Password, SSLMode: "disable", QueryTimeout: 2 * time.Second}
}

// newPool opens products' pool on cfg, closed when the test ends.
func newPool(t *testing.T, cfg dbConfig) *pgxpool.Pool {
	t.Helper()
	pool, err := openPool(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// countProducts counts the rows of core.dim_product.
func countProducts(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM core.dim_product").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
