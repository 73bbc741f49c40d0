package tracing

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// samplingStandIn serves X-Ray's two sampling operations as the X-Ray daemon and the collector's
// X-Ray proxy expose them to an SDK (POST /GetSamplingRules, POST /SamplingTargets, JSON in and
// out), from rules the test sets and changes, and records every call. At cleanup the recorded
// calls are checked against botocore's model of X-Ray (checks/awsapi/sampling_api.py).
type samplingStandIn struct {
	srv *httptest.Server

	mu       sync.Mutex
	rules    []xrayRule
	modified time.Time // LastRuleModification
	// quota, when set, is the target answered for a rule; else the rule's ReservoirSize for
	// 10 s at its FixedRate, as X-Ray answers a single client.
	quota    func(rule xrayRule, now time.Time) samplingTarget
	pageSize int // rules per GetSamplingRules page; 0: all on one
	now      func() time.Time
	calls    []recordedCall
}

type recordedCall struct {
	Method   string          `json:"method"`
	Path     string          `json:"path"`
	Request  json.RawMessage `json:"request"`
	Response json.RawMessage `json:"response"`
}

func newSamplingStandIn(t testing.TB, rules ...xrayRule) *samplingStandIn {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return newSamplingStandInOn(t, l, rules...)
}

// newSamplingStandInOn serves on l (an address the test chose before).
func newSamplingStandInOn(t testing.TB, l net.Listener, rules ...xrayRule) *samplingStandIn {
	t.Helper()
	s := &samplingStandIn{rules: rules, now: time.Now, modified: time.Now().Add(-time.Hour)}
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(s.serve)}}
	s.srv.Start()
	t.Cleanup(func() {
		s.srv.Close()
		checkCallsAgainstModel(t, s.recorded())
	})
	return s
}

// addr is what AWS_XRAY_DAEMON_ADDRESS would say.
func (s *samplingStandIn) addr() string { return strings.TrimPrefix(s.srv.URL, "http://") }

// setRules replaces the rules, as a change in the console (or a pulumi up) does.
func (s *samplingStandIn) setRules(rules ...xrayRule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules, s.modified = rules, s.now()
}

func (s *samplingStandIn) recorded() []recordedCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recordedCall(nil), s.calls...)
}

// callsTo are the recorded calls of one path.
func (s *samplingStandIn) callsTo(path string) []recordedCall {
	var out []recordedCall
	for _, c := range s.recorded() {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

func (s *samplingStandIn) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	var answer any
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/GetSamplingRules":
		var in getSamplingRulesInput
		if json.Unmarshal(body, &in) != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		from, _ := strconv.Atoi(in.NextToken)
		to := len(s.rules)
		if s.pageSize > 0 {
			to = min(from+s.pageSize, to)
		}
		out := getSamplingRulesOutput{SamplingRuleRecords: []xrayRuleRecord{}}
		for _, rule := range s.rules[from:to] {
			rule.RuleARN = "arn:aws:xray:us-east-1:123456789012:sampling-rule/" + rule.RuleName
			out.SamplingRuleRecords = append(out.SamplingRuleRecords, xrayRuleRecord{
				SamplingRule: &rule, CreatedAt: 1.7e9, ModifiedAt: float64(s.modified.Unix()),
			})
		}
		if to < len(s.rules) {
			out.NextToken = strconv.Itoa(to)
		}
		answer = out
	case r.Method == http.MethodPost && r.URL.Path == "/SamplingTargets":
		var in getSamplingTargetsInput
		if json.Unmarshal(body, &in) != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		modified := float64(s.modified.Unix())
		out := getSamplingTargetsOutput{SamplingTargetDocuments: []samplingTarget{}, LastRuleModification: &modified, UnprocessedStatistics: []unprocessedStatistics{}}
		for _, doc := range in.SamplingStatisticsDocuments {
			rule, ok := s.rule(doc.RuleName)
			if !ok {
				out.UnprocessedStatistics = append(out.UnprocessedStatistics, unprocessedStatistics{RuleName: doc.RuleName, ErrorCode: "400", Message: "Unknown rule"})
				continue
			}
			if s.quota != nil {
				out.SamplingTargetDocuments = append(out.SamplingTargetDocuments, s.quota(rule, s.now()))
				continue
			}
			ttl, interval := float64(s.now().Unix()+10), 10
			out.SamplingTargetDocuments = append(out.SamplingTargetDocuments, samplingTarget{
				RuleName: rule.RuleName, FixedRate: &rule.FixedRate, ReservoirQuota: &rule.ReservoirSize, ReservoirQuotaTTL: &ttl, Interval: &interval,
			})
		}
		answer = out
	default:
		http.Error(w, "no such operation", http.StatusNotFound)
		return
	}
	resp, _ := json.Marshal(answer)
	s.calls = append(s.calls, recordedCall{Method: r.Method, Path: r.URL.Path, Request: body, Response: resp})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(resp)
}

func (s *samplingStandIn) rule(name string) (xrayRule, bool) {
	for _, r := range s.rules {
		if r.RuleName == name {
			return r, true
		}
	}
	return xrayRule{}, false
}

