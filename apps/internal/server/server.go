// Package server runs an HTTP server with timeouts, and shuts it down gracefully when its context
// ends (main cancels that context on SIGTERM, which is how ECS stops a task).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/meshtrace/meshtrace/apps/contract"
)

// Timeouts of every server. IdleTimeout is contract.AppIdleTimeout, above every proxy's idle
// timeout, so that the proxy, not the service, closes idle keep-alive connections (otherwise
// requests race a close).
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = contract.AppIdleTimeout
)

// MaxHeaderBytes bounds a request's header: 64 KiB, far above what browsers and the ALB send
// (the ALB itself refuses more than 64 KiB of headers), far below Go's default of 1 MiB.
const MaxHeaderBytes = 64 << 10

// ShutdownTimeout bounds the wait for in-flight requests after SIGTERM. ECS sends SIGKILL 30 s
// after SIGTERM by default (stopTimeout), so finish before that.
const ShutdownTimeout = 25 * time.Second

// New returns an http.Server for handler with the timeouts above.
func New(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// ListenAndServe listens on addr and calls Serve.
func ListenAndServe(ctx context.Context, addr string, handler http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return Serve(ctx, ln, New(handler), ShutdownTimeout, log)
}

// Serve serves on ln until ctx ends, then stops accepting connections and waits up to
// shutdownTimeout for in-flight requests to finish. It returns nil after a clean shutdown.
func Serve(ctx context.Context, ln net.Listener, srv *http.Server, shutdownTimeout time.Duration, log *slog.Logger) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-served:
		// Serve only returns early on a listener failure.
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down: finishing in-flight requests", "timeout", shutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
