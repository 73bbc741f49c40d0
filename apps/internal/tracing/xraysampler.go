package tracing

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Centralized sampling in the OpenTelemetry path: X-Ray's sampling rules (the stack's
// aws:xray/samplingRule resources, or the console's) and the reservoir quotas X-Ray hands out,
// polled through the ADOT collector's X-Ray proxy (the awsxray receiver's proxy_server, at
// AWS_XRAY_DAEMON_ADDRESS) as the X-Ray SDK polls them through the daemon. docs/tracing.md
// ("Centralized sampling") gives the sources of each behaviour:
//
//   - GetSamplingRules (POST /GetSamplingRules) at start and every 5 minutes: version 1 rules
//     for any resource ("*"), tried in priority order then by name, "Default" last;
//   - GetSamplingTargets (POST /SamplingTargets) every 10 seconds, with each rule's statistics
//     (requests, sampled, borrowed) since its last report; the answer is the rule's reservoir
//     quota for this process (requests a second, until the quota's TTL), its fixed rate, and
//     when the rules last changed (newer than ours: the rules are fetched at once);
//   - a rule without a current quota borrows 1 request a second (unless its reservoir is 0),
//     then applies its fixed rate;
//   - before the first rules arrive, and when no fetch succeeded for an hour (the proxy down),
//     the local rules decide (sampling.go: TRACING_SAMPLING_RULES, the rules file, or the
//     default 1/s + 5%).

const (
	// DefaultSamplingRulesInterval and DefaultSamplingTargetsInterval are the X-Ray SDK's
	// polling periods for rules and for targets (statistics out, quotas in).
	DefaultSamplingRulesInterval   = 5 * time.Minute
	DefaultSamplingTargetsInterval = 10 * time.Second
	// centralRulesTTL: rules not refreshed for this long give way to the local rules.
	centralRulesTTL = time.Hour
	// maxStatisticsPerCall is GetSamplingTargets' limit (SamplingStatisticsDocumentList, max 25).
	maxStatisticsPerCall = 25
	// proxyTimeout bounds one call to the proxy.
	proxyTimeout = 5 * time.Second
	// defaultRuleName is the rule X-Ray always has, applied when no other rule matches.
	defaultRuleName = "Default"
	// ecsServiceType is the origin of a service on ECS, what a rule's ServiceType matches.
	ecsServiceType = "AWS::ECS::Container"
)

// The X-Ray API's shapes (botocore's data/xray/2016-04-12/service-2.json), as far as used.
type (
	xrayRuleRecord struct {
		SamplingRule *xrayRule
		CreatedAt    float64 `json:",omitempty"`
		ModifiedAt   float64 `json:",omitempty"`
	}
	xrayRule struct {
		RuleName      string
		RuleARN       string `json:",omitempty"`
		ResourceARN   string
		Priority      int
		FixedRate     float64
		ReservoirSize int
		ServiceName   string
		ServiceType   string
		Host          string
		HTTPMethod    string
		URLPath       string
		Version       int
		Attributes    map[string]string `json:",omitempty"`
	}
	getSamplingRulesInput struct {
		NextToken string `json:",omitempty"`
	}
	getSamplingRulesOutput struct {
		SamplingRuleRecords []xrayRuleRecord
		NextToken           string `json:",omitempty"`
	}
	samplingStatistics struct {
		RuleName     string
		ClientID     string
		Timestamp    int64 // epoch seconds, as rest-json sends timestamps
		RequestCount int
		SampledCount int
		BorrowCount  int
	}
	getSamplingTargetsInput struct {
		SamplingStatisticsDocuments []samplingStatistics
	}
	samplingTarget struct {
		RuleName          string
		FixedRate         *float64 `json:",omitempty"`
		ReservoirQuota    *int     `json:",omitempty"`
		ReservoirQuotaTTL *float64 `json:",omitempty"`
		Interval          *int     `json:",omitempty"`
	}
	unprocessedStatistics struct {
		RuleName, ErrorCode, Message string
	}
	getSamplingTargetsOutput struct {
		SamplingTargetDocuments []samplingTarget
		LastRuleModification    *float64                `json:",omitempty"`
		UnprocessedStatistics   []unprocessedStatistics `json:",omitempty"`
	}
)

