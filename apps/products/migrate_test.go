package main

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meshtrace/meshtrace/internal/syncbuf"
	"github.com/meshtrace/meshtrace/internal/testenv"
)

const seedRows = 10

// latestVersion is the highest migration version in migrations/ (the number its name starts with).
func latestVersion(t *testing.T) int64 {
	t.Helper()
	names, err := fs.Glob(migrations(), "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	var last int64
	for _, name := range names {
		digits, _, _ := strings.Cut(name, "_")
		v, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			t.Fatalf("migration %s: no version: %v", name, err)
		}
		last = max(last, v)
	}
	return last
}

// appliedVersions lists goose's record of applied migrations: version -> times applied.
func appliedVersions(t *testing.T, pool *pgxpool.Pool) map[int64]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT version_id, count(*) FROM goose_db_version WHERE is_applied AND version_id > 0 GROUP BY version_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int64]int{}
	for rows.Next() {
		var v int64
		var n int
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		got[v] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// wantAppliedOnce checks that versions 1..last are each recorded once, and nothing else.
func wantAppliedOnce(t *testing.T, pool *pgxpool.Pool, last int64) {
	t.Helper()
	got := appliedVersions(t, pool)
	if len(got) != int(last) {
		t.Fatalf("applied versions %v, want 1..%d once each", got, last)
	}
	for v := int64(1); v <= last; v++ {
		if got[v] != 1 {
			t.Fatalf("applied versions %v, want 1..%d once each", got, last)
		}
	}
}

// withExtraMigration is the embedded migrations plus one more file on top.
func withExtraMigration(t *testing.T, name, sql string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations(), path)
		m[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	m[name] = &fstest.MapFile{Data: []byte(sql)}
	return m
}

func TestMigrateCreatesTheSchemaSeedsAndRunsAgainAsANoOp(t *testing.T) {
	db := newDatabase(t, sharedPostgres)
	db.migrate(t)
	pool := db.masterPool(t)
	ctx := context.Background()
	last := latestVersion(t)
	wantAppliedOnce(t, pool, last)
	if n := countProducts(t, pool); n != seedRows {
		t.Fatalf("%d rows after the first migration, want %d", n, seedRows)
	}

	// Rows someone changed stay as they are; rows that went missing come back with the seed.
	if _, err := pool.Exec(ctx, "UPDATE core.dim_product SET name = 'Renamed' WHERE product_id = 1; DELETE FROM core.dim_product WHERE product_id = 2"); err != nil {
		t.Fatal(err)
	}
	db.migrate(t)
	wantAppliedOnce(t, pool, last)
	var records int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version").Scan(&records); err != nil {
		t.Fatal(err)
	}
	if records != int(last)+1 { // goose's version 0 row, then one per migration
		t.Fatalf("%d rows in goose_db_version after a second run, want %d: the second run was not a no-op", records, last+1)
	}
	if n := countProducts(t, pool); n != seedRows {
		t.Fatalf("%d rows after the second migration, want %d", n, seedRows)
	}
	var name string
	if err := pool.QueryRow(ctx, "SELECT name FROM core.dim_product WHERE product_id = 1").Scan(&name); err != nil || name != "Renamed" {
		t.Fatalf("product 1 is %q (%v): the migration overwrote an existing row", name, err)
	}
}

func TestMigrateWithoutSeedAddsNoRows(t *testing.T) {
	db := newDatabase(t, sharedPostgres)
	cfg := db.migrateConfig()
	cfg.Seed = false // prod
	if err := runMigrate(context.Background(), cfg, migrations(), discardLog()); err != nil {
		t.Fatal(err)
	}
	if n := countProducts(t, db.masterPool(t)); n != 0 {
		t.Fatalf("%d rows without DB_SEED, want none: prod gets no dev data", n)
	}
}

