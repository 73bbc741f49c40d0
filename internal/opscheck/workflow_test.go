package opscheck

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// actionlintRun runs the actionlint pinned in go.mod (a tool dependency) on files and returns
// its exit code and output. Exit 0: no findings; 1: findings; anything else: actionlint broke.
func actionlintRun(t *testing.T, files ...string) (int, string) {
	t.Helper()
	args := append([]string{"tool", "actionlint", "-no-color", "-oneline"}, files...)
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot(t)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String()
	default:
		t.Fatalf("go tool actionlint: %v\n%s", err, out.String())
		return -1, ""
	}
}

func workflowFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(repoRoot(t), ".github", "workflows", pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no workflow files in .github/workflows")
	}
	return files
}

func TestWorkflowsPassActionlint(t *testing.T) {
	code, out := actionlintRun(t, workflowFiles(t)...)
	if code != 0 || strings.TrimSpace(out) != "" {
		t.Fatalf("actionlint exit %d:\n%s", code, out)
	}
}

// The same workflow with deliberate mistakes must fail, each mistake named: proof that the
// lint above looks at what it is given.
func TestActionlintCatchesABrokenWorkflow(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), ".github", "workflows", "pulumi.yml"))
	if err != nil {
		t.Fatal(err)
	}
	broken := string(src)
	for _, r := range []struct{ from, to string }{
		{"runs-on: ubuntu-latest", "runs-on: ubuntu-latst"},                                                       // unknown runner label
		{"stack-name: ${{ matrix.stack }}", "stack-name: ${{ matrix.stak }}"},                                     // undefined matrix property
		{"needs: test\n    if: github.event_name == 'push'", "needs: tests\n    if: github.event_name == 'push'"}, // unknown job
		{"      id-token: write\n      pull-requests: write", "      id-token: writ\n      pull-requests: write"}, // bad permission
	} {
		if !strings.Contains(broken, r.from) {
			t.Fatalf("workflow no longer contains %q: update this test", r.from)
		}
		broken = strings.Replace(broken, r.from, r.to, 1)
	}
	dir := filepath.Join(t.TempDir(), ".github", "workflows")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "broken.yml")
	if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := actionlintRun(t, file)
	if code != 1 {
		t.Fatalf("actionlint exit %d on a broken workflow, want 1:\n%s", code, out)
	}
	t.Logf("actionlint on the broken copy:\n%s", out)
	// Inputs of SHA-pinned actions are not in actionlint's metadata (it knows owner/repo@vN):
	// TestWorkflowPolicy checks pulumi/actions' inputs against v6's list instead.
	for _, want := range []string{`"ubuntu-latst"`, `"stak"`, `"tests"`, `"writ"`} {
		if !strings.Contains(out, want) {
			t.Errorf("actionlint output does not name %s:\n%s", want, out)
		}
	}
}

