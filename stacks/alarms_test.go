package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/meshtrace/meshtrace/components/alarms"
	"github.com/meshtrace/meshtrace/pulumitest"
)

const (
	tAlarm        = "aws:cloudwatch/metricAlarm:MetricAlarm"
	tDashboard    = "aws:cloudwatch/dashboard:Dashboard"
	tTopic        = "aws:sns/topic:Topic"
	tScaleTarget  = "aws:appautoscaling/target:Target"
	tScalePolicy  = "aws:appautoscaling/policy:Policy"
	tMetricFilter = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
)

// handles are what a CloudWatch metric reference may name in a stack: the dimension values
// of its own resources, as the mocks answered them, and the metrics its own log metric
// filters publish.
type handles struct {
	values    map[string][]string // dimension name -> allowed values
	published map[string]bool     // "namespace metric" of the stack's metric filters
}

func stackHandles(rs []pulumitest.Resource) handles {
	h := handles{values: map[string][]string{}, published: map[string]bool{}}
	add := func(dim string, v any) {
		if s, ok := v.(string); ok && s != "" {
			h.values[dim] = append(h.values[dim], s)
		}
	}
	for _, r := range rs {
		out := pulumitest.Outputs(r)
		switch r.Type {
		case tLB:
			add("LoadBalancer", out["arnSuffix"])
		case tTargetGroup:
			add("TargetGroup", out["arnSuffix"])
		case tCluster:
			add("ClusterName", out["name"])
		case tECSService:
			add("ServiceName", out["name"])
			if sc, ok := out["serviceConnectConfiguration"].(map[string]any); ok {
				for _, s := range asList(sc["services"]) {
					// A Service Connect server's requests carry its DiscoveryName, its status
					// codes the same name as TargetDiscoveryName.
					add("DiscoveryName", s.(map[string]any)["discoveryName"])
					add("TargetDiscoveryName", s.(map[string]any)["discoveryName"])
				}
			}
		case tRDS:
			add("DBInstanceIdentifier", out["identifier"])
		case tXRayGroup:
			add("GroupName", out["groupName"])
		case tMetricFilter:
			mt := r.Plain()["metricTransformation"].(map[string]any)
			h.published[str(mt["namespace"])+" "+str(mt["name"])] = true
		}
	}
	return h
}

func asList(v any) []any { l, _ := v.([]any); return l }

// metricProblem says what is wrong with one metric reference, or "": the metric and its
// dimension set must be in the table of documented metrics (alarms.Documented), a metric of
// the stack's own namespace must come from one of its metric filters, and every dimension
// value must name one of the stack's resources.
func (h handles) metricProblem(namespace, metric string, dims map[string]string) string {
	names := slices.Sorted(maps.Keys(dims))
	if p := alarms.MetricProblem(namespace, metric, names); p != "" {
		return p
	}
	if strings.HasPrefix(namespace, alarms.LogMetricsNamespace("")) && !h.published[namespace+" "+metric] {
		return fmt.Sprintf("%s %s: no metric filter of the stack publishes it", namespace, metric)
	}
	for _, k := range names {
		if !slices.Contains(h.values[k], dims[k]) {
			return fmt.Sprintf("%s %s: dimension %s = %q is none of the stack's resources (%v)", namespace, metric, k, dims[k], h.values[k])
		}
	}
	return ""
}

func stringMap(v any) map[string]string {
	out := map[string]string{}
	m, _ := v.(map[string]any) // no dimensions: an empty map
	for k, e := range m {
		out[k] = fmt.Sprint(e)
	}
	return out
}

