package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	"github.com/pulumi/pulumi-go-provider/integration/fake"
	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/meshtrace/meshtrace/pulumitest"
	"github.com/meshtrace/meshtrace/stacks"
)

// tsExample is the TypeScript team's program (README.md shows it); its node_modules, with
// typescript and @pulumi/pulumi at the versions of its package-lock.json, come from
// scripts/install.sh (npm ci).
const tsExample = "../examples/ts"

// The TypeScript program runs as `pulumi up` runs it, against the package: pulumi's codegen
// writes the SDK from the schema, tsc compiles the SDK with the program, and @pulumi/pulumi's
// own runner (the one the CLI's Node.js language host starts) runs it against a resource
// monitor here. That monitor does what the engine does with a remote component: it hands the
// registration to the provider's Construct (through pulumi-go-provider's integration server,
// whose children go to the mocks), inputs as @pulumi/pulumi sent them (output values with
// their dependencies and secretness), and returns the component's outputs to the program.
// Everything else the program registers (the stack) goes to pulumi-go-provider's fake monitor.
func TestTypeScriptExampleConstructsThroughTheProvider(t *testing.T) {
	out := compileTypeScript(t, tsExample)
	m := pulumitest.NewMocks("test")
	for _, dryRun := range []bool{true, false} {
		if n := runTypeScript(t, out, server(t, m), tsConfig, dryRun); n != 4 {
			t.Errorf("dryRun %v: %d components constructed through the provider, want 4 (mesh, tracing, payments, inventory)", dryRun, n)
		}
		// The preview already declares both services: the other components' outputs are
		// known in a preview (the package computes them at construction).
		if n := len(m.ByType("aws:ecs/service:Service")); dryRun && n != 2 {
			t.Errorf("the preview declared %d ECS services, want 2", n)
		}
	}

	// inventory got payments' outputs: payments admits it on payments' port.
	payments := child(t, m, "aws:ecs/service:Service", "payments", "Service")
	paymentsGroup := payments.Plain()["networkConfiguration"].(map[string]any)["securityGroups"].([]any)[0]
	admit := child(t, m, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "inventory-to-payments-in", "Service")
	if admit.Plain()["securityGroupId"] != paymentsGroup || admit.Plain()["fromPort"] != 8080.0 {
		t.Errorf("payments (%v) does not admit inventory: %v", paymentsGroup, admit.Plain())
	}
	// the dependency the program's outputs carried reached the children.
	dependsOn(t, admit, urnOf("Service", "payments"))
	// The Tracing's names start with the program's <project>-<stack> (account-unique).
	rule := child(t, m, "aws:xray/samplingRule:SamplingRule", "meshtrace-test-shop-inventory", "Service")
	dependsOn(t, rule, urnOf("Tracing", "shop"))
	td := child(t, m, "aws:ecs/taskDefinition:TaskDefinition", "inventory", "Service")
	if defs := td.Plain()["containerDefinitions"].(string); !strings.Contains(defs, `"PAYMENT_ENDPOINT","value":"http://payments:8080"`) || !strings.Contains(defs, "aws-otel-collector") {
		t.Errorf("inventory's task lacks payments' endpoint or the ADOT collector: %s", defs)
	}
}

// A team's own TypeScript program, run as the example is: MESHTRACE_TS_PROGRAM names its
// directory (its index.ts), MESHTRACE_TS_CONFIG its config as a JSON object (default: the
// example's). The graph the package declared for it, under pulumitest's mocks, is written to
// the file MESHTRACE_TS_GRAPH (default: the test log), for the team's own assertions or golden
// file (docs/consumer-tests.md). MESHTRACE_TS_PLATFORM: see below.
func TestYourTypeScriptProgram(t *testing.T) {
	program := os.Getenv("MESHTRACE_TS_PROGRAM")
	if program == "" {
		t.Skip("set MESHTRACE_TS_PROGRAM to a TypeScript program's directory")
	}
	config := tsConfig
	if c := os.Getenv("MESHTRACE_TS_CONFIG"); c != "" {
		if err := json.Unmarshal([]byte(c), &config); err != nil {
			t.Fatalf("MESHTRACE_TS_CONFIG: %v", err)
		}
	}
	// MESHTRACE_TS_PLATFORM names the platform stack the program references (e.g.
	// organization/meshtrace/dev): the reference reads what this repository's stack of the
	// last segment (dev) exports, the platform program run under the mocks.
	var stackOutputs map[string]map[string]any
	if name := os.Getenv("MESHTRACE_TS_PLATFORM"); name != "" {
		outputs, _, err := pulumitest.StackOutputs(name[strings.LastIndex(name, "/")+1:], nil, stacks.Run)
		if err != nil {
			t.Fatalf("MESHTRACE_TS_PLATFORM %s: %v", name, err)
		}
		stackOutputs = map[string]map[string]any{name: outputs}
	}
	m := pulumitest.NewMocks("test")
	runTypeScriptWith(t, compileTypeScript(t, program), server(t, m), config, false, stackOutputs)
	graph, err := m.Graph(nil).JSON()
	if err != nil {
		t.Fatal(err)
	}
	if path := os.Getenv("MESHTRACE_TS_GRAPH"); path != "" {
		err = os.WriteFile(path, graph, 0o644)
	} else {
		t.Log(string(graph))
	}
	if err != nil {
		t.Fatal(err)
	}
}

