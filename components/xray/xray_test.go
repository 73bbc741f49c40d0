package xray

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/pulumitest"
)

// attach runs a Tracing of services (TracingArgs.Services, unless args names them) attached
// to each of them, under the mocks,
// and returns the parts.
func attach(t *testing.T, args TracingArgs, runAsUser string, services ...string) ([]taskspec.Part, *pulumitest.Mocks, error) {
	t.Helper()
	var parts []taskspec.Part
	if args.Services == nil {
		args.Services = services
	}
	if args.Name == "" {
		args.Name = "sys" // the default, <project>-<stack>-<name>: TestTheDefaultNameIsTheStacks
	}
	m, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		tr, err := NewTracing(ctx, "sys", &args)
		if err != nil {
			return err
		}
		for _, svc := range services {
			p, err := tr.Attach(ctx, taskspec.Attachment{ServiceName: svc, RunAsUser: runAsUser})
			if err != nil {
				return err
			}
			parts = append(parts, p)
		}
		return nil
	})
	return parts, m, err
}

func TestPartPerMode(t *testing.T) {
	for mode, image := range map[string]string{ModeDaemon: DaemonImage, ModeADOT: CollectorImage} {
		parts, _, err := attach(t, TracingArgs{Mode: mode}, "1337", "a")
		if err != nil {
			t.Fatal(err)
		}
		p := parts[0]
		if len(p.Sidecars) != 1 || p.Sidecars[0].Image != image || p.Sidecars[0].User != "1337" {
			t.Errorf("%s: sidecars %+v", mode, p.Sidecars)
		}
		if !slices.Contains(p.AppEnvironment, taskspec.KeyValuePair{Name: "AWS_XRAY_DAEMON_ADDRESS", Value: "127.0.0.1:2000"}) {
			t.Errorf("%s: app env %+v", mode, p.AppEnvironment)
		}
		if !slices.Equal(p.AppDependsOn, []taskspec.ContainerDependency{{ContainerName: ContainerName, Condition: "START"}}) {
			t.Errorf("%s: depends %+v", mode, p.AppDependsOn)
		}
		wantTracing := map[string]string{ModeDaemon: "xray", ModeADOT: "otel"}[mode]
		if !slices.Contains(p.AppEnvironment, taskspec.KeyValuePair{Name: "TRACING", Value: wantTracing}) {
			t.Errorf("%s: app env %+v lacks TRACING=%s", mode, p.AppEnvironment, wantTracing)
		}
		rules := slices.ContainsFunc(p.AppEnvironment, func(kv taskspec.KeyValuePair) bool {
			return kv.Name == "TRACING_SAMPLING_RULES" && kv.Value == `{"version":2,"rules":[],"default":{"fixed_target":1,"rate":0.05}}`
		})
		if rules != (mode == ModeADOT) {
			t.Errorf("%s: local rules in the app's environment: %v", mode, rules)
		}
		if !slices.Contains(p.ProxyEnvironment, taskspec.KeyValuePair{Name: "ENABLE_ENVOY_XRAY_TRACING", Value: "1"}) {
			t.Errorf("%s: proxy env %+v", mode, p.ProxyEnvironment)
		}
		if hc := p.Sidecars[0].HealthCheck; hc != nil && hc.Command[0] != "CMD" && hc.Command[0] != "CMD-SHELL" {
			t.Errorf("%s: ECS runs health checks only behind CMD or CMD-SHELL: %v", mode, hc.Command)
		}
		st := p.TaskRoleStatements
		if len(st) != 1 || slices.Contains(st[0].Action, "xray:*") || !slices.Contains(st[0].Action, "xray:PutTraceSegments") {
			t.Errorf("%s: statements %+v", mode, st)
		}
	}
}

