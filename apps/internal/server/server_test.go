package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServeFinishesInFlightRequestsThenStops(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, New(handler), 5*time.Second, slog.New(slog.DiscardHandler)) }()

	type result struct {
		body string
		err  error
	}
	inFlight := make(chan result, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			inFlight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inFlight <- result{string(b), err}
	}()
	<-started
	stop() // what SIGTERM does in main

	// Serve must wait for the request: it has not returned while the handler blocks.
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) before the in-flight request finished", err)
	case <-time.After(200 * time.Millisecond):
	}
	// New connections are refused meanwhile.
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("the server still accepts connections after shutdown began")
	}
	close(release)
	if r := <-inFlight; r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: %q, %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after a clean shutdown: %v", err)
	}
}

func TestServeGivesUpOnRequestsThatOutliveTheShutdownTimeout(t *testing.T) {
	started := make(chan struct{})
	handler := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(2 * time.Second)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, New(handler), 100*time.Millisecond, slog.New(slog.DiscardHandler)) }()
	go func() {
		if resp, err := http.Get("http://" + ln.Addr().String()); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	stop()
	select {
	case err := <-served:
		if err == nil {
			t.Fatal("Serve reported a clean shutdown although a request was cut off")
		}
	case <-time.After(time.Second):
		t.Fatal("Serve waited past its shutdown timeout")
	}
}

func TestNewSetsEveryTimeout(t *testing.T) {
	srv := New(http.NotFoundHandler())
	if srv.ReadHeaderTimeout == 0 || srv.ReadTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 {
		t.Fatalf("a zero timeout means none: %+v", srv)
	}
	if srv.IdleTimeout <= 60*time.Second {
		t.Errorf("IdleTimeout %s must exceed the ALB's 60s idle timeout", srv.IdleTimeout)
	}
}

// serveOn starts Serve with handler on a loopback port and returns its address; the server
// stops when the test ends.
func serveOn(t *testing.T, handler http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, New(handler), time.Second, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() { stop(); <-served })
	return ln.Addr().String()
}

// rawRequest sends head as is on a new connection and returns the answer.
func rawRequest(t *testing.T, addr, head string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to a %d-byte head: %v", len(head), err)
	}
	return resp
}

// headOf is a GET request head of exactly size bytes (request line, headers, blank line).
func headOf(size int) string {
	const start, end = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ", "\r\n\r\n"
	return start + strings.Repeat("a", size-len(start)-len(end)) + end
}

// wantJSONError checks that resp is status with the services' error shape {"error": "..."}.
func wantJSONError(t *testing.T, resp *http.Response, status int, what string) {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct{ Error string }
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &e) != nil || e.Error == "" {
		t.Errorf("%s: %d %q %s, want %d with a JSON error", what, resp.StatusCode, resp.Header.Get("Content-Type"), body, status)
	}
}

// A request head of exactly 64 KiB is served; one byte more is refused with 431, in JSON.
// (net/http adds 4096 bytes of slack to MaxHeaderBytes: without the compensation, 68 KiB pass.)
func TestRequestHeadLimitIsExactly64KiB(t *testing.T) {
	addr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	if resp := rawRequest(t, addr, headOf(64<<10)); resp.StatusCode != http.StatusOK {
		t.Errorf("a 64 KiB head: status %d, want 200", resp.StatusCode)
	}
	wantJSONError(t, rawRequest(t, addr, headOf(64<<10+1)), http.StatusRequestHeaderFieldsTooLarge, "a head of 64 KiB + 1 byte")
	wantJSONError(t, rawRequest(t, addr, headOf(68<<10)), http.StatusRequestHeaderFieldsTooLarge, "a head of 68 KiB")
}

// What net/http refuses on its own (a malformed head, an unknown transfer encoding) is answered
// in the JSON error shape too; what handlers write is left alone, whatever its type.
func TestProtocolErrorsAreJSON(t *testing.T) {
	addr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "plain text from a handler", http.StatusBadRequest)
	}))
	wantJSONError(t, rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"), http.StatusBadRequest, "a header line without a colon")
	wantJSONError(t, rawRequest(t, addr, "GET / HTTP/1.1\r\n\r\n"), http.StatusBadRequest, "no Host header")
	wantJSONError(t, rawRequest(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), http.StatusNotImplemented, "an unknown transfer encoding")
	resp := rawRequest(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	defer resp.Body.Close()
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusBadRequest || string(body) != "plain text from a handler\n" {
		t.Errorf("a handler's own answer was changed: %d %q", resp.StatusCode, body)
	}
}
