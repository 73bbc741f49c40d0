package main

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/apps/internal/env"
)

// migrationFiles are the versioned schema migrations (goose SQL files), embedded in the binary.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// seedSQL is what DB_SEED=true adds after the migrations: the dev data set. It is not a
// migration, so prod (DB_SEED unset) never gets these rows.
//
//go:embed seed/dev_products.sql
var seedSQL string

// migrations is the migrations directory as goose reads it.
func migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// App role authentication modes (DB_APP_AUTH).
const (
	// appAuthIAM grants rds_iam (where it exists: on RDS) and removes any password.
	appAuthIAM = "iam"
	// appAuthPassword leaves authentication to whoever runs the system (tests and local runs
	// set a password).
	appAuthPassword = "password"
)

// migrateConfig is what `products migrate` reads from its environment. It connects as the master
// (owner) user, which is why it, and not the serving app, takes DB_PASSWORD.
type migrateConfig struct {
	Host, Name, User, Password string
	Port                       int
	SSLMode, SSLRootCert       string

	// AppUser is the role products serves as; AppAuth how it authenticates.
	AppUser, AppAuth string
	// Seed adds the dev data set.
	Seed bool

	// Wait bounds the retries while the database comes up (or a lock is busy).
	Wait time.Duration
	// LockTimeout and StatementTimeout are set on the migration's session, so that a migration
	// waiting for a table lock gives up (and is retried) instead of queueing every read of that
	// table behind it.
	LockTimeout, StatementTimeout time.Duration
}

func loadMigrateConfig(lookup env.LookupFunc) (migrateConfig, error) {
	r := env.NewReader(lookup)
	cfg := migrateConfig{
		Host:             r.Required("DB_HOST"),
		Port:             r.Port("DB_PORT", 5432),
		Name:             r.String("DB_NAME", contract.DatabaseName),
		User:             r.Required("DB_USER"),
		Password:         r.Required("DB_PASSWORD"),
		SSLMode:          r.OneOf("DB_SSLMODE", "require", sslModes...),
		SSLRootCert:      r.String("DB_SSLROOTCERT", ""),
		AppUser:          r.Required("DB_APP_USER"),
		AppAuth:          r.OneOf("DB_APP_AUTH", "", appAuthIAM, appAuthPassword),
		Seed:             r.Bool("DB_SEED", false),
		Wait:             r.Duration("DB_MIGRATE_WAIT", 60*time.Second),
		LockTimeout:      r.Duration("DB_LOCK_TIMEOUT", 5*time.Second),
		StatementTimeout: r.Duration("DB_STATEMENT_TIMEOUT", 60*time.Second),
	}
	if err := r.Err(); err != nil {
		return migrateConfig{}, err
	}
	if err := checkRoleName("DB_APP_USER", cfg.AppUser); err != nil {
		return migrateConfig{}, err
	}
	if cfg.AppUser == cfg.User {
		return migrateConfig{}, fmt.Errorf("DB_APP_USER=%q is the master user DB_USER: the app role must be a role of its own", cfg.AppUser)
	}
	if err := checkSSLRootCert(cfg.SSLMode, cfg.SSLRootCert); err != nil {
		return migrateConfig{}, err
	}
	return cfg, nil
}

// openMigrationDB opens a database/sql handle (goose's interface) on pgx, with the session's
// lock and statement timeouts set at connection start.
func openMigrationDB(cfg migrateConfig) (*sql.DB, error) {
	connCfg, err := pgx.ParseConfig(connURL(cfg.Host, cfg.Port, cfg.Name, url.UserPassword(cfg.User, cfg.Password), cfg.SSLMode, cfg.SSLRootCert))
	if err != nil {
		return nil, errors.New("database settings (DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_SSLMODE, DB_SSLROOTCERT) do not form a valid connection")
	}
	connCfg.ConnectTimeout = 5 * time.Second
	connCfg.RuntimeParams["lock_timeout"] = strconv.FormatInt(cfg.LockTimeout.Milliseconds(), 10) + "ms"
	connCfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10) + "ms"
	connCfg.RuntimeParams["application_name"] = "products-migrate"
	db := stdlib.OpenDB(*connCfg)
	db.SetMaxOpenConns(1) // one session at a time: goose's locked one, then the role and seed steps (the stack counts 1 per task)
	return db, nil
}

