// Package xray declares the tracing of a meshtrace system: an X-Ray group and sampling
// rules for its services, and, per service, the tracing sidecar (the X-Ray daemon or
// the ADOT collector), the app's daemon address and the task-role permissions, handed
// to the service as a taskspec.Part.
package xray

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/xray"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/components/naming"
	"github.com/meshtrace/meshtrace/components/taskspec"
)

// Tracing sidecar modes.
const (
	ModeDaemon = "xray-daemon" // the X-Ray daemon: maintenance mode since 2026-02-25, end of support 2027-02-25
	ModeADOT   = "adot"        // the AWS Distro for OpenTelemetry collector: the successor
)

// The X-Ray SDKs and daemon (ModeDaemon) are in maintenance mode (critical security fixes
// only) from DaemonMaintenanceSince and reach end of support (no releases at all) on
// DaemonEndOfSupport, 00:00 UTC; the published releases stay downloadable, so the mode still
// deploys. Source: https://docs.aws.amazon.com/xray/latest/devguide/xray-daemon-eos.html
var (
	DaemonMaintenanceSince = time.Date(2026, time.February, 25, 0, 0, 0, 0, time.UTC)
	DaemonEndOfSupport     = time.Date(2027, time.February, 25, 0, 0, 0, 0, time.UTC)
)

// EndOfSupport returns the day AWS ends support of a mode's tracer, and false for a mode
// without one (ModeADOT).
func EndOfSupport(mode string) (time.Time, bool) {
	if mode == ModeDaemon {
		return DaemonEndOfSupport, true
	}
	return time.Time{}, false
}

// Sampling defaults: the X-Ray default rule's, which keeps the cost of tracing small and
// still shows every service in the map.
const (
	DefaultSamplingFixedRate = contract.DefaultSamplingFixedRate // share of requests traced beyond the reservoir
	DefaultSamplingReservoir = contract.DefaultSamplingReservoir // requests per second always traced, per service
)

// maxNameLength is X-Ray's limit for group and sampling rule names (botocore: GroupName,
// RuleName max 32); longer names are shortened with a hash (naming.Fit).
const maxNameLength = 32

// FaultGroupSuffix names the fault group after the system's group.
const FaultGroupSuffix = "-faults"

// TracingArgs configures Tracing.
type TracingArgs struct {
	// Mode is ModeADOT or ModeDaemon (end of support 2027-02-25, DaemonEndOfSupport).
	// Default ModeADOT.
	Mode string
	// SamplingFixedRate is the share of requests traced beyond the reservoir.
	// Default DefaultSamplingFixedRate.
	SamplingFixedRate *float64
	// SamplingReservoir is how many requests per second are always traced.
	// Default DefaultSamplingReservoir.
	SamplingReservoir *int
	// Name prefixes the X-Ray group and the sampling rules (<Name>-<service>), names unique
	// in the account. Default <project>-<stack>-<component name> (naming.InStack), so two
	// stacks or teams cannot collide.
	Name string
	// DaemonImage and CollectorImage replace the pinned sidecar images (DaemonImage,
	// CollectorImage), e.g. digest-pinned copies in your own registry. Default: pinned.
	DaemonImage, CollectorImage string
	// Services are the X-Ray names (discovery names) of the system's services: NewTracing
	// declares the X-Ray group of their traces and its fault group, and Attach refuses a
	// service not named here (the group would miss it). Default none: no group, e.g. where a
	// system's services are declared in several programs and one of them declares the group.
	Services []string
	// Tags are added to every resource.
	Tags pulumi.StringMap
}

// Tracing is the tracing of a system: it declares the X-Ray group of the system's services
// (TracingArgs.Services), and attached to a service (services.ServiceArgs.Parts) it
// declares the service's sampling rule and hands its task the sidecar.
type Tracing struct {
	pulumi.ResourceState

	GroupName pulumi.StringOutput `pulumi:"groupName"`
	GroupArn  pulumi.StringOutput `pulumi:"groupArn"`
	// FaultGroupName is the group of the traces of GroupName that hold a fault: X-Ray
	// publishes only a trace count per group, so this group's count is the faulty traces'.
	FaultGroupName pulumi.StringOutput `pulumi:"faultGroupName"`

	name      string
	mode      string
	rate      float64
	reservoir int
	tags      pulumi.StringMap
	args      TracingArgs
}

