package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/internal/syncbuf"
)

// Packages of the two services, as go build names them.
const (
	ProductsPackage = "github.com/meshtrace/meshtrace/apps/products"
	PaymentsPackage = "github.com/meshtrace/meshtrace/apps/payments"
)

// SampleAllRules is an X-Ray local sampling rules file that traces every request except health
// checks (read by both tracing modes, xray and otel). The SDK's default rule (1 request per second, then 5%) would leave most test requests
// untraced. (A segment begun outside an HTTP request matches every rule, including the health
// check one, so it is not sampled: the services only begin segments for requests.)
const SampleAllRules = `{
  "version": 2,
  "rules": [
    {"description": "health checks", "host": "*", "http_method": "*", "url_path": "/healthz", "fixed_target": 0, "rate": 0}
  ],
  "default": {"fixed_target": 1, "rate": 1.0}
}
`

// AppRole is the database role products serves as in a System, created by `products migrate`.
const AppRole = "products_app"

// Binaries are the paths of the built services.
type Binaries struct {
	Products string
	Payments string
}

// BuildServices builds both services into dir with go build, from within this module. A package
// that starts several systems should build once (e.g. in TestMain) and pass the result in
// SystemOptions.Binaries.
func BuildServices(dir string) (Binaries, error) {
	bins := Binaries{Products: filepath.Join(dir, "products"), Payments: filepath.Join(dir, "payments")}
	for pkg, out := range map[string]string{ProductsPackage: bins.Products, PaymentsPackage: bins.Payments} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		if output, err := cmd.CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("go build %s: %w\n%s", pkg, err, output)
		}
	}
	return bins, nil
}

// SystemOptions describe the system to start.
type SystemOptions struct {
	// Binaries of the services; when empty they are built first (slower: a link per system).
	Binaries Binaries
	// Postgres is the database products uses; required.
	Postgres *Postgres
	// DaemonAddr is given to both services as AWS_XRAY_DAEMON_ADDRESS, typically a
	// SegmentListener's Addr(). Empty means the SDK's default, 127.0.0.1:2000.
	DaemonAddr string
	// Tracing is given to both services as TRACING (xray, otel, off); empty leaves their default
	// (xray).
	Tracing string
	// OTLPEndpoint is given to both services as OTEL_EXPORTER_OTLP_ENDPOINT (TRACING=otel),
	// typically an OTLPReceiver's or a Jaeger's OTLPEndpoint, with a batch delay of 100 ms (OTEL_BSP_SCHEDULE_DELAY)
	// so that spans arrive soon after their request.
	OTLPEndpoint string
	// SamplingRules is the content of the services' XRAY_SAMPLING_RULES_FILE; empty means
	// SampleAllRules. Set it to "default" to keep the SDK's default sampling (no file).
	SamplingRules string
	// AppRole is the role products serves as; empty means AppRole. Systems that run at the same
	// time on one database need roles of their own: each System sets its role's password when it
	// starts, which would lock the products of another System out of new connections.
	AppRole string
	// ProductsEnv and PaymentsEnv add or override "KEY=value" variables, e.g. PAYMENT_TIMEOUT=500ms
	// or TRACING=off.
	ProductsEnv []string
	PaymentsEnv []string
	// ProductsPort and PaymentsPort fix the services' ports on 127.0.0.1; 0 picks free ones.
	ProductsPort int
	PaymentsPort int
	// Output receives the services' logs, each line prefixed with the service name. Nil: kept
	// only in memory (see Service.Logs).
	Output io.Writer
}

// System is payments and products running as processes on free loopback ports, products
// calling payments and using Postgres as AppRole, with the credential it reads from
// PasswordFile at each new connection.
type System struct {
	ProductsURL string
	PaymentsURL string
	Products    *Service
	Payments    *Service
	// Postgres is the database; AppRole the role products connects as, whose password is in
	// PasswordFile.
	Postgres     *Postgres
	AppRole      string
	PasswordFile string

	tempDir string // removed by Close, if this System created it
}

// StartSystem runs `products migrate` (as the database's superuser, the stand-in for the RDS
// master user: it creates AppRole with the dev data set), gives AppRole a password and writes it
// to the system's password file, starts payments, then products (DB_AUTH=password-file, as
// AppRole), waits until both answer /healthz, and stops both
// when the test ends. If the test failed, the services' logs are written to the test log.
func StartSystem(tb testing.TB, opts SystemOptions) *System {
	tb.Helper()
	if opts.Binaries == (Binaries{}) {
		bins, err := BuildServices(tb.TempDir())
		if err != nil {
			tb.Fatal(err)
		}
		opts.Binaries = bins
	}
	sys, err := StartSystemProcess(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := sys.Close(); err != nil {
			tb.Errorf("stop system: %v", err)
		}
		if tb.Failed() {
			tb.Logf("payments log:\n%s", sys.Payments.Logs())
			tb.Logf("products log:\n%s", sys.Products.Logs())
		}
	})
	return sys
}