// runMigrate is `products migrate`: wait for the database, apply the pending migrations, bring
// the app role and its grants to what this version needs, add the dev data set if asked. It is
// safe to run from several tasks at once and to run again (a no-op the second time).
func runMigrate(ctx context.Context, cfg migrateConfig, fsys fs.FS, log *slog.Logger) error {
	db, err := openMigrationDB(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	giveUp := time.Now().Add(cfg.Wait)
	if err := waitForDatabase(ctx, db, giveUp, log); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := migrateDatabase(ctx, db, fsys, cfg, log)
		if err == nil {
			return nil
		}
		if !migrationRetryable(err) || time.Now().After(giveUp) {
			return err
		}
		log.Warn("migration attempt failed, retrying", "attempt", attempt, "error", err.Error(), "sqlstate", sqlState(err))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

// waitForDatabase pings until the database answers or giveUp passes. A refused login stops it at
// once: waiting does not change a wrong password.
func waitForDatabase(ctx context.Context, db *sql.DB, giveUp time.Time, log *slog.Logger) error {
	for attempt := 1; ; attempt++ {
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := db.PingContext(pingCtx)
		cancel()
		if err == nil {
			return nil
		}
		if authenticationFailed(err) {
			return fmt.Errorf("database authentication failed for DB_USER (SQLSTATE %s): %w", sqlState(err), err)
		}
		if time.Now().After(giveUp) || ctx.Err() != nil {
			return fmt.Errorf("database not reachable: %w", err)
		}
		log.Warn("database not reachable yet, retrying", "attempt", attempt, "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// migrationRetryable tells a failure that another attempt may get past: the connection was lost
// or refused (the database restarting), or a lock was not granted within lock_timeout.
func migrationRetryable(err error) bool {
	switch code := sqlState(err); {
	case code == "55P03", code == "57P01", code == "57P03", code == "40P01", strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"):
		return true
	case code != "":
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// migrationLockID is the advisory lock goose's session locker takes around the migrations, and
// appRoleLockID the one around the role and seed step. Any constants work, as long as every
// task uses the same ones and nothing else does.
const (
	migrationLockID = 7_314_829_001
	appRoleLockID   = 7_314_829_002
)

// newMigrationProvider is the goose provider for fsys on db: PostgreSQL dialect, versions in
// goose_db_version, a session-level advisory lock around each run (polled every second, for up
// to 5 minutes) so that concurrent runs apply each migration once.
func newMigrationProvider(db *sql.DB, fsys fs.FS, log *slog.Logger) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(log),
	)
}

// migrateDatabase is one attempt: migrations, then the app role, then the seed.
func migrateDatabase(ctx context.Context, db *sql.DB, fsys fs.FS, cfg migrateConfig, log *slog.Logger) error {
	provider, err := newMigrationProvider(db, fsys, log)
	if err != nil {
		return err
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	version, err := provider.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	log.Info("migrations applied", "applied_now", len(results), "schema_version", version)

	// CREATE ROLE races with a run on another database of the same server (roles are per
	// server, advisory locks per database): the loser of the race tries once more.
	err = ensureAppRole(ctx, db, cfg, log)
	if code := sqlState(err); code == "42710" || code == "23505" {
		err = ensureAppRole(ctx, db, cfg, log)
	}
	if err != nil {
		return fmt.Errorf("app role %s: %w", cfg.AppUser, err)
	}
	if cfg.Seed {
		if _, err := db.ExecContext(ctx, seedSQL); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		log.Info("dev data set added (DB_SEED=true)")
	}
	return nil
}

// ensureAppRole creates the app role if needed and sets its privileges to exactly what products
// needs, in one transaction (products never sees a moment without its SELECT): LOGIN; USAGE on
// schema core and SELECT on core.dim_product; nothing else on core. PUBLIC loses CREATE on
// schema public (already so since PostgreSQL 15) and TEMPORARY on this database. With
// DB_APP_AUTH=iam the role is granted rds_iam where that role exists (on RDS) and has no
// password.
func ensureAppRole(ctx context.Context, db *sql.DB, cfg migrateConfig, log *slog.Logger) (err error) {
	role := pgx.Identifier{cfg.AppUser}.Sanitize()
	database := pgx.Identifier{cfg.Name}.Sanitize()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(appRoleLockID)); err != nil {
		return err
	}
	var exists, hasRDSIAM bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1), EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam')", cfg.AppUser).Scan(&exists, &hasRDSIAM); err != nil {
		return err
	}
	statements := []string{}
	if exists {
		statements = append(statements, "ALTER ROLE "+role+" LOGIN")
	} else {
		// The defaults are what it should be: no superuser, no CREATEDB, no CREATEROLE.
		statements = append(statements, "CREATE ROLE "+role+" LOGIN")
	}
	statements = append(statements,
		"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
		"REVOKE TEMPORARY ON DATABASE "+database+" FROM PUBLIC",
		"GRANT CONNECT ON DATABASE "+database+" TO "+role,
		"REVOKE ALL ON SCHEMA core FROM "+role,
		"GRANT USAGE ON SCHEMA core TO "+role,
		"REVOKE ALL ON ALL TABLES IN SCHEMA core FROM "+role,
		"REVOKE ALL ON ALL SEQUENCES IN SCHEMA core FROM "+role,
		"GRANT SELECT ON core.dim_product TO "+role,
	)
	if cfg.AppAuth == appAuthIAM {
		statements = append(statements, "ALTER ROLE "+role+" PASSWORD NULL")
		if hasRDSIAM {
			statements = append(statements, "GRANT rds_iam TO "+role)
		} else {
			log.Warn("DB_APP_AUTH=iam but this server has no rds_iam role (not RDS): the app role cannot log in with IAM here")
		}
	}
	for _, stmt := range statements {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	log.Info("app role ready", "role", cfg.AppUser, "created", !exists, "auth", cfg.AppAuth, "rds_iam", hasRDSIAM && cfg.AppAuth == appAuthIAM)
	return nil
}
