package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxPaymentsBody bounds what products reads from payments, so a runaway answer cannot exhaust memory.
const maxPaymentsBody = 1 << 20

// paymentsClient calls the payments service. Its http.Client is wrapped by the tracer, so each
// call is a subsegment of the request's segment and carries the trace header to payments.
type paymentsClient struct {
	http    *http.Client
	url     string
	timeout time.Duration
}

// newPaymentsHTTPClient is products' client for payments, before the tracer wraps it. It does
// not follow redirects: payments has no reason to send one, and following it would send the
// request (and its trace header) to whatever host the Location names and hand that host's answer
// to the internet caller. A 3xx is therefore an answer products cannot pass on (a payments error).
func newPaymentsHTTPClient() *http.Client {
	return &http.Client{
		Transport:     newPaymentsTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// newPaymentsTransport keeps more idle connections per host than the default (2), which under
// load would make products open (and trace) a new connection to payments for most calls.
func newPaymentsTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 100
	t.MaxIdleConnsPerHost = 100
	return t
}

// errPaymentsAnswer is an answer from payments that products cannot pass on.
var errPaymentsAnswer = errors.New("unusable answer from payments")

// list returns the body of payments' GET /api/1.0/payments. The timeout covers connecting,
// waiting and reading the body.
func (c *paymentsClient) list(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPaymentsBody+1))
	if err != nil {
		return nil, fmt.Errorf("read payments answer: %w", err)
	}
	switch {
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: status %d", errPaymentsAnswer, resp.StatusCode)
	case len(body) > maxPaymentsBody:
		return nil, fmt.Errorf("%w: body over %d bytes", errPaymentsAnswer, maxPaymentsBody)
	case !json.Valid(body):
		return nil, fmt.Errorf("%w: body is not JSON", errPaymentsAnswer)
	}
	return body, nil
}
