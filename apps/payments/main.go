// Command payments serves payment records, tracing every request with AWS X-Ray or OpenTelemetry
// (TRACING).
//
// Its records are a read-only list embedded in the binary (payments.json): payments has no
// database, so its only dependency is the tracing daemon, and the database failure cases of
// products stay separate from payments'.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/apps/internal/env"
	"github.com/meshtrace/meshtrace/apps/internal/healthcheck"
	"github.com/meshtrace/meshtrace/apps/internal/httpjson"
	"github.com/meshtrace/meshtrace/apps/internal/server"
	"github.com/meshtrace/meshtrace/apps/internal/tracing"
)

//go:embed payments.json
var paymentsJSON []byte

// payment is one payment record.
type payment struct {
	PaymentID string  `json:"payment_id"`
	ProductID int64   `json:"product_id"`
	Amount    float64 `json:"amount"`
	Currency  string  `json:"currency"`
	Status    string  `json:"status"`
	PaidAt    string  `json:"paid_at"`
}

// config is everything payments reads from its environment (see the README).
type config struct {
	Port    int
	Tracing tracing.Config
	Faults  faults
}

// faults make payments misbehave on purpose, for the end-to-end tests and for demonstrating
// failure traces. Never set in a deployed stack.
type faults struct {
	// Delay (PAYMENTS_DELAY) is added before every answer of GET /api/1.0/payments.
	Delay time.Duration
	// FailStatus (PAYMENTS_FAIL_STATUS, 400-599) replaces every answer of GET /api/1.0/payments.
	FailStatus int
}

func loadConfig(lookup env.LookupFunc) (config, error) {
	r := env.NewReader(lookup)
	cfg := config{
		Port:    r.Port("PORT", 8080),
		Tracing: tracing.ConfigFromEnv(r, "payments"),
	}
	if r.String("PAYMENTS_DELAY", "") != "" {
		cfg.Faults.Delay = r.Duration("PAYMENTS_DELAY", 0)
	}
	if v := r.String("PAYMENTS_FAIL_STATUS", ""); v != "" {
		status, err := strconv.Atoi(v)
		if err != nil || status < 400 || status > 599 {
			return config{}, fmt.Errorf("PAYMENTS_FAIL_STATUS=%q is not an error status (400-599)", v)
		}
		cfg.Faults.FailStatus = status
	}
	return cfg, r.Err()
}

func main() {
	if len(os.Args) > 1 {
		if len(os.Args) == 2 && os.Args[1] == healthcheck.Flag {
			os.Exit(healthcheck.Run(os.LookupEnv, os.Stderr))
		}
		fmt.Fprintf(os.Stderr, "usage: payments (serve) | payments %s\n", healthcheck.Flag)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("service", "payments")
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
	// Runs after the server has answered the requests in flight: the last spans go out.
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), tracing.FlushTimeout)
		defer cancel()
		if err := tracer.Shutdown(ctx); err != nil {
			log.Error("tracing shutdown", "error", err.Error())
		}
	}()
	h, err := newHandler(cfg.Faults)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log.Info("starting", "tracing", tracer.Mode(), "delay", cfg.Faults.Delay.String(), "fail_status", cfg.Faults.FailStatus)
	return server.ListenAndServe(ctx, ":"+strconv.Itoa(cfg.Port), tracer.Middleware(h), log)
}

// newHandler checks the embedded records once and serves them as a body encoded once.
func newHandler(f faults) (http.Handler, error) {
	var records []payment
	if err := json.Unmarshal(paymentsJSON, &records); err != nil {
		return nil, fmt.Errorf("embedded payments.json: %w", err)
	}
	body, err := json.Marshal(map[string]any{"payments": records})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+contract.LivenessPath, func(w http.ResponseWriter, _ *http.Request) {
		httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /api/1.0/payments", func(w http.ResponseWriter, r *http.Request) {
		if f.Delay > 0 {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
				return // the caller gave up
			}
		}
		if f.FailStatus != 0 {
			httpjson.WriteError(w, f.FailStatus, "payments failure injected by PAYMENTS_FAIL_STATUS")
			return
		}
		httpjson.WriteRaw(w, http.StatusOK, body)
	})
	return httpjson.Router(mux), nil
}
