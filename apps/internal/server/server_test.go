package server

import (
	"context"
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

// A client cannot make the server buffer more than MaxHeaderBytes of headers.
func TestOversizedHeadersAreRefused(t *testing.T) {
	srv := New(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	if srv.MaxHeaderBytes != 64<<10 {
		t.Fatalf("MaxHeaderBytes %d", srv.MaxHeaderBytes)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 80<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("80 KiB of headers: status %d, want 431", resp.StatusCode)
	}
	small, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
	small.Header.Set("X-Small", strings.Repeat("a", 8<<10))
	resp, err = http.DefaultClient.Do(small)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("8 KiB of headers: %v %v", resp, err)
	}
}
