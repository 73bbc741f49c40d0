// Package server runs an HTTP server with timeouts, and shuts it down gracefully when its context
// ends (main cancels that context on SIGTERM, which is how ECS stops a task).
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/apps/internal/httpjson"
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

// MaxRequestHeadBytes bounds a request's head (request line, header lines and the blank line
// that ends them): 64 KiB, far above what browsers and the ALB send (the ALB itself refuses
// more than 64 KiB of headers), far below Go's default of 1 MiB. One byte more is refused with
// 431.
const MaxRequestHeadBytes = 64 << 10

// MaxHeaderBytes is http.Server.MaxHeaderBytes for MaxRequestHeadBytes: net/http reads up to
// MaxHeaderBytes + 4096 bytes of a head (its "bufio slop", Server.initialReadLimitSize), so it is
// given 4096 less.
const MaxHeaderBytes = MaxRequestHeadBytes - goHeaderSlack

const goHeaderSlack = 4096

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
	ln = jsonErrorsListener{ln}
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

// jsonErrorsListener gives the server's own refusals the services' JSON error shape. net/http
// answers a request it cannot read (431 for a head over the limit, 400 for a malformed one, 501
// for an unknown transfer encoding) itself, before any handler, in text/plain, with no hook to
// change it: each such answer is one write, on the raw connection, of a status line followed by
// protocolErrorHeaders. No handler's answer starts like that (net/http writes a handler's
// headers sorted, Connection before Content-Type, and always with a Date), so those writes, and
// only those, are rewritten.
type jsonErrorsListener struct{ net.Listener }

func (l jsonErrorsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return jsonErrorsConn{c}, nil
}

// protocolErrorHeaders is what net/http writes after the status line of its own refusals.
const protocolErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

type jsonErrorsConn struct{ net.Conn }

func (c jsonErrorsConn) Write(p []byte) (int, error) {
	if answer, ok := jsonProtocolError(p); ok {
		if _, err := c.Conn.Write(answer); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// CloseWrite lets net/http half-close before it hangs up after a 431 (the client may still be
// sending its head), as it does on a bare TCP connection.
func (c jsonErrorsConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// jsonProtocolError turns one of net/http's own refusals into the same status with a JSON body
// {"error": <its text>}; ok is false for any other write.
func jsonProtocolError(p []byte) (answer []byte, ok bool) {
	const prefix = "HTTP/1.1 "
	if !bytes.HasPrefix(p, []byte(prefix)) {
		return nil, false
	}
	end := bytes.Index(p, []byte("\r\n"))
	if end < 0 || !bytes.HasPrefix(p[end:], []byte(protocolErrorHeaders)) {
		return nil, false
	}
	code, text, _ := strings.Cut(string(p[len(prefix):end]), " ")
	status, err := strconv.Atoi(code)
	if err != nil || status < 400 || status > 599 {
		return nil, false
	}
	body, err := json.Marshal(httpjson.ErrorBody{Error: text})
	if err != nil {
		return nil, false
	}
	body = append(body, '\n')
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body), true
}
