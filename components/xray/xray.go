// Package xray declares the tracing of a meshtrace system: an X-Ray group and sampling
// rules for its services, and, per service, the tracing sidecar (the X-Ray daemon or
// the ADOT collector), the app's daemon address and the task-role permissions, handed
// to the service as a taskspec.Part.
package xray

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/xray"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/taskspec"
)

// Tracing sidecar modes.
const (
	ModeDaemon = "xray-daemon" // the X-Ray daemon: maintenance mode since 2026-02-25, end of support 2027-02-25
	ModeADOT   = "adot"        // the AWS Distro for OpenTelemetry collector: the successor
)

// TracingArgs configures Tracing.
type TracingArgs struct {
	// Mode is ModeDaemon or ModeADOT. Default ModeDaemon.
	Mode string
	// ServiceNames are the segment names of the traced services: each gets a sampling
	// rule, and the group shows them. Required.
	ServiceNames []string
	// SamplingFixedRate is the share of requests traced beyond the reservoir. Default 0.05.
	SamplingFixedRate *float64
	// SamplingReservoir is how many requests per second are always traced. Default 1.
	SamplingReservoir *int
	// RunAsUser is the UID the sidecar runs as. Set it to the mesh's proxy-ignored UID
	// when the mesh intercepts egress (App Mesh: 1337). Default: the image's user.
	RunAsUser string
	// Tags are added to every resource.
	Tags pulumi.StringMap
}

// Tracing is the X-Ray group and sampling rules of a system, and the source of each
// service's tracing Part.
type Tracing struct {
	pulumi.ResourceState

	GroupName pulumi.StringOutput `pulumi:"groupName"`
	GroupArn  pulumi.StringOutput `pulumi:"groupArn"`

	mode      string
	runAsUser string
}

// NewTracing declares the group and one sampling rule per service.
func NewTracing(ctx *pulumi.Context, name string, args *TracingArgs, opts ...pulumi.ResourceOption) (*Tracing, error) {
	a := *args
	if a.Mode == "" {
		a.Mode = ModeDaemon
	}
	if a.Mode != ModeDaemon && a.Mode != ModeADOT {
		return nil, fmt.Errorf("tracing %s: Mode %q must be %q or %q", name, a.Mode, ModeDaemon, ModeADOT)
	}
	if len(a.ServiceNames) == 0 {
		return nil, fmt.Errorf("tracing %s: ServiceNames is empty", name)
	}
	rate, reservoir := 0.05, 1
	if a.SamplingFixedRate != nil {
		rate = *a.SamplingFixedRate
	}
	if a.SamplingReservoir != nil {
		reservoir = *a.SamplingReservoir
	}
	if rate < 0 || rate > 1 || reservoir < 0 {
		return nil, fmt.Errorf("tracing %s: SamplingFixedRate must be 0..1 and SamplingReservoir >= 0", name)
	}
	// X-Ray limits group and rule names to 32 characters.
	if len(name) > 32-len("-")-longest(a.ServiceNames) {
		return nil, fmt.Errorf("tracing %s: name too long for X-Ray rule names (32 characters with the service name)", name)
	}

	t := &Tracing{mode: a.Mode, runAsUser: a.RunAsUser}
	if err := ctx.RegisterComponentResource("meshtrace:xray:Tracing", name, t, opts...); err != nil {
		return nil, err
	}
	var filters []string
	for _, svc := range a.ServiceNames {
		filters = append(filters, fmt.Sprintf("service(%q)", svc))
		if _, err := xray.NewSamplingRule(ctx, name+"-"+svc, &xray.SamplingRuleArgs{
			RuleName:      pulumi.String(name + "-" + svc),
			Priority:      pulumi.Int(1000),
			Version:       pulumi.Int(1),
			ReservoirSize: pulumi.Int(reservoir),
			FixedRate:     pulumi.Float64(rate),
			ServiceName:   pulumi.String(svc),
			ServiceType:   pulumi.String("*"),
			Host:          pulumi.String("*"),
			HttpMethod:    pulumi.String("*"),
			UrlPath:       pulumi.String("*"),
			ResourceArn:   pulumi.String("*"),
			Tags:          a.Tags,
		}, pulumi.Parent(t)); err != nil {
			return nil, err
		}
	}
	group, err := xray.NewGroup(ctx, name, &xray.GroupArgs{
		GroupName:        pulumi.String(name),
		FilterExpression: pulumi.String(strings.Join(filters, " OR ")),
		Tags:             a.Tags,
	}, pulumi.Parent(t))
	if err != nil {
		return nil, err
	}
	t.GroupName = group.GroupName
	t.GroupArn = group.Arn
	if err := ctx.RegisterResourceOutputs(t, pulumi.Map{
		"groupName": t.GroupName,
		"groupArn":  t.GroupArn,
	}); err != nil {
		return nil, err
	}
	return t, nil
}

// Part is what tracing adds to each service's task: the sidecar, the daemon address
// for the app, the app's wait for the sidecar to start, and the X-Ray write actions.
func (t *Tracing) Part() taskspec.Part {
	sidecar := DaemonContainer(t.runAsUser)
	if t.mode == ModeADOT {
		sidecar = CollectorContainer(t.runAsUser)
	}
	return taskspec.Part{
		Sidecars:       []taskspec.ContainerDefinition{sidecar},
		AppEnvironment: []taskspec.KeyValuePair{{Name: "AWS_XRAY_DAEMON_ADDRESS", Value: DaemonAddress}},
		// The SDK drops segments sent before the sidecar listens; START is enough
		// because binding the UDP port is the sidecar's first act.
		AppDependsOn:       []taskspec.ContainerDependency{{ContainerName: ContainerName, Condition: taskspec.ConditionStart}},
		TaskRoleStatements: []taskspec.Statement{taskspec.Allow("XRayWrite", WriteActions, "*")},
	}
}

func longest(names []string) int {
	n := 0
	for _, s := range names {
		n = max(n, len(s))
	}
	return n
}
