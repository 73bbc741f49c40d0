package xray

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"

	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/internal/pulumitest"
)

func newTracing(t *testing.T, args TracingArgs) (*Tracing, *pulumitest.Mocks, error) {
	t.Helper()
	var tr *Tracing
	m, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		var err error
		tr, err = NewTracing(ctx, "sys", &args)
		return err
	})
	return tr, m, err
}

func TestPartPerMode(t *testing.T) {
	for mode, image := range map[string]string{ModeDaemon: DaemonImage, ModeADOT: CollectorImage} {
		tr, _, err := newTracing(t, TracingArgs{Mode: mode, ServiceNames: []string{"a"}, RunAsUser: "1337"})
		if err != nil {
			t.Fatal(err)
		}
		p := tr.Part()
		if len(p.Sidecars) != 1 || p.Sidecars[0].Image != image || p.Sidecars[0].User != "1337" {
			t.Errorf("%s: sidecars %+v", mode, p.Sidecars)
		}
		if !slices.Contains(p.AppEnvironment, taskspec.KeyValuePair{Name: "AWS_XRAY_DAEMON_ADDRESS", Value: "127.0.0.1:2000"}) {
			t.Errorf("%s: app env %+v", mode, p.AppEnvironment)
		}
		if !slices.Equal(p.AppDependsOn, []taskspec.ContainerDependency{{ContainerName: ContainerName, Condition: "START"}}) {
			t.Errorf("%s: depends %+v", mode, p.AppDependsOn)
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

func TestTracingDeclaresRulePerServiceAndGroup(t *testing.T) {
	rate, reservoir := 1.0, 0
	_, m, err := newTracing(t, TracingArgs{ServiceNames: []string{"a", "b"}, SamplingFixedRate: &rate, SamplingReservoir: &reservoir})
	if err != nil {
		t.Fatal(err)
	}
	rules := m.ByType("aws:xray/samplingRule:SamplingRule")
	if len(rules) != 2 || rules[0].Plain()["fixedRate"] != 1.0 || rules[0].Plain()["serviceName"] != "a" {
		t.Errorf("rules %+v", rules)
	}
	g, ok := m.Find("aws:xray/group:Group", "sys")
	if !ok || g.Plain()["filterExpression"] != `service("a") OR service("b")` {
		t.Errorf("group %+v", g.Plain())
	}
}

func TestTracingRejectsBadArgs(t *testing.T) {
	bad := -0.5
	for want, args := range map[string]TracingArgs{
		"Mode":              {Mode: "zipkin", ServiceNames: []string{"a"}},
		"ServiceNames":      {},
		"SamplingFixedRate": {ServiceNames: []string{"a"}, SamplingFixedRate: &bad},
	} {
		if _, _, err := newTracing(t, args); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}
