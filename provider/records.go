package main

import (
	"context"
	"fmt"
	"reflect"

	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/services"
	"github.com/meshtrace/meshtrace/components/taskspec"
)

// The Service's records beyond the mesh, the tracing and its backends: the Go API's
// ImageBuild-free settings (services.ServiceArgs), each as the package's record types
// (inputs.go: R, RArgs, RInput, ROutput).

// Scaling is how the task count follows the load (services.Scaling).
type Scaling struct {
	CpuPercent        float64 `pulumi:"cpuPercent,optional"`
	RequestsPerTarget float64 `pulumi:"requestsPerTarget,optional"`
	ScaleOutCooldown  int     `pulumi:"scaleOutCooldown,optional"`
	ScaleInCooldown   int     `pulumi:"scaleInCooldown,optional"`
}

// Annotate describes the fields.
func (s *Scaling) Annotate(an infer.Annotator) {
	an.Describe(&s.CpuPercent, fmt.Sprintf("Average CPU the tasks are kept at. Default %d.", services.DefaultCPUPercent))
	an.Describe(&s.RequestsPerTarget, fmt.Sprintf("Load balancer requests per task per minute kept at (public services). Default %d.", services.DefaultRequestsPerTarget))
	an.Describe(&s.ScaleOutCooldown, fmt.Sprintf("Seconds between two scale-outs. Default %d.", services.DefaultScaleOutCooldown))
	an.Describe(&s.ScaleInCooldown, fmt.Sprintf("Seconds between two scale-ins. Default %d.", services.DefaultScaleInCooldown))
}

type ScalingArgs struct {
	CpuPercent        pulumi.Float64Input `pulumi:"cpuPercent,optional"`
	RequestsPerTarget pulumi.Float64Input `pulumi:"requestsPerTarget,optional"`
	ScaleOutCooldown  pulumi.IntInput     `pulumi:"scaleOutCooldown,optional"`
	ScaleInCooldown   pulumi.IntInput     `pulumi:"scaleInCooldown,optional"`
}

type ScalingInput interface {
	pulumi.Input
	ToScalingOutput() ScalingOutput
}

type ScalingOutput struct{ *pulumi.OutputState }

func (ScalingArgs) ElementType() reflect.Type          { return reflect.TypeFor[Scaling]() }
func (ScalingOutput) ElementType() reflect.Type        { return reflect.TypeFor[Scaling]() }
func (o ScalingOutput) ToScalingOutput() ScalingOutput { return o }
func (a ScalingArgs) ToScalingOutput() ScalingOutput {
	return toOutput[ScalingOutput](context.Background(), a)
}

func (a ScalingArgs) read(p *plain) *services.Scaling {
	return &services.Scaling{
		CPUPercent:        value(p, "scaling.cpuPercent", a.CpuPercent, 0.0),
		RequestsPerTarget: value(p, "scaling.requestsPerTarget", a.RequestsPerTarget, 0.0),
		ScaleOutCooldown:  value(p, "scaling.scaleOutCooldown", a.ScaleOutCooldown, 0),
		ScaleInCooldown:   value(p, "scaling.scaleInCooldown", a.ScaleInCooldown, 0),
	}
}

// HealthCheck is a container's ECS health check (taskspec.HealthCheck).
type HealthCheck struct {
	Command     []string `pulumi:"command"`
	Interval    int      `pulumi:"interval,optional"`
	Timeout     int      `pulumi:"timeout,optional"`
	Retries     int      `pulumi:"retries,optional"`
	StartPeriod int      `pulumi:"startPeriod,optional"`
}

// Annotate describes the fields.
func (h *HealthCheck) Annotate(an infer.Annotator) {
	an.Describe(&h.Command, `What ECS runs in the container, e.g. ["CMD", "/app", "-healthcheck"] for an image without a shell; exit 0 is healthy.`)
	an.Describe(&h.Interval, "Seconds between two checks. Default ECS's (30).")
	an.Describe(&h.Timeout, "Seconds a check may take. Default ECS's (5).")
	an.Describe(&h.Retries, "Failed checks before the container is unhealthy. Default ECS's (3).")
	an.Describe(&h.StartPeriod, "Seconds after start during which failures do not count. Default ECS's (0).")
}

