package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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

// testDB is a database of its own on a test server, with the superuser (the stand-in for the
// RDS master user) as its owner.
type testDB struct {
	pg   *testenv.Postgres
	name string
	// role is the app role this test's migrations create: one per test, since roles are
	// shared by every database of the server.
	role string
}

// newDatabase creates an empty database on pg.
func newDatabase(t testing.TB, pg *testenv.Postgres) testDB {
	t.Helper()
	n := databaseCount.Add(1)
	name := fmt.Sprintf("test_%d_%s", n, strings.ToLower(t.Name()))
	if len(name) > 60 {
		name = name[:60]
	}
	if err := pg.CreateDatabase(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	return testDB{pg: pg, name: name, role: fmt.Sprintf("app_%d", n)}
}

// migrateConfig is what the migrate container gets for this database: the master user, the
// app role authenticated by password (set by the test), and the dev data set.
func (d testDB) migrateConfig() migrateConfig {
	return migrateConfig{
		Host: d.pg.Host, Port: d.pg.Port, Name: d.name, User: d.pg.User, Password: d.pg.Password, SSLMode: "disable",
		AppUser: d.role, AppAuth: appAuthPassword, Seed: true,
		Wait: 20 * time.Second, LockTimeout: 5 * time.Second, StatementTimeout: 60 * time.Second,
	}
}

// migrate runs `products migrate` in-process on the database.
func (d testDB) migrate(t testing.TB) {
	t.Helper()
	if err := runMigrate(context.Background(), d.migrateConfig(), migrations(), discardLog()); err != nil {
		t.Fatal(err)
	}
}

// masterPool is a pool on the database as its owner, for what a test sets up behind products'
// back. Closed when the test ends.
func (d testDB) masterPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), d.pg.DSNFor(d.name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// appConfig gives the app role a new password, writes it to a password file, and returns
// products' settings for the role with that file as the credential source.
func (d testDB) appConfig(t testing.TB) dbConfig {
	t.Helper()
	file := filepath.Join(t.TempDir(), "db-password")
	password := testenv.RandomPassword()
	if err := d.pg.SetRolePassword(context.Background(), d.role, password); err != nil {
		t.Fatal(err)
	}
	if err := testenv.WritePasswordFile(file, password); err != nil {
		t.Fatal(err)
	}
	return dbConfig{
		Host: d.pg.Host, Port: d.pg.Port, Name: d.name, User: d.role, SSLMode: "disable",
		Auth: authPasswordFile, PasswordFile: file, MaxConns: 10, MinConns: 1, QueryTimeout: 2 * time.Second,
	}
}

// newPool opens products' pool on cfg with its configured credential source (or src), closed
// when the test ends.
func newPool(t testing.TB, cfg dbConfig, src credentialSource) *pgxpool.Pool {
	t.Helper()
	if src == nil {
		var err error
		if src, err = newCredentialSource(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	pool, err := openPool(context.Background(), cfg, src, newSQLTracer(cfg))
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