// workflow is the part of a workflow file the policy checks read.
type workflow struct {
	On   map[string]any `yaml:"on"`
	Jobs map[string]struct {
		If          string            `yaml:"if"`
		Environment string            `yaml:"environment"`
		Permissions map[string]string `yaml:"permissions"`
		Concurrency struct {
			Group            string `yaml:"group"`
			CancelInProgress bool   `yaml:"cancel-in-progress"`
		} `yaml:"concurrency"`
		Strategy struct {
			Matrix map[string]any `yaml:"matrix"`
		} `yaml:"strategy"`
		Steps []struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// The releases pinned, by full commit SHA (pulumi/actions v7.0.0 of 2026-05-01 moved to node24
// and kept v6's inputs; configure-aws-credentials v6.2.3). Read from the actions' repositories'
// tags; the workflow names the release in a comment beside each SHA.
const (
	pulumiAction = "pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d"
	awsAction    = "aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c"
)

// What the workflow must do, beyond being valid: tests on pull requests, a commented preview of
// each stack, up of dev on main, OIDC-only AWS access, concurrency per stack.
func TestWorkflowPolicy(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), ".github", "workflows", "pulumi.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(src, &wf); err != nil {
		t.Fatal(err)
	}
	_, onPR := wf.On["pull_request"]
	push, _ := wf.On["push"].(map[string]any)
	if branches, _ := push["branches"].([]any); !onPR || len(branches) != 1 || branches[0] != "main" {
		t.Errorf("want triggers pull_request and push to main, got %v", wf.On)
	}

	// actionlint 1.7.12 knows pulumi/actions up to v6, whose inputs v7 kept: check ours there.
	v6 := actionlint.PopularActions["pulumi/actions@v6"]
	if v6 == nil {
		t.Fatal("actionlint lacks pulumi/actions@v6 metadata")
	}

	var tested, previewed, deployed bool
	for name, job := range wf.Jobs {
		var runs []string
		var pulumiSteps []map[string]string
		usesAWS := false
		for _, s := range job.Steps {
			runs = append(runs, s.Run)
			if strings.HasPrefix(s.Uses, "actions/setup-go@") && s.With["go-version-file"] != "go.mod" {
				t.Errorf("job %s: setup-go must take the Go version from go.mod", name)
			}
			if strings.HasPrefix(s.Uses, "pulumi/actions@") {
				if s.Uses != pulumiAction {
					t.Errorf("job %s uses %s, want %s", name, s.Uses, pulumiAction)
				}
				for in := range s.With {
					if _, ok := v6.Inputs[strings.ToLower(in)]; !ok {
						t.Errorf("job %s: pulumi/actions has no input %q", name, in)
					}
				}
				pulumiSteps = append(pulumiSteps, s.With)
			}
			if strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@") {
				usesAWS = true
				if s.Uses != awsAction {
					t.Errorf("job %s uses %s, want %s", name, s.Uses, awsAction)
				}
				if !strings.Contains(s.With["role-to-assume"], "vars.") {
					t.Errorf("job %s: AWS access must assume a role (role-to-assume from a variable)", name)
				}
				for _, key := range []string{"aws-access-key-id", "aws-secret-access-key", "aws-session-token"} {
					if _, ok := s.With[key]; ok {
						t.Errorf("job %s passes %s: no long-lived AWS keys", name, key)
					}
				}
			}
		}
		if usesAWS && job.Permissions["id-token"] != "write" {
			t.Errorf("job %s assumes an AWS role without permissions id-token: write", name)
		}
		if strings.Contains(strings.Join(runs, "\n"), "make test") {
			tested = strings.Contains(strings.Join(runs, "\n"), "scripts/install.sh")
		}
		for _, with := range pulumiSteps {
			if job.Concurrency.Group == "" || !strings.Contains(job.Concurrency.Group, stackOf(with)) {
				t.Errorf("job %s runs pulumi on stack %s without a concurrency group for it (group %q)", name, with["stack-name"], job.Concurrency.Group)
			}
			switch with["command"] {
			case "preview":
				stacks, _ := job.Strategy.Matrix["stack"].([]any)
				if with["stack-name"] != "${{ matrix.stack }}" || len(stacks) != 2 || stacks[0] != "dev" || stacks[1] != "prod" {
					t.Errorf("job %s: preview must run for each stack (matrix dev, prod)", name)
				}
				if with["comment-on-pr"] != "true" || job.Permissions["pull-requests"] != "write" {
					t.Errorf("job %s: preview must comment on the PR (comment-on-pr and pull-requests: write)", name)
				}
				if !strings.Contains(job.If, "pull_request") {
					t.Errorf("job %s: preview must run on pull requests only, if: %q", name, job.If)
				}
				// prod's preview secrets (passphrase, role) live in its own environment.
				if job.Environment != "preview-${{ matrix.stack }}" {
					t.Errorf("job %s: preview must run in the stack's own environment preview-<stack>, got %q", name, job.Environment)
				}
				previewed = true
			case "up":
				if with["stack-name"] != "dev" || !strings.Contains(job.If, "push") || !strings.Contains(job.If, "refs/heads/main") {
					t.Errorf("job %s: up must be of dev on pushes to main", name)
				}
				if job.Concurrency.CancelInProgress {
					t.Errorf("job %s: an update must never be cancelled halfway", name)
				}
				if job.Environment != "dev" || !strings.Contains(roleOf(job.Steps), "AWS_DEPLOY_ROLE_ARN") {
					t.Errorf("job %s: up of dev must run in environment dev with the deploy role, got %q and %q", name, job.Environment, roleOf(job.Steps))
				}
				deployed = true
			}
		}
	}
	if !tested || !previewed || !deployed {
		t.Errorf("want a test job (scripts/install.sh, make test), a preview job and an up job; got test=%v preview=%v up=%v", tested, previewed, deployed)
	}
}

