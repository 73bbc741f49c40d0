package opscheck

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the checkout root: the tests run in internal/opscheck.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repo root not found from the test directory: %v", err)
	}
	return root
}

// machine is a fake machine for the scripts: a PATH holding only the system tools the scripts
// use (so pulumi, docker and aws are absent unless a test adds a stand-in) and an empty HOME.
type machine struct {
	t    *testing.T
	bin  string
	home string
	env  []string
}

// The tools scripts/preflight.sh and scripts/pulumi.sh call, besides the ones under test.
var systemTools = []string{"bash", "sh", "sed", "grep", "awk", "head", "tail", "dirname", "timeout", "mkdir", "cat", "go"}

func newMachine(t *testing.T) *machine {
	t.Helper()
	m := &machine{t: t, bin: t.TempDir(), home: t.TempDir()}
	for _, tool := range systemTools {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("this test needs %s on PATH: %v", tool, err)
		}
		if err := os.Symlink(path, filepath.Join(m.bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	m.env = []string{"PATH=" + m.bin, "HOME=" + m.home, "LANG=C"}
	return m
}

// fake installs a stand-in command: a shell script body.
func (m *machine) fake(name, body string) {
	m.t.Helper()
	script := "#!/bin/sh\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(m.bin, name), []byte(script), 0o755); err != nil {
		m.t.Fatal(err)
	}
}

func (m *machine) setenv(kv ...string) { m.env = append(m.env, kv...) }

// run runs a script of the repo and returns its exit code, stdout and stderr.
func (m *machine) run(script string, args ...string) (int, string, string) {
	m.t.Helper()
	cmd := exec.Command(filepath.Join(m.bin, "bash"), append([]string{filepath.Join(repoRoot(m.t), script)}, args...)...)
	cmd.Env = m.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		m.t.Fatalf("run %s: %v", script, err)
	}
	return code, stdout.String(), stderr.String()
}

// A working toolchain: the pulumi CLI with its Go language host and the plugins, a running
// Docker engine, AWS credentials that STS accepts.
func (m *machine) installEverything() {
	m.fake("pulumi", `case "$1" in
  version) echo v3.274.1 ;;
  plugin) printf 'NAME    KIND      VERSION  SIZE    INSTALLED  LAST USED\naws     resource  6.83.4   900 MB  1 day ago  1 day ago\nawsx    resource  2.22.0   100 MB  1 day ago  1 day ago\n' ;;
  *) echo "pulumi $*" >>"$HOME/pulumi.log" ;;
esac`)
	m.fake("pulumi-language-go", "exit 0")
	m.fake("docker", "exit 0")
	m.fake("aws", `echo "123456789012 arn:aws:iam::123456789012:user/dev AIDA"`)
	m.setenv("AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret")
}

func lines(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// expectLines asserts one line per expected problem, in order, each holding its fragments.
func expectLines(t *testing.T, got string, want ...[]string) {
	t.Helper()
	ls := lines(got)
	if len(ls) != len(want) {
		t.Fatalf("want %d line(s), got %d:\n%s", len(want), len(ls), got)
	}
	for i, frags := range want {
		for _, f := range frags {
			if !strings.Contains(ls[i], f) {
				t.Errorf("line %d lacks %q:\n%s", i+1, f, ls[i])
			}
		}
	}
}

// The machine this project's sessions run on: no pulumi, no AWS credentials, no Docker engine.
func TestPreflightOnABareMachine(t *testing.T) {
	m := newMachine(t)
	code, stdout, stderr := m.run("scripts/preflight.sh", "dev")
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if stdout != "" {
		t.Errorf("nothing belongs on stdout when the preflight fails, got %q", stdout)
	}
	expectLines(t, stderr,
		[]string{"preflight: pulumi CLI not found", "no Pulumi Go language host and no AWS plugin", "get.pulumi.com", "pulumi install"},
		[]string{"preflight: AWS credentials not configured", "aws configure", "AWS_PROFILE"},
		[]string{"preflight: Docker not found", "docs.docker.com"},
	)
}

func TestPreflightDockerEngineDown(t *testing.T) {
	m := newMachine(t)
	m.installEverything()
	m.fake("docker", `echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1`)
	code, _, stderr := m.run("scripts/preflight.sh", "prod")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	expectLines(t, stderr, []string{"preflight: Docker engine not reachable", "Cannot connect to the Docker daemon", "systemctl start docker"})
}

func TestPreflightMissingPluginsAndLanguageHost(t *testing.T) {
	m := newMachine(t)
	m.installEverything()
	m.fake("pulumi", `case "$1" in
  plugin) printf 'NAME KIND VERSION\naws resource 6.83.4\n' ;;
esac`)
	if err := os.Remove(filepath.Join(m.bin, "pulumi-language-go")); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := m.run("scripts/preflight.sh", "dev")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	expectLines(t, stderr,
		[]string{"Pulumi Go language host (pulumi-language-go) not found"},
		[]string{"Pulumi plugin(s) not installed: awsx", "awsx 2.22.0", "pulumi install"},
	)
}

func TestPreflightRejectedCredentials(t *testing.T) {
	m := newMachine(t)
	m.installEverything()
	m.fake("aws", `echo "An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The security token included in the request is expired" >&2; exit 255`)
	code, _, stderr := m.run("scripts/preflight.sh", "dev")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	expectLines(t, stderr, []string{"AWS credentials from environment keys do not work", "ExpiredToken", "aws sso login"})
}

func TestPreflightReady(t *testing.T) {
	m := newMachine(t)
	m.installEverything()
	code, stdout, stderr := m.run("scripts/preflight.sh", "dev")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q, want a clean pass", code, stderr)
	}
	expectLines(t, stdout, []string{"preflight: ready for stack dev", "pulumi v3.274.1", "AWS credentials from environment keys"})
}

