package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

const seedRows = 10

func TestMigrateCreatesTheSchemaAndSeedsOnce(t *testing.T) {
	pool := newPool(t, newDatabase(t, sharedPostgres))
	ctx := context.Background()

	if err := migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if n := countProducts(t, pool); n != seedRows {
		t.Fatalf("%d rows after the first migration, want %d", n, seedRows)
	}

	// Rows someone changed stay as they are; rows that went missing come back.
	if _, err := pool.Exec(ctx, "UPDATE core.dim_product SET name = 'Renamed' WHERE product_id = 1; DELETE FROM core.dim_product WHERE product_id = 2"); err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, pool); err != nil {
		t.Fatalf("second migration: %v", err)
	}
	if n := countProducts(t, pool); n != seedRows {
		t.Fatalf("%d rows after the second migration, want %d", n, seedRows)
	}
	var name string
	if err := pool.QueryRow(ctx, "SELECT name FROM core.dim_product WHERE product_id = 1").Scan(&name); err != nil || name != "Renamed" {
		t.Fatalf("product 1 is %q (%v): the migration overwrote an existing row", name, err)
	}
}

func TestConcurrentMigrationsAllSucceed(t *testing.T) {
	pool := newPool(t, newDatabase(t, sharedPostgres))
	const tasks = 4 // products tasks starting at the same time
	errs := make(chan error, tasks)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- migrate(context.Background(), pool)
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a concurrent migration failed: %v", err)
		}
	}
	if n := countProducts(t, pool); n != seedRows {
		t.Fatalf("%d rows after %d concurrent migrations, want %d", n, tasks, seedRows)
	}
}

// Two tasks racing on CREATE ... IF NOT EXISTS fail only now and then, so the test above cannot
// reliably catch a missing lock. This one can: while another session holds the migration lock,
// migrate must wait.
func TestMigrateWaitsForTheMigrationLock(t *testing.T) {
	pool := newPool(t, newDatabase(t, sharedPostgres))
	ctx := context.Background()
	holder, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Release()
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLockKey)); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- migrate(ctx, pool) }()
	select {
	case err := <-done:
		t.Fatalf("migrate finished (%v) while another task held the migration lock", err)
	case <-time.After(300 * time.Millisecond):
	}

	if _, err := holder.Exec(ctx, "SELECT pg_advisory_unlock($1)", int64(migrationLockKey)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("migrate still waiting after the lock was released")
	}
	if n := countProducts(t, pool); n != seedRows {
		t.Fatalf("%d rows, want %d", n, seedRows)
	}
}

func TestMigrateUntilWaitsForTheDatabaseToComeUp(t *testing.T) {
	pg := testenv.StartPostgres(t) // stopped below
	pool := newPool(t, newDatabase(t, pg))
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(500 * time.Millisecond)
		if err := pg.Start(); err != nil {
			t.Error(err)
		}
	}()
	if err := migrateUntil(context.Background(), pool, 20*time.Second, discardLog()); err != nil {
		t.Fatalf("migrateUntil did not wait for the database: %v", err)
	}
	if n := countProducts(t, pool); n != seedRows {
		t.Fatalf("%d rows, want %d", n, seedRows)
	}
}

func TestMigrateUntilGivesUp(t *testing.T) {
	cfg := newDatabase(t, sharedPostgres)
	cfg.Port = 1 // nothing listens there: every attempt fails
	pool := newPool(t, cfg)
	started := time.Now()
	if err := migrateUntil(context.Background(), pool, 1200*time.Millisecond, discardLog()); err == nil {
		t.Fatal("migrateUntil succeeded without a database")
	}
	if elapsed := time.Since(started); elapsed < time.Second || elapsed > 5*time.Second {
		t.Fatalf("gave up after %s, want about its 1.2s wait", elapsed)
	}
}