func TestConcurrentMigrateRunsApplyEachMigrationOnce(t *testing.T) {
	db := newDatabase(t, sharedPostgres)
	const tasks = 3 // tasks of a new deployment starting at the same time, each with its own connections
	errs := make(chan error, tasks)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- runMigrate(context.Background(), db.migrateConfig(), migrations(), discardLog())
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a concurrent migrate run failed: %v", err)
		}
	}
	pool := db.masterPool(t)
	wantAppliedOnce(t, pool, latestVersion(t))
	if n := countProducts(t, pool); n != seedRows {
		t.Fatalf("%d rows after %d concurrent runs, want %d", n, tasks, seedRows)
	}
}

// Two runs racing only fail now and then without a lock, so the test above cannot reliably catch
// a missing one. This one can: while another session holds the migration lock, migrate waits.
func TestMigrateWaitsForTheMigrationLock(t *testing.T) {
	db := newDatabase(t, sharedPostgres)
	pool := db.masterPool(t)
	ctx := context.Background()
	holder, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Release()
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLockID)); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- runMigrate(ctx, db.migrateConfig(), migrations(), discardLog()) }()
	select {
	case err := <-done:
		t.Fatalf("migrate finished (%v) while another task held the migration lock", err)
	case <-time.After(1500 * time.Millisecond):
	}

	if _, err := holder.Exec(ctx, "SELECT pg_advisory_unlock($1)", int64(migrationLockID)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("migrate still waiting 10s after the lock was released")
	}
	wantAppliedOnce(t, pool, latestVersion(t))
}

func TestANewMigrationOnTopAppliesOnce(t *testing.T) {
	db := newDatabase(t, sharedPostgres)
	db.migrate(t)
	pool := db.masterPool(t)
	last := latestVersion(t)
	next := withExtraMigration(t, "99999_test_extra.sql", `-- +goose Up
CREATE TABLE core.test_extra (id integer PRIMARY KEY);
INSERT INTO core.test_extra VALUES (1);
-- +goose Down
DROP TABLE core.test_extra;
`)
	for run := 1; run <= 2; run++ {
		if err := runMigrate(context.Background(), db.migrateConfig(), next, discardLog()); err != nil {
			t.Fatalf("run %d with the new migration: %v", run, err)
		}
	}
	got := appliedVersions(t, pool)
	if got[99999] != 1 || len(got) != int(last)+1 {
		t.Fatalf("applied versions %v: want the new one once on top of 1..%d", got, last)
	}
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM core.test_extra").Scan(&n); err != nil || n != 1 {
		t.Fatalf("core.test_extra has %d rows (%v): the migration ran %d times", n, err, n)
	}
	// The app role's grants converge: a new table in core is not readable by it.
	var canRead bool
	if err := pool.QueryRow(context.Background(), "SELECT has_table_privilege($1, 'core.test_extra', 'SELECT')", db.role).Scan(&canRead); err != nil || canRead {
		t.Fatalf("the app role can read core.test_extra (%v): it should read core.dim_product only", err)
	}
}

// A migration that needs a table lock held by a long read gives up after lock_timeout, so the
// reads queued behind its lock request wait at most that long, and is retried until it gets it.
func TestAMigrationBlockedByAReadGivesWayAndIsRetried(t *testing.T) {
	db := newDatabase(t, sharedPostgres)
	db.migrate(t)
	master := db.masterPool(t)
	ctx := context.Background()

	// A long read holds ACCESS SHARE on core.dim_product.
	reader, err := master.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback(ctx)
	if _, err := reader.Exec(ctx, "SELECT count(*) FROM core.dim_product"); err != nil {
		t.Fatal(err)
	}

	cfg := db.migrateConfig()
	cfg.LockTimeout = 300 * time.Millisecond
	alter := withExtraMigration(t, "99998_test_add_column.sql", `-- +goose Up
ALTER TABLE core.dim_product ADD COLUMN test_note text;
-- +goose Down
ALTER TABLE core.dim_product DROP COLUMN test_note;
`)
	logs := &syncbuf.Buffer{}
	done := make(chan error, 1)
	go func() { done <- runMigrate(ctx, cfg, alter, slogTo(logs)) }()

	// Meanwhile, products keeps reading: each read waits at most about the lock timeout.
	app := newPool(t, db.appConfig(t), nil)
	for i := range 10 {
		started := time.Now()
		var n int
		if err := app.QueryRow(ctx, "SELECT count(*) FROM core.dim_product").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(started); took > 2*time.Second {
			t.Fatalf("read %d took %s while the migration waited for its lock: lock_timeout did not apply", i, took)
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("the migration finished (%v) while a read held its table", err)
	default:
	}
	if err := reader.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the migration failed once the read ended: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the migration did not finish 15s after the read ended")
	}
	if !strings.Contains(logs.String(), "55P03") {
		t.Errorf("no retry after lock_timeout (SQLSTATE 55P03) in the log:\n%s", logs)
	}
	if got := appliedVersions(t, master); got[99998] != 1 {
		t.Fatalf("applied versions %v, want 99998 once", got)
	}
}

