package testenv

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestStartSystemRunsBothServicesAndRestartsPayments(t *testing.T) {
	pg := StartPostgres(t)
	segments := StartSegmentListener(t)
	sys := StartSystem(t, SystemOptions{Postgres: pg, DaemonAddr: segments.Addr()})

	if got := status(t, sys.ProductsURL+"/api/1.0/products"); got != 200 {
		t.Fatalf("products: %d", got)
	}
	// products serves as the app role `products migrate` created, with the password file.
	if !strings.Contains(sys.Products.Logs(), `"db_user":"`+AppRole+`"`) || !strings.Contains(sys.Products.Logs(), `"db_auth":"password-file"`) {
		t.Errorf("products does not serve as %s with its password file:\n%s", AppRole, sys.Products.Logs())
	}
	if sys.Products.PID() == 0 {
		t.Error("PID() is 0 for a running service")
	}
	if got := status(t, sys.ProductsURL+"/api/1.0/payments"); got != 200 {
		t.Fatalf("products -> payments: %d", got)
	}
	// The system's services send their segments to the listener, sampled by SampleAllRules.
	deadline := time.Now().Add(5 * time.Second)
	for len(segments.Segments()) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(segments.Segments()); n < 3 {
		t.Fatalf("%d segment documents for 2 requests (3 expected: products twice, payments once)", n)
	}

	if err := sys.Payments.Stop(); err != nil {
		t.Fatalf("payments did not stop cleanly: %v", err)
	}
	if sys.Payments.Running() {
		t.Fatal("payments still running after Stop")
	}
	if got := status(t, sys.ProductsURL+"/api/1.0/payments"); got != http.StatusBadGateway {
		t.Fatalf("products with payments stopped: %d, want 502", got)
	}
	if err := sys.Payments.Start("PAYMENTS_FAIL_STATUS=503"); err != nil {
		t.Fatal(err)
	}
	if got := status(t, sys.PaymentsURL+"/api/1.0/payments"); got != 503 {
		t.Fatalf("payments restarted with PAYMENTS_FAIL_STATUS=503 answers %d", got)
	}
	if !strings.Contains(sys.Payments.Logs(), `"fail_status":503`) {
		t.Errorf("payments log does not show the restart's environment:\n%s", sys.Payments.Logs())
	}
}

func TestStartSystemProcessNeedsPostgres(t *testing.T) {
	if _, err := StartSystemProcess(SystemOptions{}); err == nil {
		t.Fatal("started a system without a database")
	}
}
