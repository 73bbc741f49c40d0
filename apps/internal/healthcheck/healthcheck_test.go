package healthcheck

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/apps/internal/env"
)

// serveOnLoopback serves h on a free 127.0.0.1 port and returns the port.
func serveOnLoopback(t *testing.T, h http.HandlerFunc) int {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return p
}

func runWithPort(port int) (int, string) {
	var out bytes.Buffer
	code := Run(env.MapLookup(map[string]string{"PORT": strconv.Itoa(port)}), &out)
	return code, out.String()
}

func TestHealthyAnswerExitsZero(t *testing.T) {
	var path string
	port := serveOnLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		w.WriteHeader(http.StatusOK)
	})
	if code, out := runWithPort(port); code != 0 || out != "" {
		t.Fatalf("exit %d, output %q; want 0 and nothing", code, out)
	}
	if path != "/healthz" {
		t.Fatalf("probed %q, want /healthz", path)
	}
}

func TestUnhealthyAnswersExitOne(t *testing.T) {
	port := serveOnLoopback(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	if code, out := runWithPort(port); code != 1 || !strings.Contains(out, "status 503") {
		t.Fatalf("503: exit %d, output %q; want 1 naming the status", code, out)
	}

	// Nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if code, out := runWithPort(closed); code != 1 || !strings.Contains(out, "healthcheck:") {
		t.Fatalf("closed port: exit %d, output %q; want 1", code, out)
	}
}

func TestHangingServerTimesOut(t *testing.T) {
	release := make(chan struct{})
	port := serveOnLoopback(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	started := time.Now()
	if code, _ := runWithPort(port); code != 1 {
		t.Fatalf("exit %d for a server that never answers, want 1", code)
	}
	if elapsed := time.Since(started); elapsed > Timeout+time.Second {
		t.Fatalf("took %s, want about the %s timeout", elapsed, Timeout)
	}
}

func TestBadPortExitsOne(t *testing.T) {
	var out bytes.Buffer
	if code := Run(env.MapLookup(map[string]string{"PORT": "http"}), &out); code != 1 || !strings.Contains(out.String(), "PORT") {
		t.Fatalf("exit %d, output %q; want 1 naming PORT", code, out.String())
	}
}
