package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/stacks"
	"github.com/meshtrace/meshtrace/stacks/graphs"
)

const install = "run scripts/install.sh (it installs them with: pip install 'moto[server]' boto3 pyyaml)"

// requireTools fails, never skips, when the check cannot run: a machine without them must
// not pass the AWS API check by not running it.
func requireTools(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("python3 is not on PATH; the AWS API check needs python3 with boto3, botocore, moto and pyyaml: %s", install)
	}
	// moto.server is moto's ThreadedMotoServer, which the replay runs in process.
	out, err := exec.Command("python3", "-c", "import boto3, botocore, moto, yaml; from moto.server import ThreadedMotoServer").CombinedOutput()
	if err != nil {
		t.Fatalf("python3 cannot import boto3, botocore, moto (with its server) and yaml (%v):\n%s\n%s", err, out, install)
	}
}

// exportGraphs writes the graph of every stack and mode combination into a temporary directory.
func exportGraphs(t *testing.T) []string {
	t.Helper()
	paths, err := graphs.ExportGraphs(t.TempDir(), []string{"dev", "prod"})
	if err != nil {
		t.Fatalf("export graphs: %v", err)
	}
	if want := 2*len(stacks.AllModes()) + len(graphs.Variants); len(paths) != want {
		t.Fatalf("exported %d graphs, want %d: %v", len(paths), want, paths)
	}
	return paths
}

// validate runs validate.py on files and returns its output and exit code.
func validate(t *testing.T, files ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", append([]string{"validate.py"}, files...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	default:
		t.Fatalf("run validate.py: %v\n%s", err, out.String())
		return "", -1
	}
}

// TestStackAgainstAWSAPIModels is the check: every stack and mode combination, validated
// against botocore's models and replayed into moto_server, without a finding.
func TestStackAgainstAWSAPIModels(t *testing.T) {
	requireTools(t)
	files := exportGraphs(t)
	out, code := validate(t, files...)
	if code != 0 {
		t.Fatalf("validate.py exited %d: the declared stack breaks AWS's API models or moto refused it:\n%s", code, out)
	}
	for _, f := range files {
		if !strings.Contains(out, "== "+filepath.Base(f)+":") {
			t.Errorf("the output has no section for %s", filepath.Base(f))
		}
	}
	if want := fmt.Sprintf("== total: %d files, 0 findings", len(files)); !strings.Contains(out, want) {
		t.Errorf("the output lacks %q", want)
	}
	if strings.Count(out, "   => OK") != len(files) {
		t.Errorf("want %d files OK", len(files))
	}
	t.Log(out)
}

// TestPythonUnitTests runs the check's own unit tests (translation, model walker, rules).
func TestPythonUnitTests(t *testing.T) {
	requireTools(t)
	cmd := exec.Command("python3", "-m", "unittest", "discover", "-s", ".", "-p", "test_*.py")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 -m unittest: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("OK")) {
		t.Fatalf("python3 -m unittest did not report OK:\n%s", out)
	}
}

// --- deliberate errors ---------------------------------------------------------------------

// A breakage is a deliberate error put into a copy of an exported graph, and the messages the
// check must give for it.
type breakage struct {
	name   string
	source string // exported graph to copy: <stack>-<mesh>-<tracing>.json
	mutate func(t *testing.T, g *graph)
	want   []string
}

