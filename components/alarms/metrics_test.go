package alarms

import (
	"strings"
	"testing"
)

// The table answers by namespace, metric and dimension set, the stack's own namespaces
// included, whatever order the dimensions come in.
func TestMetricProblem(t *testing.T) {
	for _, c := range []struct {
		namespace, metric string
		dims              []string
		want              string // "" or part of the problem
	}{
		{NamespaceXRay, "ApproximateTraceCount", []string{"GroupName"}, ""},
		{NamespaceXRay, "FaultRate", []string{"GroupName"}, "does not publish FaultRate"},
		{NamespaceALB, "HTTPCode_Target_5XX_Count", []string{"TargetGroup", "LoadBalancer"}, ""},
		{NamespaceALB, "HTTPCode_ELB_5XX_Count", []string{"TargetGroup", "LoadBalancer"}, "published only with"},
		{NamespaceECS, "HTTPCode_Target_5XX_Count", []string{"TargetDiscoveryName"}, ""},
		{NamespaceECS, "HTTPCode_Target_5XX_Count", []string{"DiscoveryName"}, "published only with"},
		{LogMetricsNamespace("meshtrace-dev"), dbAuthFailuresMetric, nil, ""},
		{LogMetricsNamespace("meshtrace-dev"), dbAuthFailuresMetric, []string{"GroupName"}, "published only with"},
		{"AWS/Lambda", "Errors", []string{"FunctionName"}, "not in the table"},
	} {
		got := MetricProblem(c.namespace, c.metric, c.dims)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s %s %v: %q, want %q", c.namespace, c.metric, c.dims, got, c.want)
		}
	}
	for ns, n := range Documented {
		if n.Source == "" || len(n.Metrics) == 0 {
			t.Errorf("%s: no source or no metrics", ns)
		}
	}
}