// StartSystemProcess is StartSystem without a test: Close stops the services.
func StartSystemProcess(opts SystemOptions) (*System, error) {
	if opts.Postgres == nil {
		return nil, errors.New("SystemOptions.Postgres is required")
	}
	tempDir, err := os.MkdirTemp("", "testenv-system-")
	if err != nil {
		return nil, err
	}
	role := opts.AppRole
	if role == "" {
		role = AppRole
	}
	sys := &System{tempDir: tempDir, Postgres: opts.Postgres, AppRole: role, PasswordFile: filepath.Join(tempDir, "products-db-password")}
	if opts.Binaries == (Binaries{}) {
		if opts.Binaries, err = BuildServices(tempDir); err != nil {
			sys.Close()
			return nil, err
		}
	}
	if err := Migrate(opts.Binaries.Products, opts.Postgres, sys.AppRole); err != nil {
		sys.Close()
		return nil, err
	}
	if err := sys.RotateAppPassword(context.Background()); err != nil {
		sys.Close()
		return nil, err
	}

	var common []string
	if opts.DaemonAddr != "" {
		common = append(common, "AWS_XRAY_DAEMON_ADDRESS="+opts.DaemonAddr)
	}
	if opts.Tracing != "" {
		common = append(common, "TRACING="+opts.Tracing)
	}
	if opts.OTLPEndpoint != "" {
		common = append(common, "OTEL_EXPORTER_OTLP_ENDPOINT="+opts.OTLPEndpoint, "OTEL_BSP_SCHEDULE_DELAY=100")
	}
	rules := opts.SamplingRules
	if rules == "" {
		rules = SampleAllRules
	}
	if rules != "default" {
		rulesFile := filepath.Join(tempDir, "sampling-rules.json")
		if err := os.WriteFile(rulesFile, []byte(rules), 0o644); err != nil {
			sys.Close()
			return nil, err
		}
		common = append(common, "XRAY_SAMPLING_RULES_FILE="+rulesFile)
	}

	paymentsPort, productsPort := opts.PaymentsPort, opts.ProductsPort
	for _, port := range []*int{&paymentsPort, &productsPort} {
		if *port == 0 {
			*port, err = freePort()
		} else {
			// Otherwise /healthz could be answered by whatever already listens there.
			err = checkPortFree(*port)
		}
		if err != nil {
			sys.Close()
			return nil, err
		}
	}
	sys.PaymentsURL = "http://127.0.0.1:" + strconv.Itoa(paymentsPort)
	sys.ProductsURL = "http://127.0.0.1:" + strconv.Itoa(productsPort)

	sys.Payments = &Service{
		Name:   "payments",
		URL:    sys.PaymentsURL,
		binary: opts.Binaries.Payments,
		env:    concat([]string{"PORT=" + strconv.Itoa(paymentsPort)}, common, opts.PaymentsEnv),
		output: opts.Output,
	}
	sys.Products = &Service{
		Name:   "products",
		URL:    sys.ProductsURL,
		binary: opts.Binaries.Products,
		env: concat([]string{"PORT=" + strconv.Itoa(productsPort), "PAYMENT_ENDPOINT=" + sys.PaymentsURL,
			// products is the edge, as the stack runs it (callers may not decide its sampling).
			"TRACING_EDGE=true"},
			opts.Postgres.AppEnv(sys.AppRole, sys.PasswordFile), common, opts.ProductsEnv),
		output: opts.Output,
	}
	if err := sys.Payments.Start(); err != nil {
		sys.Close()
		return nil, err
	}
	if err := sys.Products.Start(); err != nil {
		sys.Close()
		return nil, err
	}
	return sys, nil
}

// Migrate runs `products migrate` of the products binary on pg, as its superuser, creating or
// updating appRole (DB_APP_AUTH=password: the caller sets its password) with the dev data set
// (DB_SEED=true), and returns its output in the error if it fails.
func Migrate(productsBinary string, pg *Postgres, appRole string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, productsBinary, "migrate")
	cmd.Env = concat([]string{"PATH=" + os.Getenv("PATH")}, pg.Env(),
		[]string{"DB_APP_USER=" + appRole, "DB_APP_AUTH=password", "DB_SEED=true"})
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("products migrate: %w\n%s", err, out)
	}
	return nil
}