// xrayRuleFor is a rule as the stack declares one (aws:xray/samplingRule): a service, every
// host, method and path.
func xrayRuleFor(name, service string, priority, reservoir int, rate float64) xrayRule {
	return xrayRule{
		RuleName: name, ResourceARN: "*", Priority: priority, FixedRate: rate, ReservoirSize: reservoir,
		ServiceName: service, ServiceType: "*", Host: "*", HTTPMethod: "*", URLPath: "*", Version: 1,
	}
}

// defaultXRayRule is X-Ray's Default rule with a reservoir and rate of the test's.
func defaultXRayRule(reservoir int, rate float64) xrayRule {
	r := xrayRuleFor(defaultRuleName, "*", 10000, reservoir, rate)
	return r
}

// checkCallsAgainstModel runs checks/awsapi/sampling_api.py on calls and fails the test on any
// finding. It fails, never skips, without python3 and botocore.
func checkCallsAgainstModel(t testing.TB, calls []recordedCall) {
	t.Helper()
	if len(calls) == 0 {
		return
	}
	out, err := runSamplingAPICheck(t, calls)
	if err != nil {
		t.Errorf("the sampling API calls break botocore's model of X-Ray (%v):\n%s", err, out)
	}
}

func runSamplingAPICheck(t testing.TB, calls []recordedCall) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("python3 is not on PATH: the sampling API check needs python3 with botocore (scripts/install.sh)")
	}
	path := filepath.Join(t.TempDir(), "calls.json")
	b, err := json.Marshal(calls)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", "sampling_api.py", path)
	cmd.Dir = filepath.Join("..", "..", "..", "checks", "awsapi")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run sampling_api.py: %v\n%s", err, out.String())
	}
	if err == nil && !strings.Contains(out.String(), strconv.Itoa(len(calls))+" calls checked") {
		t.Fatalf("sampling_api.py did not check the %d calls:\n%s", len(calls), out.String())
	}
	return out.String(), err
}

// The check itself can fail: a statistics document with a short ClientID, 26 documents in one
// call, a timestamp as text, a wrong path and a rule without its Priority are each a finding.
func TestSamplingAPICheckFindsCallsThatBreakTheModel(t *testing.T) {
	doc := `{"RuleName":"r","ClientID":"0123456789abcdef01234567","Timestamp":1700000000,"RequestCount":1,"SampledCount":1,"BorrowCount":0}`
	many := strings.TrimSuffix(strings.Repeat(doc+",", 26), ",")
	ok := `{"SamplingTargetDocuments":[]}`
	rule := `{"RuleName":"r","ResourceARN":"*","FixedRate":0.1,"ReservoirSize":1,"ServiceName":"*","ServiceType":"*","Host":"*","HTTPMethod":"*","URLPath":"*","Version":1}`
	bad := []struct {
		name string
		call recordedCall
	}{
		{"short ClientID", recordedCall{"POST", "/SamplingTargets", json.RawMessage(`{"SamplingStatisticsDocuments":[` + strings.Replace(doc, "0123456789abcdef01234567", "0123", 1) + `]}`), json.RawMessage(ok)}},
		{"26 documents", recordedCall{"POST", "/SamplingTargets", json.RawMessage(`{"SamplingStatisticsDocuments":[` + many + `]}`), json.RawMessage(ok)}},
		{"text timestamp", recordedCall{"POST", "/SamplingTargets", json.RawMessage(`{"SamplingStatisticsDocuments":[` + strings.Replace(doc, "1700000000", `"yesterday"`, 1) + `]}`), json.RawMessage(ok)}},
		{"wrong path", recordedCall{"POST", "/GetSamplingTargets", json.RawMessage(`{}`), json.RawMessage(ok)}},
		{"rule without priority", recordedCall{"POST", "/GetSamplingRules", json.RawMessage(`{}`), json.RawMessage(`{"SamplingRuleRecords":[{"SamplingRule":` + rule + `}]}`)}},
	}
	var calls []recordedCall
	for _, b := range bad {
		calls = append(calls, b.call)
	}
	out, err := runSamplingAPICheck(t, calls)
	if err == nil {
		t.Errorf("no finding:\n%s", out)
	}
	for i, b := range bad {
		if !strings.Contains(out, "call "+strconv.Itoa(i)+" ") {
			t.Errorf("%s: no finding:\n%s", b.name, out)
		}
	}
	// And a well-formed pair passes.
	good := []recordedCall{
		{"POST", "/GetSamplingRules", json.RawMessage(`{}`), json.RawMessage(`{"SamplingRuleRecords":[{"SamplingRule":` + strings.Replace(rule, `"FixedRate"`, `"Priority":10000,"FixedRate"`, 1) + `}]}`)},
		{"POST", "/SamplingTargets", json.RawMessage(`{"SamplingStatisticsDocuments":[` + doc + `]}`), json.RawMessage(ok)},
	}
	if out, err := runSamplingAPICheck(t, good); err != nil {
		t.Errorf("well-formed calls refused (%v):\n%s", err, out)
	}
}