// compileTypeScript writes the SDK generated from the schema beside the program (program's
// index.ts) and compiles both with tsc (strict), as `pulumi package add` and the program's
// build would; it returns the directory of the JavaScript, where the SDK is
// node_modules/@pulumi/meshtrace.
func compileTypeScript(t *testing.T, program string) string {
	t.Helper()
	tsc := filepath.Join(tsExample, "node_modules", "typescript", "bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		t.Fatalf("%v: run scripts/install.sh (npm ci in examples/ts)", err)
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(schemaJSON(t), &spec); err != nil {
		t.Fatal(err)
	}
	pkg, diags, err := schema.BindSpec(spec, noPackages{}, schema.ValidationOptions{})
	if err != nil || diags.HasErrors() {
		t.Fatalf("the schema does not bind: %v %v", err, diags)
	}
	files, err := nodejs.GeneratePackage("meshtrace-test", pkg, nil, nil, false, noPackages{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, content []byte) {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		write(filepath.Join("sdk", name), content)
	}
	example, err := os.ReadFile(filepath.Join(program, "index.ts"))
	if err != nil {
		t.Fatal(err)
	}
	write("index.ts", example)
	// The example imports the package as `pulumi package add` names it.
	write("tsconfig.json", []byte(`{"compilerOptions": {"strict": true, "outDir": "out", "rootDir": ".", "target": "es2020",
  "module": "commonjs", "moduleResolution": "node", "esModuleInterop": true, "resolveJsonModule": true,
  "skipLibCheck": true, "baseUrl": ".", "paths": {"@pulumi/meshtrace": ["sdk/index.ts"]}},
 "files": ["index.ts"]}`))
	modules, err := filepath.Abs(filepath.Join(tsExample, "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	tscAbs, err := filepath.Abs(tsc)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", tscAbs, "-p", "tsconfig.json")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc: %v\n%s", err, out)
	}
	// At run time the program finds the SDK where npm puts it; the SDK reads its version
	// from its package.json.
	out := filepath.Join(dir, "out")
	write(filepath.Join("out", "sdk", "package.json"), files["package.json"])
	if err := os.MkdirAll(filepath.Join(out, "node_modules", "@pulumi"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(out, "sdk"), filepath.Join(out, "node_modules", "@pulumi", "meshtrace")); err != nil {
		t.Fatal(err)
	}
	return out
}

// tsConfig is the platform's values the example reads from its stack's config.
var tsConfig = map[string]any{
	"clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/shared", "vpcId": "vpc-1",
	"privateSubnetIds": []string{"subnet-a", "subnet-b"},
	"namespaceArn":     "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-1",
}

// runTypeScript runs the compiled program once (a preview when dryRun) with @pulumi/pulumi's
// runner against a constructing monitor, and returns how many components it constructed.
func runTypeScript(t *testing.T, dir string, s integration.Server, tsConfig map[string]any, dryRun bool) int {
	t.Helper()
	return runTypeScriptWith(t, dir, s, tsConfig, dryRun, nil)
}

// runTypeScriptWith is runTypeScript for a program with stack references: a
// pulumi.StackReference to a stack named in stackOutputs reads those outputs.
func runTypeScriptWith(t *testing.T, dir string, s integration.Server, tsConfig map[string]any, dryRun bool, stackOutputs map[string]map[string]any) int {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	mon := &constructingMonitor{ResourceMonitorServer: fake.NewResourceMonitorServer(&fake.SimpleMonitor{}), s: s, dryRun: dryRun, stackOutputs: stackOutputs}
	monAddr, monDone, err := fake.StartMonitorServer(ctx, mon)
	if err != nil {
		t.Fatal(err)
	}
	engine := fake.NewEngineServer()
	engineAddr, engineDone, err := fake.StartEngineServer(ctx, engine)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-monDone; <-engineDone }()

	config := map[string]string{}
	for k, v := range tsConfig {
		s, isString := v.(string)
		if !isString {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		config[pulumitest.Project+":"+k] = s
	}
	configJSON, _ := json.Marshal(config)
	modules, _ := filepath.Abs(filepath.Join(tsExample, "node_modules"))
	args := []string{filepath.Join(modules, "@pulumi", "pulumi", "cmd", "run"),
		"--monitor=" + monAddr, "--engine=" + engineAddr, "--project=" + pulumitest.Project, "--stack=test", "--pwd=" + dir}
	if dryRun {
		args = append(args, "--dry-run")
	}
	cmd := exec.CommandContext(ctx, "node", append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PULUMI_CONFIG="+string(configJSON), "NODE_PATH="+modules)
	out, err := cmd.CombinedOutput()
	var logs []string
	for _, l := range engine.Logs() {
		logs = append(logs, l.GetMessage())
	}
	if err != nil {
		t.Fatalf("the TypeScript program (dryRun %v): %v\n%s\nengine log:\n%s", dryRun, err, out, strings.Join(logs, "\n"))
	}
	return mon.constructed
}

// constructingMonitor is a resource monitor that constructs remote components with the
// package's provider, as the engine does.
type constructingMonitor struct {
	*fake.ResourceMonitorServer
	s            integration.Server
	dryRun       bool
	constructed  int
	stackOutputs map[string]map[string]any // what a StackReference to each stack reads
}

// ReadResource answers a StackReference's read, as the engine does, with the stack's outputs.
func (m *constructingMonitor) ReadResource(ctx context.Context, req *pulumirpc.ReadResourceRequest) (*pulumirpc.ReadResourceResponse, error) {
	if req.GetType() != "pulumi:pulumi:StackReference" {
		return m.ResourceMonitorServer.ReadResource(ctx, req)
	}
	outputs, ok := m.stackOutputs[req.GetId()]
	if !ok {
		return nil, fmt.Errorf("no outputs for the stack reference to %q", req.GetId())
	}
	state := presource.NewPropertyMapFromMap(map[string]any{"name": req.GetId(), "outputs": outputs, "secretOutputNames": []any{}})
	object, err := plugin.MarshalProperties(state, plugin.MarshalOptions{})
	if err != nil {
		return nil, err
	}
	urn := presource.NewURN("test", pulumitest.Project, "", tokens.Type(req.GetType()), req.GetName())
	return &pulumirpc.ReadResourceResponse{Urn: string(urn), Properties: object}, nil
}

func (m *constructingMonitor) RegisterResource(ctx context.Context, req *pulumirpc.RegisterResourceRequest) (*pulumirpc.RegisterResourceResponse, error) {
	if !req.GetRemote() {
		return m.ResourceMonitorServer.RegisterResource(ctx, req)
	}
	if !strings.HasPrefix(req.GetType(), Name+":") {
		return nil, fmt.Errorf("no provider here for the remote component %s", req.GetType())
	}
	inputs, err := plugin.UnmarshalProperties(req.GetObject(), plugin.MarshalOptions{
		KeepUnknowns: true, KeepSecrets: true, KeepOutputValues: true, KeepResources: true,
	})
	if err != nil {
		return nil, err
	}
	// A top-level input's dependencies, when the value does not carry them itself.
	for k, deps := range req.GetPropertyDependencies() {
		if v := inputs[presource.PropertyKey(k)]; !v.ContainsUnknowns() && !v.IsOutput() && len(deps.GetUrns()) > 0 && !hasOutputs(v) {
			inputs[presource.PropertyKey(k)] = presource.NewProperty(presource.Output{Element: v, Known: true, Dependencies: toURNs(deps.GetUrns())})
		}
	}
	urn := presource.NewURN("test", pulumitest.Project, "", tokens.Type(req.GetType()), req.GetName())
	resp, err := m.s.Construct(p.ConstructRequest{
		Urn: urn, Inputs: presource.FromResourcePropertyMap(inputs), DryRun: m.dryRun, Parallel: 1,
	})
	if err != nil {
		return nil, err
	}
	m.constructed++
	state := presource.ToResourcePropertyMap(resp.State)
	propertyDeps := map[string]*pulumirpc.RegisterResourceResponse_PropertyDependencies{}
	for k, v := range state {
		if v.IsOutput() {
			var urns []string
			for _, d := range v.OutputValue().Dependencies {
				urns = append(urns, string(d))
			}
			propertyDeps[string(k)] = &pulumirpc.RegisterResourceResponse_PropertyDependencies{Urns: urns}
		}
	}
	object, err := plugin.MarshalProperties(state, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true})
	if err != nil {
		return nil, err
	}
	return &pulumirpc.RegisterResourceResponse{Urn: string(urn), Object: object, PropertyDependencies: propertyDeps}, nil
}

func hasOutputs(v presource.PropertyValue) bool {
	switch {
	case v.IsOutput():
		return true
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			if hasOutputs(e) {
				return true
			}
		}
	case v.IsObject():
		for _, e := range v.ObjectValue() {
			if hasOutputs(e) {
				return true
			}
		}
	}
	return false
}

func toURNs(s []string) []presource.URN {
	out := make([]presource.URN, len(s))
	for i, u := range s {
		out[i] = presource.URN(u)
	}
	return out
}
