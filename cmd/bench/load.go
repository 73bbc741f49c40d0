package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// config is one tracing configuration of both services.
type config struct {
	name string
	// env is added to both services' environment.
	env []string
	// rules is the X-Ray local sampling rules file (testenv.SystemOptions.SamplingRules), read by
	// both tracing paths.
	rules string
	// otel: TRACING=otel, exporting to the bench's OTLP sink.
	otel bool
}

// The rules of the default and full configurations.
const (
	defaultRules = `{"version": 2, "rules": [], "default": {"fixed_target": 1, "rate": 0.05}}`
	fullRules    = `{"version": 2, "rules": [], "default": {"fixed_target": 1, "rate": 1.0}}`
	noneRules    = `{"version": 2, "rules": [], "default": {"fixed_target": 0, "rate": 0}}`
)

var configs = []config{
	{name: "off", env: []string{"TRACING=off"}, rules: "default"}, // no SDK code runs; no rules file
	// The SDK's default rule, as a local rules file: 1 request/s per process, then 5%. (Without a
	// file the SDK polls X-Ray's rules through the daemon, which the sink is not, and falls back to
	// this same rule; the file makes that explicit and keeps the poller quiet.)
	{name: "default", rules: defaultRules},
	{name: "full", rules: fullRules},
	// The OpenTelemetry path with the same rules, its spans over OTLP/gRPC to spanSink.
	{name: "otel-default", env: []string{"TRACING=otel"}, rules: defaultRules, otel: true},
	{name: "otel-full", env: []string{"TRACING=otel"}, rules: fullRules, otel: true},
	// Diagnostics, not in the default set: tracing on but nothing sampled, i.e. what an unsampled
	// request costs (what default costs beyond 5% of full's extra).
	{name: "none", rules: noneRules},
	{name: "otel-none", env: []string{"TRACING=otel"}, rules: noneRules, otel: true},
}

func configByName(name string) (config, bool) {
	for _, c := range configs {
		if c.name == name {
			return c, true
		}
	}
	return config{}, false
}

// endpoint is one route of products under load.
type endpoint struct {
	name string // products, payments
	path string
	// work is what a request does, in the reference's terms.
	work string
	// refRatio is the reference traced(100%)/untraced throughput ratio for the same work, measured
	// with a minimal net/http server and the X-Ray SDK v2.0.1 (issue 6).
	refRatio float64
	refWhat  string
}

var endpoints = []endpoint{
	{name: "products", path: "/api/1.0/products", work: "one hop + one 10-row SQL query", refRatio: 0.60, refWhat: "one 10-row SQL query: 10.3k -> 6.2k req/s"},
	{name: "payments", path: "/api/1.0/payments", work: "two hops (products -> payments)", refRatio: 0.47, refWhat: "two hops: 10.9k -> 5.2k req/s"},
}

func endpointByName(name string) (endpoint, bool) {
	for _, e := range endpoints {
		if e.name == name {
			return e, true
		}
	}
	return endpoint{}, false
}

// bench holds what every run shares.
type bench struct {
	o         options
	bins      testenv.Binaries
	openloop  string
	wrkScript string
	pg        *testenv.Postgres
	sink      *segmentSink
	spans     *spanSink
	dir       string
}

// exported is how many segments and spans the services sent so far.
func (b *bench) exported() int64 { return b.sink.Count() + b.spans.Count() }

