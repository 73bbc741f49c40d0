// Command openloop sends GET requests to one URL at a fixed rate, whatever the server's answers
// take (an open loop, like real users), and prints the latency percentiles as one JSON object.
//
// Each request has an intended send time, start + i/rate, and its latency is measured from that
// time, not from when it was actually sent: when the server (or this process) stalls, the requests
// that should have gone out meanwhile count the stall in full instead of being silently delayed
// (coordinated omission). Requests are not limited in number in flight.
//
//	openloop -url http://127.0.0.1:8080/api/1.0/products -rate 200 -duration 10s -warmup 1s
//
// cmd/bench runs it as a separate process; it is usable on its own.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Result is what openloop prints.
type Result struct {
	URL       string  `json:"url"`
	Rate      float64 `json:"rate"`
	DurationS float64 `json:"duration_s"` // measured part, after the warm-up
	Sent      int     `json:"sent"`       // all requests, warm-up and the first one included
	Requests  int     `json:"requests"`   // measured requests
	Errors    int     `json:"errors"`     // failed or non-2xx, among the measured requests
	P50Us     float64 `json:"p50_us"`
	P90Us     float64 `json:"p90_us"`
	P99Us     float64 `json:"p99_us"`
	P999Us    float64 `json:"p999_us"`
	MaxUs     float64 `json:"max_us"`
	// SendDelay is how late requests actually left (this process's own lag), a check on the above.
	P50SendDelayUs float64 `json:"p50_send_delay_us"`
	P99SendDelayUs float64 `json:"p99_send_delay_us"`
	MaxSendDelayUs float64 `json:"max_send_delay_us"`
}

func main() {
	url := flag.String("url", "", "URL to GET (required)")
	rate := flag.Float64("rate", 200, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "measured duration")
	warmup := flag.Duration("warmup", time.Second, "unmeasured lead-in at the same rate")
	timeout := flag.Duration("timeout", 10*time.Second, "per-request timeout (counts as an error)")
	flag.Parse()
	if *url == "" || *rate <= 0 || *duration <= 0 {
		fmt.Fprintln(os.Stderr, "openloop: -url, a positive -rate and a positive -duration are required")
		os.Exit(2)
	}
	res, err := run(*url, *rate, *duration, *warmup, *timeout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "openloop:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "openloop:", err)
		os.Exit(1)
	}
}

type sample struct {
	latency   time.Duration
	sendDelay time.Duration
	ok        bool
}

func run(url string, rate float64, duration, warmup, timeout time.Duration) (Result, error) {
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
	// One request before the clock starts, so the first measured ones do not pay for the dial.
	if err := get(client, url); err != nil {
		return Result{}, fmt.Errorf("first request: %w", err)
	}

	interval := time.Duration(float64(time.Second) / rate)
	skip := int(warmup / interval)
	total := skip + int(duration/interval)
	if total == skip {
		return Result{}, fmt.Errorf("-duration %s is shorter than one request interval (%s)", duration, interval)
	}
	samples := make([]sample, total)
	var wg sync.WaitGroup
	start := time.Now().Add(10 * time.Millisecond)
	// The pacing loop has a thread of its own: it sleeps in nanosleep(2), not on a Go timer.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i := range total {
		intended := start.Add(time.Duration(i) * interval)
		sleepUntil(intended)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := time.Now()
			err := get(client, url)
			samples[i] = sample{latency: time.Since(intended), sendDelay: sent.Sub(intended), ok: err == nil}
		}()
	}
	wg.Wait()

	measured := samples[skip:]
	res := Result{URL: url, Rate: rate, DurationS: duration.Seconds(), Sent: 1 + total, Requests: len(measured)}
	lat := make([]time.Duration, 0, len(measured))
	delays := make([]time.Duration, 0, len(measured))
	for _, s := range measured {
		if !s.ok {
			res.Errors++
		}
		lat = append(lat, s.latency)
		delays = append(delays, s.sendDelay)
	}
	slices.Sort(lat)
	slices.Sort(delays)
	res.P50SendDelayUs = us(percentile(delays, 50))
	res.P99SendDelayUs = us(percentile(delays, 99))
	res.MaxSendDelayUs = us(delays[len(delays)-1])
	res.P50Us = us(percentile(lat, 50))
	res.P90Us = us(percentile(lat, 90))
	res.P99Us = us(percentile(lat, 99))
	res.P999Us = us(percentile(lat, 99.9))
	res.MaxUs = us(lat[len(lat)-1])
	return res, nil
}

// spinBefore is how long before a send time sleepUntil stops sleeping and spins.
const spinBefore = 250 * time.Microsecond

// sleepUntil returns at t, within microseconds. time.Sleep is not precise enough: the runtime's
// timers wait in epoll with a millisecond timeout, so a 5 ms sleep ends up to a millisecond late
// (on this kind of machine: 0.6 ms late at the median), and since latency is measured from the
// intended send time, that lateness would be counted as the server's. nanosleep(2) on a locked
// thread wakes within about 0.2 ms (timer slack and wake-up); the rest is a short spin.
func sleepUntil(t time.Time) {
	if d := time.Until(t) - spinBefore; d > 0 {
		ts := syscall.NsecToTimespec(d.Nanoseconds())
		for syscall.Nanosleep(&ts, &ts) == syscall.EINTR { // the runtime's signals interrupt it; ts holds the rest
		}
	}
	for time.Now().Before(t) {
	}
}

// get fetches url and reads the whole body; a non-2xx answer is an error.
func get(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// percentile of sorted values, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
