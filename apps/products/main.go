// Command products serves the product catalogue from PostgreSQL and passes payments' answers
// on, tracing every request, SQL query and call to payments with AWS X-Ray.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/meshtrace/meshtrace/apps/internal/server"
	"github.com/meshtrace/meshtrace/apps/internal/tracing"
)

// startupDBWait is how long products waits for the database at start before giving up (and
// letting ECS start a new task).
const startupDBWait = 60 * time.Second

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("service", "products")
	if err := run(log); err != nil {
		log.Error("exiting", "error", err.Error())
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg, err := loadConfig(os.LookupEnv)
	if err != nil {
		return err
	}
	tracer, err := tracing.Setup(cfg.Tracing)
	if err != nil {
		return err
	}
	// ECS stops a task with SIGTERM; Ctrl-C sends SIGINT.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	pool, err := openPool(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrateUntil(ctx, pool, startupDBWait, log); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	a := &app{
		store: &store{pool: pool, queryTimeout: cfg.DB.QueryTimeout},
		payments: &paymentsClient{
			http:    tracer.Client(&http.Client{Transport: newPaymentsTransport()}),
			url:     cfg.PaymentsURL,
			timeout: cfg.PaymentTimeout,
		},
		log: log,
	}
	log.Info("starting", "tracing", tracer.Enabled(), "payments", cfg.PaymentsURL, "db_host", cfg.DB.Host)
	return server.ListenAndServe(ctx, ":"+strconv.Itoa(cfg.Port), tracer.Middleware(a.routes()), log)
}