var breakages = []breakage{
	{
		name:   "misspelled-container-field",
		source: "dev-appmesh-adot.json",
		mutate: func(t *testing.T, g *graph) {
			g.editContainer(t, "products", "xray", func(c map[string]any) {
				c["memoryReservaton"] = c["memoryReservation"]
				delete(c, "memoryReservation")
			})
		},
		want: []string{
			`[model] aws:ecs/taskDefinition:TaskDefinition products: ecs RegisterTaskDefinition: Unknown parameter in containerDefinitions[3]: "memoryReservaton", must be one of: name, image,`,
			`[replay] aws:ecs/taskDefinition:TaskDefinition products: ecs RegisterTaskDefinition refused by botocore before sending: Parameter validation failed: Unknown parameter in containerDefinitions[3]: "memoryReservaton"`,
		},
	},
	{
		name:   "bad-dependson-condition",
		source: "dev-appmesh-adot.json",
		mutate: func(t *testing.T, g *graph) {
			g.editContainer(t, "products", "app", func(c map[string]any) {
				c["dependsOn"].([]any)[0].(map[string]any)["condition"] = "HEALTHYY"
			})
		},
		want: []string{
			`[model] aws:ecs/taskDefinition:TaskDefinition products: ecs RegisterTaskDefinition: Invalid value for parameter containerDefinitions[0].dependsOn[0].condition, value: HEALTHYY, valid values: START, COMPLETE, SUCCESS, HEALTHY`,
		},
	},
	{
		name:   "policy-without-effect",
		source: "dev-serviceconnect-xray-daemon.json",
		mutate: func(t *testing.T, g *graph) {
			g.editPolicy(t, "aws:iam/rolePolicy:RolePolicy", "products-execution", "policy", func(p map[string]any) {
				delete(p["Statement"].([]any)[0].(map[string]any), "Effect")
			})
		},
		want: []string{
			`[policy] aws:iam/rolePolicy:RolePolicy products-execution: identity policy: statement 0 (WriteLogs): Effect is missing (must be Allow or Deny)`,
			`[replay] aws:iam/rolePolicy:RolePolicy products-execution: iam PutRolePolicy refused: MalformedPolicyDocument: Syntax errors in policy.`,
			`[permissions] aws:ecs/taskDefinition:TaskDefinition products: execution role products-execution does not allow logs:CreateLogStream on arn:aws:logs:us-east-1:123456789012:log-group:/meshtrace/dev/products:log-stream:app/app/0`,
		},
	},
	{
		name:   "wildcard-action",
		source: "dev-serviceconnect-xray-daemon.json",
		mutate: func(t *testing.T, g *graph) {
			g.editPolicy(t, "aws:iam/rolePolicy:RolePolicy", "payments-task", "policy", func(p map[string]any) {
				s := p["Statement"].([]any)[0].(map[string]any)
				s["Action"] = append(s["Action"].([]any), "s3:*")
			})
		},
		want: []string{
			`[policy] aws:iam/rolePolicy:RolePolicy payments-task: identity policy: statement 0 (XRayWrite): action 's3:*' is a wildcard; name the actions (or allow-list it in rules.py with a reason)`,
			`[policy] aws:iam/rolePolicy:RolePolicy payments-task: identity policy: statement 0 (XRayWrite): action 's3:*' is granted on Resource "*"; name the resources`,
		},
	},
	{
		name:   "fargate-size",
		source: "prod-serviceconnect-xray-daemon.json",
		mutate: func(t *testing.T, g *graph) {
			g.inputs(t, "aws:ecs/taskDefinition:TaskDefinition", "payments")["memory"] = "8192"
		},
		want: []string{
			`[ecs] aws:ecs/taskDefinition:TaskDefinition payments: memory 8192 does not go with cpu 512 on Fargate (allowed: 1024..4096: [1024, 2048, 3072, 4096])`,
		},
	},
	{
		name:   "collector-without-otlp",
		source: "prod-appmesh-adot.json",
		mutate: func(t *testing.T, g *graph) {
			g.editContainer(t, "payments", "xray", func(c map[string]any) {
				for _, e := range c["environment"].([]any) {
					env := e.(map[string]any)
					if env["name"] == "AOT_CONFIG_CONTENT" {
						env["value"] = strings.Replace(env["value"].(string), "receivers: [awsxray, otlp]", "receivers: [awsxray]", 1)
					}
				}
			})
		},
		want: []string{
			`[adot] aws:ecs/taskDefinition:TaskDefinition payments: service.pipelines.traces.receivers lacks ['otlp']`,
		},
	},
	{
		// The X-Ray proxy moved: the apps would poll sampling where nothing listens.
		name:   "collector-proxy-elsewhere",
		source: "dev-serviceconnect-adot.json",
		mutate: func(t *testing.T, g *graph) {
			g.editContainer(t, "payments", "xray", func(c map[string]any) {
				for _, e := range c["environment"].([]any) {
					env := e.(map[string]any)
					if env["name"] == "AOT_CONFIG_CONTENT" {
						proxy := "proxy_server:\n      endpoint: 127.0.0.1:2000"
						if !strings.Contains(env["value"].(string), proxy) {
							t.Fatalf("collector config has no %q", proxy)
						}
						env["value"] = strings.Replace(env["value"].(string), proxy, "proxy_server:\n      endpoint: 127.0.0.1:2001", 1)
					}
				}
			})
		},
		want: []string{
			`[adot] aws:ecs/taskDefinition:TaskDefinition payments: container app: AWS_XRAY_DAEMON_ADDRESS 127.0.0.1:2000: TCP 127.0.0.1:2000 is not the awsxray receiver's proxy_server.endpoint 127.0.0.1:2001, where sampling is polled`,
		},
	},
	{
		name:   "secret-of-another-database",
		source: "dev-serviceconnect-xray-daemon.json",
		mutate: func(t *testing.T, g *graph) {
			g.editContainer(t, "products", "migrate", func(c map[string]any) {
				s := c["secrets"].([]any)[0].(map[string]any)
				s["valueFrom"] = strings.Replace(s["valueFrom"].(string), "meshtrace-dev-db", "meshtrace-old-db", 1)
			})
		},
		want: []string{
			`[replay] aws:ecs/taskDefinition:TaskDefinition products: container migrate: secret DB_PASSWORD: valueFrom arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-meshtrace-old-db-AbCdEf:password:: names no secret of the stack`,
			`[permissions] aws:ecs/taskDefinition:TaskDefinition products: execution role products-execution does not allow secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-meshtrace-old-db-AbCdEf`,
		},
	},
	{
		name:   "service-with-unknown-security-group",
		source: "dev-appmesh-xray-daemon.json",
		mutate: func(t *testing.T, g *graph) {
			nc := g.inputs(t, "aws:ecs/service:Service", "payments")["networkConfiguration"].(map[string]any)
			nc["securityGroups"] = []any{"ghost-id"}
		},
		want: []string{
			`[replay] aws:ecs/service:Service payments: ecs CreateService: networkConfiguration.awsvpcConfiguration.securityGroups[] refers to 'ghost-id', which is no security group of the stack`,
			`[replay] aws:ecs/service:Service payments: ecs CreateService refused: InvalidParameterException: Error retrieving security group information for [ghost-id]: The security group 'ghost-id' does not exist (ErrorCode: InvalidGroup.NotFound)`,
		},
	},
}

