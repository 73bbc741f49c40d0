package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/internal/testenv"
)

// healthCheckScale shortens the load balancer's health check for the test: its interval and
// timeout are divided by it (15 s and 5 s become 1.5 s and 0.5 s), the thresholds are kept.
const healthCheckScale = 10

// albChecker is the load balancer's target health check as the stack declares it (the
// contract's path, matcher, interval, timeout and thresholds), run against one target: ECS
// replaces a task once its target is unhealthy, i.e. after UnhealthyThreshold failed checks in
// a row.
type albChecker struct {
	url               string
	interval, timeout time.Duration

	mu          sync.Mutex
	probes      int
	failures    int // consecutive
	worstStreak int
	unhealthy   []string // a line per verdict, with the failed answers that led to it
	lastFailure string
}

func newALBChecker(target string) *albChecker {
	return &albChecker{
		url:      target + contract.LoadBalancerHealthCheckPath,
		interval: contract.LoadBalancerHealthCheckInterval / healthCheckScale,
		timeout:  contract.LoadBalancerHealthCheckTimeout / healthCheckScale,
	}
}

// run probes every interval until stop is closed.
func (c *albChecker) run(stop <-chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	client := &http.Client{
		Timeout:       c.timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for {
		ok, what := c.probe(client)
		c.mu.Lock()
		c.probes++
		if ok {
			c.failures = 0
		} else {
			c.failures++
			c.lastFailure = what
			c.worstStreak = max(c.worstStreak, c.failures)
			if c.failures == contract.LoadBalancerUnhealthyThreshold {
				c.unhealthy = append(c.unhealthy, time.Now().Format("15:04:05.000")+" unhealthy after "+what)
			}
		}
		c.mu.Unlock()
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

func (c *albChecker) probe(client *http.Client) (bool, string) {
	resp, err := client.Get(c.url)
	if err != nil {
		return false, err.Error()
	}
	resp.Body.Close()
	return matches(contract.LoadBalancerHealthCheckMatcher, resp.StatusCode), "status " + strconv.Itoa(resp.StatusCode)
}

// matches reads an ALB success-code matcher: codes separated by commas, or a range "a-b".
func matches(matcher string, status int) bool {
	for part := range strings.SplitSeq(matcher, ",") {
		low, high, isRange := strings.Cut(part, "-")
		if !isRange {
			high = low
		}
		lo, err1 := strconv.Atoi(low)
		hi, err2 := strconv.Atoi(high)
		if err1 == nil && err2 == nil && status >= lo && status <= hi {
			return true
		}
	}
	return false
}

func TestMatcherSyntax(t *testing.T) {
	for _, c := range []struct {
		matcher string
		status  int
		want    bool
	}{{"200", 200, true}, {"200", 503, false}, {"200,202", 202, true}, {"200-299", 204, true}, {"200-299", 301, false}} {
		if got := matches(c.matcher, c.status); got != c.want {
			t.Errorf("matches(%q, %d) = %v", c.matcher, c.status, got)
		}
	}
}

// A database outage longer than the health check's failure window (unhealthy threshold x
// interval) does not make the load balancer's check fail, so ECS would not replace the task:
// the API answers 503 JSON meanwhile and 200 again once the database is back, in the same
// process. /readyz, which does depend on the database, fails meanwhile: the outage was real and
// a check on it would have replaced the task.
func TestDatabaseOutageDoesNotFailTheLoadBalancerHealthCheck(t *testing.T) {
	pg := testenv.StartPostgres(t) // this test stops its database
	sys, _ := startSystem(t, pg, nil, nil)
	pid := sys.Products.PID()
	if a := get(t, sys.ProductsURL+"/api/1.0/products"); a.status != http.StatusOK {
		t.Fatalf("before the outage: %d %s", a.status, a.body)
	}

	checker := newALBChecker(sys.ProductsURL)
	stop := make(chan struct{})
	var done sync.WaitGroup
	done.Add(1)
	go checker.run(stop, &done)

	window := time.Duration(contract.LoadBalancerUnhealthyThreshold) * checker.interval
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	outage := time.Now()
	readyzFailed, apiAnswers := 0, 0
	for time.Since(outage) < window+2*checker.interval {
		a := get(t, sys.ProductsURL+"/api/1.0/products")
		wantJSONError(t, a, http.StatusServiceUnavailable)
		apiAnswers++
		if r := get(t, sys.ProductsURL+contract.ReadinessPath); r.status == http.StatusServiceUnavailable {
			readyzFailed++
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := get(t, sys.ProductsURL+"/api/1.0/products")
		if a.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("products did not recover within 10s of the database coming back: %d %s", a.status, a.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	done.Wait()

	checker.mu.Lock()
	defer checker.mu.Unlock()
	t.Logf("outage %s (failure window %s at 1/%d scale); %d health checks of %s, worst streak %d failures; %d API answers 503; /readyz 503 %d times",
		time.Since(outage).Round(100*time.Millisecond), window, healthCheckScale, checker.probes, contract.LoadBalancerHealthCheckPath,
		checker.worstStreak, apiAnswers, readyzFailed)
	if readyzFailed == 0 {
		t.Fatal("/readyz never failed: the database was not really down")
	}
	if checker.probes < contract.LoadBalancerUnhealthyThreshold+1 {
		t.Fatalf("%d health checks during the outage: fewer than the threshold, the test proves nothing", checker.probes)
	}
	if len(checker.unhealthy) > 0 {
		t.Fatalf("the load balancer would mark the target unhealthy (and ECS replace the task): %s", strings.Join(checker.unhealthy, "; "))
	}
	if got := sys.Products.PID(); got != pid || !sys.Products.Running() {
		t.Fatalf("products PID %d before, %d after: the process did not survive the outage", pid, got)
	}
}