// phase is what one run measured for one configuration and endpoint.
type phase struct {
	Config   string `json:"config"`
	Endpoint string `json:"endpoint"`
	// Closed loop (wrk).
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"` // socket errors, timeouts and non-2xx/3xx answers
	RPS        float64 `json:"rps"`
	P50Us      float64 `json:"p50_us"`
	P99Us      float64 `json:"p99_us"`
	CPUUsPerRq float64 `json:"cpu_us_per_request"` // products + payments
	ProductsUs float64 `json:"products_cpu_us_per_request"`
	PaymentsUs float64 `json:"payments_cpu_us_per_request"`
	SegPerRq   float64 `json:"segments_per_request"` // datagrams the sink received, or spans (otel)
	WrkUsPerRq float64 `json:"wrk_cpu_us_per_request"`
	// BusyCPUs is how many of the machine's CPUs were busy, on average, during the measured wrk
	// (everything: services, wrk, PostgreSQL, this process, and whatever else runs).
	BusyCPUs float64 `json:"busy_cpus"`
	// Open loop (openloop at a fixed rate).
	OpenRequests int     `json:"open_requests"`
	OpenErrors   int     `json:"open_errors"`
	OpenP50Us    float64 `json:"open_p50_us"`
	OpenP99Us    float64 `json:"open_p99_us"`
	OpenP999Us   float64 `json:"open_p999_us"`
	// OpenSendDelayP99Us is how late the open loop's sends left, at the 99th percentile.
	OpenSendDelayP99Us float64 `json:"open_send_delay_p99_us"`
	// OpenCPUUsPerRq is products + payments CPU per request during the open loop, from schedstat.
	OpenCPUUsPerRq float64 `json:"open_cpu_us_per_request"`
	Load           string  `json:"load"` // load averages after the phase
}

func (p phase) String() string {
	return fmt.Sprintf("%-8s %-7s %8.0f req/s  p50 %.2f ms  p99 %.2f ms  cpu %.1f us/req (products %.1f, payments %.1f)  %.3f seg/req  wrk %.1f us/req  busy %.2f CPUs | open loop p50 %.2f ms p99 %.2f ms (send delay p99 %.0f us) cpu %.1f us/req | load %s",
		p.Endpoint, p.Config, p.RPS, p.P50Us/1000, p.P99Us/1000, p.CPUUsPerRq, p.ProductsUs, p.PaymentsUs, p.SegPerRq, p.WrkUsPerRq, p.BusyCPUs, p.OpenP50Us/1000, p.OpenP99Us/1000, p.OpenSendDelayP99Us, p.OpenCPUUsPerRq, p.Load)
}

// liveSystem is the system of one configuration, started once and measured in every run.
type liveSystem struct {
	c     config
	sys   *testenv.System
	pids  map[string]int    // by service name
	pprof map[string]string // pprof address by service name, when profiling
}