// NewTracing declares the tracing component; its resources come with each service.
func NewTracing(ctx *pulumi.Context, name string, args *TracingArgs, opts ...pulumi.ResourceOption) (*Tracing, error) {
	a := *args
	if a.Mode == "" {
		a.Mode = ModeADOT
	}
	if a.Mode != ModeDaemon && a.Mode != ModeADOT {
		return nil, fmt.Errorf("tracing %s: Mode %q must be %q or %q", name, a.Mode, ModeDaemon, ModeADOT)
	}
	rate, reservoir := DefaultSamplingFixedRate, DefaultSamplingReservoir
	if a.SamplingFixedRate != nil {
		rate = *a.SamplingFixedRate
	}
	if a.SamplingReservoir != nil {
		reservoir = *a.SamplingReservoir
	}
	if !(rate >= 0 && rate <= 1) || reservoir < 0 {
		return nil, fmt.Errorf("tracing %s: SamplingFixedRate must be 0..1 and SamplingReservoir >= 0", name)
	}
	prefix := naming.InStack(ctx, name)
	if a.Name != "" {
		prefix = a.Name
	}
	t := &Tracing{name: prefix, mode: a.Mode, rate: rate, reservoir: reservoir, tags: a.Tags, args: a}
	seen := map[string]bool{}
	for _, svc := range a.Services {
		if svc == "" || seen[svc] {
			return nil, fmt.Errorf("tracing %s: Services %v: names must be non-empty and distinct", name, a.Services)
		}
		seen[svc] = true
	}
	if err := ctx.RegisterComponentResource("meshtrace:xray:Tracing", name, t, opts...); err != nil {
		return nil, err
	}
	if err := t.declareGroups(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// Settings are what a service in another program needs to be traced as this tracing's
// services are (platform.TracingRef): the mode, the sampling and the sidecar images, defaults
// resolved. Name and Tags are left out: they are the other program's.
func (t *Tracing) Settings() TracingArgs {
	rate, reservoir := t.rate, t.reservoir
	daemon, collector := t.args.DaemonImage, t.args.CollectorImage
	if daemon == "" {
		daemon = DaemonImage
	}
	if collector == "" {
		collector = CollectorImage
	}
	return TracingArgs{Mode: t.mode, SamplingFixedRate: &rate, SamplingReservoir: &reservoir, DaemonImage: daemon, CollectorImage: collector}
}

// Attach declares the service's sampling rule (a child of the resource in opts' Parent,
// the service) and returns what tracing adds to its task: the sidecar, running as the
// mesh's proxy-ignored user so its calls to X-Ray bypass the proxy; the app's daemon
// address and its wait for the sidecar to start; Envoy's X-Ray tracer; the X-Ray write
// actions.
func (t *Tracing) Attach(ctx *pulumi.Context, to taskspec.Attachment, opts ...pulumi.ResourceOption) (taskspec.Part, error) {
	if len(t.args.Services) > 0 && !slices.Contains(t.args.Services, to.ServiceName) {
		return taskspec.Part{}, fmt.Errorf("tracing %s: service %q is not in TracingArgs.Services %v, so the X-Ray group would not show it",
			t.name, to.ServiceName, t.args.Services)
	}
	ruleName := naming.Fit(t.name+"-"+to.ServiceName, maxNameLength)
	if _, err := xray.NewSamplingRule(ctx, ruleName, &xray.SamplingRuleArgs{
		RuleName:      pulumi.String(ruleName),
		Priority:      pulumi.Int(1000),
		Version:       pulumi.Int(1),
		ReservoirSize: pulumi.Int(t.reservoir),
		FixedRate:     pulumi.Float64(t.rate),
		ServiceName:   pulumi.String(to.ServiceName),
		ServiceType:   pulumi.String("*"),
		Host:          pulumi.String("*"),
		HttpMethod:    pulumi.String("*"),
		UrlPath:       pulumi.String("*"),
		ResourceArn:   pulumi.String("*"),
		Tags:          t.tags,
	}, opts...); err != nil {
		return taskspec.Part{}, err
	}

	sidecar := DaemonContainer(to.RunAsUser)
	if t.args.DaemonImage != "" {
		sidecar.Image = t.args.DaemonImage
	}
	if t.mode == ModeADOT {
		sidecar = CollectorContainer(to.RunAsUser)
		if t.args.CollectorImage != "" {
			sidecar.Image = t.args.CollectorImage
		}
	}
	appEnv := []taskspec.KeyValuePair{
		{Name: "AWS_XRAY_DAEMON_ADDRESS", Value: DaemonAddress},
		{Name: "TRACING", Value: AppTracing(t.mode)},
	}
	if t.mode == ModeADOT {
		// The OpenTelemetry path polls X-Ray's centralized rules (this rule among them) through
		// the collector's X-Ray proxy (apps/internal/tracing/xraysampler.go); these local rules
		// are its fallback before the first poll answers and while the proxy is unreachable.
		appEnv = append(appEnv, taskspec.KeyValuePair{Name: "TRACING_SAMPLING_RULES", Value: localRules(t.reservoir, t.rate)})
	}
	return taskspec.Part{
		Sidecars:       []taskspec.ContainerDefinition{sidecar},
		AppEnvironment: appEnv,
		// The SDK drops segments sent before the sidecar listens; START is enough
		// because binding the UDP port is the sidecar's first act.
		AppDependsOn:       []taskspec.ContainerDependency{{ContainerName: ContainerName, Condition: taskspec.ConditionStart}},
		ProxyEnvironment:   EnvoyEnvironment(),
		TaskRoleStatements: []taskspec.Statement{taskspec.Allow("XRayWrite", WriteActions, "*")},
	}, nil
}

// AppTracing is how the apps trace (their TRACING variable) with the sidecar of a mode: the
// X-Ray SDK with the daemon, OpenTelemetry (OTLP to the collector on 127.0.0.1:4317) with
// ADOT, whose awsxray receiver still takes Envoy's segments.
func AppTracing(mode string) string {
	if mode == ModeADOT {
		return "otel"
	}
	return "xray"
}

// declareGroups declares the X-Ray group of the traces through the system's services, and
// the group of those traces with a fault, and registers the component's outputs.
func (t *Tracing) declareGroups(ctx *pulumi.Context) error {
	if len(t.args.Services) == 0 {
		none := pulumi.String("").ToStringOutput()
		t.GroupName, t.GroupArn, t.FaultGroupName = none, none, none
		return ctx.RegisterResourceOutputs(t, pulumi.Map{"groupName": none, "groupArn": none, "faultGroupName": none})
	}
	all, faults := GroupFilters(t.args.Services)
	group, err := xray.NewGroup(ctx, t.name, &xray.GroupArgs{
		GroupName:        pulumi.String(naming.Fit(t.name, maxNameLength)),
		FilterExpression: pulumi.String(all),
		Tags:             t.tags,
	}, pulumi.Parent(t))
	if err != nil {
		return err
	}
	faultGroup, err := xray.NewGroup(ctx, t.name+FaultGroupSuffix, &xray.GroupArgs{
		GroupName:        pulumi.String(naming.Fit(t.name+FaultGroupSuffix, maxNameLength)),
		FilterExpression: pulumi.String(faults),
		Tags:             t.tags,
	}, pulumi.Parent(t))
	if err != nil {
		return err
	}
	t.GroupName = group.GroupName
	t.GroupArn = group.Arn
	t.FaultGroupName = faultGroup.GroupName
	return ctx.RegisterResourceOutputs(t, pulumi.Map{
		"groupName":      t.GroupName,
		"groupArn":       t.GroupArn,
		"faultGroupName": t.FaultGroupName,
	})
}

// GroupFilters are the X-Ray filter expressions of the system's group (traces through any of
// services) and of its fault group (traces in which one of services recorded a fault, a 5xx:
// the complex keyword service(name) {filter} applies the boolean keyword fault to that
// service's segments; docs/operating.md cites X-Ray's filter expression reference).
func GroupFilters(services []string) (all, faults string) {
	var anyOf, faultIn []string
	for _, svc := range services {
		anyOf = append(anyOf, fmt.Sprintf("service(%q)", svc))
		faultIn = append(faultIn, fmt.Sprintf("service(%q) { fault = true }", svc))
	}
	return strings.Join(anyOf, " OR "), strings.Join(faultIn, " OR ")
}

// localRules is an X-Ray local sampling rules document (version 2) with only a default rule.
func localRules(reservoir int, rate float64) string {
	return fmt.Sprintf(`{"version":2,"rules":[],"default":{"fixed_target":%d,"rate":%g}}`, reservoir, rate)
}