// alarmProblems checks every alarm: each metric it reads is documented and exists on the
// stack's resources, and it notifies the stack's topic.
func alarmProblems(rs []pulumitest.Resource) []string {
	h := stackHandles(rs)
	var topics []any
	for _, r := range rs {
		if r.Type == tTopic {
			topics = append(topics, pulumitest.Outputs(r)["arn"])
		}
	}
	var problems []string
	for _, r := range rs {
		if r.Type != tAlarm {
			continue
		}
		a := r.Plain()
		report := func(p string) { problems = append(problems, r.Name+": "+p) }
		if queries, ok := a["metricQueries"].([]any); ok {
			for _, q := range queries {
				if m, ok := q.(map[string]any)["metric"].(map[string]any); ok {
					if p := h.metricProblem(str(m["namespace"]), str(m["metricName"]), stringMap(m["dimensions"])); p != "" {
						report(p)
					}
				}
			}
		} else if p := h.metricProblem(str(a["namespace"]), str(a["metricName"]), stringMap(a["dimensions"])); p != "" {
			report(p)
		}
		if !slices.Equal(asList(a["alarmActions"]), topics) || len(topics) != 1 {
			report(fmt.Sprintf("alarm actions %v, want the stack's topic %v", a["alarmActions"], topics))
		}
		if !slices.Contains([]string{"breaching", "notBreaching", "ignore", "missing"}, str(a["treatMissingData"])) {
			report(fmt.Sprintf("treatMissingData %v", a["treatMissingData"]))
		}
	}
	return problems
}

func TestEveryAlarmWatchesTheStacksOwnResourcesAndPagesItsTopic(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		rs := s.m.Resources()
		for _, p := range alarmProblems(rs) {
			t.Error(p)
		}
		want := []string{
			"products-alb-5xx", "products-target-5xx", "products-latency-p99", "products-unhealthy-hosts", "products-running-tasks",
			"payments-running-tasks", "db-cpu", "db-free-storage", "db-connections", "db-freeable-memory", "db-auth-failures", "trace-faults",
		}
		if s.modes.Mesh == MeshServiceConnect {
			want = append(want, "payments-mesh-5xx")
		}
		var got []string
		for _, r := range s.m.ByType(tAlarm) {
			got = append(got, strings.TrimPrefix(r.Name, s.prefix+"-"))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("alarms %v, want %v", got, want)
		}
		// The connections alarm's threshold comes from the instance class's limit.
		limit, _ := MaxConnections(map[string]string{"dev": "db.t4g.micro", "prod": "db.m7g.large"}[s.stack])
		if th := s.get(t, tAlarm, s.prefix+"-db-connections")["threshold"].(float64); math.Abs(th-float64(limit)*0.8) > 1e-9 {
			t.Errorf("db-connections threshold %v, want 80%% of %d", th, limit)
		}
		if only(t, s.m, tTopic).Name != s.prefix+"-alarms" {
			t.Error("no alarm topic")
		}
	})
}

// A dimension that names something outside the stack (here another load balancer) is caught.
func TestAnAlarmOnAResourceOutsideTheStackFails(t *testing.T) {
	rs := runStack(t, "prod", nil).Resources()
	if p := alarmProblems(rs); len(p) != 0 {
		t.Fatalf("the stack itself has problems: %v", p)
	}
	for i, r := range rs {
		if r.Type == tAlarm && r.Name == "meshtrace-prod-products-unhealthy-hosts" {
			r.Inputs = r.Inputs.Copy()
			r.Inputs["dimensions"] = resource.NewObjectProperty(resource.NewPropertyMapFromMap(map[string]any{
				"LoadBalancer": "app/someone-elses/0123456789abcdef", "TargetGroup": "targetgroup/products/0123456789abcdef",
			}))
			rs[i] = r
		}
	}
	p := alarmProblems(rs)
	if len(p) != 1 || !strings.Contains(p[0], `dimension LoadBalancer = "app/someone-elses/0123456789abcdef" is none of the stack's resources`) {
		t.Errorf("the broken dimension was not caught: %v", p)
	}
}

