package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/meshtrace/meshtrace/apps/internal/httpjson"
	"github.com/meshtrace/meshtrace/apps/internal/tracing"
)

// app holds what the handlers need.
type app struct {
	store    *store
	payments *paymentsClient
	log      *slog.Logger
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.hello)
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /api/1.0/products", a.listProducts)
	mux.HandleFunc("GET /api/1.0/payments", a.listPayments)
	return httpjson.Router(mux)
}

func (a *app) hello(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]string{"service": "products", "message": "Hello from products"})
}

// healthz is a liveness check only: it does not touch the database or payments, so the load
// balancer and ECS do not replace healthy tasks while a dependency is down (those requests get
// 502/503 instead, and the task recovers with the dependency).
func healthz(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *app) listProducts(w http.ResponseWriter, r *http.Request) {
	products, err := a.store.listProducts(r.Context())
	if err != nil {
		status, message := http.StatusInternalServerError, "could not read products"
		if databaseUnavailable(err) {
			status, message = http.StatusServiceUnavailable, "database unavailable"
		}
		a.fail(r.Context(), w, status, message, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"products": products})
}

// listPayments answers with what payments answered: 502 when payments is unreachable or answers
// something else than 200 with JSON, 504 when it does not answer within PAYMENT_TIMEOUT.
func (a *app) listPayments(w http.ResponseWriter, r *http.Request) {
	body, err := a.payments.list(r.Context())
	if err != nil {
		status, message := http.StatusBadGateway, "payments unavailable"
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			status, message = http.StatusGatewayTimeout, "payments did not answer in time"
		case errors.Is(err, errPaymentsAnswer):
			message = "payments answered with an error"
		}
		a.fail(r.Context(), w, status, message, err)
		return
	}
	httpjson.WriteRaw(w, http.StatusOK, body)
}

// fail logs err, adds it to the request's segment (the status alone sets the fault flag; the
// error adds the cause), and answers with a JSON error that does not leak internals.
func (a *app) fail(ctx context.Context, w http.ResponseWriter, status int, message string, err error) {
	a.log.Error(message, "status", status, "error", err.Error())
	tracing.RecordError(ctx, err)
	httpjson.WriteError(w, status, message)
}
