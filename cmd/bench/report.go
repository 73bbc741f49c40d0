package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report collects the phases of every run and prints the medians.
type report struct {
	o          options
	phases     map[string][]phase // by endpoint + "/" + config, in run order
	loadBefore string
	loadAfter  string
	loadByRun  []string
	elapsed    time.Duration
}

func newReport(o options) *report {
	return &report{o: o, phases: map[string][]phase{}}
}

func (r *report) add(p phase) {
	k := p.Endpoint + "/" + p.Config
	r.phases[k] = append(r.phases[k], p)
}

// median of one figure of a cell's runs.
func (r *report) median(e endpoint, c string, figure func(phase) float64) (float64, bool) {
	ps := r.phases[e.name+"/"+c]
	if len(ps) == 0 {
		return 0, false
	}
	v := make([]float64, len(ps))
	for i, p := range ps {
		v[i] = figure(p)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

type row struct {
	metric string
	figure func(phase) float64
	format string // of one value
	ratio  bool   // print ratios against off
	ref    func(e endpoint) string
}

func (r *report) rows() []row {
	return []row{
		{metric: fmt.Sprintf("throughput, wrk -c%d (req/s)", r.o.connections), figure: func(p phase) float64 { return p.RPS }, format: "%.0f", ratio: true,
			ref: func(e endpoint) string { return fmt.Sprintf("%.2fx (%s)", e.refRatio, e.refWhat) }},
		{metric: "latency p50, wrk (ms)", figure: func(p phase) float64 { return p.P50Us / 1000 }, format: "%.2f", ratio: true},
		{metric: "latency p99, wrk (ms)", figure: func(p phase) float64 { return p.P99Us / 1000 }, format: "%.2f", ratio: true},
		{metric: "server CPU, products + payments (us/req)", figure: func(p phase) float64 { return p.CPUUsPerRq }, format: "%.1f", ratio: true,
			ref: func(endpoint) string { return "one hop: 27 -> 77 us (2.85x)" }},
		{metric: fmt.Sprintf("latency p50 at %.0f req/s (ms)", r.o.rate), figure: func(p phase) float64 { return p.OpenP50Us / 1000 }, format: "%.2f", ratio: true},
		{metric: fmt.Sprintf("latency p99 at %.0f req/s (ms)", r.o.rate), figure: func(p phase) float64 { return p.OpenP99Us / 1000 }, format: "%.2f", ratio: true,
			ref: func(endpoint) string { return "one hop: 0.71 -> 1.01 ms (1.42x)" }},
		{metric: fmt.Sprintf("server CPU at %.0f req/s (us/req)", r.o.rate), figure: func(p phase) float64 { return p.OpenCPUUsPerRq }, format: "%.1f", ratio: true},
		{metric: "segments (xray) or spans (otel) sent per request", figure: func(p phase) float64 { return p.SegPerRq }, format: "%.3f"},
	}
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nmeshtrace service benchmark: medians of %d interleaved runs (%s), %s\n", r.o.runs, r.configNames(), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "machine: %d x %s, %s; load average before %s, after each run %s, after %s; took %s\n",
		runtime.NumCPU(), cpuModel(), runtime.Version(), r.loadBefore, strings.Join(r.loadByRun, " | "), r.loadAfter, r.elapsed.Round(time.Second))
	fmt.Fprintf(w, "closed loop: wrk -t%d -c%d, %s measured after %s; open loop: %.0f req/s for %s after %s, latency from the intended send time\n",
		r.o.threads, r.o.connections, r.o.duration, r.o.warmup, r.o.rate, r.o.openDuration, r.o.openWarmup)
	fmt.Fprintf(w, "tracing: off = TRACING=off; default = 1 req/s + 5%% (the default rule); full = 100%%; default and full with the X-Ray SDK (TRACING=xray, segments to a local UDP listener), otel-* with OpenTelemetry (TRACING=otel, spans over OTLP/gRPC to a local receiver)\n\n")

	names := strings.Split(r.configNames(), ", ")
	var traced []string // the configurations with a ratio against off
	for _, c := range names {
		if c != "off" {
			traced = append(traced, c)
		}
	}
	header := append([]string{"endpoint", "metric"}, names...)
	align := []string{"---", "---"}
	for range names {
		align = append(align, "--:")
	}
	for _, c := range traced {
		header = append(header, c+"/off")
		align = append(align, "--:")
	}
	header = append(header, "reference full/off")
	align = append(align, "---")
	fmt.Fprintf(w, "| %s |\n|%s|\n", strings.Join(header, " | "), strings.Join(align, "|"))
	for _, e := range r.o.endpoints {
		label := fmt.Sprintf("GET %s (%s)", e.path, e.work)
		for _, rw := range r.rows() {
			cells := []string{label, rw.metric}
			vals := map[string]float64{}
			for _, c := range names {
				v, ok := r.median(e, c, rw.figure)
				if !ok {
					cells = append(cells, "-")
					continue
				}
				vals[c] = v
				cells = append(cells, fmt.Sprintf(rw.format, v))
			}
			for _, c := range traced {
				off, okOff := vals["off"]
				v, ok := vals[c]
				if !rw.ratio || !okOff || !ok || off == 0 {
					cells = append(cells, "")
					continue
				}
				cells = append(cells, fmt.Sprintf("%.2fx", v/off))
			}
			ref := ""
			if rw.ref != nil {
				ref = rw.ref(e)
			}
			cells = append(cells, ref)
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
			label = ""
		}
	}

	fmt.Fprintln(w)
	for _, e := range r.o.endpoints {
		var parts []string
		for _, c := range r.o.configs {
			var v []string
			for _, p := range r.phases[e.name+"/"+c.name] {
				v = append(v, fmt.Sprintf("%.0f", p.RPS))
			}
			parts = append(parts, c.name+" "+strings.Join(v, " "))
		}
		fmt.Fprintf(w, "throughput by run, %s (req/s): %s\n", e.name, strings.Join(parts, " | "))
	}
	r.printGoals(w)
}

func (r *report) configNames() string {
	var names []string
	for _, c := range r.o.configs {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}

// printGoals checks the goals against the medians.
func (r *report) printGoals(w io.Writer) {
	rps := func(p phase) float64 { return p.RPS }
	ratio := func(e endpoint, c string) (float64, bool) {
		off, ok1 := r.median(e, "off", rps)
		v, ok2 := r.median(e, c, rps)
		return v / off, ok1 && ok2 && off > 0
	}
	mark := func(ok bool) string {
		if ok {
			return "MET "
		}
		return "MISS"
	}
	fmt.Fprintln(w, "\ngoals:")
	cpu := func(p phase) float64 { return p.CPUUsPerRq }
	for _, c := range []string{"default", "otel-default"} {
		for _, e := range r.o.endpoints {
			if d, ok := ratio(e, c); ok {
				fmt.Fprintf(w, "  [%s] %s, %s: keeps %.0f%% of the untraced throughput (goal >= 95%%)\n", mark(d >= 0.95), e.name, c, d*100)
			}
			off, ok1 := r.median(e, "off", cpu)
			v, ok2 := r.median(e, c, cpu)
			if ok1 && ok2 && off > 0 {
				fmt.Fprintf(w, "  [%s] %s, %s: server CPU per request %.2fx untraced (goal <= 1.07x)\n", mark(v/off <= 1.07), e.name, c, v/off)
			}
		}
	}
	for _, e := range r.o.endpoints {
		off, ok1 := r.median(e, "off", cpu)
		x, ok2 := r.median(e, "full", cpu)
		o, ok3 := r.median(e, "otel-full", cpu)
		if ok1 && ok2 && ok3 {
			fmt.Fprintf(w, "  [%s] %s: CPU per traced request (100%% minus off), OpenTelemetry %.1f us vs X-Ray SDK %.1f us (goal: no more)\n", mark(o-off <= (x-off)*1.05), e.name, o-off, x-off)
		}
	}
	for _, e := range r.o.endpoints {
		if f, ok := ratio(e, "full"); ok {
			rel := f / e.refRatio
			note := ""
			if rel > 1.10 {
				note = ", better than the reference"
			}
			fmt.Fprintf(w, "  [%s] %s: 100%% sampling keeps %.2fx, reference %.2fx: %+.0f%% (goal: within 10%%%s)\n", mark(rel >= 0.90), e.name, f, e.refRatio, (rel-1)*100, note)
		}
	}
	for _, e := range r.o.endpoints {
		if e.name != "products" {
			continue
		}
		p99 := func(p phase) float64 { return p.OpenP99Us / 1000 }
		if v, ok := r.median(e, "off", p99); ok {
			fmt.Fprintf(w, "  [%s] products p99 at %.0f req/s untraced: %.2f ms (goal < 2 ms)\n", mark(v < 2), r.o.rate, v)
		}
		for _, c := range []string{"default", "full", "otel-default", "otel-full"} {
			if v, ok := r.median(e, c, p99); ok {
				fmt.Fprintf(w, "  [%s] products p99 at %.0f req/s traced (%s): %.2f ms (goal < 2.5 ms)\n", mark(v < 2.5), r.o.rate, c, v)
			}
		}
	}
}

func (r *report) writeJSON(path string) error {
	out := struct {
		Machine    string             `json:"machine"`
		LoadBefore string             `json:"load_before"`
		LoadAfter  string             `json:"load_after"`
		Phases     map[string][]phase `json:"phases"`
	}{
		Machine:    fmt.Sprintf("%d x %s", runtime.NumCPU(), cpuModel()),
		LoadBefore: r.loadBefore,
		LoadAfter:  r.loadAfter,
		Phases:     r.phases,
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
