package alarms

import (
	"fmt"
	"slices"
	"strings"
)

// Namespace is what a CloudWatch namespace publishes, as its owner documents it: each
// metric the alarms or the dashboard may read, with the dimension sets it is published
// under (names sorted). An alarm on a metric, or on a dimension set, that is not published
// never sees data: it sits in INSUFFICIENT_DATA, or worse, treats the silence as fine.
type Namespace struct {
	Source  string                // where the owner documents the metrics
	Metrics map[string][][]string // metric -> dimension sets
}

// logMetricsPrefix starts the namespaces of the stack's own log metric filters.
const logMetricsPrefix = "meshtrace/"

// LogMetricsNamespace is the namespace of the metrics the log metric filters of the alarms
// named name publish (CloudWatch reserves namespaces starting with AWS/ for AWS).
func LogMetricsNamespace(name string) string { return logMetricsPrefix + name }

var (
	setLB               = []string{"LoadBalancer"}
	setLBAZ             = []string{"AvailabilityZone", "LoadBalancer"}
	setTG               = []string{"LoadBalancer", "TargetGroup"}
	setTGAZ             = []string{"AvailabilityZone", "LoadBalancer", "TargetGroup"}
	setCluster          = []string{"ClusterName"}
	setService          = []string{"ClusterName", "ServiceName"}
	setDiscovery        = []string{"DiscoveryName"}
	setDiscoveryService = []string{"ClusterName", "DiscoveryName", "ServiceName"}
	setTarget           = []string{"TargetDiscoveryName"}
	setTargetClient     = []string{"ClusterName", "ServiceName", "TargetDiscoveryName"}
	setsRDS             = [][]string{{"DBInstanceIdentifier"}, {"DatabaseClass"}, {"EngineName"}}
)

// Documented is the table of metrics per namespace the alarms and the dashboard may name
// (the subset of each namespace this package uses or is likely to, not the whole list).
// A test reads every alarm and dashboard widget of every stack graph against it.
var Documented = map[string]Namespace{
	NamespaceALB: {
		Source: "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html",
		Metrics: map[string][][]string{
			"RequestCount":              {setLB, setLBAZ, setTG, setTGAZ},
			"HTTPCode_ELB_5XX_Count":    {setLB, setLBAZ},
			"HTTPCode_Target_5XX_Count": {setLB, setLBAZ, setTG, setTGAZ},
			"TargetResponseTime":        {setLB, setLBAZ, setTG, setTGAZ},
			"HealthyHostCount":          {setTG, setTGAZ},
			"UnHealthyHostCount":        {setTG, setTGAZ},
		},
	},
	// Service Connect's metrics: requests by the server's DiscoveryName; HTTP status codes
	// only by TargetDiscoveryName (where ServiceName is the *client* service).
	NamespaceECS: {
		Source: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/available-metrics.html",
		Metrics: map[string][][]string{
			"CPUUtilization":            {setCluster, setService},
			"MemoryUtilization":         {setCluster, setService},
			"RequestCount":              {setDiscovery, setDiscoveryService},
			"HTTPCode_Target_5XX_Count": {setTarget, setTargetClient},
			"TargetResponseTime":        {setTarget, setTargetClient},
		},
	},
	NamespaceInsights: {
		Source: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html",
		Metrics: map[string][][]string{
			"RunningTaskCount": {setService},
			"DesiredTaskCount": {setService},
			"PendingTaskCount": {setService},
		},
	},
	NamespaceRDS: {
		Source: "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html (dimensions: dimensions.html)",
		Metrics: map[string][][]string{
			"CPUUtilization":      setsRDS,
			"FreeStorageSpace":    setsRDS,
			"FreeableMemory":      setsRDS,
			"DatabaseConnections": setsRDS,
		},
	},
	// X-Ray publishes one metric per group: the approximate number of traces that match the
	// group's filter expression, every minute. FaultRate, ErrorRate and ThrottleRate are
	// the X-Ray SDK for Java's metrics in ServiceMetrics/SDK, per service, not group metrics.
	NamespaceXRay: {
		Source: "https://docs.aws.amazon.com/xray/latest/devguide/xray-console-groups.html#xray-console-group-cloudwatch",
		Metrics: map[string][][]string{
			"ApproximateTraceCount": {{"GroupName"}},
		},
	},
	// The stack's own metric filters publish without dimensions.
	logMetricsPrefix + "*": {
		Source: "this package's log metric filters (authFailureAlarm)",
		Metrics: map[string][][]string{
			dbAuthFailuresMetric: {{}},
		},
	},
}

// MetricProblem says why namespace/metric with the dimension names dims is not a metric the
// table documents, or "" when it is.
func MetricProblem(namespace, metric string, dims []string) string {
	key := namespace
	if strings.HasPrefix(namespace, logMetricsPrefix) {
		key = logMetricsPrefix + "*"
	}
	ns, ok := Documented[key]
	if !ok {
		return fmt.Sprintf("namespace %s is not in the table of documented metrics", namespace)
	}
	sets, ok := ns.Metrics[metric]
	if !ok {
		return fmt.Sprintf("%s does not publish %s (%s)", namespace, metric, ns.Source)
	}
	names := slices.Sorted(slices.Values(dims))
	if !slices.ContainsFunc(sets, func(s []string) bool { return slices.Equal(s, names) }) {
		return fmt.Sprintf("%s %s with dimensions %v: published only with %v (%s)", namespace, metric, names, sets, ns.Source)
	}
	return ""
}