type HealthCheckArgs struct {
	Command     pulumi.StringArrayInput `pulumi:"command"`
	Interval    pulumi.IntInput         `pulumi:"interval,optional"`
	Timeout     pulumi.IntInput         `pulumi:"timeout,optional"`
	Retries     pulumi.IntInput         `pulumi:"retries,optional"`
	StartPeriod pulumi.IntInput         `pulumi:"startPeriod,optional"`
}

type HealthCheckInput interface {
	pulumi.Input
	ToHealthCheckOutput() HealthCheckOutput
}

type HealthCheckOutput struct{ *pulumi.OutputState }

func (HealthCheckArgs) ElementType() reflect.Type                  { return reflect.TypeFor[HealthCheck]() }
func (HealthCheckOutput) ElementType() reflect.Type                { return reflect.TypeFor[HealthCheck]() }
func (o HealthCheckOutput) ToHealthCheckOutput() HealthCheckOutput { return o }
func (a HealthCheckArgs) ToHealthCheckOutput() HealthCheckOutput {
	return toOutput[HealthCheckOutput](context.Background(), a)
}

func (a HealthCheckArgs) read(p *plain) *taskspec.HealthCheck {
	return &taskspec.HealthCheck{
		Command:     value[[]string](p, "appHealthCheck.command", a.Command, nil),
		Interval:    value(p, "appHealthCheck.interval", a.Interval, 0),
		Timeout:     value(p, "appHealthCheck.timeout", a.Timeout, 0),
		Retries:     value(p, "appHealthCheck.retries", a.Retries, 0),
		StartPeriod: value(p, "appHealthCheck.startPeriod", a.StartPeriod, 0),
	}
}

// InitContainer runs once per task before the app (services.InitContainer).
type InitContainer struct {
	Name        string            `pulumi:"name,optional"`
	Command     []string          `pulumi:"command"`
	Environment map[string]string `pulumi:"environment,optional"`
	Secrets     []SecretEnv       `pulumi:"secrets,optional"`
}

// Annotate describes the fields.
func (c *InitContainer) Annotate(an infer.Annotator) {
	an.Describe(&c.Name, `Name of the container in the task. Default "init".`)
	an.Describe(&c.Command, `Passed to the service's image's entrypoint, e.g. ["migrate"]; the app starts only when it exits 0.`)
	an.Describe(&c.Environment, "The init container's own plain environment (the app gets none of it).")
	an.Describe(&c.Secrets, "The init container's own variables from Secrets Manager (the app gets none of them).")
}

type InitContainerArgs struct {
	Name        pulumi.StringInput      `pulumi:"name,optional"`
	Command     pulumi.StringArrayInput `pulumi:"command"`
	Environment pulumi.StringMapInput   `pulumi:"environment,optional"`
	Secrets     SecretEnvArrayInput     `pulumi:"secrets,optional"`
}

type InitContainerInput interface {
	pulumi.Input
	ToInitContainerOutput() InitContainerOutput
}

type InitContainerOutput struct{ *pulumi.OutputState }

func (InitContainerArgs) ElementType() reflect.Type   { return reflect.TypeFor[InitContainer]() }
func (InitContainerOutput) ElementType() reflect.Type { return reflect.TypeFor[InitContainer]() }
func (o InitContainerOutput) ToInitContainerOutput() InitContainerOutput {
	return o
}
func (a InitContainerArgs) ToInitContainerOutput() InitContainerOutput {
	return toOutput[InitContainerOutput](context.Background(), a)
}

func (a InitContainerArgs) read(p *plain) *services.InitContainer {
	return &services.InitContainer{
		Name:        value(p, "init.name", a.Name, ""),
		Command:     value[[]string](p, "init.command", a.Command, nil),
		Environment: stringMap(p, "init.environment", a.Environment),
		Secrets:     secretEnvs(p, "init.secrets", a.Secrets),
	}
}

