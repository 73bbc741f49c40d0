// Package healthcheck is the `-healthcheck` mode of both services' binaries: the container health
// check of ECS runs `["CMD", "/products", "-healthcheck"]` inside the container, where the
// distroless image has no shell and no curl, so the binary probes its own port.
package healthcheck

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/apps/internal/env"
)

// Flag is the argument that selects the probe instead of the service; the infrastructure's
// container health check runs the binary with it.
const Flag = contract.HealthCheckFlag

// Timeout bounds one probe; ECS's own health check timeout (default 5 s) is above it.
const Timeout = 2 * time.Second

// Path is the liveness route both services serve.
const Path = contract.LivenessPath

// Probe GETs http://127.0.0.1:<port>/healthz and returns nil on 200.
func Probe(ctx context.Context, port int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	// A client of its own: no proxy from the environment, no keep-alive to leave behind.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}

// Run is the whole `-healthcheck` mode: it reads PORT (default 8080, as the services do), probes,
// writes one line to w on failure and returns the exit code: 0 healthy, 1 not.
func Run(lookup env.LookupFunc, w io.Writer) int {
	r := env.NewReader(lookup)
	port := r.Port("PORT", 8080)
	if err := r.Err(); err != nil {
		fmt.Fprintln(w, "healthcheck:", err)
		return 1
	}
	if err := Probe(context.Background(), port, Timeout); err != nil {
		fmt.Fprintln(w, "healthcheck:", err)
		return 1
	}
	return 0
}
