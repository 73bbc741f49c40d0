package e2e

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// The real products binary, run with its documented environment only (TRACING_EDGE unset:
// empty here, which the services read as unset, over testenv's explicit true), is the edge: 30
// requests asking Sampled=1 within about a second are not all traced, only the forced budget
// (1 a second) is, under a rule that traces nothing else. With TRACING_EDGE=false the caller
// decides, and all 30 are: the test tells the two apart.
func TestProductsBinaryIsTheEdgeByDefault(t *testing.T) {
	segments := testenv.StartSegmentListener(t)
	sys := testenv.StartSystem(t, testenv.SystemOptions{
		Binaries: binaries, Postgres: sharedPostgres, DaemonAddr: segments.Addr(),
		SamplingRules: `{"version": 2, "default": {"fixed_target": 0, "rate": 0}}`,
		ProductsEnv:   []string{"TRACING_EDGE="},
	})
	forced := func() int {
		before := countSegments(segments, "products")
		for i := range 30 {
			root := "1-" + strconv.FormatInt(time.Now().Unix(), 16) + "-0123456789abcdef0123" + strconv.Itoa(1000+i)
			if a := getWith(t, sys.ProductsURL+"/api/1.0/products", http.Header{"X-Amzn-Trace-Id": {"Root=" + root + ";Parent=53995c3f42cd8ad8;Sampled=1"}}); a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
		}
		time.Sleep(time.Second) // segments are sent as their requests end
		return countSegments(segments, "products") - before
	}
	started := time.Now()
	if n := forced(); n > 1+int(time.Since(started).Seconds())+1 {
		t.Errorf("documented environment: %d of 30 requests with Sampled=1 traced in %s, want the forced budget of 1 a second", n, time.Since(started).Round(time.Millisecond))
	}
	if err := sys.Products.Restart("TRACING_EDGE=false"); err != nil {
		t.Fatal(err)
	}
	if n := forced(); n != 30 {
		t.Errorf("TRACING_EDGE=false: %d of 30 requests with Sampled=1 traced, want all (the caller decides)", n)
	}
}

// countSegments counts the segment documents of service received so far.
func countSegments(l *testenv.SegmentListener, service string) int {
	n := 0
	for _, s := range l.Segments() {
		if s.Name == service {
			n++
		}
	}
	return n
}
