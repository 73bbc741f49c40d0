// Command tracecheck is the post-deploy check of meshtrace's tracing: it sends requests to the
// products service, then asks AWS X-Ray for their traces and verifies that products called
// payments inside one trace and that products' SQL queries are traced.
//
//	go run ./cmd/tracecheck --stack dev
//	go run ./cmd/tracecheck --url http://xxx.elb.amazonaws.com --region eu-west-1
//	go run ./cmd/tracecheck --url http://127.0.0.1:8080 --region us-east-1 --endpoint-url http://127.0.0.1:5000
//
// It exits 0 when every check passed, 1 when a check failed, 2 on a usage or setup error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Config is what one run needs; flags fill it.
type Config struct {
	URL          string
	Region       string
	Stack        string
	EndpointURL  string
	Paths        []string
	Requests     int
	Wait         time.Duration
	HTTPTimeout  time.Duration
	Filter       string
	Expect       Expect
	XRayGroup    string
	PollInterval time.Duration
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "tracecheck:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Wait+2*time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracecheck:", err)
		os.Exit(2)
	}
	if !res.OK() {
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (Config, error) {
	cfg := Config{Expect: Expect{}}
	fs := flag.NewFlagSet("tracecheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.URL, "url", "", "products base URL, e.g. http://xxx.elb.amazonaws.com (default: the stack's url output)")
	fs.StringVar(&cfg.Region, "region", "", "AWS region of X-Ray (default: the stack's region output, then AWS_REGION)")
	fs.StringVar(&cfg.Stack, "stack", "", "Pulumi stack to read url, region and xrayGroupName from (needs the pulumi CLI)")
	fs.StringVar(&cfg.EndpointURL, "endpoint-url", "", "X-Ray endpoint override, e.g. a moto_server URL")
	paths := fs.String("paths", "/api/1.0/products,/api/1.0/payments", "comma-separated paths to request on products")
	fs.IntVar(&cfg.Requests, "requests", 1, "requests per path")
	fs.DurationVar(&cfg.Wait, "wait", 90*time.Second, "how long to wait for the traces to show up in X-Ray")
	fs.DurationVar(&cfg.HTTPTimeout, "http-timeout", 15*time.Second, "timeout of each request to products")
	fs.StringVar(&cfg.Filter, "filter", "", `optional X-Ray filter expression for GetTraceSummaries, e.g. service("products") (moto does not implement filters)`)
	fs.StringVar(&cfg.Expect.Products, "products-name", "products", "X-Ray segment name of the products service")
	fs.StringVar(&cfg.Expect.Payments, "payments-name", "payments", "X-Ray segment name of the payments service")
	fs.DurationVar(&cfg.PollInterval, "poll", time.Second, "first delay between X-Ray polls (doubles up to 10s)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	for _, p := range strings.Split(*paths, ",") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.Paths = append(cfg.Paths, p)
		}
	}
	if cfg.Stack != "" {
		out, err := stackOutputs(cfg.Stack)
		if err != nil {
			return cfg, err
		}
		if cfg.URL == "" {
			cfg.URL = out["url"]
		}
		if cfg.Region == "" {
			cfg.Region = out["region"]
		}
		cfg.XRayGroup = out["xrayGroupName"]
	}
	if cfg.Region == "" {
		cfg.Region = os.Getenv("AWS_REGION")
	}
	switch {
	case cfg.URL == "":
		return cfg, errors.New("no products URL: pass --url, or --stack with a deployed stack")
	case cfg.Region == "":
		return cfg, errors.New("no AWS region: pass --region (or set AWS_REGION), or --stack with a deployed stack")
	case len(cfg.Paths) == 0:
		return cfg, errors.New("--paths is empty")
	case cfg.Requests < 1:
		return cfg, errors.New("--requests must be at least 1")
	}
	return cfg, nil
}

// stackOutputs reads the stack's outputs through the pulumi CLI.
func stackOutputs(stack string) (map[string]string, error) {
	if _, err := exec.LookPath("pulumi"); err != nil {
		return nil, errors.New("--stack needs the pulumi CLI, which is not on PATH: install it (https://www.pulumi.com/docs/install/) or pass --url and --region")
	}
	cmd := exec.Command("pulumi", "stack", "output", "--json", "--stack", stack)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("pulumi stack output --stack %s failed: %s", stack, firstLine(stderr.String(), err))
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, fmt.Errorf("pulumi stack output --json: %v", err)
	}
	out := map[string]string{}
	for k, v := range all {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out, nil
}

func firstLine(s string, fallback error) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return fallback.Error()
	}
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Run sends the requests, waits for their traces in X-Ray and prints the report to out.
// The error is for setup problems; a failed check is reported in the Result.
func Run(ctx context.Context, cfg Config, out io.Writer) (Result, error) {
	fmt.Fprintf(out, "tracecheck: products at %s, X-Ray in %s", cfg.URL, cfg.Region)
	if cfg.EndpointURL != "" {
		fmt.Fprintf(out, " (endpoint %s)", cfg.EndpointURL)
	}
	if cfg.XRayGroup != "" {
		fmt.Fprintf(out, ", X-Ray group %s", cfg.XRayGroup)
	}
	fmt.Fprintln(out)

	client, err := newXRayClient(ctx, cfg.Region, cfg.EndpointURL)
	if err != nil {
		return Result{}, err
	}

	// Traces are looked up by start time: begin the window a little before the first request.
	start := time.Now().Add(-time.Minute)
	sent := sendRequests(ctx, cfg, out)
	reqCheck := requestsCheck(sent)

	res, err := pollTraces(ctx, client, cfg, sent, start, out)
	if err != nil {
		return Result{}, err
	}
	res.Checks = append([]Check{reqCheck}, res.Checks...)

	fmt.Fprintln(out)
	for _, t := range res.Trees {
		fmt.Fprintln(out, t)
	}
	fmt.Fprintln(out)
	failed := 0
	for _, c := range res.Checks {
		status := "PASS"
		if !c.OK {
			status = "FAIL"
			failed++
		}
		fmt.Fprintf(out, "%s %s: %s\n", status, c.Name, c.Detail)
	}
	if failed > 0 {
		fmt.Fprintf(out, "tracecheck: FAILED: %d of %d checks failed\n", failed, len(res.Checks))
	} else {
		fmt.Fprintf(out, "tracecheck: OK: %d checks passed\n", len(res.Checks))
	}
	return res, nil
}
