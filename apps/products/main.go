// Command products serves the product catalogue from PostgreSQL and passes payments' answers
// on, tracing every request, SQL query and call to payments with AWS X-Ray.
//
//	products               serve (DB_AUTH=iam|password-file: the credential is obtained at each new connection)
//	products migrate       apply the schema migrations and set up the app role, as the master user, then exit
//	products -healthcheck  probe this container's own /healthz (the ECS container health check)
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/jackc/pgx/v5"

	"github.com/meshtrace/meshtrace/apps/internal/healthcheck"
	"github.com/meshtrace/meshtrace/apps/internal/server"
	"github.com/meshtrace/meshtrace/apps/internal/tracing"
)

// migrateCommand is the argument of the migration step (the migrate container of the task).
const migrateCommand = "migrate"

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

// dispatch runs the mode args select and returns the exit code.
func dispatch(args []string, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewJSONHandler(stdout, nil)).With("service", "products")
	var err error
	switch {
	case len(args) == 0:
		err = serveMain(log)
	case len(args) == 1 && args[0] == migrateCommand:
		err = migrateMain(log.With("step", "migrate"))
	case len(args) == 1 && args[0] == healthcheck.Flag:
		return healthcheck.Run(os.LookupEnv, stderr)
	default:
		fmt.Fprintf(stderr, "usage: products (serve) | products %s | products %s\n", migrateCommand, healthcheck.Flag)
		return 2
	}
	if err != nil {
		log.Error("exiting", "error", err.Error())
		return 1
	}
	return 0
}

// signalContext ends on SIGTERM (how ECS stops a task) or SIGINT (Ctrl-C).
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
}

func migrateMain(log *slog.Logger) error {
	cfg, err := loadMigrateConfig(os.LookupEnv)
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	if err := runMigrate(ctx, cfg, migrations(), log); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func serveMain(log *slog.Logger) error {
	cfg, err := loadConfig(os.LookupEnv)
	if err != nil {
		return err
	}
	tracer, err := tracing.Setup(cfg.Tracing)
	if err != nil {
		return err
	}
	// Runs last: after the server has answered the requests in flight (SIGTERM), the spans still
	// in the batch go out.
	defer flushTraces(tracer, log)
	ctx, stop := signalContext()
	defer stop()

	src, err := newCredentialSource(ctx, cfg.DB)
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg.DB, src, sqlTracerFor(tracer, cfg.DB))
	if err != nil {
		return err
	}
	defer pool.Close()

	a := &app{
		store: &store{pool: pool, queryTimeout: cfg.DB.QueryTimeout, log: log},
		payments: &paymentsClient{
			http:    tracer.Client(newPaymentsHTTPClient()),
			url:     cfg.PaymentsURL,
			timeout: cfg.PaymentTimeout,
		},
		log: log,
	}
	log.Info("starting", "tracing", tracer.Mode(), "payments", cfg.PaymentsURL, "db_host", cfg.DB.Host,
		"db_user", cfg.DB.User, "db_auth", cfg.DB.Auth, "db_sslmode", cfg.DB.SSLMode, "db_max_conns", cfg.DB.MaxConns)
	return server.ListenAndServe(ctx, ":"+strconv.Itoa(cfg.Port), tracer.Middleware(a.routes()), log)
}

// sqlTracerFor is the pool's query tracer in tracer's mode: X-Ray SQL subsegments, OpenTelemetry
// SQL spans, or none when tracing is off.
func sqlTracerFor(tracer *tracing.Tracer, cfg dbConfig) pgx.QueryTracer {
	switch tracer.Mode() {
	case tracing.ModeXRay:
		return newSQLTracer(cfg)
	case tracing.ModeOTel:
		return newOTelSQLTracer(tracer.TracerProvider(), cfg)
	}
	return nil
}

// flushTraces sends the spans still buffered, within traceFlushTimeout (ECS gives a task 30 s
// between SIGTERM and SIGKILL by default).
func flushTraces(tracer *tracing.Tracer, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), tracing.FlushTimeout)
	defer cancel()
	if err := tracer.Shutdown(ctx); err != nil {
		log.Error("tracing shutdown", "error", err.Error())
	}
}
