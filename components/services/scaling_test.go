package services_test

import (
	"slices"
	"testing"
)

// A service declared by another team, with no word about scaling or alarms, gets both:
// a scalable target with CPU tracking, the alarms on its tasks, and a deployment
// configuration that names one of them with rollback on, desiredCount left to autoscaling.
func TestEveryServiceGetsScalingAndAlarmsWithoutExtraCode(t *testing.T) {
	m, err := runInventory(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"stock", "inventory"} {
		target, ok := m.Find("aws:appautoscaling/target:Target", name)
		if !ok {
			t.Fatalf("%s: no scalable target", name)
		}
		in := target.Plain()
		if in["resourceId"] != "service/shared/"+name || in["scalableDimension"] != "ecs:service:DesiredCount" || in["minCapacity"] != 1.0 || in["maxCapacity"] != 2.0 {
			t.Errorf("%s: scalable target %v", name, in)
		}
		cpu, ok := m.Find("aws:appautoscaling/policy:Policy", name+"-cpu")
		if !ok {
			t.Fatalf("%s: no CPU policy", name)
		}
		tt := cpu.Plain()["targetTrackingScalingPolicyConfiguration"].(map[string]any)
		if tt["predefinedMetricSpecification"].(map[string]any)["predefinedMetricType"] != "ECSServiceAverageCPUUtilization" ||
			tt["scaleInCooldown"].(float64) <= tt["scaleOutCooldown"].(float64) {
			t.Errorf("%s: CPU policy %v", name, tt)
		}
		svc, _ := m.Find("aws:ecs/service:Service", name)
		alarms := svc.Plain()["alarms"].(map[string]any)
		names := alarms["alarmNames"].([]any)
		if alarms["enable"] != true || alarms["rollback"] != true || len(names) == 0 {
			t.Errorf("%s: deployment alarms %v", name, alarms)
		}
		for _, n := range names {
			if _, ok := m.Find("aws:cloudwatch/metricAlarm:MetricAlarm", n.(string)); !ok {
				t.Errorf("%s: deployment alarm %v is not declared", name, n)
			}
		}
		if !slices.Contains(svc.IgnoreChanges, "desiredCount") {
			t.Errorf("%s: desiredCount is not ignored on updates", name)
		}
		// Alarm names start with the stack's prefix, <project>-<stack> (naming.StackPrefix).
		if _, ok := m.Find("aws:cloudwatch/metricAlarm:MetricAlarm", "meshtrace-test-"+name+"-running-tasks"); !ok {
			t.Errorf("%s: no running-tasks alarm", name)
		}
	}
	// stock serves in Service Connect: its 5xx there roll its deployments back.
	svc, _ := m.Find("aws:ecs/service:Service", "stock")
	if got := svc.Plain()["alarms"].(map[string]any)["alarmNames"].([]any); !slices.Equal(got, []any{"meshtrace-test-stock-mesh-5xx"}) {
		t.Errorf("stock deployment alarms %v", got)
	}
}
