// Command local runs the whole system on this machine, for a person to try it without an AWS
// account: PostgreSQL, payments, products, and what receives their traces, printing every trace
// as a tree (service -> calls -> SQL, with durations in milliseconds). Ctrl-C stops everything.
//
// With TRACING=xray (the default) the services use the X-Ray SDK and a stand-in X-Ray daemon
// receives the segments. With TRACING=otel they use OpenTelemetry and export to a real Jaeger
// (built from tools/jaeger on first use), whose UI shows the traces; each printed tree comes
// with the link to its trace in that UI. With -jaeger=false they export to an OTLP receiver in
// this process instead (no build, no UI: the trees only).
//
//	go run ./cmd/local [-products-port 8080] [-payments-port 8081] [-tracing otel] [-jaeger-port 16686] [-jaeger=false]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

func main() {
	var opts options
	flag.IntVar(&opts.productsPort, "products-port", 8080, "port of products on this machine (0: any free port)")
	flag.IntVar(&opts.paymentsPort, "payments-port", 8081, "port of payments on this machine (0: any free port)")
	flag.DurationVar(&opts.traceQuiet, "trace-wait", 300*time.Millisecond, "print a trace once no segment of it arrived for this long")
	flag.StringVar(&opts.tracing, "tracing", envOr("TRACING", "xray"), "xray (X-Ray SDK, a stand-in daemon) or otel (OpenTelemetry, a local Jaeger); default $TRACING")
	flag.IntVar(&opts.jaegerPort, "jaeger-port", 16686, "port of the Jaeger UI with -tracing otel (0: any free port)")
	flag.BoolVar(&opts.jaeger, "jaeger", true, "with -tracing otel: export to a local Jaeger (built on first use) and link its UI; false: to a receiver in this process")
	flag.Parse()
	if opts.tracing != "xray" && opts.tracing != "otel" {
		fmt.Fprintf(os.Stderr, "local: -tracing (TRACING) %q: want xray or otel\n", opts.tracing)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, os.Stderr, opts, nil); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

type options struct {
	productsPort, paymentsPort int
	traceQuiet                 time.Duration
	tracing                    string // xray or otel
	jaegerPort                 int
	jaeger                     bool             // with otel: Jaeger (true) or an in-process OTLP receiver
	binaries                   testenv.Binaries // the services, if already built (tests); empty: built by run
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// run starts the system, reports ready (with the products URL) on ready if not nil, prints
// traces to out and logs to logs until ctx ends, then stops services, listener and database.
func run(ctx context.Context, out, logs io.Writer, opts options, ready func(productsURL string)) (err error) {
	pgDir, err := os.MkdirTemp("", "meshtrace-local-postgres-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(pgDir)

	fmt.Fprintln(logs, "starting PostgreSQL...")
	pg, err := testenv.StartPostgresProcess(pgDir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, pg.Close()) }()

	sysOpts := testenv.SystemOptions{
		Binaries:     opts.binaries,
		Postgres:     pg,
		Tracing:      opts.tracing,
		ProductsPort: opts.productsPort,
		PaymentsPort: opts.paymentsPort,
		Output:       logs,
	}
	var tracesLine string
	if opts.tracing == "otel" && opts.jaeger {
		fmt.Fprintln(logs, "starting Jaeger (the first run builds it from tools/jaeger: a few minutes)...")
		jaeger, err := testenv.StartJaegerProcess(0, opts.jaegerPort)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, jaeger.Close()) }()
		sysOpts.OTLPEndpoint = jaeger.OTLPEndpoint
		poller := newSpanPoller(jaeger, jaeger.TraceURL, out, opts.traceQuiet)
		defer poller.stop()
		tracesLine = fmt.Sprintf("OpenTelemetry spans go to Jaeger (OTLP %s); its UI: %s\nEach trace is printed below as a tree, with its link in that UI.", jaeger.OTLPEndpoint, jaeger.UIURL)
	} else if opts.tracing == "otel" {
		receiver, err := testenv.ListenOTLP("127.0.0.1:0")
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, receiver.Close()) }()
		sysOpts.OTLPEndpoint = receiver.OTLPEndpoint
		poller := newSpanPoller(receiver, nil, out, opts.traceQuiet)
		defer poller.stop()
		tracesLine = fmt.Sprintf("OpenTelemetry spans go to a receiver in this process (OTLP %s) and are printed below as trees, one per trace.", receiver.OTLPEndpoint)
	} else {
		printer := newTracePrinter(out, opts.traceQuiet)
		defer printer.flush()
		segments, err := testenv.ListenSegments("127.0.0.1:0", printer.add)
		if err != nil {
			return err
		}
		defer segments.Close()
		sysOpts.DaemonAddr = segments.Addr()
		tracesLine = fmt.Sprintf("X-Ray segments are received on udp://%s and printed below as trees, one per request.", segments.Addr())
	}

	fmt.Fprintln(logs, "building and starting payments and products...")
	sys, err := testenv.StartSystemProcess(sysOpts)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, sys.Close()) }()

	fmt.Fprintf(out, `
meshtrace is running locally. Try:
  curl %[1]s/
  curl %[1]s/api/1.0/products
  curl %[1]s/api/1.0/payments
  curl %[1]s/readyz
payments:   %[2]s
PostgreSQL: %[3]s
products connects as %[5]s, reading its password from %[6]s at each new connection.
%[4]s
Ctrl-C stops everything.

`, sys.ProductsURL, sys.PaymentsURL, psqlCommand(pg), tracesLine, sys.AppRole, sys.PasswordFile)
	if ready != nil {
		ready(sys.ProductsURL)
	}
	<-ctx.Done()
	fmt.Fprintln(logs, "stopping...")
	return nil
}

// psqlCommand is how to look at the database, as its owner (the superuser that ran products
// migrate). The password is a random one made for this run.
func psqlCommand(pg *testenv.Postgres) string {
	return fmt.Sprintf("PGPASSWORD=%s psql -h %s -p %d -U %s %s", pg.Password, pg.Host, pg.Port, pg.User, pg.DBName)
}