// xraySampler decides for a request that starts a trace here: with X-Ray's rules when it has
// current ones, with the local rules otherwise. Without a proxy it is the local rules alone.
type xraySampler struct {
	local *edgeSampler

	// service and serviceType are what a rule's ServiceName and ServiceType match.
	service, serviceType string
	proxy                string // http://host:port of the X-Ray proxy; "" for local rules only
	client               *http.Client
	clientID             string // 24 hex digits, names this process in the statistics
	rulesEvery           time.Duration
	targetsEvery         time.Duration
	now                  func() time.Time
	logf                 func(format string, args ...any)

	rules      atomic.Pointer[centralRules] // nil until the first fetch
	refreshNow chan struct{}                // the targets' answer asks for the rules at once
	failing    atomic.Bool                  // the last call failed (logged once per outage)
	stop       context.CancelFunc
	pollers    sync.WaitGroup
}

// centralRules is one fetch of X-Ray's rules, in the order they are tried.
type centralRules struct {
	rules   []*centralRule
	byName  map[string]*centralRule
	fetched time.Time
}

// centralRule is one of X-Ray's rules: what it matches, fixed when fetched, and its reservoir
// and statistics, kept across fetches while the rule keeps its name.
type centralRule struct {
	name                                         string
	priority                                     int
	isDefault                                    bool
	serviceName, serviceType, host, method, path string
	attributes                                   map[string]string
	*ruleState
}

type ruleState struct {
	mu         sync.Mutex
	size       int // ReservoirSize: a rule with none does not borrow
	rate       float64
	quota      int   // the reservoir quota X-Ray gave this process, requests a second
	quotaUntil int64 // epoch second the quota holds until (its TTL); 0: none yet
	interval   int64 // seconds between reports of this rule (the target's Interval)
	reportedAt int64
	second     int64 // the second used and borrowed count in
	used       int
	borrowed   bool
	requests   int
	sampled    int
	borrows    int
}

// samplingRequest is what rules match: the request's host, method and path, and, for rules with
// attributes, the server span's start attributes (attrs, from the SDK) or the request they come
// from (r, from the middleware, which decides before otelhttp makes them).
type samplingRequest struct {
	host, method, path string
	r                  *http.Request
	attrs              []attribute.KeyValue
}

// attribute is the value of a start attribute of the server span, as otelhttp sets it.
func (q samplingRequest) attribute(key string) (string, bool) {
	for _, kv := range q.attrs {
		if string(kv.Key) == key {
			return kv.Value.Emit(), true
		}
	}
	if q.r == nil {
		return "", false
	}
	switch key {
	case "http.request.method":
		return q.method, true
	case "url.path":
		return q.path, true
	case "server.address":
		return q.host, true
	case "url.scheme":
		if q.r.TLS != nil {
			return "https", true
		}
		return "http", true
	case "user_agent.original":
		ua := q.r.UserAgent()
		return ua, ua != ""
	}
	return "", false
}

// centralSamplerConfig is what newCentralSampler needs.
type centralSamplerConfig struct {
	local                    *samplingRules
	daemonAddr               string // AWS_XRAY_DAEMON_ADDRESS: the proxy's TCP address is taken from it
	service, serviceType     string
	rulesEvery, targetsEvery time.Duration // 0: the defaults
}

