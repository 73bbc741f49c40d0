package testenv

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Load sends GET requests to one URL at a steady rate from a bounded loop, counting what fails,
// until Stop (or its own limits: MaxLoadDuration, and rate x MaxLoadDuration requests). It is
// the steady traffic of the rotation drills.
type Load struct {
	url    string
	client *http.Client
	stop   chan struct{}
	done   chan struct{}

	mu       sync.Mutex
	sent     int
	failures []string // one line per failed request, in order
	statuses map[int]int
}

// MaxLoadDuration bounds every Load, whatever its caller does.
const MaxLoadDuration = 2 * time.Minute

// maxInFlight bounds the requests a Load has open at once; a request that would go over it is
// counted as failed ("overloaded") rather than queued, so a stall shows up as failures.
const maxInFlight = 64

// StartLoad starts sending GET url at perSecond requests per second. Each request has 5 s to
// get its answer; anything but 200 counts as failed.
func StartLoad(url string, perSecond int) *Load {
	l := &Load{
		url:      url,
		client:   &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: maxInFlight}},
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		statuses: map[int]int{},
	}
	go l.run(perSecond)
	return l
}

func (l *Load) run(perSecond int) {
	defer close(l.done)
	interval := time.Second / time.Duration(perSecond)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	deadline := time.After(MaxLoadDuration)
	limit := perSecond * int(MaxLoadDuration/time.Second)
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; i < limit; i++ {
		select {
		case <-l.stop:
			return
		case <-deadline:
			return
		case <-ticker.C:
		}
		l.mu.Lock()
		l.sent++
		l.mu.Unlock()
		select {
		case slots <- struct{}{}:
		default:
			l.fail(0, "overloaded: "+fmt.Sprint(maxInFlight)+" requests already in flight")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			l.request()
		}()
	}
}

func (l *Load) request() {
	started := time.Now()
	resp, err := l.client.Get(l.url)
	if err != nil {
		l.fail(0, err.Error())
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		l.fail(resp.StatusCode, fmt.Sprintf("status %d after %s: %s", resp.StatusCode, time.Since(started).Round(time.Millisecond), body))
		return
	}
	l.mu.Lock()
	l.statuses[resp.StatusCode]++
	l.mu.Unlock()
}

func (l *Load) fail(status int, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.statuses[status]++
	l.failures = append(l.failures, time.Now().Format("15:04:05.000")+" "+line)
}

// Stop stops sending, waits for the requests in flight, and returns the figures.
func (l *Load) Stop() LoadResult {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	statuses := map[int]int{}
	for k, v := range l.statuses {
		statuses[k] = v
	}
	return LoadResult{Sent: l.sent, Failures: append([]string(nil), l.failures...), Statuses: statuses}
}

// LoadResult is what a Load saw.
type LoadResult struct {
	Sent     int
	Failures []string // one line per failed request
	Statuses map[int]int
}

// Failed is the number of requests that did not get a 200.
func (r LoadResult) Failed() int { return len(r.Failures) }

func (r LoadResult) String() string {
	codes := make([]int, 0, len(r.Statuses))
	for c := range r.Statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	s := fmt.Sprintf("%d requests, %d failed; by status:", r.Sent, r.Failed())
	for _, c := range codes {
		name := fmt.Sprint(c)
		if c == 0 {
			name = "no answer"
		}
		s += fmt.Sprintf(" %s=%d", name, r.Statuses[c])
	}
	return s
}
