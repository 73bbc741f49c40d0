package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/meshtrace/meshtrace/internal/syncbuf"
)

// JaegerPackage is the Jaeger program (v2: an OpenTelemetry Collector distribution with an
// in-memory store and the Jaeger UI), built from tools/jaeger, a module of its own so that the
// program's go.mod does not carry Jaeger's dependencies.
const JaegerPackage = "github.com/jaegertracing/jaeger/cmd/jaeger"

// JaegerBinaryEnv names a Jaeger binary to use instead of building one.
const JaegerBinaryEnv = "MESHTRACE_JAEGER"

// JaegerUIAssetsEnv names a directory holding a built Jaeger UI (jaeger-ui's build output, as in
// a Jaeger release archive). The Jaeger module on the Go module proxy carries only a placeholder
// page in place of the UI, whose JavaScript is built from another repository; the query API works
// either way.
const JaegerUIAssetsEnv = "MESHTRACE_JAEGER_UI"

// jaegerModuleDir is tools/jaeger of this checkout.
func jaegerModuleDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the testenv source, hence tools/jaeger")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "tools", "jaeger")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", fmt.Errorf("tools/jaeger: %w", err)
	}
	return dir, nil
}

var jaegerBuild struct {
	sync.Mutex
	path string
}

// JaegerBinary returns the Jaeger program: $MESHTRACE_JAEGER if set, else one built with go build
// in tools/jaeger and kept in the user's cache directory under the hash of tools/jaeger/go.sum,
// so it is linked once per version (the first build compiles Jaeger: minutes on a cold cache).
func JaegerBinary() (string, error) {
	if p := os.Getenv(JaegerBinaryEnv); p != "" {
		return p, nil
	}
	jaegerBuild.Lock()
	defer jaegerBuild.Unlock()
	if jaegerBuild.path != "" {
		return jaegerBuild.path, nil
	}
	dir, err := jaegerModuleDir()
	if err != nil {
		return "", err
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(sum)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "meshtrace", "jaeger-"+hex.EncodeToString(h[:6]))
	if _, err := os.Stat(out); err == nil {
		jaegerBuild.path = out
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp := out + ".tmp" + strconv.Itoa(os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, JaegerPackage)
	cmd.Dir = dir
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (in tools/jaeger): %w\n%s", JaegerPackage, err, output)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	jaegerBuild.path = out
	return out, nil
}

// Jaeger is a Jaeger process: an OTLP/gRPC receiver, an in-memory trace store, and the query
// API and UI.
type Jaeger struct {
	// OTLPEndpoint is the OTLP/gRPC receiver, as OTEL_EXPORTER_OTLP_ENDPOINT (http://127.0.0.1:port).
	OTLPEndpoint string
	// UIURL is the Jaeger UI and query API (http://127.0.0.1:port).
	UIURL string

	cmd    *exec.Cmd
	exited chan struct{}
	logs   syncbuf.Buffer
	dir    string
}

// jaegerConfig keeps only what the tests and the local run need: OTLP in, memory store, query
// API and UI, all on loopback ports of our choosing, no metrics endpoint.
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    traces:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
%[4]s    http:
      endpoint: 127.0.0.1:%[2]d
    grpc:
      endpoint: 127.0.0.1:%[3]d
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%[1]d
processors:
  batch:
    timeout: 50ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// uiAssetsConfig points the query extension at $MESHTRACE_JAEGER_UI, if set.
func uiAssetsConfig() string {
	dir := os.Getenv(JaegerUIAssetsEnv)
	if dir == "" {
		return ""
	}
	return "    ui:\n      assets_path: " + strconv.Quote(dir) + "\n"
}

// StartJaegerProcess starts Jaeger with its OTLP/gRPC receiver on otlpPort and its UI on uiPort
// of 127.0.0.1 (0: free ports), and waits until both answer. Close stops it. Only the local run
// (cmd/local) uses Jaeger; the tests receive OTLP in process (OTLPReceiver).
func StartJaegerProcess(otlpPort, uiPort int) (*Jaeger, error) {
	bin, err := JaegerBinary()
	if err != nil {
		return nil, err
	}
	queryGRPCPort, err := freePort()
	if err != nil {
		return nil, err
	}
	for _, p := range []*int{&otlpPort, &uiPort} {
		if *p == 0 {
			if *p, err = freePort(); err != nil {
				return nil, err
			}
		} else if err := checkPortFree(*p); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "testenv-jaeger-")
	if err != nil {
		return nil, err
	}
	configPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(configPath, fmt.Appendf(nil, jaegerConfig, otlpPort, uiPort, queryGRPCPort, uiAssetsConfig()), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	j := &Jaeger{
		OTLPEndpoint: "http://127.0.0.1:" + strconv.Itoa(otlpPort),
		UIURL:        "http://127.0.0.1:" + strconv.Itoa(uiPort),
		dir:          dir,
		exited:       make(chan struct{}),
	}
	j.cmd = exec.Command(bin, "--config", configPath)
	j.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	j.cmd.Stdout, j.cmd.Stderr = &j.logs, &j.logs
	j.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := j.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start jaeger: %w", err)
	}
	go func() { _ = j.cmd.Wait(); close(j.exited) }()
	if err := j.waitReady(60*time.Second, otlpPort); err != nil {
		j.Close()
		return nil, fmt.Errorf("%w\njaeger log:\n%s", err, j.Logs())
	}
	return j, nil
}

// waitReady waits for the query API to answer and the OTLP port to accept connections.
func (j *Jaeger) waitReady(timeout time.Duration, otlpPort int) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(j.UIURL + "/api/v3/services")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(otlpPort), time.Second); err == nil {
					c.Close()
					return nil
				}
			}
		}
		select {
		case <-j.exited:
			return fmt.Errorf("jaeger exited during start: %v", j.cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("jaeger not ready after %s", timeout)
		}
	}
}

// TraceURL is the Jaeger UI page of a trace (32 hex digits).
func (j *Jaeger) TraceURL(traceID string) string { return j.UIURL + "/trace/" + traceID }

// Logs is what Jaeger wrote.
func (j *Jaeger) Logs() string { return j.logs.String() }

// Close stops Jaeger (SIGTERM, then SIGKILL after 10 s) and removes its files.
func (j *Jaeger) Close() error {
	defer os.RemoveAll(j.dir)
	select {
	case <-j.exited:
		return nil
	default:
	}
	_ = j.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-j.exited:
	case <-time.After(10 * time.Second):
		_ = j.cmd.Process.Kill()
		<-j.exited
	}
	return nil
}

// getJSON is a GET of the query API with a short timeout.
func (j *Jaeger) get(ctx context.Context, path string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.UIURL+path, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}