// newCentralSampler makes the sampler of the otel path; start begins the polling.
func newCentralSampler(c centralSamplerConfig) (*xraySampler, error) {
	addr, err := proxyAddress(c.daemonAddr)
	if err != nil {
		return nil, err
	}
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil // the X-Ray proxy is on loopback: never through an HTTP proxy
	s := &xraySampler{
		local:        newEdgeSampler(c.local),
		service:      c.service,
		serviceType:  c.serviceType,
		proxy:        "http://" + addr,
		client:       &http.Client{Transport: transport, Timeout: proxyTimeout},
		clientID:     hex.EncodeToString(id[:]),
		rulesEvery:   cmp.Or(c.rulesEvery, DefaultSamplingRulesInterval),
		targetsEvery: cmp.Or(c.targetsEvery, DefaultSamplingTargetsInterval),
		now:          time.Now,
		logf:         func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) },
		refreshNow:   make(chan struct{}, 1),
	}
	return s, nil
}

// proxyAddress is the TCP address of AWS_XRAY_DAEMON_ADDRESS, which is "host:port" (UDP and TCP
// alike) or "tcp:host:port udp:host:port" in either order, as the X-Ray SDK reads it.
func proxyAddress(daemonAddr string) (string, error) {
	addr := daemonAddr
	if strings.Contains(daemonAddr, " ") || strings.HasPrefix(daemonAddr, "tcp:") || strings.HasPrefix(daemonAddr, "udp:") {
		addr = ""
		for _, part := range strings.Fields(daemonAddr) {
			if a, ok := strings.CutPrefix(part, "tcp:"); ok {
				addr = a
			} else if !strings.HasPrefix(part, "udp:") {
				addr = "" // neither: refused below
				break
			}
		}
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return "", fmt.Errorf("AWS_XRAY_DAEMON_ADDRESS=%q: want host:port or \"tcp:host:port udp:host:port\"", daemonAddr)
	}
	return addr, nil
}

// start polls the rules and the targets until shutdown.
func (s *xraySampler) start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.pollers.Add(2)
	go func() {
		defer s.pollers.Done()
		for {
			s.report(s.refreshRules(ctx))
			// Until the first rules arrive (a collector that starts after the app), try again
			// at the targets' pace rather than in 5 minutes.
			every := s.rulesEvery
			if s.rules.Load() == nil {
				every = min(every, s.targetsEvery)
			}
			if !s.wait(ctx, every, s.refreshNow) {
				return
			}
		}
	}()
	go func() {
		defer s.pollers.Done()
		for s.wait(ctx, s.targetsEvery, nil) {
			s.report(s.refreshTargets(ctx))
		}
	}()
}

