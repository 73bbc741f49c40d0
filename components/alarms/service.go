package alarms

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Namespaces and metrics the alarms and the dashboard read.
const (
	NamespaceALB       = "AWS/ApplicationELB"
	NamespaceECS       = "AWS/ECS"
	NamespaceInsights  = "ECS/ContainerInsights"
	NamespaceRDS       = "AWS/RDS"
	NamespaceXRay      = "AWS/X-Ray"
	periodSeconds      = 60
	slowPeriodSeconds  = 300
	deploymentLookback = 3 // periods: a deploy's first failing minutes roll it back
)

// LoadBalancerArgs are the handles of a public service's load balancer.
type LoadBalancerArgs struct {
	// LoadBalancerArnSuffix (app/<name>/<id>) and TargetGroupArnSuffix (targetgroup/<name>/<id>)
	// are the CloudWatch dimensions LoadBalancer and TargetGroup.
	LoadBalancerArnSuffix pulumi.StringInput
	TargetGroupArnSuffix  pulumi.StringInput
	TopicArn              pulumi.StringInput // nil: the alarms notify nobody (deploys still roll back)
	Thresholds            Thresholds
	Tags                  pulumi.StringMap
}

// Alarm names of a service, from its prefix (unique per account and region, e.g. the task
// family meshtrace-prod-products). ECS deployment alarms refer to alarms by name.
func ALB5xxName(prefix string) string         { return prefix + "-alb-5xx" }
func Target5xxName(prefix string) string      { return prefix + "-target-5xx" }
func LatencyP99Name(prefix string) string     { return prefix + "-latency-p99" }
func UnhealthyHostsName(prefix string) string { return prefix + "-unhealthy-hosts" }
func RunningTasksName(prefix string) string   { return prefix + "-running-tasks" }
func Mesh5xxName(prefix string) string        { return prefix + "-mesh-5xx" }

// NewLoadBalancerAlarms declares the alarms of a public service's load balancer and returns
// the names of those that should roll a deployment back (target 5xx, unhealthy hosts).
func NewLoadBalancerAlarms(ctx *pulumi.Context, prefix string, args *LoadBalancerArgs, opts ...pulumi.ResourceOption) ([]string, []pulumi.Resource, error) {
	t := args.Thresholds
	lb := pulumi.StringMap{"LoadBalancer": args.LoadBalancerArnSuffix}
	tg := pulumi.StringMap{"LoadBalancer": args.LoadBalancerArnSuffix, "TargetGroup": args.TargetGroupArnSuffix}
	rate := func(dims pulumi.StringMap, errors string) []query {
		return []query{
			{id: "errors", namespace: NamespaceALB, metric: errors, stat: "Sum", dimensions: dims},
			{id: "requests", namespace: NamespaceALB, metric: "RequestCount", stat: "Sum", dimensions: dims},
		}
	}
	// No requests in a minute: no data, which is no failure.
	const rateExpression = "100 * FILL(errors, 0) / requests"
	all := []alarm{
		{
			name: ALB5xxName(prefix), description: fmt.Sprintf("%s: the load balancer's own 5xx above %s of requests", prefix, percent(t.HTTP5xxPercent)),
			expression: rateExpression, queries: rate(lb, "HTTPCode_ELB_5XX_Count"),
			comparison: "GreaterThanThreshold", threshold: t.HTTP5xxPercent, period: periodSeconds, datapoints: 3, periods: 5, missing: missingIsFine,
		},
		{
			name: Target5xxName(prefix), description: fmt.Sprintf("%s: the tasks' 5xx above %s of requests", prefix, percent(t.HTTP5xxPercent)),
			expression: rateExpression, queries: rate(tg, "HTTPCode_Target_5XX_Count"),
			comparison: "GreaterThanThreshold", threshold: t.HTTP5xxPercent, period: periodSeconds, datapoints: 2, periods: deploymentLookback, missing: missingIsFine,
		},
		{
			name: LatencyP99Name(prefix), description: fmt.Sprintf("%s: p99 response time above %d ms", prefix, t.LatencyP99Ms),
			namespace: NamespaceALB, metric: "TargetResponseTime", stat: "p99", dimensions: tg,
			// A percentile of a quiet minute says little: keep the state rather than guess.
			comparison: "GreaterThanThreshold", threshold: float64(t.LatencyP99Ms) / 1000, period: periodSeconds, datapoints: 3, periods: 5, missing: missingKeeps,
		},
		{
			name: UnhealthyHostsName(prefix), description: prefix + ": a target fails the load balancer's health check",
			namespace: NamespaceALB, metric: "UnHealthyHostCount", stat: "Maximum", dimensions: tg,
			// Reported every minute while the target group has targets; none registered is not a failure of theirs.
			comparison: "GreaterThanThreshold", threshold: 0, period: periodSeconds, datapoints: 2, periods: deploymentLookback, missing: missingIsFine,
		},
	}
	var declared []pulumi.Resource
	for _, a := range all {
		r, err := declare(ctx, a, args.TopicArn, args.Tags, opts...)
		if err != nil {
			return nil, nil, err
		}
		declared = append(declared, r)
	}
	return []string{Target5xxName(prefix), UnhealthyHostsName(prefix)}, declared, nil
}