// A metric X-Ray does not publish per group (FaultRate, as this stack once read), or a
// documented metric under a dimension set its namespace does not publish, is caught.
func TestAnAlarmOnAnUndocumentedMetricFails(t *testing.T) {
	rs := runStack(t, "prod", nil).Resources()
	for i, r := range rs {
		if r.Type != tAlarm {
			continue
		}
		var query map[string]any
		switch r.Name {
		case "meshtrace-prod-trace-faults":
			query = map[string]any{"id": "faults", "metric": map[string]any{
				"namespace": "AWS/X-Ray", "metricName": "FaultRate", "stat": "Average", "period": 300,
				"dimensions": map[string]any{"GroupName": "meshtrace-prod"}}}
		case "meshtrace-prod-payments-mesh-5xx":
			// Service Connect's status codes by the server's DiscoveryName: never published.
			query = map[string]any{"id": "errors", "metric": map[string]any{
				"namespace": "AWS/ECS", "metricName": "HTTPCode_Target_5XX_Count", "stat": "Sum", "period": 60,
				"dimensions": map[string]any{"DiscoveryName": "payments"}}}
		default:
			continue
		}
		r.Inputs = r.Inputs.Copy()
		r.Inputs["metricQueries"] = resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.NewPropertyMapFromMap(query))})
		rs[i] = r
	}
	p := alarmProblems(rs)
	if len(p) != 2 || !strings.Contains(p[0]+p[1], "AWS/X-Ray does not publish FaultRate") ||
		!strings.Contains(p[0]+p[1], "HTTPCode_Target_5XX_Count with dimensions [DiscoveryName]: published only with") {
		t.Errorf("the undocumented metrics were not caught: %v", p)
	}
}

func TestServicesScaleWithinTheirBoundsAndRollBackOnTheirAlarms(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		bounds := map[string][2]float64{"dev": {1, 2}, "prod": {2, 6}}[s.stack]
		alarms := map[string]bool{}
		for _, r := range s.m.ByType(tAlarm) {
			alarms[r.Name] = true
		}
		for _, name := range []string{ProductsName, PaymentsName} {
			target := s.get(t, tScaleTarget, name)
			cluster := pulumitest.Outputs(only(t, s.m, tCluster))["name"]
			if target["minCapacity"] != bounds[0] || target["maxCapacity"] != bounds[1] || target["resourceId"] != fmt.Sprintf("service/%s/%s", cluster, name) ||
				target["scalableDimension"] != "ecs:service:DesiredCount" || target["serviceNamespace"] != "ecs" {
				t.Errorf("%s scalable target %v", name, target)
			}
			policies := map[string]string{"cpu": "ECSServiceAverageCPUUtilization"}
			if name == ProductsName {
				policies["requests"] = "ALBRequestCountPerTarget"
			}
			for suffix, metric := range policies {
				p := s.get(t, tScalePolicy, name+"-"+suffix)
				cfg := p["targetTrackingScalingPolicyConfiguration"].(map[string]any)
				spec := cfg["predefinedMetricSpecification"].(map[string]any)
				if p["policyType"] != "TargetTrackingScaling" || spec["predefinedMetricType"] != metric || p["resourceId"] != target["resourceId"] {
					t.Errorf("%s-%s: %v", name, suffix, p)
				}
				if cfg["scaleInCooldown"].(float64) <= cfg["scaleOutCooldown"].(float64) {
					t.Errorf("%s-%s: scale-in cooldown %v not longer than scale-out %v", name, suffix, cfg["scaleInCooldown"], cfg["scaleOutCooldown"])
				}
				if suffix == "requests" && spec["resourceLabel"] != "app/products/0123456789abcdef/targetgroup/products/0123456789abcdef" {
					t.Errorf("requests policy label %v", spec["resourceLabel"])
				}
			}
			if n := len(s.m.ByType(tScalePolicy)); n != 3 {
				t.Errorf("%d scaling policies, want 3", n)
			}
			svc, _ := s.m.Find(tECSService, name)
			if !slices.Contains(svc.IgnoreChanges, "desiredCount") {
				t.Errorf("%s: desiredCount not ignored", name)
			}
			deploy := svc.Plain()["alarms"].(map[string]any)
			names := asList(deploy["alarmNames"])
			if deploy["enable"] != true || deploy["rollback"] != true || len(names) == 0 {
				t.Errorf("%s: deployment alarms %v", name, deploy)
			}
			for _, n := range names {
				if !alarms[str(n)] || !strings.HasPrefix(str(n), s.prefix+"-"+name+"-") {
					t.Errorf("%s: deployment alarm %v is not one of its own alarms", name, n)
				}
			}
		}
	})
}