// wait sleeps for every plus up to 2% (jitter, so that a fleet does not poll in step, as the
// SDK's pollers do), or until wake; false when the sampler stops.
func (s *xraySampler) wait(ctx context.Context, every time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(every + mrand.N(every/50+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}

// report logs the start and the end of an outage of the proxy, not every failed poll.
func (s *xraySampler) report(err error) {
	switch {
	case err != nil && errors.Is(err, context.Canceled):
	case err != nil && !s.failing.Swap(true):
		then := "the local sampling rules apply"
		if s.rules.Load() != nil {
			then = fmt.Sprintf("X-Ray's last rules apply for up to %s, then the local ones", centralRulesTTL)
		}
		s.logf("tracing: X-Ray sampling proxy unreachable, %s: %v", then, err)
	case err == nil && s.failing.Swap(false):
		s.logf("tracing: X-Ray sampling proxy %s answers again", s.proxy)
	}
}

func (s *xraySampler) shutdown() {
	if s.stop != nil {
		s.stop()
		s.pollers.Wait()
	}
}

// sample decides for one request that starts a trace here. It runs for every such request:
// no allocation, one lock (the matching rule's).
func (s *xraySampler) sample(q samplingRequest) bool {
	if set := s.rules.Load(); set != nil {
		now := s.now()
		if now.Sub(set.fetched) <= centralRulesTTL {
			for _, r := range set.rules {
				if r.matches(s.service, s.serviceType, q) {
					return r.sample(now)
				}
			}
		}
	}
	return s.local.sample(q.host, q.method, q.path)
}

// ShouldSample decides for a root span that did not come through the middleware (matching the
// span's start attributes), and passes on the middleware's decision for one that did: it
// decides before otelhttp runs, so that unsampled requests skip it.
func (s *xraySampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if sampled, ok := p.ParentContext.Value(edgeSampledKey{}).(bool); ok {
		decision := sdktrace.Drop
		if sampled {
			decision = sdktrace.RecordAndSample
		}
		return sdktrace.SamplingResult{Decision: decision}
	}
	q := samplingRequest{attrs: p.Attributes}
	for _, kv := range p.Attributes {
		switch kv.Key {
		case "server.address":
			q.host = kv.Value.AsString()
		case "http.request.method":
			q.method = kv.Value.AsString()
		case "url.path":
			q.path = kv.Value.AsString()
		}
	}
	decision := sdktrace.Drop
	if s.sample(q) {
		decision = sdktrace.RecordAndSample
	}
	return sdktrace.SamplingResult{Decision: decision, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
}

func (s *xraySampler) Description() string {
	if s.proxy == "" {
		return "XRayLocalRules"
	}
	return "XRayCentralizedRules{proxy " + s.proxy + "}"
}

// matches: the Default rule matches any request; another rule when its service name and type,
// host, method, path and attributes match. An empty request field (no service type off ECS)
// matches any pattern, as in the X-Ray SDK.
func (r *centralRule) matches(service, serviceType string, q samplingRequest) bool {
	if r.isDefault {
		return true
	}
	if !(matchField(r.serviceName, service) && matchField(r.serviceType, serviceType) &&
		matchField(r.host, q.host) && matchField(r.method, q.method) && matchField(r.path, q.path)) {
		return false
	}
	for key, pattern := range r.attributes {
		if v, ok := q.attribute(key); !ok || !wildcardMatch(pattern, v) {
			return false
		}
	}
	return true
}

func matchField(pattern, text string) bool { return text == "" || wildcardMatch(pattern, text) }

// sample applies the rule's reservoir and fixed rate, and counts for the statistics.
func (st *ruleState) sample(now time.Time) bool {
	sec := now.Unix()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.requests++
	if sec != st.second {
		st.second, st.used, st.borrowed = sec, 0, false
	}
	if sec > st.quotaUntil {
		// No quota (yet, or its TTL passed): borrow one request a second.
		if st.size > 0 && !st.borrowed {
			st.borrowed = true
			st.borrows++
			return true
		}
	} else if st.used < st.quota {
		st.used++
		st.sampled++
		return true
	}
	if st.rate > 0 && mrand.Float64() < st.rate {
		st.sampled++
		return true
	}
	return false
}

// statistics takes the rule's counts for a report and starts counting anew, when the rule saw
// requests and its reporting interval has passed.
func (st *ruleState) statistics(sec int64) (requests, sampled, borrows int, due bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.requests == 0 || sec < st.reportedAt+st.interval {
		return 0, 0, 0, false
	}
	requests, sampled, borrows = st.requests, st.sampled, st.borrows
	st.requests, st.sampled, st.borrows = 0, 0, 0
	return requests, sampled, borrows, true
}

// apply takes a target X-Ray answered for the rule.
func (st *ruleState) apply(t samplingTarget, sec int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.reportedAt = sec
	st.rate = *t.FixedRate
	if t.ReservoirQuota != nil {
		st.quota = *t.ReservoirQuota
	}
	if t.ReservoirQuotaTTL != nil {
		st.quotaUntil = int64(*t.ReservoirQuotaTTL)
	}
	if t.Interval != nil {
		st.interval = int64(*t.Interval)
	}
}

// applicable: the rules the X-Ray SDK applies (version 1, any resource) and the model allows.
func applicable(r *xrayRule) bool {
	return r != nil && r.RuleName != "" && r.Version == 1 && r.ResourceARN == "*" &&
		r.FixedRate >= 0 && r.FixedRate <= 1 && r.ReservoirSize >= 0
}

// refreshRules fetches X-Ray's rules (every page) and puts them in place of the last ones,
// keeping the reservoir and the statistics of a rule that is still there.
func (s *xraySampler) refreshRules(ctx context.Context) error {
	now := s.now()
	var records []xrayRuleRecord
	in := getSamplingRulesInput{}
	for page := 0; ; page++ {
		var out getSamplingRulesOutput
		if err := s.call(ctx, "/GetSamplingRules", in, &out); err != nil {
			return err
		}
		records = append(records, out.SamplingRuleRecords...)
		if out.NextToken == "" || page == 100 {
			break
		}
		in.NextToken = out.NextToken
	}
	old := s.rules.Load()
	set := &centralRules{byName: map[string]*centralRule{}, fetched: now}
	for _, rec := range records {
		x := rec.SamplingRule
		if !applicable(x) || set.byName[x.RuleName] != nil {
			continue
		}
		r := &centralRule{
			name: x.RuleName, priority: x.Priority, isDefault: x.RuleName == defaultRuleName,
			serviceName: x.ServiceName, serviceType: x.ServiceType, host: x.Host, method: x.HTTPMethod, path: x.URLPath,
			attributes: x.Attributes,
		}
		if old != nil && old.byName[x.RuleName] != nil {
			r.ruleState = old.byName[x.RuleName].ruleState
		} else {
			r.ruleState = &ruleState{}
		}
		r.mu.Lock()
		r.size, r.rate = x.ReservoirSize, x.FixedRate
		r.mu.Unlock()
		set.rules = append(set.rules, r)
		set.byName[r.name] = r
	}
	slices.SortFunc(set.rules, func(a, b *centralRule) int {
		if a.isDefault != b.isDefault {
			if a.isDefault {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.priority, b.priority), strings.Compare(a.name, b.name))
	})
	s.rules.Store(set)
	return nil
}

// refreshTargets reports the statistics of the rules that are due and takes the targets X-Ray
// answers; it asks for the rules at once when X-Ray says they changed since the last fetch.
func (s *xraySampler) refreshTargets(ctx context.Context) error {
	set := s.rules.Load()
	if set == nil {
		return nil
	}
	sec := s.now().Unix()
	var docs []samplingStatistics
	for _, r := range set.rules {
		if requests, sampled, borrows, due := r.statistics(sec); due {
			docs = append(docs, samplingStatistics{
				RuleName: r.name, ClientID: s.clientID, Timestamp: sec,
				RequestCount: requests, SampledCount: sampled, BorrowCount: borrows,
			})
		}
	}
	refresh := false
	for chunk := range slices.Chunk(docs, maxStatisticsPerCall) {
		var out getSamplingTargetsOutput
		if err := s.call(ctx, "/SamplingTargets", getSamplingTargetsInput{SamplingStatisticsDocuments: chunk}, &out); err != nil {
			return err
		}
		for _, t := range out.SamplingTargetDocuments {
			if r := set.byName[t.RuleName]; r != nil && t.FixedRate != nil {
				r.apply(t, s.now().Unix())
			}
		}
		for _, u := range out.UnprocessedStatistics {
			refresh = refresh || strings.HasPrefix(u.ErrorCode, "4") // a rule X-Ray no longer has
		}
		if m := out.LastRuleModification; m != nil && int64(*m) >= set.fetched.Unix() {
			refresh = true
		}
	}
	if refresh {
		select {
		case s.refreshNow <- struct{}{}:
		default:
		}
	}
	return nil
}

// call POSTs in as JSON to the proxy's path and decodes the answer into out.
func (s *xraySampler) call(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.proxy+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %.200s", path, resp.Status, answer)
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