// TestDeliberateErrorsAreCaught breaks copies of exported graphs, one error each, and
// requires the check to fail on each with the expected messages, so that every kind of
// check keeps being able to fail.
func TestDeliberateErrorsAreCaught(t *testing.T) {
	requireTools(t)
	exported := map[string]string{}
	for _, p := range exportGraphs(t) {
		exported[filepath.Base(p)] = p
	}
	dir := t.TempDir()
	var files []string
	for _, b := range breakages {
		g := loadGraph(t, exported[b.source])
		b.mutate(t, g)
		files = append(files, g.write(t, filepath.Join(dir, b.name+".json")))
	}
	out, code := validate(t, files...)
	if code != 1 {
		t.Fatalf("validate.py exited %d on deliberately broken graphs, want 1:\n%s", code, out)
	}
	for _, b := range breakages {
		findings := findingsOf(out, b.name+".json")
		if len(findings) == 0 {
			t.Errorf("%s: no finding", b.name)
		}
		for _, want := range b.want {
			if !containsLine(findings, want) {
				t.Errorf("%s: no finding contains\n  %s\nfindings:\n  %s", b.name, want, strings.Join(findings, "\n  "))
			}
		}
	}
	if t.Failed() {
		t.Logf("validate.py output:\n%s", out)
	}
}

// findingsOf returns the finding lines of one file, without their "FAIL <file> " prefix.
func findingsOf(out, file string) []string {
	var lines []string
	prefix := "   FAIL " + file + " "
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, prefix) {
			lines = append(lines, strings.TrimPrefix(line, prefix))
		}
	}
	return lines
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

// --- editing an exported graph ----------------------------------------------------------------

type graph struct {
	doc map[string]any
}

func loadGraph(t *testing.T, path string) *graph {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g := &graph{}
	if err := json.Unmarshal(raw, &g.doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return g
}

func (g *graph) write(t *testing.T, path string) string {
	t.Helper()
	raw, err := json.MarshalIndent(g.doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// inputs returns the inputs of the resource with this type and name, to edit in place.
func (g *graph) inputs(t *testing.T, typ, name string) map[string]any {
	t.Helper()
	for _, r := range g.doc["resources"].([]any) {
		res := r.(map[string]any)
		if res["type"] == typ && res["name"] == name {
			return res["inputs"].(map[string]any)
		}
	}
	t.Fatalf("no resource %s %s in the graph", typ, name)
	return nil
}

// editJSON edits an input holding a JSON document (containerDefinitions, a policy).
func (g *graph) editJSON(t *testing.T, typ, name, key string, edit func(v any)) {
	t.Helper()
	in := g.inputs(t, typ, name)
	var v any
	if err := json.Unmarshal([]byte(in[key].(string)), &v); err != nil {
		t.Fatalf("%s %s %s: %v", typ, name, key, err)
	}
	edit(v)
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	in[key] = string(raw)
}

func (g *graph) editContainer(t *testing.T, task, container string, edit func(c map[string]any)) {
	t.Helper()
	found := false
	g.editJSON(t, "aws:ecs/taskDefinition:TaskDefinition", task, "containerDefinitions", func(v any) {
		for _, c := range v.([]any) {
			if c := c.(map[string]any); c["name"] == container {
				edit(c)
				found = true
			}
		}
	})
	if !found {
		t.Fatalf("task definition %s has no container %s", task, container)
	}
}

func (g *graph) editPolicy(t *testing.T, typ, name, key string, edit func(p map[string]any)) {
	t.Helper()
	g.editJSON(t, typ, name, key, func(v any) { edit(v.(map[string]any)) })
}
