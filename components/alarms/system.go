package alarms

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/apps/contract"
)

// DatabaseArgs describe the database the alarms watch.
type DatabaseArgs struct {
	// Identifier is the RDS instance identifier (dimension DBInstanceIdentifier). Required.
	Identifier pulumi.StringInput
	// MaxConnections is what the instance accepts; AllocatedStorageGb its storage; MemoryGiB
	// its class's memory. The thresholds are shares of them.
	MaxConnections     int
	AllocatedStorageGb int
	MemoryGiB          float64
	// ClientLogGroup is the log group of the app that reads the database; its
	// contract.DatabaseAuthFailedMessage lines (SQLSTATE class 28) become a metric and an
	// alarm. Default nil: no such alarm.
	ClientLogGroup pulumi.StringInput
}

// DBAuthFailuresName names the alarm on the database refusing its client's credential.
func DBAuthFailuresName(prefix string) string { return prefix + "-db-auth-failures" }

// ServiceView is what the dashboard shows of a service.
type ServiceView struct {
	Name                  string
	ClusterName           pulumi.StringInput
	ServiceName           pulumi.StringInput
	LoadBalancerArnSuffix pulumi.StringInput // nil for a service without a load balancer
	TargetGroupArnSuffix  pulumi.StringInput
}

// SystemArgs configure the alarms and dashboard of a whole stack.
type SystemArgs struct {
	Region   string
	TopicArn pulumi.StringInput
	Database *DatabaseArgs
	// XRayGroupName is the X-Ray group of the system's traces, XRayFaultGroupName the group
	// of those of them that hold a fault. Required: X-Ray publishes only a trace count per
	// group, so the share of faulty traces is one group's count over the other's.
	XRayGroupName      pulumi.StringInput
	XRayFaultGroupName pulumi.StringInput
	Services           []ServiceView
	Thresholds         Thresholds
	Tags               pulumi.StringMap
}

// System is the stack-wide part: database and trace alarms, and the dashboard.
type System struct {
	pulumi.ResourceState

	DashboardName pulumi.StringOutput `pulumi:"dashboardName"`
	DashboardURL  pulumi.StringOutput `pulumi:"dashboardUrl"`
}

func DBCPUName(prefix string) string         { return prefix + "-db-cpu" }
func DBFreeStorageName(prefix string) string { return prefix + "-db-free-storage" }
func DBConnectionsName(prefix string) string { return prefix + "-db-connections" }
func DBFreeMemoryName(prefix string) string  { return prefix + "-db-freeable-memory" }
func TraceFaultsName(prefix string) string   { return prefix + "-trace-faults" }

const gib = 1 << 30

// traceCount is the one metric X-Ray publishes per group (Documented).
const traceCount = "ApproximateTraceCount"

