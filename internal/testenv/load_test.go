package testenv

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadHoldsItsRateAndCountsFailures(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%10 == 0 {
			http.Error(w, "every tenth fails", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	load := StartLoad(srv.URL, 100)
	time.Sleep(time.Second)
	res := load.Stop()
	if res.Sent < 50 || res.Sent > 110 { // a loaded machine may drop ticks, never add any
		t.Fatalf("%d requests in 1 s at 100/s", res.Sent)
	}
	if got := int(n.Load()); got != res.Sent {
		t.Fatalf("the server saw %d requests, the load counted %d: Stop did not wait for those in flight", got, res.Sent)
	}
	if res.Failed() != res.Sent/10 || res.Statuses[http.StatusServiceUnavailable] != res.Failed() || res.Statuses[http.StatusOK] != res.Sent-res.Failed() {
		t.Fatalf("%s: want every tenth request counted as a 503 failure", res)
	}
	if !strings.Contains(res.Failures[0], "status 503") || !strings.Contains(res.Failures[0], "every tenth fails") {
		t.Fatalf("failure line %q does not say what failed", res.Failures[0])
	}
}

func TestLoadCountsRequestsWithoutAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	url := srv.URL
	srv.Close() // nothing listens any more
	load := StartLoad(url, 50)
	time.Sleep(200 * time.Millisecond)
	res := load.Stop()
	if res.Sent == 0 || res.Failed() != res.Sent || res.Statuses[0] != res.Sent {
		t.Fatalf("%s: want every request failed with no answer", res)
	}
}