func TestCollectorConfigReceivesXRayAndOTLPAndExportsToXRay(t *testing.T) {
	var cfg struct {
		Receivers map[string]any `yaml:"receivers"`
		Exporters map[string]any `yaml:"exporters"`
		Service   struct {
			Pipelines map[string]struct {
				Receivers []string `yaml:"receivers"`
				Exporters []string `yaml:"exporters"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	if err := yaml.Unmarshal([]byte(CollectorConfig()), &cfg); err != nil {
		t.Fatal(err)
	}
	traces := cfg.Service.Pipelines["traces"]
	for _, r := range []string{"awsxray", "otlp"} {
		if _, ok := cfg.Receivers[r]; !ok || !slices.Contains(traces.Receivers, r) {
			t.Errorf("receiver %s missing", r)
		}
	}
	if _, ok := cfg.Exporters["awsxray"]; !ok || !slices.Equal(traces.Exporters, []string{"awsxray"}) {
		t.Errorf("exporters %v / %v", cfg.Exporters, traces.Exporters)
	}
	if !strings.Contains(CollectorConfig(), "transport: udp") {
		t.Error("awsxray receiver not on UDP")
	}
}

// Every service attached gets its own sampling rule and is in the group: no list to keep.
func TestTracingDeclaresRulePerAttachedServiceAndGroup(t *testing.T) {
	rate, reservoir := 1.0, 0
	_, m, err := attach(t, TracingArgs{SamplingFixedRate: &rate, SamplingReservoir: &reservoir}, "", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	rules := m.ByType("aws:xray/samplingRule:SamplingRule")
	if len(rules) != 2 || rules[0].Plain()["fixedRate"] != 1.0 || rules[0].Plain()["serviceName"] != "a" || rules[1].Plain()["serviceName"] != "b" {
		t.Errorf("rules %+v", rules)
	}
	g, ok := m.Find("aws:xray/group:Group", "sys")
	if !ok || g.Plain()["filterExpression"] != `service("a") OR service("b")` {
		t.Errorf("group %+v", g.Plain())
	}
	defaults, _, err := attach(t, TracingArgs{}, "", "a")
	if err != nil || len(defaults) != 1 {
		t.Fatal(err)
	}
}

func TestTracingRejectsBadArgs(t *testing.T) {
	bad, nan := -0.5, math.NaN()
	for want, args := range map[string]TracingArgs{
		"Mode":               {Mode: "zipkin"},
		"SamplingFixedRate":  {SamplingFixedRate: &bad},
		"SamplingFixedRate ": {SamplingFixedRate: &nan},
	} {
		if _, _, err := attach(t, args, "", "a"); err == nil || !strings.Contains(err.Error(), strings.TrimSpace(want)) {
			t.Errorf("%s: got %v", want, err)
		}
	}
	if _, _, err := attach(t, TracingArgs{Services: []string{"a"}}, "", "a", "b"); err == nil || !strings.Contains(err.Error(), `service "b" is not in TracingArgs.Services`) {
		t.Errorf("a service the group does not show: %v", err)
	}
	if _, _, err := attach(t, TracingArgs{Services: []string{"a", "a"}}, "", "a"); err == nil || !strings.Contains(err.Error(), "distinct") {
		t.Errorf("a service named twice: %v", err)
	}
}

// Without Name, the X-Ray names start with the program's <project>-<stack>, so two stacks
// declaring one Tracing name do not collide.
func TestTheDefaultNameIsTheStacks(t *testing.T) {
	m, err := pulumitest.Run("prod-eu", nil, func(ctx *pulumi.Context) error {
		tr, err := NewTracing(ctx, "shop", &TracingArgs{Services: []string{"orders"}})
		if err != nil {
			return err
		}
		_, err = tr.Attach(ctx, taskspec.Attachment{ServiceName: "orders"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for token, name := range map[string]string{"aws:xray/group:Group": "meshtrace-prod-eu-shop", "aws:xray/samplingRule:SamplingRule": "meshtrace-prod-eu-shop-orders"} {
		if _, ok := m.Find(token, name); !ok {
			t.Errorf("no %s named %s: %v", token, name, m.ByType(token))
		}
	}
}

// The X-Ray daemon (and the SDK the apps use with it) has an end-of-support date; the ADOT
// collector has none.
func TestOnlyTheDaemonHasAnEndOfSupport(t *testing.T) {
	end, ok := EndOfSupport(ModeDaemon)
	if !ok || end.Format("2006-01-02") != "2027-02-25" || !end.Equal(DaemonMaintenanceSince.AddDate(1, 0, 0)) {
		t.Errorf("daemon: end of support %v (%v), want 2027-02-25, a year after maintenance began", end, ok)
	}
	if end, ok := EndOfSupport(ModeADOT); ok {
		t.Errorf("adot: end of support %v", end)
	}
}

// Without Mode a Tracing runs the ADOT collector and the apps OpenTelemetry: the X-Ray daemon
// and SDKs reach end of support on 2027-02-25.
func TestTheDefaultModeIsADOT(t *testing.T) {
	parts, _, err := attach(t, TracingArgs{}, "", "a")
	if err != nil {
		t.Fatal(err)
	}
	if img := parts[0].Sidecars[0].Image; img != CollectorImage {
		t.Errorf("default sidecar %s, want the collector %s", img, CollectorImage)
	}
	if !slices.Contains(parts[0].AppEnvironment, taskspec.KeyValuePair{Name: "TRACING", Value: "otel"}) {
		t.Errorf("default app environment %v, want TRACING=otel", parts[0].AppEnvironment)
	}
}
