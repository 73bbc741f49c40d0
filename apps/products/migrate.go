package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockKey is the advisory lock every products task takes before migrating. Any constant
// works as long as it is the same in every task and nothing else uses it.
const migrationLockKey = 7_314_829_001

// migrate applies the embedded SQL files in name order, in one transaction, holding an advisory
// lock: CREATE ... IF NOT EXISTS is not safe against a concurrent CREATE of the same object (one
// of two tasks starting together fails on a unique violation in the catalog), so the second task
// waits for the first to commit and then finds everything in place.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // a no-op once committed

	// Released by the commit or rollback, or by the server if this task dies mid-way.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLockKey)); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	for _, name := range names {
		script, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		// The simple protocol runs a multi-statement script in one round trip.
		if _, err := tx.Conn().PgConn().Exec(ctx, string(script)).ReadAll(); err != nil {
			return fmt.Errorf("apply %s: %w", name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	return nil
}

// migrateUntil retries migrate until it succeeds or wait has passed, so a task that starts while
// the database is still coming up (or restarting) does not crash-loop.
func migrateUntil(ctx context.Context, pool *pgxpool.Pool, wait time.Duration, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for attempt := 1; ; attempt++ {
		attemptCtx, cancelAttempt := context.WithTimeout(ctx, 10*time.Second)
		err := migrate(attemptCtx, pool)
		cancelAttempt()
		if err == nil {
			log.Info("schema ready", "attempts", attempt)
			return nil
		}
		log.Warn("migration failed, retrying", "attempt", attempt, "error", err.Error())
		select {
		case <-ctx.Done():
			return fmt.Errorf("database not ready after %s: %w", wait, err)
		case <-time.After(time.Second):
		}
	}
}
