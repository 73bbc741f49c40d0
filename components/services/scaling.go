package services

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/mesh"
)

// Scaling is how a service's task count follows its load (Application Auto Scaling target
// tracking). Zero fields take the defaults below.
type Scaling struct {
	// CPUPercent is the average CPU the tasks are kept at. Default 60: room for a burst
	// while new tasks start (a Fargate task takes a minute or two to pass its checks).
	CPUPercent float64
	// RequestsPerTarget is the load balancer requests per task per minute kept at
	// (public services only). Default 1000.
	RequestsPerTarget float64
	// ScaleOutCooldown and ScaleInCooldown, seconds. Defaults 60 and 300: add tasks fast,
	// remove them slowly, so a dip between two bursts does not take capacity away.
	ScaleOutCooldown int
	ScaleInCooldown  int
}

// Scaling defaults (see Scaling).
const (
	DefaultCPUPercent        = 60
	DefaultRequestsPerTarget = 1000
	DefaultScaleOutCooldown  = 60
	DefaultScaleInCooldown   = 300
)

func (s Scaling) withDefaults() Scaling {
	if s.CPUPercent == 0 {
		s.CPUPercent = DefaultCPUPercent
	}
	if s.RequestsPerTarget == 0 {
		s.RequestsPerTarget = DefaultRequestsPerTarget
	}
	if s.ScaleOutCooldown == 0 {
		s.ScaleOutCooldown = DefaultScaleOutCooldown
	}
	if s.ScaleInCooldown == 0 {
		s.ScaleInCooldown = DefaultScaleInCooldown
	}
	return s
}

func (s Scaling) check(name string) error {
	if s.CPUPercent <= 0 || s.CPUPercent > 100 || s.RequestsPerTarget <= 0 {
		return fmt.Errorf("service %s: Scaling.CPUPercent must be in (0, 100] and RequestsPerTarget positive", name)
	}
	if s.ScaleInCooldown <= s.ScaleOutCooldown {
		return fmt.Errorf("service %s: Scaling.ScaleInCooldown (%d s) must be longer than ScaleOutCooldown (%d s)", name, s.ScaleInCooldown, s.ScaleOutCooldown)
	}
	return nil
}

// ClusterNameOf is the cluster name in an ECS cluster ARN (arn:...:cluster/<name>).
func ClusterNameOf(clusterArn pulumi.StringInput) pulumi.StringOutput {
	return clusterArn.ToStringOutput().ApplyT(func(arn string) string {
		if _, name, ok := strings.Cut(arn, ":cluster/"); ok {
			return name
		}
		return arn // already a name
	}).(pulumi.StringOutput)
}

// declareScaling declares the service's scalable target (MinCount..MaxCount tasks) and its
// target tracking policies: average CPU, and for a public service the load balancer's
// requests per target.
func declareScaling(ctx *pulumi.Context, name string, a ServiceArgs, clusterName pulumi.StringOutput, service *ecs.Service, net *serviceNetwork, opts ...pulumi.ResourceOption) error {
	target, err := appautoscaling.NewTarget(ctx, name, &appautoscaling.TargetArgs{
		ServiceNamespace:  pulumi.String("ecs"),
		ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
		ResourceId:        pulumi.Sprintf("service/%s/%s", clusterName, service.Name),
		MinCapacity:       pulumi.Int(a.MinCount),
		MaxCapacity:       pulumi.Int(a.MaxCount),
		Tags:              a.Tags,
	}, opts...)
	if err != nil {
		return err
	}
	s := *a.Scaling
	track := func(suffix, metric string, label pulumi.StringPtrInput, value float64) error {
		_, err := appautoscaling.NewPolicy(ctx, name+"-"+suffix, &appautoscaling.PolicyArgs{
			PolicyType:        pulumi.String("TargetTrackingScaling"),
			ServiceNamespace:  target.ServiceNamespace,
			ScalableDimension: target.ScalableDimension,
			ResourceId:        target.ResourceId,
			TargetTrackingScalingPolicyConfiguration: appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
				PredefinedMetricSpecification: appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
					PredefinedMetricType: pulumi.String(metric),
					ResourceLabel:        label,
				},
				TargetValue:      pulumi.Float64(value),
				ScaleOutCooldown: pulumi.Int(s.ScaleOutCooldown),
				ScaleInCooldown:  pulumi.Int(s.ScaleInCooldown),
			},
		}, opts...)
		return err
	}
	if err := track("cpu", "ECSServiceAverageCPUUtilization", nil, s.CPUPercent); err != nil {
		return err
	}
	if net.loadBalancer == nil {
		return nil
	}
	// The label names the load balancer and target group: app/<lb>/<id>/targetgroup/<tg>/<id>.
	label := pulumi.Sprintf("%s/%s", net.loadBalancer.ArnSuffix, net.targetGroup.ArnSuffix)
	return track("requests", "ALBRequestCountPerTarget", label, s.RequestsPerTarget)
}

// deploymentAlarms are the alarms an ECS service's deployments watch, by name, and those
// of them declared before it.
type deploymentAlarms struct {
	names     []string
	resources []pulumi.Resource
}

// serviceConnectName is the service's name in Service Connect when it serves there (its
// server-side metrics carry it as DiscoveryName), else empty.
func serviceConnectName(a ServiceArgs, m *mesh.Membership) string {
	if m.ServiceConnect == nil || a.ClientOnly {
		return ""
	}
	return a.DiscoveryName
}