// startSystem starts both services in configuration c. Each configuration runs its own copies of
// the binaries, so that its processes can be told apart by their executable (pidOf).
func (b *bench) startSystem(c config) (*liveSystem, error) {
	dir := filepath.Join(b.dir, c.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	bins := testenv.Binaries{Products: filepath.Join(dir, "products"), Payments: filepath.Join(dir, "payments")}
	for src, dst := range map[string]string{b.bins.Products: bins.Products, b.bins.Payments: bins.Payments} {
		if err := copyFile(src, dst); err != nil {
			return nil, err
		}
	}
	s := &liveSystem{c: c, pids: map[string]int{}, pprof: map[string]string{}}
	if b.o.pprofDir != "" {
		for _, svc := range []string{"products", "payments"} {
			addr, err := freeAddr()
			if err != nil {
				return nil, err
			}
			s.pprof[svc] = addr
		}
	}
	env := c.env
	if c.otel {
		// The exporter's batch settings stay the SDK's defaults, as deployed.
		env = append(append([]string(nil), env...), "OTEL_EXPORTER_OTLP_ENDPOINT="+b.spans.Endpoint())
	}
	sys, err := testenv.StartSystemProcess(testenv.SystemOptions{
		Binaries:      bins,
		Postgres:      b.pg,
		DaemonAddr:    b.sink.Addr(),
		SamplingRules: c.rules,
		// Each system sets its role's password when it starts: one role per system, or the
		// systems started later lock the earlier ones out of new connections.
		AppRole:     testenv.AppRole + "_" + strings.ReplaceAll(c.name, "-", "_"),
		ProductsEnv: withPprof(env, s.pprof["products"]),
		PaymentsEnv: withPprof(env, s.pprof["payments"]),
	})
	if err != nil {
		return nil, err
	}
	s.sys = sys
	for svc, bin := range map[string]string{"products": bins.Products, "payments": bins.Payments} {
		if s.pids[svc], err = pidOf(bin); err != nil {
			sys.Close()
			return nil, err
		}
	}
	return s, nil
}

// measure loads one endpoint of one system: a wrk warm-up, the measured wrk, then the open loop.
// With profile, it also takes a CPU profile of both services during the measured wrk.
func (b *bench) measure(ctx context.Context, s *liveSystem, e endpoint, profile bool) (phase, error) {
	url := s.sys.ProductsURL + e.path
	p := phase{Config: s.c.name, Endpoint: e.name}
	if _, err := b.wrk(ctx, url, b.o.warmup); err != nil {
		return p, fmt.Errorf("warm-up: %w", err)
	}

	var profiles sync.WaitGroup
	profileErrs := make(chan error, 2*len(s.pprof))
	if profile {
		for svc, addr := range s.pprof {
			for _, kind := range []string{"profile", "allocs"} {
				path := filepath.Join(b.o.pprofDir, fmt.Sprintf("%s-%s-%s.%s.pprof", s.c.name, e.name, svc, kind))
				profiles.Go(func() { profileErrs <- fetchProfile(ctx, addr, kind, b.o.duration, path) })
			}
		}
	}
	before, err := cpuOf(s.pids)
	if err != nil {
		return p, err
	}
	segsBefore := b.exported()
	machineBefore, err := machineCPU()
	if err != nil {
		return p, err
	}
	w, err := b.wrk(ctx, url, b.o.duration)
	if err != nil {
		return p, err
	}
	after, err := cpuOf(s.pids)
	if err != nil {
		return p, err
	}
	machineAfter, err := machineCPU()
	if err != nil {
		return p, err
	}
	p.BusyCPUs = busyCPUs(machineBefore, machineAfter)
	time.Sleep(100 * time.Millisecond) // the last segments are sent after their answers
	segs := b.exported() - segsBefore
	profiles.Wait()
	close(profileErrs)
	for err := range profileErrs {
		if err != nil {
			return p, err
		}
	}

	p.Requests = w.Requests
	p.Errors = w.Errors()
	p.RPS = float64(w.Requests) / (float64(w.DurationUs) / 1e6)
	p.P50Us, p.P99Us = float64(w.P50Us), float64(w.P99Us)
	if w.Requests > 0 {
		n := float64(w.Requests)
		p.ProductsUs = (after["products"] - before["products"]) * 1e6 / n
		p.PaymentsUs = (after["payments"] - before["payments"]) * 1e6 / n
		p.CPUUsPerRq = p.ProductsUs + p.PaymentsUs
		p.SegPerRq = float64(segs) / n
		p.WrkUsPerRq = w.cpu.Seconds() * 1e6 / n
	}
	if p.Errors > 0 || w.Requests == 0 {
		return p, fmt.Errorf("%s: wrk: %d requests, %d errors (%s)\nproducts log:\n%s", url, w.Requests, p.Errors, w.errorDetail(), tail(s.sys.Products.Logs(), 2000))
	}

	nsBefore, err := cpuNanosOf(s.pids)
	if err != nil {
		return p, err
	}
	o, err := b.openLoop(ctx, url)
	if err != nil {
		return p, err
	}
	nsAfter, err := cpuNanosOf(s.pids)
	if err != nil {
		return p, err
	}
	if o.Sent > 0 {
		p.OpenCPUUsPerRq = float64(nsAfter-nsBefore) / 1e3 / float64(o.Sent)
	}
	p.OpenRequests, p.OpenErrors = o.Requests, o.Errors
	p.OpenP50Us, p.OpenP99Us, p.OpenP999Us = o.P50Us, o.P99Us, o.P999Us
	p.OpenSendDelayP99Us = o.P99SendDelayUs
	if o.Errors > 0 {
		return p, fmt.Errorf("%s: open loop: %d of %d requests failed\nproducts log:\n%s", url, o.Errors, o.Requests, tail(s.sys.Products.Logs(), 2000))
	}
	p.Load = loadAvg()
	return p, nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

func withPprof(env []string, addr string) []string {
	if addr == "" {
		return env
	}
	return append(append([]string(nil), env...), pprofEnv+"="+addr)
}

// cpuNanosOf is the CPU time of all the processes together (cpuNanos).
func cpuNanosOf(pids map[string]int) (int64, error) {
	var total int64
	for svc, pid := range pids {
		ns, err := cpuNanos(pid)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", svc, err)
		}
		total += ns
	}
	return total, nil
}

func cpuOf(pids map[string]int) (map[string]float64, error) {
	out := map[string]float64{}
	for svc, pid := range pids {
		s, err := cpuSeconds(pid)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", svc, err)
		}
		out[svc] = s
	}
	return out, nil
}

