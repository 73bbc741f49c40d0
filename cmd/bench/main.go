// Command bench measures what tracing costs the services: it starts a real PostgreSQL and both
// services (internal/testenv), drives load at them from separate processes on loopback, and prints
// one table comparing tracing off, tracing at the default sampling rule (1 request/s + 5%) and
// tracing at 100%, with the X-Ray SDK (default, full) and with OpenTelemetry (otel-default,
// otel-full), with the ratios against off.
//
// One system (products and payments processes) per configuration is started and kept running;
// in each run, for GET /api/1.0/products and then GET /api/1.0/payments (products calling payments),
// the configurations take turns (off, default, full, off, default, full, ...):
//
//   - closed loop: wrk saturates the endpoint; throughput, wrk's p50/p99, and the server CPU per
//     request (utime+stime of the products and payments processes from /proc/<pid>/stat, before
//     and after, divided by the requests wrk completed);
//   - open loop: cmd/bench/openloop sends a fixed 200 requests/s and reports p50/p99 measured from
//     each request's intended send time (no coordinated omission), and the server CPU per request
//     at that rate (from /proc/<pid>/task/*/schedstat: ticks are too coarse for so few requests).
//
// The services send their segments to a UDP listener of this process standing in for the X-Ray
// daemon, and their spans (otel) to an OTLP/gRPC receiver of this process standing in for the
// ADOT collector (both count them), so the SDKs do all their work, sockets included. The table shows the
// median of the runs of each cell, and the ratios of those medians.
//
//	go run ./cmd/bench                       # make bench; about 7 minutes with the defaults
//	go run ./cmd/bench -runs 5 -json out.json
//	go run ./cmd/bench -pprof build/pprof    # also CPU and allocation profiles (first run)
//	go run ./cmd/bench -soak                 # the soak instead: 200 req/s for 60 s with a credential rotation (soak.go)
//
// It is not a test: nothing under go test runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// options are the command's flags.
type options struct {
	runs         int
	duration     time.Duration // closed loop, measured
	warmup       time.Duration // closed loop, unmeasured, before each measured wrk
	connections  int
	threads      int
	rate         float64
	openDuration time.Duration
	openWarmup   time.Duration
	configs      []config
	endpoints    []endpoint
	pprofDir     string
	overlay      string
	jsonPath     string
	verbose      bool
	// The soak (soak.go) instead of the tracing comparison.
	soak         bool
	soakRate     float64
	soakDuration time.Duration
	soakRotate   bool
}