// The dashboard body is CloudWatch's structure, and every metric it shows exists on the stack.
func TestTheDashboardShowsTheStacksOwnMetrics(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		h := stackHandles(s.m.Resources())
		d := only(t, s.m, tDashboard).Plain()
		var body struct {
			Widgets []struct {
				Type                string
				X, Y, Width, Height int
				Properties          map[string]any
			}
		}
		dec := json.NewDecoder(strings.NewReader(str(d["dashboardBody"])))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			t.Fatalf("dashboard body: %v", err)
		}
		seen := map[string]bool{}
		for i, w := range body.Widgets {
			if w.X < 0 || w.Width < 1 || w.X+w.Width > 24 || w.Height < 1 || w.Y < 0 {
				t.Errorf("widget %d out of the 24-column grid: %+v", i, w)
			}
			switch w.Type {
			case "text":
				if !strings.Contains(str(w.Properties["markdown"]), "xray:service-map/map?group="+s.prefix) {
					t.Errorf("text widget without the X-Ray service map link: %v", w.Properties["markdown"])
				}
			case "metric":
				if w.Properties["region"] != "us-east-1" {
					t.Errorf("widget %d region %v", i, w.Properties["region"])
				}
				for _, m := range asList(w.Properties["metrics"]) {
					ref := asList(m)
					if len(ref) > 0 {
						if _, opts := ref[len(ref)-1].(map[string]any); opts {
							ref = ref[:len(ref)-1]
						}
					}
					if len(ref) < 2 || len(ref)%2 != 0 {
						t.Errorf("widget %d: metric %v is not [namespace, name, dimension, value, ...]", i, m)
						continue
					}
					dims := map[string]string{}
					for j := 2; j < len(ref); j += 2 {
						dims[str(ref[j])] = str(ref[j+1])
					}
					if p := h.metricProblem(str(ref[0]), str(ref[1]), dims); p != "" {
						t.Errorf("widget %d: %s", i, p)
					}
					seen[str(ref[1])] = true
				}
			default:
				t.Errorf("widget %d: type %q", i, w.Type)
			}
		}
		for _, want := range []string{"RequestCount", "HTTPCode_Target_5XX_Count", "TargetResponseTime", "CPUUtilization", "MemoryUtilization", "RunningTaskCount", "DatabaseConnections", "FreeStorageSpace"} {
			if !seen[want] {
				t.Errorf("the dashboard does not show %s", want)
			}
		}
		if d["dashboardName"] != s.prefix {
			t.Errorf("dashboard name %v", d["dashboardName"])
		}
	})
}

// Authentication failures of products against the database (its log lines) count toward an
// alarm on the stack's topic (issue 16).
func TestDatabaseAuthenticationFailuresRaiseAnAlarm(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		filter := only(t, s.m, tMetricFilter).Plain()
		// The pattern itself: logfilter_test.go.
		if filter["logGroupName"] != "/meshtrace/"+DefaultEnvironment(s.stack)+"/"+ProductsName {
			t.Errorf("metric filter %v", filter)
		}
		mt := filter["metricTransformation"].(map[string]any)
		alarm, ok := s.m.Find("aws:cloudwatch/metricAlarm:MetricAlarm", s.prefix+"-db-auth-failures")
		if !ok {
			t.Fatal("no alarm on authentication failures")
		}
		in := alarm.Plain()
		if in["metricName"] != mt["name"] || in["namespace"] != mt["namespace"] || in["threshold"] != 1.0 || in["treatMissingData"] != "notBreaching" || len(in["alarmActions"].([]any)) != 1 {
			t.Errorf("alarm %v on %v", in, mt)
		}
	})
}
