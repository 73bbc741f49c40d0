package e2e

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// The rotation drill on the real products process: under 100 requests/s, the app role's
// password changes in the database and in the credential source (the password file standing in
// for the IAM token source), and every session of the role is terminated. No request fails and
// the process is the same one before and after.
func TestRotationDrillOnTheRealProcess(t *testing.T) {
	// Four connections open at all times (the pool's minimum), all cut by the termination.
	sys, _ := startSystem(t, sharedPostgres, []string{"DB_MIN_CONNS=4"}, nil)
	pid := sys.Products.PID()
	load := testenv.StartLoad(sys.ProductsURL+"/api/1.0/products", 100)
	time.Sleep(2 * time.Second)

	ctx := context.Background()
	if err := sys.RotateAppPassword(ctx); err != nil {
		t.Fatal(err)
	}
	terminated, err := sharedPostgres.TerminateBackends(ctx, sys.AppRole)
	if err != nil {
		t.Fatal(err)
	}
	if terminated < 4 {
		t.Fatalf("%d sessions of the app role terminated, want at least the pool's 4", terminated)
	}
	time.Sleep(3 * time.Second)
	res := load.Stop()
	t.Logf("%s; %d sessions terminated; %d reads retried", res, terminated, strings.Count(sys.Products.Logs(), "retrying a read"))

	if res.Sent < 400 {
		t.Fatalf("only %d requests in 5 s: the load did not hold", res.Sent)
	}
	if res.Failed() != 0 {
		t.Fatalf("%d of %d requests failed across the rotation; first: %s", res.Failed(), res.Sent, strings.Join(res.Failures[:min(5, len(res.Failures))], "; "))
	}
	if got := sys.Products.PID(); got != pid || !sys.Products.Running() {
		t.Fatalf("products PID %d before, %d after (running %v): the process was restarted", pid, got, sys.Products.Running())
	}
	if a := get(t, sys.ProductsURL+"/readyz"); a.status != http.StatusOK {
		t.Fatalf("readyz after the drill: %d %s", a.status, a.body)
	}
}

// `-healthcheck` of each binary, run as ECS runs the container health check: 0 while its
// service answers /healthz on $PORT, 1 once it does not.
func TestHealthcheckFlagOfBothBinaries(t *testing.T) {
	sys, _ := startSystem(t, sharedPostgres, nil, nil)
	for _, c := range []struct {
		binary, url string
		svc         *testenv.Service
	}{
		{binaries.Products, sys.ProductsURL, sys.Products},
		{binaries.Payments, sys.PaymentsURL, sys.Payments},
	} {
		port := c.url[strings.LastIndexByte(c.url, ':')+1:]
		probe := func() (int, string) {
			cmd := exec.Command(c.binary, "-healthcheck")
			cmd.Env = []string{"PORT=" + port}
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return exit.ExitCode(), string(out)
			}
			if err != nil {
				t.Fatal(err)
			}
			return 0, string(out)
		}
		if code, out := probe(); code != 0 {
			t.Fatalf("%s -healthcheck on a running service: exit %d %s", c.binary, code, out)
		}
		if err := c.svc.Stop(); err != nil {
			t.Fatal(err)
		}
		if code, out := probe(); code != 1 || !strings.Contains(out, port) {
			t.Fatalf("%s -healthcheck on a stopped service: exit %d %q, want 1 naming the port", c.binary, code, out)
		}
	}
}

// The products binary refuses what it does not know, and serving refuses a password in its
// environment.
func TestProductsBinaryModes(t *testing.T) {
	cmd := exec.Command(binaries.Products, "serve-please")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "usage") {
		t.Fatalf("unknown argument: %v %s, want exit 2 with the usage", err, out)
	}
	cmd = exec.Command(binaries.Products)
	cmd.Env = append(sharedPostgres.Env(), "PAYMENT_ENDPOINT=http://127.0.0.1:1", "DB_AUTH=password-file", "DB_PASSWORD_FILE=/dev/null", "PORT="+strconv.Itoa(1))
	out, err = cmd.CombinedOutput()
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "DB_PASSWORD is set") {
		t.Fatalf("serving with DB_PASSWORD: %v %s, want exit 1 refusing it", err, out)
	}
	if strings.Contains(string(out), sharedPostgres.Password) {
		t.Fatalf("the refusal repeats the password: %s", out)
	}
}

// Two tasks starting at once run `products migrate` (the binary, as the migrate container does)
// against one new database: both exit 0 and every migration is recorded once.
func TestTwoMigrateProcessesAtOnce(t *testing.T) {
	pg := testenv.StartPostgres(t)
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- testenv.Migrate(binaries.Products, pg, testenv.AppRole) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(context.Background(), pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var records, distinct, rows int
	if err := conn.QueryRow(context.Background(), "SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0").Scan(&records, &distinct); err != nil {
		t.Fatal(err)
	}
	if records == 0 || records != distinct {
		t.Fatalf("%d migration records for %d versions: want each version once", records, distinct)
	}
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM core.dim_product").Scan(&rows); err != nil || rows != 10 {
		t.Fatalf("%d rows (%v), want the 10 of the dev data set", rows, err)
	}
}