// Grant allows the app actions on resources (services.Grant), e.g. rds-db:connect on a
// database user's ARN built from a Database's resourceId.
type Grant struct {
	Sid       string   `pulumi:"sid,optional"`
	Actions   []string `pulumi:"actions"`
	Resources []string `pulumi:"resources"`
}

// Annotate describes the fields.
func (g *Grant) Annotate(an infer.Annotator) {
	an.Describe(&g.Sid, "Statement id in the task role's policy. Default none.")
	an.Describe(&g.Actions, `IAM actions, e.g. ["rds-db:connect"].`)
	an.Describe(&g.Resources, "ARNs the actions are allowed on; may be other resources' outputs.")
}

type GrantArgs struct {
	Sid       pulumi.StringInput      `pulumi:"sid,optional"`
	Actions   pulumi.StringArrayInput `pulumi:"actions"`
	Resources pulumi.StringArrayInput `pulumi:"resources"`
}

type GrantInput interface {
	pulumi.Input
	ToGrantOutput() GrantOutput
}

type GrantOutput struct{ *pulumi.OutputState }

func (GrantArgs) ElementType() reflect.Type      { return reflect.TypeFor[Grant]() }
func (GrantOutput) ElementType() reflect.Type    { return reflect.TypeFor[Grant]() }
func (o GrantOutput) ToGrantOutput() GrantOutput { return o }
func (a GrantArgs) ToGrantOutput() GrantOutput {
	return toOutput[GrantOutput](context.Background(), a)
}

// GrantArray is a list of Grants; GrantArrayInput is either that or one output of the list.
type GrantArray []GrantInput

type GrantArrayInput interface {
	pulumi.Input
	ToGrantArrayOutput() GrantArrayOutput
}

type GrantArrayOutput struct{ *pulumi.OutputState }

func (GrantArray) ElementType() reflect.Type                    { return reflect.TypeFor[[]Grant]() }
func (GrantArrayOutput) ElementType() reflect.Type              { return reflect.TypeFor[[]Grant]() }
func (o GrantArrayOutput) ToGrantArrayOutput() GrantArrayOutput { return o }
func (a GrantArray) ToGrantArrayOutput() GrantArrayOutput {
	return toOutput[GrantArrayOutput](context.Background(), a)
}

func grants(p *plain, in GrantArrayInput) []services.Grant {
	var out []services.Grant
	for i, g := range list[GrantInput](p, "taskRoleGrants", in) {
		a := recordArgs[GrantArgs](p, fmt.Sprintf("taskRoleGrants[%d]", i), g)
		out = append(out, services.Grant{
			Sid:       value(p, fmt.Sprintf("taskRoleGrants[%d].sid", i), a.Sid, ""),
			Actions:   value[[]string](p, fmt.Sprintf("taskRoleGrants[%d].actions", i), a.Actions, nil),
			Resources: a.Resources,
		})
	}
	return out
}

func secretEnvs(p *plain, field string, in SecretEnvArrayInput) []services.SecretEnv {
	var out []services.SecretEnv
	for i, e := range list[SecretEnvInput](p, field, in) {
		s := recordArgs[SecretEnvArgs](p, fmt.Sprintf("%s[%d]", field, i), e)
		out = append(out, services.SecretEnv{
			Name:      value(p, fmt.Sprintf("%s[%d].name", field, i), s.Name, ""),
			SecretArn: s.SecretArn,
			JSONKey:   value(p, fmt.Sprintf("%s[%d].jsonKey", field, i), s.JsonKey, ""),
		})
	}
	return out
}

func init() {
	registerRecord[ScalingArgs, ScalingOutput](reflect.TypeFor[ScalingInput]())
	registerRecord[HealthCheckArgs, HealthCheckOutput](reflect.TypeFor[HealthCheckInput]())
	registerRecord[InitContainerArgs, InitContainerOutput](reflect.TypeFor[InitContainerInput]())
	registerRecord[GrantArgs, GrantOutput](reflect.TypeFor[GrantInput]())
	registerRecord[GrantArray, GrantArrayOutput](reflect.TypeFor[GrantArrayInput]())
}
