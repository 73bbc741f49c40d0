package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

const traceHeader = "X-Amzn-Trace-Id"

// sentRequest is one request to products and the trace it started.
type sentRequest struct {
	Path     string
	TraceID  string
	Status   int
	Err      error
	Duration time.Duration
}

func (s sentRequest) label() string { return "GET " + s.Path }

// newTraceID makes an X-Ray trace id: version 1, the epoch second in hex, 96 random bits.
func newTraceID(now time.Time) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("1-%08x-%s", now.Unix(), hex.EncodeToString(b[:]))
}

// rootOf returns the Root field of an X-Amzn-Trace-Id header value.
func rootOf(h string) string {
	for _, part := range strings.Split(h, ";") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && k == "Root" {
			return v
		}
	}
	return ""
}

// sendRequests requests each path on products. Each request carries its own sampled trace id,
// so the check knows which traces are ours and sampling cannot drop them; the load balancer
// and the X-Ray SDK keep an incoming Root. When products answers with a trace header, its Root
// wins (it is the id the segments were written under).
func sendRequests(ctx context.Context, cfg Config, out io.Writer) []sentRequest {
	client := &http.Client{Timeout: cfg.HTTPTimeout}
	base := strings.TrimRight(cfg.URL, "/")
	var sent []sentRequest
	for _, path := range cfg.Paths {
		for range cfg.Requests {
			s := sentRequest{Path: path, TraceID: newTraceID(time.Now())}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			if err != nil {
				s.Err = err
				sent = append(sent, s)
				continue
			}
			req.Header.Set(traceHeader, "Root="+s.TraceID+";Sampled=1")
			began := time.Now()
			resp, err := client.Do(req)
			s.Duration = time.Since(began)
			if err != nil {
				s.Err = err
			} else {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				s.Status = resp.StatusCode
				if root := rootOf(resp.Header.Get(traceHeader)); root != "" {
					s.TraceID = root
				}
			}
			if s.Err != nil {
				fmt.Fprintf(out, "sent %s -> error %v (trace %s)\n", s.label(), s.Err, s.TraceID)
			} else {
				fmt.Fprintf(out, "sent %s -> %d in %d ms, trace %s\n", s.label(), s.Status, s.Duration.Milliseconds(), s.TraceID)
			}
			sent = append(sent, s)
		}
	}
	return sent
}

func requestsCheck(sent []sentRequest) Check {
	c := Check{Name: "requests"}
	var bad []string
	for _, s := range sent {
		switch {
		case s.Err != nil:
			bad = append(bad, fmt.Sprintf("%s failed: %v", s.label(), s.Err))
		case s.Status < 200 || s.Status > 299:
			bad = append(bad, fmt.Sprintf("%s answered %d", s.label(), s.Status))
		}
	}
	if len(bad) > 0 {
		c.Detail = strings.Join(bad, "; ")
		return c
	}
	c.OK = true
	c.Detail = fmt.Sprintf("%d request(s) answered 2xx", len(sent))
	return c
}