// A profile in ~/.aws counts as credentials, as it does for the AWS SDKs.
func TestPreflightFindsProfileCredentials(t *testing.T) {
	m := newMachine(t)
	m.installEverything()
	m.env = m.env[:3] // drop the environment keys
	if err := os.MkdirAll(filepath.Join(m.home, ".aws"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.home, ".aws", "config"), []byte("[profile ops]\nsso_session = corp\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m.setenv("AWS_PROFILE=ops")
	code, stdout, stderr := m.run("scripts/preflight.sh", "dev")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "profile ops in "+filepath.Join(m.home, ".aws", "config")) {
		t.Fatalf("credential source not named: %s", stdout)
	}
}

func TestPreflightUnknownStack(t *testing.T) {
	m := newMachine(t)
	code, _, stderr := m.run("scripts/preflight.sh", "staging")
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	expectLines(t, stderr, []string{"unknown stack 'staging'", "STACK=dev or STACK=prod"})
}

// make preview|up|destroy: preflight, then the local file backend when logged in nowhere, then
// stack select --create, then the command.
func TestPulumiWrapperUsesLocalStateByDefault(t *testing.T) {
	m := newMachine(t)
	m.installEverything()
	m.setenv("PULUMI_CONFIG_PASSPHRASE=")
	code, stdout, stderr := m.run("scripts/pulumi.sh", "preview", "dev", "--diff")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	state := "file://" + filepath.Join(repoRoot(t), ".pulumi-state")
	if !strings.Contains(stdout, "pulumi: state in "+state) {
		t.Errorf("backend not reported: %s", stdout)
	}
	log, err := os.ReadFile(filepath.Join(m.home, "pulumi.log"))
	if err != nil {
		t.Fatal(err)
	}
	want := "pulumi login " + state + "\npulumi stack select --create dev\npulumi preview --stack dev --diff\n"
	if string(log) != want {
		t.Fatalf("pulumi calls:\n%s\nwant:\n%s", log, want)
	}
}

// After 'pulumi login s3://...' (recorded in ~/.pulumi/credentials.json), that backend is used.
func TestPulumiWrapperKeepsAnExistingLogin(t *testing.T) {
	m := newMachine(t)
	m.installEverything()
	m.setenv("PULUMI_CONFIG_PASSPHRASE=x")
	if err := os.MkdirAll(filepath.Join(m.home, ".pulumi"), 0o755); err != nil {
		t.Fatal(err)
	}
	// As 'pulumi login' writes it.
	creds := "{\n    \"current\": \"s3://team-state?region=eu-west-1\",\n    \"accessTokens\": {}\n}\n"
	if err := os.WriteFile(filepath.Join(m.home, ".pulumi", "credentials.json"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := m.run("scripts/pulumi.sh", "destroy", "prod")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "state in s3://team-state?region=eu-west-1") {
		t.Errorf("backend not reported: %s", stdout)
	}
	log, _ := os.ReadFile(filepath.Join(m.home, "pulumi.log"))
	if want := "pulumi stack select --create prod\npulumi destroy --stack prod\n"; string(log) != want {
		t.Fatalf("pulumi calls:\n%s\nwant:\n%s", log, want)
	}
}

func TestPulumiWrapperNeedsAPassphraseForLocalState(t *testing.T) {
	m := newMachine(t)
	m.installEverything()
	code, _, stderr := m.run("scripts/pulumi.sh", "up", "dev")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	expectLines(t, stderr, []string{"PULUMI_CONFIG_PASSPHRASE not set", "export PULUMI_CONFIG_PASSPHRASE="})
	if log, err := os.ReadFile(filepath.Join(m.home, "pulumi.log")); err == nil && strings.Contains(string(log), "pulumi up") {
		t.Fatalf("pulumi up ran without a passphrase:\n%s", log)
	}
}

func TestPulumiWrapperStopsAtThePreflight(t *testing.T) {
	m := newMachine(t)
	code, _, stderr := m.run("scripts/pulumi.sh", "up", "dev")
	if code != 1 || !strings.Contains(stderr, "pulumi CLI not found") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}