// TaskArgs name a service's tasks.
type TaskArgs struct {
	ClusterName pulumi.StringInput
	ServiceName pulumi.StringInput
	// DiscoveryName is the service's name in Service Connect when it serves there (its
	// server-side metrics carry it); empty otherwise.
	DiscoveryName string
	TopicArn      pulumi.StringInput
	Thresholds    Thresholds
	Tags          pulumi.StringMap
}

// TaskDeploymentAlarm is the name of the task alarm that rolls a deployment of a service
// without a load balancer back: its 5xx as Service Connect sees them, else its task count.
func TaskDeploymentAlarm(prefix, discoveryName string) string {
	if discoveryName != "" {
		return Mesh5xxName(prefix)
	}
	return RunningTasksName(prefix)
}

// NewTaskAlarms declares the alarms on a service's tasks: fewer running than desired
// (Container Insights) and, for a Service Connect server, its 5xx rate.
func NewTaskAlarms(ctx *pulumi.Context, prefix string, args *TaskArgs, opts ...pulumi.ResourceOption) error {
	t := args.Thresholds
	svc := pulumi.StringMap{"ClusterName": args.ClusterName, "ServiceName": args.ServiceName}
	all := []alarm{{
		name: RunningTasksName(prefix), description: prefix + ": fewer tasks running than desired for 5 minutes",
		expression: "desired - running",
		queries: []query{
			{id: "desired", namespace: NamespaceInsights, metric: "DesiredTaskCount", stat: "Maximum", dimensions: svc},
			{id: "running", namespace: NamespaceInsights, metric: "RunningTaskCount", stat: "Minimum", dimensions: svc},
		},
		// Deploys and scale-outs start tasks within minutes; 5 of 5 minutes short is a
		// crash loop or capacity. Missing data keeps the state: a brand-new service has none.
		comparison: "GreaterThanThreshold", threshold: 0, period: periodSeconds, datapoints: 5, periods: 5, missing: missingKeeps,
	}}
	if args.DiscoveryName != "" {
		// Service Connect publishes a server's status codes only by TargetDiscoveryName (alone,
		// or with the *client's* ServiceName) and its requests by DiscoveryName: both alone are
		// the server's traffic from every client, in every cluster of the account and Region.
		name := pulumi.String(args.DiscoveryName)
		all = append(all, alarm{
			name: Mesh5xxName(prefix), description: fmt.Sprintf("%s: 5xx above %s of the requests Service Connect brings it", prefix, percent(t.HTTP5xxPercent)),
			expression: "100 * FILL(errors, 0) / requests",
			queries: []query{
				{id: "errors", namespace: NamespaceECS, metric: "HTTPCode_Target_5XX_Count", stat: "Sum", dimensions: pulumi.StringMap{"TargetDiscoveryName": name}},
				{id: "requests", namespace: NamespaceECS, metric: "RequestCount", stat: "Sum", dimensions: pulumi.StringMap{"DiscoveryName": name}},
			},
			comparison: "GreaterThanThreshold", threshold: t.HTTP5xxPercent, period: periodSeconds, datapoints: 2, periods: deploymentLookback, missing: missingIsFine,
		})
	}
	for _, a := range all {
		if _, err := declare(ctx, a, args.TopicArn, args.Tags, opts...); err != nil {
			return err
		}
	}
	return nil
}