func parseFlags() (options, error) {
	var o options
	var configs, endpoints string
	flag.IntVar(&o.runs, "runs", 3, "interleaved runs of every configuration; the table shows medians")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured wrk duration per endpoint and run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured wrk lead-in before each measured wrk")
	flag.IntVar(&o.connections, "connections", 32, "wrk connections (closed loop)")
	flag.IntVar(&o.threads, "threads", 1, "wrk threads")
	flag.Float64Var(&o.rate, "rate", 200, "open-loop request rate (requests/s)")
	flag.DurationVar(&o.openDuration, "open-duration", 10*time.Second, "measured open-loop duration per endpoint and run")
	flag.DurationVar(&o.openWarmup, "open-warmup", time.Second, "unmeasured open-loop lead-in")
	flag.StringVar(&configs, "configs", "off,default,full,otel-default,otel-full", "tracing configurations, in the order of each run: off, default, full (X-Ray SDK), otel-default, otel-full (OpenTelemetry); also none, otel-none (tracing on, nothing sampled: the cost of an unsampled request)")
	flag.StringVar(&endpoints, "endpoints", "products,payments", "endpoints: products (GET /api/1.0/products), payments (GET /api/1.0/payments)")
	flag.StringVar(&o.pprofDir, "pprof", "", "build the services with net/http/pprof (go build -overlay; apps/ unchanged) and write CPU and allocation profiles of both services during each measured wrk of the first run to this directory")
	flag.StringVar(&o.overlay, "overlay", "", "build the services with this go build -overlay file (keys: files of this module, relative to its root or absolute; values: relative to the overlay file): measure a change to apps/ without editing it")
	flag.StringVar(&o.jsonPath, "json", "", "also write every run's figures to this JSON file")
	flag.BoolVar(&o.verbose, "v", false, "print each phase's figures as they come")
	flag.BoolVar(&o.soak, "soak", false, "run the soak instead: -soak-rate on GET /api/1.0/products for -soak-duration, a credential rotation half way, RSS/threads/goroutines of both services before and after")
	flag.Float64Var(&o.soakRate, "soak-rate", 200, "soak: requests/s (open loop)")
	flag.DurationVar(&o.soakDuration, "soak-duration", 60*time.Second, "soak: how long the rate is held")
	flag.BoolVar(&o.soakRotate, "soak-rotate", true, "soak: rotate the app role's credential and terminate its sessions half way")
	flag.Parse()
	if o.soak {
		if o.soakRate <= 0 || o.soakDuration <= 0 {
			return o, errors.New("-soak-rate and -soak-duration must be positive")
		}
		return o, nil
	}
	if o.runs < 1 || o.duration <= 0 || o.connections < 1 || o.threads < 1 || o.threads > o.connections || o.rate <= 0 || o.openDuration <= 0 {
		return o, errors.New("-runs, -duration, -connections, -rate and -open-duration must be positive, and -threads from 1 to -connections")
	}
	seen := map[string]bool{}
	for _, name := range strings.Split(configs, ",") {
		c, ok := configByName(strings.TrimSpace(name))
		if !ok || seen[c.name] {
			return o, fmt.Errorf("-configs: %q is not one of off, default, full, otel-default, otel-full, none, otel-none, or comes twice", name)
		}
		seen[c.name] = true
		o.configs = append(o.configs, c)
	}
	for _, name := range strings.Split(endpoints, ",") {
		e, ok := endpointByName(strings.TrimSpace(name))
		if !ok || seen[e.path] {
			return o, fmt.Errorf("-endpoints: %q is not one of products, payments, or comes twice", name)
		}
		seen[e.path] = true
		o.endpoints = append(o.endpoints, e)
	}
	return o, nil
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runner := run
	if o.soak {
		runner = runSoak
	}
	if err := runner(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk not found: install it with scripts/install.sh (Debian package wrk)")
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "meshtrace-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	logf("building products, payments and openloop")
	bins, openloop, err := build(root, dir, o.pprofDir != "", o.overlay)
	if err != nil {
		return err
	}
	wrkScript := filepath.Join(dir, "report.lua")
	if err := os.WriteFile(wrkScript, []byte(wrkReportScript), 0o644); err != nil {
		return err
	}

	pg, stopPostgres, err := startPostgres("meshtrace-bench-postgres-")
	if err != nil {
		return err
	}
	defer stopPostgres()

	sink, err := listenSegments()
	if err != nil {
		return err
	}
	defer sink.Close()
	spans, err := listenSpans()
	if err != nil {
		return err
	}
	defer spans.Close()

	if o.pprofDir != "" {
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return err
		}
	}

	b := &bench{o: o, bins: bins, openloop: openloop, wrkScript: wrkScript, pg: pg, sink: sink, spans: spans, dir: dir}
	// One system per configuration, all started up front and kept running (an idle system costs
	// next to nothing), so that the runs can alternate between configurations every few seconds.
	var systems []*liveSystem
	defer func() {
		for _, s := range systems {
			s.sys.Close()
		}
	}()
	for _, c := range o.configs {
		logf("starting products and payments with tracing %s", c.name)
		s, err := b.startSystem(c)
		if err != nil {
			return fmt.Errorf("tracing %s: %w", c.name, err)
		}
		systems = append(systems, s)
	}

	rep := newReport(o)
	rep.loadBefore = loadAvg()
	started := time.Now()
	for r := range o.runs {
		logf("run %d/%d (load %s)", r+1, o.runs, loadAvg())
		for _, e := range o.endpoints {
			for _, s := range systems {
				if err := ctx.Err(); err != nil {
					return err
				}
				p, err := b.measure(ctx, s, e, r == 0 && o.pprofDir != "")
				if err != nil {
					return fmt.Errorf("run %d, %s, tracing %s: %w", r+1, e.name, s.c.name, err)
				}
				rep.add(p)
				if o.verbose {
					logf("  %s", p)
				}
			}
		}
		rep.loadByRun = append(rep.loadByRun, loadAvg())
	}
	rep.elapsed = time.Since(started)
	rep.loadAfter = loadAvg()

	rep.print(os.Stdout)
	if o.jsonPath != "" {
		if err := rep.writeJSON(o.jsonPath); err != nil {
			return err
		}
	}
	if o.pprofDir != "" {
		fmt.Printf("\nprofiles of the first run's measured wrk phases, <tracing>-<endpoint>-<service>.{profile,allocs}.pprof, in %s\n", o.pprofDir)
		fmt.Printf("e.g. go tool pprof -top %s\n     go tool pprof -sample_index=alloc_space -top %s\n",
			filepath.Join(o.pprofDir, "full-products-products.profile.pprof"), filepath.Join(o.pprofDir, "default-payments-products.allocs.pprof"))
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// moduleRoot is the directory of this module's go.mod, found upward from the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/meshtrace/meshtrace\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from within the meshtrace module (no go.mod of github.com/meshtrace/meshtrace above the working directory)")
		}
		dir = parent
	}
}

// startPostgres starts PostgreSQL in a directory of its own under the system's temp dir (when
// running as root, PostgreSQL runs as the postgres user, which must reach it; the benchmark's
// own dir is private). stop closes it and removes the directory.
func startPostgres(prefix string) (pg *testenv.Postgres, stop func(), err error) {
	logf("starting PostgreSQL")
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, nil, err
	}
	pg, err = testenv.StartPostgresProcess(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return pg, func() { pg.Close(); os.RemoveAll(dir) }, nil
}
