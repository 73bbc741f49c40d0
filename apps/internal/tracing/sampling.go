package tracing

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/meshtrace/meshtrace/apps/contract"
)

// This file is where the OpenTelemetry path decides which requests are traced. The decision is
// made once, at the edge: the first service a request reaches (no sampled or unsampled parent in
// its headers) applies the rules; every service after it follows the decision it was handed
// (parent-based), so a trace is never half-sampled. The rules are X-Ray's: in otel mode the
// centralized ones, polled through the collector's X-Ray proxy (xraysampler.go), with the local
// rules of this file as the fallback; in xray mode the X-Ray SDK's strategy, or these local rules
// when XRAY_SAMPLING_RULES_FILE or TRACING_SAMPLING_RULES gives them. The local default is X-Ray's
// default rule: 1 request per second per process (the reservoir), then 5% of the rest.
//
// Protections of the edge (what a caller may not decide for us) belong in edge.go, before either
// path reads the headers.

// The default rule of X-Ray (and of the X-Ray SDK when it has no other rules).
const (
	defaultFixedTarget = contract.DefaultSamplingReservoir
	defaultRate        = contract.DefaultSamplingFixedRate
)

// samplingRule is one rule of an X-Ray local sampling rules file (version 2): the first rule
// whose host, method and path patterns match a request decides, with fixed_target requests per
// second taken first and rate of the rest after.
type samplingRule struct {
	Description string  `json:"description"`
	Host        string  `json:"host"`
	HTTPMethod  string  `json:"http_method"`
	URLPath     string  `json:"url_path"`
	FixedTarget int     `json:"fixed_target"`
	Rate        float64 `json:"rate"`
}

// samplingRules is a local sampling rules file: rules in order, then the default.
type samplingRules struct {
	Version int             `json:"version"`
	Rules   []*samplingRule `json:"rules"`
	Default *samplingRule   `json:"default"`
}

// defaultSamplingRules is 1 request/s, then 5%, for every request.
func defaultSamplingRules() *samplingRules {
	return &samplingRules{Version: 2, Default: &samplingRule{FixedTarget: defaultFixedTarget, Rate: defaultRate}}
}

// localSamplingRules reads the rules of XRAY_SAMPLING_RULES_FILE or TRACING_SAMPLING_RULES (version
// 2 local rules), or gives nil when neither is set.
func localSamplingRules(cfg Config) (*samplingRules, error) {
	switch {
	case cfg.SamplingRulesFile != "":
		b, err := os.ReadFile(cfg.SamplingRulesFile)
		if err != nil {
			return nil, fmt.Errorf("XRAY_SAMPLING_RULES_FILE=%s: %w", cfg.SamplingRulesFile, err)
		}
		rules, err := parseSamplingRules(b)
		if err != nil {
			return nil, fmt.Errorf("XRAY_SAMPLING_RULES_FILE=%s: %w", cfg.SamplingRulesFile, err)
		}
		return rules, nil
	case cfg.SamplingRules != "":
		rules, err := parseSamplingRules([]byte(cfg.SamplingRules))
		if err != nil {
			return nil, fmt.Errorf("TRACING_SAMPLING_RULES: %w", err)
		}
		return rules, nil
	}
	return nil, nil
}

func parseSamplingRules(b []byte) (*samplingRules, error) {
	var rules samplingRules
	if err := json.Unmarshal(b, &rules); err != nil {
		return nil, err
	}
	if rules.Version != 2 {
		return nil, fmt.Errorf("sampling rules version %d, want 2", rules.Version)
	}
	if rules.Default == nil {
		return nil, fmt.Errorf("sampling rules without a default rule")
	}
	for _, r := range append([]*samplingRule{rules.Default}, rules.Rules...) {
		if r.FixedTarget < 0 || !(r.Rate >= 0 && r.Rate <= 1) {
			return nil, fmt.Errorf("sampling rule %q: fixed_target must be >= 0 and rate from 0 to 1", r.Description)
		}
	}
	for _, r := range rules.Rules {
		if r.Host == "" || r.HTTPMethod == "" || r.URLPath == "" {
			return nil, fmt.Errorf("sampling rule %q: host, http_method and url_path are required (\"*\" matches anything)", r.Description)
		}
	}
	return &rules, nil
}

// edgeSampler applies samplingRules to a request that starts a trace here.
type edgeSampler struct {
	rules      []*samplingRule
	reservoirs []*reservoir // one per rule, the default's last
	now        func() time.Time
}

// newSampler is the OpenTelemetry sampler of local rules only: parent-based (a sampled or
// unsampled caller's decision is followed, whether it came in X-Amzn-Trace-Id or traceparent),
// the rules for the requests that start a trace here.
func newSampler(rules *samplingRules) sdktrace.Sampler {
	return sdktrace.ParentBased(&xraySampler{local: newEdgeSampler(rules)})
}

func newEdgeSampler(rules *samplingRules) *edgeSampler {
	s := &edgeSampler{rules: append(append([]*samplingRule(nil), rules.Rules...), rules.Default), now: time.Now}
	for _, r := range s.rules {
		s.reservoirs = append(s.reservoirs, &reservoir{perSecond: r.FixedTarget})
	}
	return s
}

// sample decides for one request.
func (s *edgeSampler) sample(host, method, path string) bool {
	for i, r := range s.rules {
		if i < len(s.rules)-1 && !(wildcardMatch(r.Host, host) && wildcardMatch(r.HTTPMethod, method) && wildcardMatch(r.URLPath, path)) {
			continue
		}
		if s.reservoirs[i].take(s.now()) {
			return true
		}
		return r.Rate > 0 && rand.Float64() < r.Rate
	}
	return false
}

// reservoir lets perSecond requests through in each second of the clock.
type reservoir struct {
	perSecond int

	mu     sync.Mutex
	second int64
	used   int
}

func (r *reservoir) take(now time.Time) bool {
	if r.perSecond == 0 {
		return false
	}
	sec := now.Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	if sec != r.second {
		r.second, r.used = sec, 0
	}
	if r.used >= r.perSecond {
		return false
	}
	r.used++
	return true
}

// wildcardMatch matches text against an X-Ray rule pattern: * any run of characters, ? one
// character, case-insensitive (ASCII letters, as in hosts, methods and paths). It runs for every
// rule a request is tried against, so it compares in place rather than lower-casing copies.
func wildcardMatch(pattern, text string) bool {
	if pattern == "*" {
		return true
	}
	star, mark := -1, 0
	i, j := 0, 0
	for j < len(text) {
		switch {
		case i < len(pattern) && (pattern[i] == '?' || lowerASCII(pattern[i]) == lowerASCII(text[j])):
			i++
			j++
		case i < len(pattern) && pattern[i] == '*':
			star, mark = i, j
			i++
		case star >= 0:
			i = star + 1
			mark++
			j = mark
		default:
			return false
		}
	}
	for i < len(pattern) && pattern[i] == '*' {
		i++
	}
	return i == len(pattern)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