// NewSystem declares the database and trace alarms and the dashboard. name prefixes the
// alarm names and names the dashboard.
func NewSystem(ctx *pulumi.Context, name string, args *SystemArgs, opts ...pulumi.ResourceOption) (*System, error) {
	if args.XRayGroupName == nil || args.XRayFaultGroupName == nil || args.Database == nil || args.Database.Identifier == nil {
		return nil, fmt.Errorf("alarms %s: Database.Identifier, XRayGroupName and XRayFaultGroupName are required", name)
	}
	s := &System{}
	if err := ctx.RegisterComponentResource("meshtrace:alarms:System", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	t, db := args.Thresholds, args.Database
	dbDims := pulumi.StringMap{"DBInstanceIdentifier": db.Identifier}
	rds := func(n, description, metric, stat, comparison string, threshold float64, missing string) alarm {
		return alarm{
			name: n, description: description, namespace: NamespaceRDS, metric: metric, stat: stat, dimensions: dbDims,
			comparison: comparison, threshold: threshold, period: slowPeriodSeconds, datapoints: 2, periods: 3, missing: missing,
		}
	}
	all := []alarm{
		// RDS reports these every minute while the instance runs: their absence is an outage.
		rds(DBCPUName(name), fmt.Sprintf("%s: database CPU above %s", name, percent(t.DBCPUPercent)),
			"CPUUtilization", "Average", "GreaterThanThreshold", t.DBCPUPercent, missingIsBad),
		rds(DBFreeStorageName(name), fmt.Sprintf("%s: database free storage under %s of %d GB", name, percent(t.DBFreeStoragePercent), db.AllocatedStorageGb),
			"FreeStorageSpace", "Minimum", "LessThanThreshold", float64(db.AllocatedStorageGb)*gib*t.DBFreeStoragePercent/100, missingIsBad),
		rds(DBFreeMemoryName(name), fmt.Sprintf("%s: database freeable memory under %s of %g GiB", name, percent(t.DBFreeableMemoryPercent), db.MemoryGiB),
			"FreeableMemory", "Minimum", "LessThanThreshold", db.MemoryGiB*gib*t.DBFreeableMemoryPercent/100, missingIsBad),
		// No connections reported is no connections: not a connection shortage.
		rds(DBConnectionsName(name), fmt.Sprintf("%s: database connections above %s of the %d it accepts", name, percent(t.DBConnectionsPercent), db.MaxConnections),
			"DatabaseConnections", "Maximum", "GreaterThanThreshold", float64(db.MaxConnections)*t.DBConnectionsPercent/100, missingIsFine),
		{
			// The fault group's traces as a share of the system group's: X-Ray counts each
			// group's traces every minute once it has any; a quiet period has none, no fault.
			name: TraceFaultsName(name), description: fmt.Sprintf("%s: traces with a fault above %s", name, percent(t.TraceFaultPercent)),
			expression: "100 * FILL(faults, 0) / traces",
			queries: []query{
				{id: "faults", namespace: NamespaceXRay, metric: traceCount, stat: "Sum", dimensions: pulumi.StringMap{"GroupName": args.XRayFaultGroupName}},
				{id: "traces", namespace: NamespaceXRay, metric: traceCount, stat: "Sum", dimensions: pulumi.StringMap{"GroupName": args.XRayGroupName}},
			},
			comparison: "GreaterThanThreshold", threshold: t.TraceFaultPercent, period: slowPeriodSeconds, datapoints: 2, periods: 3, missing: missingIsFine,
		},
	}
	if db.ClientLogGroup != nil {
		authFailures, err := authFailureAlarm(ctx, name, db.ClientLogGroup, parent)
		if err != nil {
			return nil, err
		}
		all = append(all, authFailures)
	}
	for _, a := range all {
		if _, err := declare(ctx, a, args.TopicArn, args.Tags, parent); err != nil {
			return nil, err
		}
	}

	body := dashboardBody(args)
	dashboard, err := cloudwatch.NewDashboard(ctx, name, &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(name),
		DashboardBody: body,
	}, parent)
	if err != nil {
		return nil, err
	}
	s.DashboardName = dashboard.DashboardName
	s.DashboardURL = pulumi.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#dashboards/dashboard/%s", args.Region, args.Region, dashboard.DashboardName)
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{"dashboardName": s.DashboardName, "dashboardUrl": s.DashboardURL})
}

// Dashboard body (CloudWatch dashboard body structure: widgets with type, x, y, width,
// height and properties; a metric widget's metrics are arrays [namespace, metric,
// dimension name, value, ..., {options}]).
type widget struct {
	Type       string         `json:"type"`
	X          int            `json:"x"`
	Y          int            `json:"y"`
	Width      int            `json:"width"`
	Height     int            `json:"height"`
	Properties map[string]any `json:"properties"`
}

// resolved is a ServiceView with its outputs known.
type resolved struct {
	name, cluster, service, lb, tg string
}

func dashboardBody(args *SystemArgs) pulumi.StringOutput {
	inputs := []any{args.Database.Identifier, args.XRayGroupName, args.XRayFaultGroupName}
	for _, s := range args.Services {
		lb, tg := pulumi.StringInput(pulumi.String("")), pulumi.StringInput(pulumi.String(""))
		if s.LoadBalancerArnSuffix != nil {
			lb, tg = s.LoadBalancerArnSuffix, s.TargetGroupArnSuffix
		}
		inputs = append(inputs, s.ClusterName, s.ServiceName, lb, tg)
	}
	return pulumi.All(inputs...).ApplyT(func(v []any) (string, error) {
		var services []resolved
		for i, s := range args.Services {
			o := 3 + 4*i
			services = append(services, resolved{s.Name, v[o].(string), v[o+1].(string), v[o+2].(string), v[o+3].(string)})
		}
		return renderDashboard(args.Region, v[0].(string), v[1].(string), v[2].(string), services)
	}).(pulumi.StringOutput)
}

