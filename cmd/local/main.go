// Command local runs the whole system on this machine, for a person to try it without an AWS
// account: PostgreSQL, payments, products, and a stand-in X-Ray daemon that prints every trace as
// a tree (service -> calls -> SQL, with durations in milliseconds). Ctrl-C stops everything.
//
//	go run ./cmd/local [-products-port 8080] [-payments-port 8081]
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
	flag.Parse()

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

	printer := newTracePrinter(out, opts.traceQuiet)
	defer printer.flush()
	segments, err := testenv.ListenSegments("127.0.0.1:0", printer.add)
	if err != nil {
		return err
	}
	defer segments.Close()

	fmt.Fprintln(logs, "building and starting payments and products...")
	sys, err := testenv.StartSystemProcess(testenv.SystemOptions{
		Postgres:     pg,
		DaemonAddr:   segments.Addr(),
		ProductsPort: opts.productsPort,
		PaymentsPort: opts.paymentsPort,
		Output:       logs,
	})
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
X-Ray segments are received on udp://%[4]s and printed below as trees, one per request.
Ctrl-C stops everything.

`, sys.ProductsURL, sys.PaymentsURL, psqlCommand(pg), segments.Addr(), sys.AppRole, sys.PasswordFile)
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
