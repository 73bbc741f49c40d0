package tracing

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

const (
	sampleAllRules = `{"version": 2, "rules": [], "default": {"fixed_target": 0, "rate": 1}}`
	// testRulesEvery is the rules' polling interval in the tests that poll for real.
	testRulesEvery = 300 * time.Millisecond
)

// otelTracer starts the otel path against the sampling proxy at addr, with local rules.
func otelTracerWithProxy(t *testing.T, cfg Config) *Tracer {
	t.Helper()
	cfg.Mode, cfg.OTLPEndpoint = ModeOTel, "http://127.0.0.1:9" // spans go nowhere
	if cfg.Service == "" {
		cfg.Service = "products"
	}
	tr, err := Setup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_ = tr.Shutdown(ctx)
	})
	return tr
}

// sampledShare sends n requests through the tracer's middleware and counts the sampled ones,
// as the answers' X-Amzn-Trace-Id says.
func sampledShare(tr *Tracer, n int, header http.Header) int {
	h := tr.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	sampled := 0
	for range n {
		r := httptest.NewRequest(http.MethodGet, "http://products:8080/api/1.0/products", nil)
		for k, v := range header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if strings.HasSuffix(w.Header().Get("X-Amzn-Trace-Id"), ";Sampled=1") {
			sampled++
		}
	}
	return sampled
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A rule changed at X-Ray (here the stand-in) changes the sampled share within one polling
// interval of the rules, without a restart. The local rules sample everything, so a share of 0
// can only come from the rule X-Ray handed out.
func TestACentralRuleChangeAppliesWithinOnePollingInterval(t *testing.T) {
	proxy := newSamplingStandIn(t, xrayRuleFor("meshtrace-products", "products", 1000, 0, 0), defaultXRayRule(0, 0))
	tr := otelTracerWithProxy(t, Config{
		DaemonAddr: proxy.addr(), SamplingRules: sampleAllRules,
		SamplingRulesInterval: testRulesEvery, SamplingTargetsInterval: time.Hour, // the rules poll alone brings the change
	})
	waitFor(t, "the first rules fetched", 5*time.Second, func() bool { return tr.otel.sampler.rules.Load() != nil })
	if got := sampledShare(tr, 200, nil); got != 0 {
		t.Fatalf("%d of 200 sampled under X-Ray's rule of rate 0 and no reservoir, want 0", got)
	}
	proxy.setRules(xrayRuleFor("meshtrace-products", "products", 1000, 0, 1), defaultXRayRule(0, 0))
	changed := time.Now()
	waitFor(t, "the changed rule applied", 2*testRulesEvery, func() bool { return sampledShare(tr, 1, nil) == 1 })
	// One interval plus its jitter (2%) plus the fetch itself: well under 1.5 intervals.
	if took := time.Since(changed); took > testRulesEvery*3/2 {
		t.Errorf("the change took %s, more than one polling interval (%s)", took, testRulesEvery)
	}
	if got := sampledShare(tr, 200, nil); got != 200 {
		t.Errorf("%d of 200 sampled under the changed rule of rate 1", got)
	}
	// A rule for the other service does not apply here: Default (rate 0) does.
	proxy.setRules(xrayRuleFor("meshtrace-payments", "payments", 1000, 0, 1), defaultXRayRule(0, 0))
	waitFor(t, "the rule of payments ignored", 2*testRulesEvery, func() bool { return sampledShare(tr, 1, nil) == 0 })
	if got := len(proxy.callsTo("/GetSamplingRules")); got < 3 {
		t.Errorf("%d rules fetches, want at least 3", got)
	}
}

// In production a change arrives sooner than the rules' 5 minutes: the statistics poller's
// answer says the rules changed (LastRuleModification), and the rules poller fetches them at
// once. Here the rules' own interval is an hour, so only that path can bring the change.
func TestARuleChangeArrivesWithTheNextTargets(t *testing.T) {
	proxy := newSamplingStandIn(t, xrayRuleFor("meshtrace-products", "products", 1000, 0, 0), defaultXRayRule(0, 0))
	const targetsEvery = 100 * time.Millisecond
	tr := otelTracerWithProxy(t, Config{
		DaemonAddr: proxy.addr(), SamplingRules: sampleAllRules,
		SamplingRulesInterval: time.Hour, SamplingTargetsInterval: targetsEvery,
	})
	// X-Ray's targets say when a rule's statistics are due again (Interval, 10 s from X-Ray):
	// 1 s here.
	proxy.mu.Lock()
	proxy.quota = func(rule xrayRule, now time.Time) samplingTarget {
		quota, ttl, interval := rule.ReservoirSize, float64(now.Unix()+10), 1
		return samplingTarget{RuleName: rule.RuleName, FixedRate: &rule.FixedRate, ReservoirQuota: &quota, ReservoirQuotaTTL: &ttl, Interval: &interval}
	}
	proxy.mu.Unlock()
	waitFor(t, "the first rules fetched", 5*time.Second, func() bool { return tr.otel.sampler.rules.Load() != nil })
	if got := sampledShare(tr, 50, nil); got != 0 {
		t.Fatalf("%d of 50 sampled under X-Ray's rule of rate 0", got)
	}
	time.Sleep(1100 * time.Millisecond) // the change lands in a later epoch second than the fetch
	proxy.setRules(xrayRuleFor("meshtrace-products", "products", 1000, 0, 1), defaultXRayRule(0, 0))
	changed := time.Now()
	waitFor(t, "the changed rule applied", 3*time.Second, func() bool { return sampledShare(tr, 1, nil) == 1 })
	// At most the statistics' interval (whole seconds) and two polls of the targets.
	if took := time.Since(changed); took > 2*time.Second+2*targetsEvery {
		t.Errorf("the change took %s with statistics due every second, polled every %s", took, targetsEvery)
	}
	if calls := proxy.callsTo("/SamplingTargets"); len(calls) < 2 {
		t.Errorf("%d targets calls, want the statistics reported before and after the change", len(calls))
	}
	// The targets' answer carries the new rate itself, so the change may apply before the rules
	// poller, woken by LastRuleModification, has fetched the rules again: wait for that fetch.
	waitFor(t, "the rules fetched again", 2*time.Second, func() bool { return len(proxy.callsTo("/GetSamplingRules")) >= 2 })
	if got := len(proxy.callsTo("/GetSamplingRules")); got != 2 {
		t.Errorf("%d rules fetches, want 2 (the first, and the one the targets asked for)", got)
	}
}

// With the proxy down from the start, the local rules decide: TRACING_SAMPLING_RULES when the
// stack hands them, else X-Ray's default rule (1/s then 5%).
func TestLocalRulesDecideWhileTheProxyIsDown(t *testing.T) {
	down := closedAddr(t)
	all := otelTracerWithProxy(t, Config{DaemonAddr: down, SamplingRules: sampleAllRules, SamplingRulesInterval: 20 * time.Millisecond})
	none := otelTracerWithProxy(t, Config{DaemonAddr: down, SamplingRules: sampleNothingRules, SamplingRulesInterval: 20 * time.Millisecond})
	def := otelTracerWithProxy(t, Config{DaemonAddr: down, SamplingRulesInterval: 20 * time.Millisecond})
	time.Sleep(100 * time.Millisecond) // several failed polls
	if got := sampledShare(all, 100, nil); got != 100 {
		t.Errorf("local rules of rate 1: %d of 100 sampled", got)
	}
	if got := sampledShare(none, 100, nil); got != 0 {
		t.Errorf("local rules of rate 0: %d of 100 sampled", got)
	}
	// 1,000 requests well within a few seconds: 1 a second from the reservoir, 5% of the rest.
	if got := sampledShare(def, 1000, nil); got < 10 || got > 110 {
		t.Errorf("the default rule: %d of 1,000 sampled, want about 1 + 50", got)
	}
	for _, tr := range []*Tracer{all, none, def} {
		if tr.otel.sampler.rules.Load() != nil {
			t.Error("rules without a proxy")
		}
	}
}

// A collector that starts after the app: until the first rules arrive the rules are asked for
// at the targets' pace, so X-Ray's rules apply soon after the proxy answers, not 5 minutes later.
func TestRulesArriveSoonAfterTheProxyComesUp(t *testing.T) {
	addr := closedAddr(t)
	tr := otelTracerWithProxy(t, Config{
		DaemonAddr: addr, SamplingRules: sampleAllRules,
		SamplingRulesInterval: time.Hour, SamplingTargetsInterval: 100 * time.Millisecond,
	})
	time.Sleep(150 * time.Millisecond) // the first fetch has failed
	if got := sampledShare(tr, 20, nil); got != 20 {
		t.Fatalf("before the proxy is up: %d of 20 sampled, want the local rule's 20", got)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the proxy's address %s was taken meanwhile: %v", addr, err)
	}
	newSamplingStandInOn(t, l, xrayRuleFor("meshtrace-products", "products", 1000, 0, 0), defaultXRayRule(0, 0))
	waitFor(t, "X-Ray's rules fetched once the proxy is up", time.Second, func() bool { return tr.otel.sampler.rules.Load() != nil })
	if got := sampledShare(tr, 20, nil); got != 0 {
		t.Errorf("after the proxy came up: %d of 20 sampled, want X-Ray's rule's 0", got)
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// fakeClock is a sampler's clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func (c *fakeClock) nextSecond() time.Time {
	c.t = c.t.Truncate(time.Second).Add(time.Second)
	return c.t
}
func (c *fakeClock) unix(d time.Duration) float64 { return float64(c.t.Add(d).Unix()) }

// centralSampler is a sampler of the stand-in's rules on a fake clock, polled by the test
// (refreshRules, refreshTargets) rather than by timers.
func centralSampler(t *testing.T, proxy *samplingStandIn, local string) (*xraySampler, *fakeClock) {
	t.Helper()
	rules := defaultSamplingRules()
	if local != "" {
		var err error
		if rules, err = parseSamplingRules([]byte(local)); err != nil {
			t.Fatal(err)
		}
	}
	addr := closedAddr(t)
	if proxy != nil {
		addr = proxy.addr()
	}
	s, err := newCentralSampler(centralSamplerConfig{local: rules, daemonAddr: addr, service: "products"})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	s.now, s.local.now = clock.now, clock.now
	if proxy != nil {
		proxy.now = clock.now
	}
	return s, clock
}

// countSampled decides n requests for path in the clock's current second.
func countSampled(s *xraySampler, n int, path string) int {
	sampled := 0
	for range n {
		if s.sample(samplingRequest{host: "products", method: "GET", path: path}) {
			sampled++
		}
	}
	return sampled
}

// The reservoir as X-Ray runs it: before a quota arrives a rule borrows 1 request a second;
// GetSamplingTargets reports requests, sampled and borrowed, and hands a quota with a TTL, which
// is honoured each second until the TTL, then borrowing resumes. A rule without a reservoir
// never borrows.
func TestReservoirQuotaFromXRayIsHonoured(t *testing.T) {
	api := xrayRuleFor("products-api", "products", 1000, 10, 0)
	api.URLPath = "/api/*"
	proxy := newSamplingStandIn(t, api, defaultXRayRule(0, 0))
	s, clock := centralSampler(t, proxy, sampleAllRules)
	if err := s.refreshRules(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.nextSecond()
	if got := countSampled(s, 50, "/api/1.0/products"); got != 1 {
		t.Errorf("before a quota: %d of 50 sampled in one second, want 1 (borrowed)", got)
	}
	clock.nextSecond()
	if got := countSampled(s, 50, "/api/1.0/products"); got != 1 {
		t.Errorf("before a quota, the next second: %d of 50 sampled, want 1", got)
	}
	if got := countSampled(s, 50, "/healthz"); got != 0 {
		t.Errorf("Default without a reservoir: %d of 50 sampled, want 0 (no borrowing)", got)
	}

	ttl := clock.unix(30 * time.Second)
	proxy.quota = func(rule xrayRule, _ time.Time) samplingTarget {
		quota, interval := 3, 10
		return samplingTarget{RuleName: rule.RuleName, FixedRate: &rule.FixedRate, ReservoirQuota: &quota, ReservoirQuotaTTL: &ttl, Interval: &interval}
	}
	if err := s.refreshTargets(context.Background()); err != nil {
		t.Fatal(err)
	}
	var in getSamplingTargetsInput
	calls := proxy.callsTo("/SamplingTargets")
	if len(calls) != 1 || json.Unmarshal(calls[0].Request, &in) != nil {
		t.Fatalf("targets calls: %v", calls)
	}
	stats := map[string]samplingStatistics{}
	for _, d := range in.SamplingStatisticsDocuments {
		stats[d.RuleName] = d
		if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(d.ClientID) || d.Timestamp != clock.t.Unix() {
			t.Errorf("statistics of %s: client %q at %d", d.RuleName, d.ClientID, d.Timestamp)
		}
	}
	if got := stats["products-api"]; got.RequestCount != 100 || got.SampledCount != 0 || got.BorrowCount != 2 {
		t.Errorf("statistics of products-api: %+v, want 100 requests, 0 sampled, 2 borrowed", got)
	}
	if got := stats[defaultRuleName]; got.RequestCount != 50 || got.SampledCount != 0 || got.BorrowCount != 0 {
		t.Errorf("statistics of Default: %+v, want 50 requests, none sampled or borrowed", got)
	}
	for range 3 {
		clock.nextSecond()
		if got := countSampled(s, 50, "/api/1.0/products"); got != 3 {
			t.Errorf("with a quota of 3: %d of 50 sampled in a second", got)
		}
	}
	// Not due yet (the target's Interval is 10 s): nothing to report.
	if err := s.refreshTargets(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(proxy.callsTo("/SamplingTargets")); got != 1 {
		t.Errorf("%d targets calls before the rule's interval passed, want 1", got)
	}
	clock.add(30 * time.Second) // past the quota's TTL
	if got := countSampled(s, 50, "/api/1.0/products"); got != 1 {
		t.Errorf("after the quota's TTL: %d of 50 sampled, want 1 (borrowed)", got)
	}
}

// The targets' LastRuleModification newer than the last fetch asks for the rules at once, as
// the SDK does; the rules poller takes that as its wake-up.
func TestChangedRulesAreFetchedAtTheNextTargets(t *testing.T) {
	proxy := newSamplingStandIn(t, xrayRuleFor("products-all", "products", 1000, 0, 0), defaultXRayRule(0, 0))
	s, clock := centralSampler(t, proxy, "")
	if err := s.refreshRules(context.Background()); err != nil {
		t.Fatal(err)
	}
	countSampled(s, 5, "/x")
	if err := s.refreshTargets(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.refreshNow) != 0 {
		t.Fatal("rules asked for although unchanged since the fetch")
	}
	clock.add(20 * time.Second)
	proxy.setRules(xrayRuleFor("products-all", "products", 1000, 0, 1), defaultXRayRule(0, 0))
	countSampled(s, 5, "/x")
	if err := s.refreshTargets(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.refreshNow) != 1 {
		t.Fatal("the rules changed after the fetch, but were not asked for")
	}
}

// Once fetched, X-Ray's rules apply while the proxy is down (their quotas run out, then 1/s is
// borrowed and the fixed rate applies) for an hour; after that the local rules decide again.
func TestLocalRulesReturnAnHourAfterTheLastFetch(t *testing.T) {
	proxy := newSamplingStandIn(t, xrayRuleFor("products-all", "products", 1000, 0, 0), defaultXRayRule(0, 0))
	s, clock := centralSampler(t, proxy, sampleAllRules)
	if err := s.refreshRules(context.Background()); err != nil {
		t.Fatal(err)
	}
	proxy.srv.Close()
	if err := s.refreshRules(context.Background()); err == nil {
		t.Fatal("no error from a proxy that is down")
	}
	clock.add(59 * time.Minute)
	if got := countSampled(s, 100, "/x"); got != 0 {
		t.Errorf("59 minutes after the fetch: %d of 100 sampled, want 0 (X-Ray's rule)", got)
	}
	clock.add(2 * time.Minute)
	if got := countSampled(s, 100, "/x"); got != 100 {
		t.Errorf("61 minutes after the fetch: %d of 100 sampled, want 100 (the local rules)", got)
	}
}

// A proxy that answers with an error or with no rules leaves the decision to the local rules.
func TestLocalRulesDecideWhenTheProxyHasNoRules(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"__type":"ThrottledException"}`, http.StatusTooManyRequests)
	}))
	defer failing.Close()
	s, err := newCentralSampler(centralSamplerConfig{local: sampleAll, daemonAddr: strings.TrimPrefix(failing.URL, "http://"), service: "products"})
	if err != nil {
		t.Fatal(err)
	}
	var logged []string
	s.logf = func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	for range 3 {
		err := s.refreshRules(context.Background())
		if err == nil || !strings.Contains(err.Error(), "429") {
			t.Errorf("refreshRules against a 429: %v", err)
		}
		s.report(err)
	}
	s.report(nil)
	if len(logged) != 2 || !strings.Contains(logged[0], "429") || !strings.Contains(logged[1], "answers again") {
		t.Errorf("an outage of three polls logged as %q, want its start and its end", logged)
	}
	if got := countSampled(s, 10, "/x"); got != 10 {
		t.Errorf("after a failed fetch: %d of 10 sampled, want the local rule's 10", got)
	}
	empty := newSamplingStandIn(t) // no rules at all, not even Default
	s2, _ := centralSampler(t, empty, sampleAllRules)
	if err := s2.refreshRules(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := countSampled(s2, 10, "/x"); got != 10 {
		t.Errorf("with no rule from X-Ray: %d of 10 sampled, want the local rule's 10", got)
	}
}

// Rules are tried in priority order, then by name, Default last; a rule matches on service name
// and type, host, method, path and attributes (wildcards, case-insensitive); rules the SDK
// does not apply (another version, a specific resource) are left out.
func TestCentralRulesMatchAsXRaySays(t *testing.T) {
	rule := func(name string, priority int, edit func(*xrayRule)) xrayRule {
		r := xrayRuleFor(name, "*", priority, 0, 0)
		edit(&r)
		return r
	}
	proxy := newSamplingStandIn(t,
		defaultXRayRule(0, 0),
		rule("z-health", 10, func(r *xrayRule) { r.URLPath = "/health*"; r.HTTPMethod = "get" }),
		rule("a-health", 10, func(r *xrayRule) { r.URLPath = "/HEALTH*" }),
		rule("payments-only", 1, func(r *xrayRule) { r.ServiceName = "payments" }),
		rule("on-ec2", 2, func(r *xrayRule) { r.ServiceType = "AWS::EC2::Instance" }),
		rule("other-host", 3, func(r *xrayRule) { r.Host = "admin.*" }),
		rule("posts", 20, func(r *xrayRule) { r.HTTPMethod = "POST" }),
		rule("curl", 30, func(r *xrayRule) { r.Attributes = map[string]string{"user_agent.original": "curl/*"} }),
		rule("version-2", 5, func(r *xrayRule) { r.Version = 2 }),
		rule("one-resource", 6, func(r *xrayRule) { r.ResourceARN = "arn:aws:ecs:us-east-1:123456789012:task/x" }),
		rule("api", 40, func(r *xrayRule) { r.URLPath = "/api/?.0/*"; r.ServiceName = "prod*" }),
	)
	proxy.pageSize = 4 // three pages: NextToken is followed
	s, _ := centralSampler(t, proxy, "")
	s.serviceType = ecsServiceType
	if err := s.refreshRules(context.Background()); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range s.rules.Load().rules {
		order = append(order, r.name)
	}
	if got, want := strings.Join(order, " "), "payments-only on-ec2 other-host a-health z-health posts curl api Default"; got != want {
		t.Errorf("rules in the order %q, want %q", got, want)
	}
	for _, c := range []struct {
		method, host, path, agent, want string
	}{
		{"GET", "products", "/healthz", "", "a-health"},
		{"POST", "products", "/x", "", "posts"},
		{"GET", "admin.example.com", "/x", "", "other-host"},
		{"GET", "products", "/x", "curl/8.5", "curl"},
		{"GET", "products", "/api/1.0/products", "Go-http-client/1.1", "api"},
		{"GET", "products", "/other", "", defaultRuleName},
	} {
		r := httptest.NewRequest(c.method, "http://"+c.host+c.path, nil)
		if c.agent != "" {
			r.Header.Set("User-Agent", c.agent)
		}
		q := samplingRequest{host: c.host, method: c.method, path: c.path, r: r}
		if got := matchedRule(s, q); got != c.want {
			t.Errorf("%s %s%s (%s): rule %q, want %q", c.method, c.host, c.path, c.agent, got, c.want)
		}
	}
	// The span's start attributes stand for the request when the SDK asks (no middleware).
	q := samplingRequest{host: "products", method: "GET", path: "/x", attrs: []attribute.KeyValue{attribute.String("user_agent.original", "curl/8")}}
	if got := matchedRule(s, q); got != "curl" {
		t.Errorf("span attributes: rule %q, want curl", got)
	}
}

func matchedRule(s *xraySampler, q samplingRequest) string {
	for _, r := range s.rules.Load().rules {
		if r.matches(s.service, s.serviceType, q) {
			return r.name
		}
	}
	return ""
}

// More rules with traffic than one GetSamplingTargets call takes (25) are reported in several.
func TestStatisticsGoOutInCallsOfAtMost25(t *testing.T) {
	var rules []xrayRule
	for i := range 30 {
		r := xrayRuleFor("rule-"+string(rune('a'+i/10))+string(rune('0'+i%10)), "products", 100+i, 1, 0)
		r.URLPath = "/" + r.RuleName
		rules = append(rules, r)
	}
	proxy := newSamplingStandIn(t, append(rules, defaultXRayRule(0, 0))...)
	s, _ := centralSampler(t, proxy, "")
	if err := s.refreshRules(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		countSampled(s, 1, r.URLPath)
	}
	if err := s.refreshTargets(context.Background()); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range proxy.callsTo("/SamplingTargets") {
		var in getSamplingTargetsInput
		if err := json.Unmarshal(c.Request, &in); err != nil {
			t.Fatal(err)
		}
		if len(in.SamplingStatisticsDocuments) > 25 { // the model's SamplingStatisticsDocumentList max
			t.Errorf("%d statistics documents in one call", len(in.SamplingStatisticsDocuments))
		}
		total += len(in.SamplingStatisticsDocuments)
	}
	if total != 30 {
		t.Errorf("%d statistics documents reported, want 30", total)
	}
}

// The edge protections hold under X-Ray's rules: a flood of Sampled=1 is traced only within the
// forced budget (1 a second) when X-Ray's rule samples nothing, and Sampled=0 does not hide
// requests from a rule that samples everything.
func TestCallersCannotForceOrSuppressSamplingUnderCentralRules(t *testing.T) {
	proxy := newSamplingStandIn(t, xrayRuleFor("products-all", "products", 1000, 0, 0), defaultXRayRule(0, 0))
	tr := otelTracerWithProxy(t, Config{
		DaemonAddr: proxy.addr(), SamplingRules: sampleAllRules, Edge: true, EdgeForcedPerSecond: 1,
		SamplingRulesInterval: time.Hour, SamplingTargetsInterval: time.Hour,
	})
	waitFor(t, "the first rules fetched", 5*time.Second, func() bool { return tr.otel.sampler.rules.Load() != nil })
	start := time.Now()
	forced := sampledShare(tr, 1000, http.Header{"X-Amzn-Trace-Id": {"Root=" + validRoot + ";Parent=53995c3f42cd8ad8;Sampled=1"}})
	seconds := int(time.Now().Unix()-start.Unix()) + 1 // the clock seconds the flood spanned
	if forced < 1 || forced > seconds {
		t.Errorf("%d of 1,000 requests with Sampled=1 traced over %d clock seconds, want 1 to %d (the edge budget)", forced, seconds, seconds)
	}
	proxy.setRules(xrayRuleFor("products-all", "products", 1000, 0, 1), defaultXRayRule(0, 0))
	if err := tr.otel.sampler.refreshRules(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hidden := sampledShare(tr, 200, http.Header{"X-Amzn-Trace-Id": {"Root=" + validRoot + ";Parent=53995c3f42cd8ad8;Sampled=0"}}); hidden != 200 {
		t.Errorf("%d of 200 requests with Sampled=0 traced under a rule of rate 1, want 200", hidden)
	}
}

func TestProxyAddressFromTheDaemonAddress(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:2000":                        "127.0.0.1:2000",
		"tcp:127.0.0.1:2000 udp:127.0.0.1:2001": "127.0.0.1:2000",
		"udp:127.0.0.1:2001 tcp:10.0.0.1:3000":  "10.0.0.1:3000",
		"collector:2000":                        "collector:2000",
	} {
		if got, err := proxyAddress(in); err != nil || got != want {
			t.Errorf("proxyAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2000", "udp:127.0.0.1:2001", "tcp:127.0.0.1:2000 xyz", "http://127.0.0.1:2000"} {
		if got, err := proxyAddress(bad); err == nil {
			t.Errorf("proxyAddress(%q) = %q, want an error", bad, got)
		}
	}
	if _, err := Setup(Config{Service: "svc", Mode: ModeOTel, DaemonAddr: "udp:127.0.0.1:2000"}); err == nil || !strings.Contains(err.Error(), "AWS_XRAY_DAEMON_ADDRESS") {
		t.Errorf("otel mode with a daemon address without TCP: %v", err)
	}
}

// Deciding for an unsampled request allocates nothing, under X-Ray's rules (patterns that are
// not "*", mixed case, a rule with attributes tried first) as under the local ones.
func TestDecidingAllocatesNothing(t *testing.T) {
	api := xrayRuleFor("products-api", "PRODUCTS", 1000, 0, 0)
	api.URLPath, api.HTTPMethod, api.Host = "/API/*", "get", "Products*"
	curl := xrayRuleFor("curl", "*", 10, 0, 0)
	curl.Attributes = map[string]string{"user_agent.original": "curl/*"}
	proxy := newSamplingStandIn(t, curl, api, defaultXRayRule(0, 0))
	s, _ := centralSampler(t, proxy, sampleNothingRules)
	r := httptest.NewRequest(http.MethodGet, "http://products:8080/api/1.0/products", nil)
	r.Header.Set("User-Agent", "Go-http-client/1.1")
	q := samplingRequest{host: "products", method: "GET", path: "/api/1.0/products", r: r}
	if n := testing.AllocsPerRun(1000, func() { s.sample(q) }); n != 0 {
		t.Errorf("local rules: %.1f allocations a decision", n)
	}
	if err := s.refreshRules(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := matchedRule(s, q); got != "products-api" {
		t.Fatalf("matched %q, want products-api", got)
	}
	if n := testing.AllocsPerRun(1000, func() { s.sample(q) }); n != 0 {
		t.Errorf("X-Ray's rules: %.1f allocations a decision", n)
	}
}

// The unsampled two-hop path under X-Ray's rules (a rule of rate 0), to compare with
// BenchmarkTwoHopOTelUnsampled (local rules).
func BenchmarkTwoHopOTelUnsampledCentralRules(b *testing.B) {
	proxy := newSamplingStandIn(b, xrayRuleFor("svc-none", "svc", 1000, 0, 0), defaultXRayRule(0, 0))
	tracer, err := Setup(Config{Service: "svc", Mode: ModeOTel, OTLPEndpoint: "http://127.0.0.1:9", DaemonAddr: proxy.addr(), SamplingTargetsInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer tracer.Shutdown(b.Context())
	for tracer.otel.sampler.rules.Load() == nil {
		time.Sleep(time.Millisecond)
	}
	benchmarkTwoHop(b, tracer)
}

// One decision for an unsampled request, under X-Ray's rules (a rule with patterns tried before
// the matching one) and under the local rules: the sampler's own share of the path above.
func BenchmarkDecision(b *testing.B) {
	api := xrayRuleFor("products-api", "products", 1000, 0, 0)
	api.URLPath, api.HTTPMethod = "/api/*", "GET"
	health := xrayRuleFor("health", "*", 10, 0, 0)
	health.URLPath = "/health*"
	proxy := newSamplingStandIn(b, health, api, defaultXRayRule(0, 0))
	s, err := newCentralSampler(centralSamplerConfig{local: defaultSamplingRules(), daemonAddr: proxy.addr(), service: "products"})
	if err != nil {
		b.Fatal(err)
	}
	s.local = newEdgeSampler(&samplingRules{Version: 2, Default: &samplingRule{}})
	q := samplingRequest{host: "products", method: "GET", path: "/api/1.0/products"}
	b.Run("local", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			s.sample(q)
		}
	})
	if err := s.refreshRules(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Run("central", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			s.sample(q)
		}
	})
}