func TestMigrationSessionTimeouts(t *testing.T) {
	db := newDatabase(t, sharedPostgres)
	cfg := db.migrateConfig()
	cfg.LockTimeout, cfg.StatementTimeout = 5*time.Second, 90*time.Second
	sqlDB, err := openMigrationDB(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	if n := sqlDB.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("migrate may open %d connections at once; the stack's connection budget counts 1 per task", n)
	}
	var lockTimeout, statementTimeout string
	if err := sqlDB.QueryRow("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')").Scan(&lockTimeout, &statementTimeout); err != nil {
		t.Fatal(err)
	}
	if lockTimeout != "5s" || statementTimeout != "90s" {
		t.Fatalf("lock_timeout %q statement_timeout %q, want 5s and 90s", lockTimeout, statementTimeout)
	}
}

func TestMigrateWaitsForTheDatabaseToComeUp(t *testing.T) {
	pg := testenv.StartPostgres(t) // stopped below
	db := newDatabase(t, pg)
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(time.Second)
		if err := pg.Start(); err != nil {
			t.Error(err)
		}
	}()
	if err := runMigrate(context.Background(), db.migrateConfig(), migrations(), discardLog()); err != nil {
		t.Fatalf("migrate did not wait for the database: %v", err)
	}
	if n := countProducts(t, db.masterPool(t)); n != seedRows {
		t.Fatalf("%d rows, want %d", n, seedRows)
	}
}

func TestMigrateGivesUp(t *testing.T) {
	db := newDatabase(t, sharedPostgres)
	cfg := db.migrateConfig()
	cfg.Port = 1 // nothing listens there: every attempt fails
	cfg.Wait = 1200 * time.Millisecond
	started := time.Now()
	if err := runMigrate(context.Background(), cfg, migrations(), discardLog()); err == nil {
		t.Fatal("migrate succeeded without a database")
	}
	if elapsed := time.Since(started); elapsed < time.Second || elapsed > 8*time.Second {
		t.Fatalf("gave up after %s, want about its 1.2s wait", elapsed)
	}
}

func TestMigrateStopsAtOnceOnAWrongPassword(t *testing.T) {
	db := newDatabase(t, sharedPostgres)
	cfg := db.migrateConfig()
	cfg.Password = "not-the-password"
	started := time.Now()
	err := runMigrate(context.Background(), cfg, migrations(), discardLog())
	if err == nil || !strings.Contains(err.Error(), "authentication failed") || !strings.Contains(err.Error(), "28P01") {
		t.Fatalf("error %v, want one naming the authentication failure and its SQLSTATE", err)
	}
	if elapsed := time.Since(started); elapsed > 5*time.Second {
		t.Fatalf("took %s: a wrong password is not worth waiting for", elapsed)
	}
}

func TestMigrateRefusesABrokenMigration(t *testing.T) {
	db := newDatabase(t, sharedPostgres)
	broken := withExtraMigration(t, "99997_test_broken.sql", "-- +goose Up\nCREATE TABLE core.oops (;\n")
	started := time.Now()
	err := runMigrate(context.Background(), db.migrateConfig(), broken, discardLog())
	if err == nil || sqlState(err) != "42601" {
		t.Fatalf("error %v, want the syntax error (42601)", err)
	}
	if elapsed := time.Since(started); elapsed > 5*time.Second {
		t.Fatalf("took %s: a broken migration is not retried", elapsed)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("timed out instead of failing")
	}
}
