package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// The soak (-soak): one system (tracing at the default sampling rule, the deployed setting),
// cmd/bench/openloop holding a fixed rate on GET /api/1.0/products for a fixed time, and, half
// way through, a credential rotation (the app role's password changes in PostgreSQL and in the
// password file, every session of the role is terminated). It reports the failed requests, the
// open-loop p50/p99, and the RSS, threads and goroutines of both services before the load and
// after it. Goroutines come from the services' own runtime, through the pprof endpoint of the
// profiling build (net/http/pprof added by go build -overlay, apps/ unchanged; BENCH_PPROF_ADDR).
//
//	go run ./cmd/bench -soak                                   # 200 req/s for 60 s
//	go run ./cmd/bench -soak -soak-rate 100 -soak-duration 30s -soak-rotate=false

// soakSnapshot is one service's figures at one moment.
type soakSnapshot struct {
	RSSKiB     int `json:"rss_kib"`
	Threads    int `json:"threads"`
	Goroutines int `json:"goroutines"`
}

// soakReport is what the soak prints (and writes with -json).
type soakReport struct {
	Date        string                  `json:"date"`
	Machine     string                  `json:"machine"`
	Command     string                  `json:"command"`
	Rate        float64                 `json:"rate"`
	DurationS   float64                 `json:"duration_s"`
	Rotated     bool                    `json:"rotated"`
	Terminated  int                     `json:"sessions_terminated"`
	Requests    int                     `json:"requests"`
	Failed      int                     `json:"failed"`
	P50Us       float64                 `json:"p50_us"`
	P99Us       float64                 `json:"p99_us"`
	P999Us      float64                 `json:"p999_us"`
	SendP99Us   float64                 `json:"send_delay_p99_us"`
	Retried     int                     `json:"reads_retried"`
	SamePIDs    bool                    `json:"same_pids"`
	Start       map[string]soakSnapshot `json:"start"`
	End         map[string]soakSnapshot `json:"end"`
	ReadyzAfter string                  `json:"readyz_after"`
	LoadBefore  string                  `json:"load_before"`
	LoadAfter   string                  `json:"load_after"`
}

func runSoak(ctx context.Context, o options) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "meshtrace-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logf("building products, payments (with pprof, for goroutine counts) and openloop")
	bins, openloop, err := build(root, dir, true, o.overlay)
	if err != nil {
		return err
	}
	pg, stopPostgres, err := startPostgres("meshtrace-soak-postgres-")
	if err != nil {
		return err
	}
	defer stopPostgres()
	sink, err := listenSegments()
	if err != nil {
		return err
	}
	defer sink.Close()

	c, _ := configByName("default")
	pprof := map[string]string{}
	for _, svc := range []string{"products", "payments"} {
		if pprof[svc], err = freeAddr(); err != nil {
			return err
		}
	}
	logf("starting payments and products (tracing: default sampling)")
	sys, err := testenv.StartSystemProcess(testenv.SystemOptions{
		Binaries:      bins,
		Postgres:      pg,
		DaemonAddr:    sink.Addr(),
		SamplingRules: c.rules,
		ProductsEnv:   withPprof(c.env, pprof["products"]),
		PaymentsEnv:   withPprof(c.env, pprof["payments"]),
	})
	if err != nil {
		return err
	}
	defer sys.Close()
	pids := map[string]int{}
	for svc, bin := range map[string]string{"products": bins.Products, "payments": bins.Payments} {
		if pids[svc], err = pidOf(bin); err != nil {
			return err
		}
	}

	rep := soakReport{
		Date:       time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Machine:    cpuModel(),
		Command:    "go run ./cmd/bench " + strings.Join(os.Args[1:], " "),
		Rate:       o.soakRate,
		DurationS:  o.soakDuration.Seconds(),
		Rotated:    o.soakRotate,
		LoadBefore: loadAvg(),
	}
	if rep.Start, err = snapshots(ctx, pids, pprof); err != nil {
		return err
	}

	url := sys.ProductsURL + "/api/1.0/products"
	logf("holding %.0f req/s on %s for %s", o.soakRate, url, o.soakDuration)
	b := &bench{openloop: openloop, o: options{rate: o.soakRate, openDuration: o.soakDuration, openWarmup: time.Second}}
	type loopResult struct {
		r   openResult
		err error
	}
	done := make(chan loopResult, 1)
	go func() {
		r, err := b.openLoop(ctx, url)
		done <- loopResult{r, err}
	}()
	if o.soakRotate {
		select {
		case <-time.After(time.Second + o.soakDuration/2):
		case res := <-done:
			return fmt.Errorf("open loop ended before the rotation: %v", res.err)
		}
		logf("rotating the app role's password and terminating its sessions")
		if err := sys.RotateAppPassword(ctx); err != nil {
			return err
		}
		if rep.Terminated, err = pg.TerminateBackends(ctx, sys.AppRole); err != nil {
			return err
		}
	}
	res := <-done
	if res.err != nil {
		return res.err
	}
	rep.Requests, rep.Failed = res.r.Requests, res.r.Errors
	rep.P50Us, rep.P99Us, rep.P999Us, rep.SendP99Us = res.r.P50Us, res.r.P99Us, res.r.P999Us, res.r.P99SendDelayUs

	if rep.End, err = snapshots(ctx, pids, pprof); err != nil {
		return err
	}
	rep.LoadAfter = loadAvg()
	rep.Retried = strings.Count(sys.Products.Logs(), "retrying a read")
	rep.SamePIDs = true
	for svc, bin := range map[string]string{"products": bins.Products, "payments": bins.Payments} {
		pid, err := pidOf(bin)
		if err != nil || pid != pids[svc] {
			rep.SamePIDs = false
		}
	}
	rep.ReadyzAfter, err = readyz(ctx, sys.ProductsURL)
	if err != nil {
		return err
	}
	printSoak(os.Stdout, rep)
	if o.jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.jsonPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if rep.Failed > 0 {
		return fmt.Errorf("%d of %d requests failed", rep.Failed, rep.Requests)
	}
	return nil
}