// stackOf is the stack a pulumi/actions step works on, as it appears in a concurrency group.
func stackOf(with map[string]string) string {
	return with["stack-name"]
}

// roleOf is the role a job's AWS step assumes.
func roleOf(steps []struct {
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
}) string {
	for _, s := range steps {
		if strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@") {
			return s.With["role-to-assume"]
		}
	}
	return ""
}

var pinnedUse = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s+([^@\s]+)@(\S+)(?:\s+#\s+(v\d+\.\d+\.\d+))?\s*$`)

// Every third-party action is pinned by full commit SHA with its release in a comment: a moved
// tag cannot change what runs.
func TestWorkflowsPinActionsBySHA(t *testing.T) {
	pins := 0
	for _, file := range workflowFiles(t) {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(src), "\n") {
			if !strings.Contains(line, "uses:") || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			m := pinnedUse.FindStringSubmatch(line)
			if m == nil || strings.HasPrefix(m[1], "./") {
				continue
			}
			if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(m[2]) || m[3] == "" {
				t.Errorf("%s:%d: %s@%s is not pinned by full commit SHA with the release in a comment (# vX.Y.Z)", filepath.Base(file), n+1, m[1], m[2])
			}
			pins++
		}
	}
	if pins < 10 {
		t.Errorf("found %d action references; the parser is missing them", pins)
	}
}

// The drift job: scheduled, a refreshed preview of each stack that fails on any change, in the
// stack's read-only preview environment.
func TestDriftDetectionWorkflow(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), ".github", "workflows", "drift.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(src, &wf); err != nil {
		t.Fatal(err)
	}
	schedule, _ := wf.On["schedule"].([]any)
	if len(schedule) == 0 || schedule[0].(map[string]any)["cron"] == nil {
		t.Errorf("drift must run on a schedule, got %v", wf.On)
	}
	if _, onPR := wf.On["pull_request"]; onPR {
		t.Error("drift must not run on pull requests")
	}
	v6 := actionlint.PopularActions["pulumi/actions@v6"]
	checked := false
	for name, job := range wf.Jobs {
		stacks, _ := job.Strategy.Matrix["stack"].([]any)
		for _, s := range job.Steps {
			if !strings.HasPrefix(s.Uses, "pulumi/actions@") {
				continue
			}
			for in := range s.With {
				if _, ok := v6.Inputs[strings.ToLower(in)]; !ok {
					t.Errorf("job %s: pulumi/actions has no input %q", name, in)
				}
			}
			if s.With["command"] != "preview" || s.With["refresh"] != "true" || s.With["expect-no-changes"] != "true" {
				t.Errorf("job %s: want a refreshed preview with expect-no-changes, got %v", name, s.With)
			}
			if s.With["stack-name"] != "${{ matrix.stack }}" || len(stacks) != 2 || stacks[0] != "dev" || stacks[1] != "prod" {
				t.Errorf("job %s: drift must check each stack (matrix dev, prod)", name)
			}
			if job.Environment != "preview-${{ matrix.stack }}" || !strings.Contains(roleOf(job.Steps), "AWS_PREVIEW_ROLE_ARN") {
				t.Errorf("job %s: drift must use the read-only preview environment and role, got %q %q", name, job.Environment, roleOf(job.Steps))
			}
			checked = true
		}
	}
	if !checked {
		t.Error("no pulumi preview step in drift.yml")
	}
}
