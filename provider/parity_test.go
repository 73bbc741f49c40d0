package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/pulumitest"
)

// What the Go API offers beyond a plain HTTP service reaches the package's Service: HTTPS,
// access logs, autoscaling bounds and behaviour, the alarm topic, the app's health check, an
// init container, secrets, IAM grants on other resources (rds-db:connect) and the family.
func TestServiceHasTheGoAPIsSettings(t *testing.T) {
	m := pulumitest.NewMocks("test")
	s := server(t, m)
	platform, db := urnOf("Stack", "platform"), urnOf("Database", "shopdb")
	in := inventoryInputs("", "", "")
	in["public"], in["publicSubnetIds"] = true, []any{"subnet-pa", "subnet-pb"}
	in["certificateArn"] = output("arn:aws:acm:us-east-1:123456789012:certificate/c-1", platform)
	in["accessLogsBucket"] = "shop-alb-logs"
	in["alarmTopicArn"] = output("arn:aws:sns:us-east-1:123456789012:oncall", platform)
	in["minCount"], in["maxCount"] = 2, output(6, platform)
	in["scaling"] = map[string]any{"cpuPercent": 45, "scaleInCooldown": 600}
	in["appHealthCheck"] = map[string]any{"command": []any{"CMD", "/inventory", "-healthcheck"}, "startPeriod": 20}
	in["init"] = map[string]any{"command": []any{"migrate"}, "environment": map[string]any{"MODE": "up"},
		"secrets": []any{map[string]any{"name": "DB_PASSWORD", "secretArn": output("arn:aws:secretsmanager:us-east-1:123456789012:secret:db", db), "jsonKey": "password"}}}
	in["secrets"] = []any{map[string]any{"name": "API_KEY", "secretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:api"}}
	in["taskRoleGrants"] = []any{map[string]any{"sid": "Db", "actions": []any{"rds-db:connect"},
		"resources": []any{output("arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABC/inventory_app", db)}}}
	in["family"] = "team-inventory"
	out := mustConstruct(t, s, "Service", "inventory", in)

	https := false
	for _, l := range m.ByType("aws:lb/listener:Listener") {
		if l.Plain()["port"] == 443.0 {
			https = l.Plain()["certificateArn"] == "arn:aws:acm:us-east-1:123456789012:certificate/c-1"
			dependsOn(t, l, platform)
		}
	}
	if !https {
		t.Error("no HTTPS listener with the certificate")
	}
	lb := child(t, m, "aws:lb/loadBalancer:LoadBalancer", "inventory", "Service")
	if logs, _ := lb.Plain()["accessLogs"].(map[string]any); logs == nil || logs["bucket"] != "shop-alb-logs" {
		t.Errorf("access logs %v", lb.Plain()["accessLogs"])
	}
	target := child(t, m, "aws:appautoscaling/target:Target", "inventory", "Service")
	if target.Plain()["minCapacity"] != 2.0 || target.Plain()["maxCapacity"] != 6.0 {
		t.Errorf("autoscaling bounds %v", target.Plain())
	}
	dependsOn(t, target, platform)
	cpu := child(t, m, "aws:appautoscaling/policy:Policy", "inventory-cpu", "Service")
	if c := cpu.Plain()["targetTrackingScalingPolicyConfiguration"].(map[string]any); c["targetValue"] != 45.0 || c["scaleInCooldown"] != 600.0 {
		t.Errorf("cpu scaling %v", c)
	}
	alarms := m.ByType("aws:cloudwatch/metricAlarm:MetricAlarm")
	for _, alarm := range alarms {
		if actions, _ := alarm.Plain()["alarmActions"].([]any); !slices.Contains(actions, any("arn:aws:sns:us-east-1:123456789012:oncall")) {
			t.Errorf("alarm %s's actions %v", alarm.Name, alarm.Plain()["alarmActions"])
		}
	}
	if len(alarms) == 0 {
		t.Error("no alarms")
	}
	td := child(t, m, "aws:ecs/taskDefinition:TaskDefinition", "inventory", "Service")
	if td.Plain()["family"] != "team-inventory" {
		t.Errorf("family %v", td.Plain()["family"])
	}
	dependsOn(t, td, db)
	// containerDefinitions is secret here (the image is); read the JSON itself.
	defs := td.Inputs["containerDefinitions"]
	for defs.IsSecret() || defs.IsOutput() {
		if defs.IsSecret() {
			defs = defs.SecretValue().Element
		} else {
			defs = defs.OutputValue().Element
		}
	}
	for _, want := range []string{`"command":["migrate"]`, `{"name":"MODE","value":"up"}`, `"name":"DB_PASSWORD","valueFrom":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db:password::"`,
		`"name":"API_KEY"`, `"healthCheck":{"command":["CMD","/inventory","-healthcheck"]`, `"startPeriod":20`} {
		if !strings.Contains(defs.StringValue(), want) {
			t.Errorf("container definitions lack %s: %s", want, defs.StringValue())
		}
	}
	policy := child(t, m, "aws:iam/rolePolicy:RolePolicy", "inventory-task", "Service")
	dependsOn(t, policy, db)
	if p, _ := policy.Plain()["policy"].(string); !strings.Contains(p, `"Sid":"Db","Effect":"Allow","Action":["rds-db:connect"],"Resource":["arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABC/inventory_app"]`) {
		t.Errorf("task role policy %v", p)
	}
	if _, plain := out["imageUri"].(string); plain || out["imageUri"] == nil {
		t.Errorf("the secret image is not secret in imageUri: %v", out["imageUri"])
	}
	for _, k := range []string{"clusterName", "loadBalancerArnSuffix", "loadBalancerZoneId", "targetGroupArnSuffix", "taskDefinitionArn"} {
		if v, _ := out[k].(string); v == "" {
			t.Errorf("output %s is empty: %v", k, out)
		}
	}
	if names, _ := out["deploymentAlarmNames"].([]any); len(names) == 0 {
		t.Errorf("no deployment alarm names: %v", out["deploymentAlarmNames"])
	}

	// The init container as one output (its secrets a list of records inside it).
	in["init"] = output(map[string]any{"command": []any{"migrate"}, "secrets": []any{
		map[string]any{"name": "DB_PASSWORD", "secretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db2"}}}, platform)
	mustConstruct(t, s, "Service", "other", in)
	other := child(t, m, "aws:ecs/taskDefinition:TaskDefinition", "other", "Service")
	dependsOn(t, other, platform)
	if defs := other.Inputs["containerDefinitions"].String(); !strings.Contains(defs, "secret:db2") {
		t.Errorf("the init container's secret, in one output, is not in the task: %s", defs)
	}
}