func renderDashboard(region, dbIdentifier, group, faultGroup string, services []resolved) (string, error) {
	var widgets []widget
	y := 0
	add := func(width, height int, typ string, props map[string]any) {
		x := 0
		if n := len(widgets); n > 0 && widgets[n-1].Y == y && widgets[n-1].X+widgets[n-1].Width+width <= 24 {
			x = widgets[n-1].X + widgets[n-1].Width
		} else if n > 0 {
			y += widgets[n-1].Height
		}
		widgets = append(widgets, widget{Type: typ, X: x, Y: y, Width: width, Height: height, Properties: props})
	}
	graph := func(title, stat string, metrics [][]any) map[string]any {
		return map[string]any{"title": title, "region": region, "view": "timeSeries", "stat": stat, "period": periodSeconds, "metrics": metrics}
	}
	serviceMap := fmt.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#xray:service-map/map?group=%s", region, region, group)
	add(24, 2, "text", map[string]any{"markdown": fmt.Sprintf("## %s\nTraces: [X-Ray service map of group %s](%s)", group, group, serviceMap)})
	for _, s := range services {
		if s.lb == "" {
			continue
		}
		tg := []any{"LoadBalancer", s.lb, "TargetGroup", s.tg}
		add(8, 6, "metric", graph(s.name+": requests and 5xx", "Sum", [][]any{
			{NamespaceALB, "RequestCount", "LoadBalancer", s.lb},
			{NamespaceALB, "HTTPCode_ELB_5XX_Count", "LoadBalancer", s.lb},
			append([]any{NamespaceALB, "HTTPCode_Target_5XX_Count"}, tg...),
		}))
		add(8, 6, "metric", graph(s.name+": response time", "p50", [][]any{
			append(append([]any{NamespaceALB, "TargetResponseTime"}, tg...), map[string]any{"stat": "p50", "label": "p50"}),
			append(append([]any{NamespaceALB, "TargetResponseTime"}, tg...), map[string]any{"stat": "p99", "label": "p99"}),
		}))
		add(8, 6, "metric", graph(s.name+": targets", "Maximum", [][]any{
			append([]any{NamespaceALB, "HealthyHostCount"}, tg...),
			append([]any{NamespaceALB, "UnHealthyHostCount"}, tg...),
		}))
	}
	for _, s := range services {
		svc := []any{"ClusterName", s.cluster, "ServiceName", s.service}
		add(8, 6, "metric", graph(s.name+": CPU and memory", "Average", [][]any{
			append([]any{NamespaceECS, "CPUUtilization"}, svc...),
			append([]any{NamespaceECS, "MemoryUtilization"}, svc...),
		}))
		add(8, 6, "metric", graph(s.name+": tasks", "Maximum", [][]any{
			append([]any{NamespaceInsights, "RunningTaskCount"}, svc...),
			append([]any{NamespaceInsights, "DesiredTaskCount"}, svc...),
		}))
	}
	db := []any{"DBInstanceIdentifier", dbIdentifier}
	add(8, 6, "metric", graph("database: CPU", "Average", [][]any{append([]any{NamespaceRDS, "CPUUtilization"}, db...)}))
	add(8, 6, "metric", graph("database: connections", "Maximum", [][]any{append([]any{NamespaceRDS, "DatabaseConnections"}, db...)}))
	add(8, 6, "metric", graph("database: free storage", "Minimum", [][]any{append([]any{NamespaceRDS, "FreeStorageSpace"}, db...)}))
	add(8, 6, "metric", graph("traces: all and with a fault", "Sum", [][]any{
		{NamespaceXRay, traceCount, "GroupName", group},
		{NamespaceXRay, traceCount, "GroupName", faultGroup},
	}))
	b, err := json.Marshal(map[string]any{"widgets": widgets})
	return string(b), err
}

// dbAuthFailuresMetric is the metric authFailureAlarm's filter publishes.
const dbAuthFailuresMetric = "DatabaseAuthFailures"

// authFailureAlarm counts the client's contract.DatabaseAuthFailedLogFilter log lines (the
// apps' tests evaluate that pattern on the lines they write) as a metric, and alarms on any
// within a minute: a credential the database refuses (a rotation gone wrong, a revoked
// grant) fails every new connection.
func authFailureAlarm(ctx *pulumi.Context, name string, logGroup pulumi.StringInput, opts ...pulumi.ResourceOption) (alarm, error) {
	namespace := LogMetricsNamespace(name)
	if _, err := cloudwatch.NewLogMetricFilter(ctx, DBAuthFailuresName(name), &cloudwatch.LogMetricFilterArgs{
		LogGroupName: logGroup,
		Pattern:      pulumi.String(contract.DatabaseAuthFailedLogFilter),
		MetricTransformation: cloudwatch.LogMetricFilterMetricTransformationArgs{
			Name: pulumi.String(dbAuthFailuresMetric), Namespace: pulumi.String(namespace), Value: pulumi.String("1"),
		},
	}, opts...); err != nil {
		return alarm{}, err
	}
	return alarm{
		name: DBAuthFailuresName(name), description: name + ": the database refuses its client's credential (SQLSTATE class 28)",
		namespace: namespace, metric: dbAuthFailuresMetric, stat: "Sum",
		comparison: "GreaterThanOrEqualToThreshold", threshold: 1, period: 60, datapoints: 1, periods: 1,
		// No such log line is no failure.
		missing: missingIsFine,
	}, nil
}