// snapshots reads each service's RSS and threads (/proc/<pid>/status) and goroutines (pprof).
func snapshots(ctx context.Context, pids map[string]int, pprof map[string]string) (map[string]soakSnapshot, error) {
	out := map[string]soakSnapshot{}
	for svc, pid := range pids {
		var s soakSnapshot
		var err error
		if s.RSSKiB, s.Threads, err = procStatus(pid); err != nil {
			return nil, fmt.Errorf("%s: %w", svc, err)
		}
		if s.Goroutines, err = goroutines(ctx, pprof[svc]); err != nil {
			return nil, fmt.Errorf("%s: %w", svc, err)
		}
		out[svc] = s
	}
	return out, nil
}

// procStatus reads VmRSS (KiB) and Threads from /proc/<pid>/status.
func procStatus(pid int) (rssKiB, threads int, err error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}
		switch key {
		case "VmRSS":
			rssKiB, _ = strconv.Atoi(fields[0])
		case "Threads":
			threads, _ = strconv.Atoi(fields[0])
		}
	}
	if rssKiB == 0 || threads == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status: no VmRSS or Threads", pid)
	}
	return rssKiB, threads, sc.Err()
}

// goroutines reads the total of a goroutine profile ("goroutine profile: total N").
func goroutines(ctx context.Context, addr string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/goroutine?debug=1", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		return 0, err
	}
	n, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("goroutine profile starts with %q", line)
	}
	return strconv.Atoi(n)
}

// readyz is products' /readyz answer, on one line.
func readyz(ctx context.Context, productsURL string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, productsURL+"/readyz", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", errors.New("readyz after the soak: " + resp.Status + ": " + string(body))
	}
	return strings.TrimSpace(string(body)), nil
}

func printSoak(w io.Writer, r soakReport) {
	fmt.Fprintf(w, "soak of GET /api/1.0/products, %s, %s\n", r.Date, r.Machine)
	fmt.Fprintf(w, "command: %s\n", r.Command)
	fmt.Fprintf(w, "load: %.0f req/s for %.0f s (open loop), tracing at the default sampling rule; load average %s before, %s after\n", r.Rate, r.DurationS, r.LoadBefore, r.LoadAfter)
	if r.Rotated {
		fmt.Fprintf(w, "rotation half way: app role password changed, %d sessions terminated; %d reads retried on a new connection\n", r.Terminated, r.Retried)
	}
	fmt.Fprintf(w, "requests %d, failed %d; latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms (send delay p99 %.0f us); same PIDs: %v\n",
		r.Requests, r.Failed, r.P50Us/1000, r.P99Us/1000, r.P999Us/1000, r.SendP99Us, r.SamePIDs)
	fmt.Fprintf(w, "\n| service | RSS start | RSS end | threads start | threads end | goroutines start | goroutines end |\n|---|---|---|---|---|---|---|\n")
	for _, svc := range []string{"products", "payments"} {
		s, e := r.Start[svc], r.End[svc]
		fmt.Fprintf(w, "| %s | %.1f MiB | %.1f MiB | %d | %d | %d | %d |\n", svc, float64(s.RSSKiB)/1024, float64(e.RSSKiB)/1024, s.Threads, e.Threads, s.Goroutines, e.Goroutines)
	}
	fmt.Fprintf(w, "\n/readyz after: %s\n", r.ReadyzAfter)
}
