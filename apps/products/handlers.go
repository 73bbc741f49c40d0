package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/meshtrace/meshtrace/apps/contract"
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
	mux.HandleFunc("GET "+contract.LivenessPath, healthz)
	mux.HandleFunc("GET "+contract.ReadinessPath, a.readyz)
	mux.HandleFunc("GET /api/1.0/products", a.listProducts)
	mux.HandleFunc("GET /api/1.0/payments", a.listPayments)
	return httpjson.Router(mux)
}

func (a *app) hello(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]string{"service": "products", "message": "Hello from products"})
}

// healthz is a liveness check only, and what the load balancer's health check probes: it does
// not touch the database or payments, so ECS does not replace healthy tasks while a dependency
// is down (those requests get 502/503 instead, and the task recovers with the dependency).
func healthz(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Page sizes of GET /api/1.0/products.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// productsPage is the answer of GET /api/1.0/products. NextAfter is there when more products may
// follow: pass it as ?after= for the next page.
type productsPage struct {
	Products  []product `json:"products"`
	NextAfter *int64    `json:"next_after,omitempty"`
}

// listProducts serves one page of core.dim_product in product_id order: ?limit= (default 50,
// at most 500) products after ?after= (a product_id; from the start when absent).
func (a *app) listProducts(w http.ResponseWriter, r *http.Request) {
	limit, after, problem := pageParams(r)
	if problem != "" {
		httpjson.WriteError(w, http.StatusBadRequest, problem)
		return
	}
	p, err := a.store.listProducts(r.Context(), limit, after)
	if err != nil {
		a.failDatabase(r.Context(), w, "could not read products", err)
		return
	}
	body := productsPage{Products: p.Products}
	if p.More {
		last := p.Products[len(p.Products)-1].ProductID
		body.NextAfter = &last
	}
	httpjson.Write(w, http.StatusOK, body)
}

// pageParams reads ?limit= and ?after=; problem names the bad parameter.
func pageParams(r *http.Request) (limit int, after *int64, problem string) {
	q := r.URL.Query()
	limit = defaultPageSize
	if v := q.Get("limit"); v != "" || q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return 0, nil, "limit must be an integer from 1 to " + strconv.Itoa(maxPageSize)
		}
		limit = n
	}
	if v := q.Get("after"); v != "" || q.Has("after") {
		// product_id is a PostgreSQL integer (32 bits).
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return 0, nil, "after must be a product_id (an integer), as given in next_after"
		}
		after = &n
	}
	return limit, after, ""
}

// readyTimeout bounds the database ping of /readyz.
const readyTimeout = 2 * time.Second

// poolStats is the pool part of /readyz.
type poolStats struct {
	TotalConns    int32 `json:"total_conns"`
	IdleConns     int32 `json:"idle_conns"`
	AcquiredConns int32 `json:"acquired_conns"`
	MaxConns      int32 `json:"max_conns"`
}

// readyz says whether this task can reach its database: 200 when the database answers a ping
// on a pooled connection, 503 otherwise, with the pool's figures either way. It is for
// operators and checks, not for the load balancer: ECS replaces a task whose load balancer
// health check fails, and a database outage would then replace every task (each replacement
// waiting on the same database to migrate). The load balancer probes /healthz
// (contract.LoadBalancerHealthCheckPath); requests that need the database answer 503 themselves.
func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	err := a.store.ping(r.Context(), readyTimeout)
	st := a.store.pool.Stat()
	body := map[string]any{
		"pool": poolStats{
			TotalConns:    st.TotalConns(),
			IdleConns:     st.IdleConns(),
			AcquiredConns: st.AcquiredConns(),
			MaxConns:      st.MaxConns(),
		},
	}
	if err != nil {
		message := "not ready: database unavailable"
		if authenticationFailed(err) {
			message = contract.DatabaseAuthFailedMessage // verbatim: the stack's metric filter matches the whole msg
		}
		a.log.Warn(message, "check", contract.ReadinessPath, "error", err.Error(), "sqlstate", sqlState(err))
		// The caller learns no more than from an API route (/readyz is reachable through the
		// load balancer): the cause, the SQLSTATE and the driver's text are in the log.
		body["status"], body["error"] = "not ready", "database unavailable"
		httpjson.Write(w, http.StatusServiceUnavailable, body)
		return
	}
	body["status"] = "ready"
	httpjson.Write(w, http.StatusOK, body)
}

// failDatabase answers a failed database read: 503 when the database cannot answer now
// (authentication failures named as such, with their SQLSTATE in the log), 500 for a query it
// refused.
func (a *app) failDatabase(ctx context.Context, w http.ResponseWriter, message string, err error) {
	switch {
	case authenticationFailed(err):
		// The client learns no more than for any outage; the log says what happened.
		a.failWithLog(ctx, w, http.StatusServiceUnavailable, "database unavailable", contract.DatabaseAuthFailedMessage, err)
	case databaseUnavailable(err):
		a.fail(ctx, w, http.StatusServiceUnavailable, "database unavailable", err)
	default:
		a.fail(ctx, w, http.StatusInternalServerError, message, err)
	}
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
	a.failWithLog(ctx, w, status, message, message, err)
}

// failWithLog is fail with a log message of its own.
func (a *app) failWithLog(ctx context.Context, w http.ResponseWriter, status int, message, logMessage string, err error) {
	attrs := []any{"status", status, "error", err.Error()}
	if code := sqlState(err); code != "" {
		attrs = append(attrs, "sqlstate", code)
	}
	a.log.Error(logMessage, attrs...)
	tracing.RecordError(ctx, err)
	httpjson.WriteError(w, status, message)
}
