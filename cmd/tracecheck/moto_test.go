package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// The end-to-end test of the trace check: the real services (processes, real PostgreSQL) send
// their segments to a UDP listener; a forwarder plays the X-Ray daemon and puts each document
// into moto_server's X-Ray (PutTraceSegments); tracecheck then sends its requests to products
// and reads the traces back from moto (GetTraceSummaries, BatchGetTraces).
// The broken cases alter the documents on their way to moto, as a misconfigured system would.

const motoRegion = "us-east-1"

// moto is a moto_server process on a free loopback port.
type moto struct {
	URL string
	cmd *exec.Cmd
	out bytes.Buffer
}

func startMoto(t *testing.T) *moto {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Fatalf("moto_server not found (scripts/install.sh installs it: pip install 'moto[server]'): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	m := &moto{URL: "http://127.0.0.1:" + strconv.Itoa(port)}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	m.cmd.Stdout, m.cmd.Stderr = &m.out, &m.out
	// Its own process group, so stopping it stops whatever it spawned.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- m.cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("moto_server output:\n%s", m.out.String())
		}
	})

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(m.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return m
		}
		select {
		case err := <-exited:
			t.Fatalf("moto_server exited: %v\n%s", err, m.out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server not answering on %s after 30s\n%s", m.URL, m.out.String())
		}
	}
}

// forwarder stands in for the X-Ray daemon: it sends each segment document the listener
// receives to moto's PutTraceSegments, after an optional alteration.
type forwarder struct {
	mu      sync.Mutex
	client  *xray.Client
	alter   func(map[string]any) (map[string]any, bool) // false: drop the document
	sent    int
	dropped int
	errs    []error
}

func (f *forwarder) target(client *xray.Client, alter func(map[string]any) (map[string]any, bool)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.client, f.alter, f.sent, f.dropped, f.errs = client, alter, 0, 0, nil
}

func (f *forwarder) onDocument(d testenv.Document) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.client == nil {
		return
	}
	raw := d.Raw
	if f.alter != nil {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber() // keep the timestamps exactly as sent
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			f.errs = append(f.errs, err)
			return
		}
		doc, keep := f.alter(doc)
		if !keep {
			f.dropped++
			return
		}
		b, err := json.Marshal(doc)
		if err != nil {
			f.errs = append(f.errs, err)
			return
		}
		raw = string(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := f.client.PutTraceSegments(ctx, &xray.PutTraceSegmentsInput{TraceSegmentDocuments: []string{raw}})
	switch {
	case err != nil:
		f.errs = append(f.errs, err)
	case len(out.UnprocessedTraceSegments) > 0:
		u := out.UnprocessedTraceSegments[0]
		f.errs = append(f.errs, fmt.Errorf("moto rejected segment %s: %s %s", aws.ToString(u.Id), aws.ToString(u.ErrorCode), aws.ToString(u.Message)))
	default:
		f.sent++
	}
}

func (f *forwarder) stats() (sent, dropped int, errs []error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent, f.dropped, append([]error(nil), f.errs...)
}

// Credentials for moto only, and no other source (no IMDS lookups from the tests).
func motoEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	for _, key := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"} {
		unsetenv(t, key) // set but empty, AWS_PROFILE makes botocore (in moto) look for a profile ""
	}
	t.Setenv("AWS_REGION", motoRegion)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
}

func unsetenv(t *testing.T, key string) {
	old, was := os.LookupEnv(key)
	os.Unsetenv(key)
	t.Cleanup(func() {
		if was {
			os.Setenv(key, old)
		}
	})
}

func TestTraceCheckAgainstMoto(t *testing.T) {
	// Fail at once, before building and starting the system, when moto is missing.
	if _, err := exec.LookPath("moto_server"); err != nil {
		t.Fatalf("moto_server not found (scripts/install.sh installs it: pip install 'moto[server]'): %v", err)
	}
	motoEnv(t)
	bins, err := testenv.BuildServices(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pg := testenv.StartPostgres(t)
	fwd := &forwarder{}
	listener, err := testenv.ListenSegments("127.0.0.1:0", fwd.onDocument)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { listener.Close() })
	sys := testenv.StartSystem(t, testenv.SystemOptions{Binaries: bins, Postgres: pg, DaemonAddr: listener.Addr()})

	cases := []struct {
		name  string
		alter func(map[string]any) (map[string]any, bool)
		wait  time.Duration
		check string // the check that must fail ("" for the healthy system)
		want  string // in its detail
	}{
		{name: "connected trace from the real services", wait: 30 * time.Second},
		{
			name: "payments segment missing",
			alter: func(doc map[string]any) (map[string]any, bool) {
				return doc, doc["name"] != "payments"
			},
			wait:  4 * time.Second,
			check: "payments segment is a child of the products HTTP call",
			want:  `(GET /api/1.0/payments) has no "payments" segment (segments: products)`,
		},
		{
			name: "payments parent rewritten",
			alter: func(doc map[string]any) (map[string]any, bool) {
				if doc["name"] == "payments" {
					doc["parent_id"] = "1234567890abcdef"
				}
				return doc, true
			},
			wait:  4 * time.Second,
			check: "payments segment is a child of the products HTTP call",
			want:  `has parent_id 1234567890abcdef, which is no segment or subsegment in the trace; HTTP calls of products: "127.0.0.1:`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := startMoto(t)
			putClient, err := newXRayClient(context.Background(), motoRegion, m.URL)
			if err != nil {
				t.Fatal(err)
			}
			fwd.target(putClient, tc.alter)
			defer fwd.target(nil, nil)

			var out bytes.Buffer
			cfg := Config{
				URL:          sys.ProductsURL,
				Region:       motoRegion,
				EndpointURL:  m.URL,
				Paths:        []string{"/api/1.0/products", "/api/1.0/payments"},
				Requests:     1,
				Wait:         tc.wait,
				HTTPTimeout:  10 * time.Second,
				Expect:       Expect{Products: "products", Payments: "payments"},
				PollInterval: 500 * time.Millisecond,
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := Run(ctx, cfg, &out)
			report := out.String()
			t.Logf("tracecheck report:\n%s", report)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			sent, dropped, errs := fwd.stats()
			if len(errs) > 0 {
				t.Fatalf("forwarding segments to moto: %v", errors.Join(errs...))
			}
			if sent == 0 {
				t.Fatal("no segment reached moto")
			}
			if tc.check == "" {
				if !res.OK() {
					t.Fatalf("the healthy system failed the check: %v", res.Failed())
				}
				if !strings.Contains(report, "tracecheck: OK") {
					t.Fatalf("report lacks the OK line")
				}
				return
			}
			if tc.name == "payments segment missing" && dropped == 0 {
				t.Fatal("the alteration dropped nothing: the case tests nothing")
			}
			if res.OK() {
				t.Fatal("a broken trace passed the check")
			}
			var failed *Check
			for i := range res.Checks {
				if res.Checks[i].Name == tc.check {
					failed = &res.Checks[i]
				}
			}
			if failed == nil || failed.OK {
				t.Fatalf("check %q did not fail; failed: %v", tc.check, res.Failed())
			}
			if !strings.Contains(failed.Detail, tc.want) {
				t.Fatalf("failure detail\n  %s\nlacks\n  %s", failed.Detail, tc.want)
			}
			if !strings.Contains(report, "FAIL "+tc.check) || !strings.Contains(report, "tracecheck: FAILED") {
				t.Fatalf("report does not show the failure")
			}
		})
	}
}