// RotateAppPassword rotates products' credential the way a rotation does: the role's password
// changes in the database, then the credential source (the password file) gives the new one.
// Connections already open stay open; the next new connection uses the new password.
func (s *System) RotateAppPassword(ctx context.Context) error {
	password := RandomPassword()
	if err := s.Postgres.SetRolePassword(ctx, s.AppRole, password); err != nil {
		return fmt.Errorf("set the password of %s: %w", s.AppRole, err)
	}
	return WritePasswordFile(s.PasswordFile, password)
}

// Close stops products, then payments (each with SIGTERM, as ECS does), and removes the files
// the System created. It returns the first error, including a non-zero exit of a service.
func (s *System) Close() error {
	var errs []error
	for _, svc := range []*Service{s.Products, s.Payments} {
		if svc != nil && svc.Running() {
			errs = append(errs, svc.Stop())
		}
	}
	if s.tempDir != "" {
		errs = append(errs, os.RemoveAll(s.tempDir))
	}
	return errors.Join(errs...)
}

// Service is one service process. It can be stopped and started again on the same port, with
// different environment variables.
type Service struct {
	Name string
	URL  string

	binary string
	env    []string
	output io.Writer
	logs   syncbuf.Buffer

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// Start starts the service with its environment plus extraEnv ("KEY=value", overriding) and
// waits until GET /healthz answers 200.
func (s *Service) Start(extraEnv ...string) error {
	s.mu.Lock()
	if s.runningLocked() {
		s.mu.Unlock()
		return fmt.Errorf("%s is already running", s.Name)
	}
	cmd := exec.Command(s.binary)
	// Only what the service is given: nothing from the caller's environment (an AWS_XRAY_* or
	// ECS_* variable there would change what is tested).
	cmd.Env = concat([]string{"PATH=" + os.Getenv("PATH")}, s.env, extraEnv)
	var out io.Writer = &s.logs
	if s.output != nil {
		out = io.MultiWriter(&s.logs, &prefixWriter{prefix: s.Name + " | ", w: s.output})
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // Ctrl-C in a terminal reaches us, and we stop services in order
		Pdeathsig: syscall.SIGKILL, // no orphan if we die
	}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("start %s: %w", s.Name, err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited, s.waitErr = cmd, exited, nil
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(exited)
	}()
	s.mu.Unlock()

	if err := s.waitHealthy(exited, 90*time.Second); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%w\n%s log:\n%s", err, s.Name, s.Logs())
	}
	return nil
}

// waitHealthy polls /healthz.
func (s *Service) waitHealthy(exited <-chan struct{}, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited during start: %v", s.Name, s.ExitErr())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after %s", s.Name, timeout)
		}
	}
}

// Stop sends SIGTERM and waits (up to 30 s, then SIGKILL) for the process to exit. It returns
// the process's exit error: nil when the service shut down cleanly with status 0.
func (s *Service) Stop() error {
	if err := s.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	if err := s.Wait(30 * time.Second); err != nil {
		s.mu.Lock()
		cmd := s.cmd
		s.mu.Unlock()
		_ = cmd.Process.Kill()
		_ = s.Wait(5 * time.Second)
		return err
	}
	return s.ExitErr()
}

// Restart stops the service and starts it again with extraEnv.
func (s *Service) Restart(extraEnv ...string) error {
	if s.Running() {
		if err := s.Stop(); err != nil {
			return err
		}
	}
	return s.Start(extraEnv...)
}

// Signal sends sig to the running process.
func (s *Service) Signal(sig os.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.runningLocked() {
		return fmt.Errorf("%s is not running", s.Name)
	}
	return s.cmd.Process.Signal(sig)
}

// Wait waits until the process has exited, and returns an error only on timeout.
func (s *Service) Wait(timeout time.Duration) error {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	if exited == nil {
		return nil
	}
	select {
	case <-exited:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s still running after %s", s.Name, timeout)
	}
}

// Running tells whether the process is up.
func (s *Service) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runningLocked()
}

func (s *Service) runningLocked() bool {
	return s.cmd != nil && !hasExited(s.exited)
}

// ExitErr is how the last process ended: nil for exit status 0 (or while it runs).
func (s *Service) ExitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitErr
}

// PID is the process ID of the running process, 0 when it is not running.
func (s *Service) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.runningLocked() {
		return 0
	}
	return s.cmd.Process.Pid
}

// Logs returns everything the service wrote to stdout and stderr, across restarts.
func (s *Service) Logs() string { return s.logs.String() }

func concat(lists ...[]string) []string {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}

// prefixWriter writes each line with a prefix, so two services' logs can share a terminal.
type prefixWriter struct {
	mu      sync.Mutex
	prefix  string
	w       io.Writer
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		line, rest, found := bytes.Cut(p.partial, []byte("\n"))
		if !found {
			break
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, line); err != nil {
			return 0, err
		}
		p.partial = rest
	}
	return len(b), nil
}