// wrkReportScript makes wrk print its summary as one JSON line (latencies in microseconds).
const wrkReportScript = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`

// wrkResult is what wrkReportScript prints.
type wrkResult struct {
	Requests   int   `json:"requests"`
	DurationUs int64 `json:"duration_us"`
	Connect    int   `json:"connect"`
	Read       int   `json:"read"`
	Write      int   `json:"write"`
	Status     int   `json:"status"`
	Timeout    int   `json:"timeout"`
	P50Us      int64 `json:"p50_us"`
	P99Us      int64 `json:"p99_us"`
	MaxUs      int64 `json:"max_us"`

	cpu time.Duration // wrk's own user+system time
}

func (w wrkResult) Errors() int { return w.Connect + w.Read + w.Write + w.Status + w.Timeout }

func (w wrkResult) errorDetail() string {
	return fmt.Sprintf("connect %d, read %d, write %d, non-2xx/3xx %d, timeout %d", w.Connect, w.Read, w.Write, w.Status, w.Timeout)
}

// wrk runs wrk against url for d and returns its summary.
func (b *bench) wrk(ctx context.Context, url string, d time.Duration) (wrkResult, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, "wrk",
		"-t", strconv.Itoa(b.o.threads), "-c", strconv.Itoa(b.o.connections), "-d", strconv.Itoa(secs)+"s",
		"--timeout", "5s", "-s", b.wrkScript, url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s%s", url, err, out, stderr.Bytes())
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "{") {
			var w wrkResult
			if err := json.Unmarshal([]byte(line), &w); err != nil {
				return wrkResult{}, fmt.Errorf("wrk report %q: %w", line, err)
			}
			w.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			return w, nil
		}
	}
	return wrkResult{}, fmt.Errorf("wrk printed no report:\n%s", out)
}

// openResult is what openloop prints (cmd/bench/openloop Result).
type openResult struct {
	Sent     int     `json:"sent"` // all requests, warm-up included
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50Us    float64 `json:"p50_us"`
	P99Us    float64 `json:"p99_us"`
	P999Us   float64 `json:"p999_us"`
	// How late this process itself sent (see openloop).
	P50SendDelayUs float64 `json:"p50_send_delay_us"`
	P99SendDelayUs float64 `json:"p99_send_delay_us"`
}

func (b *bench) openLoop(ctx context.Context, url string) (openResult, error) {
	cmd := exec.CommandContext(ctx, b.openloop,
		"-url", url, "-rate", strconv.FormatFloat(b.o.rate, 'f', -1, 64),
		"-duration", b.o.openDuration.String(), "-warmup", b.o.openWarmup.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return openResult{}, fmt.Errorf("openloop %s: %w\n%s", url, err, stderr.Bytes())
	}
	var o openResult
	if err := json.Unmarshal(out, &o); err != nil {
		return openResult{}, fmt.Errorf("openloop report %q: %w", out, err)
	}
	return o, nil
}

// fetchProfile takes a profile of d (less half a second, so it ends within the wrk phase it
// covers) from a profiling build's pprof endpoint: kind "profile" is CPU time, "allocs" the
// allocations made meanwhile (a delta profile).
func fetchProfile(ctx context.Context, addr, kind string, d time.Duration, path string) error {
	secs := max(1, int((d-500*time.Millisecond)/time.Second))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", addr, kind, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s profile from %s: %w", kind, addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s profile from %s: %s: %s", kind, addr, resp.Status, body)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
