package main

import (
	"slices"
	"strings"
	"testing"

	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/meshtrace/meshtrace/pulumitest"
)

// What a program in another language sends for an input it took from another resource:
// an output value with that resource's URN as dependency (known after it was created or
// when it is a component's constant), secret when the resource's value is, unknown in a
// preview before the resource exists. These are the values @pulumi/pulumi sends for
// `tracing.name` or `payments.securityGroupId` to a component of the package.
func urnOf(component, name string) string {
	return string(presource.NewURN("test", pulumitest.Project, "", tokens.Type(Name+":index:"+component), name))
}

func output(v any, deps ...string) presource.PropertyValue {
	return presource.NewProperty(presource.Output{Element: presource.NewPropertyValue(v), Known: true, Dependencies: urns(deps)})
}

func secretOutput(v any, deps ...string) presource.PropertyValue {
	return presource.NewProperty(presource.Output{Element: presource.NewPropertyValue(v), Known: true, Secret: true, Dependencies: urns(deps)})
}

func unknownOutput(deps ...string) presource.PropertyValue {
	return presource.NewProperty(presource.Output{Element: presource.NewNullProperty(), Dependencies: urns(deps)})
}

func urns(deps []string) []presource.URN {
	out := []presource.URN{}
	for _, d := range deps {
		out = append(out, presource.URN(d))
	}
	return out
}

// dependsOn checks that a child the construct registered depends on each of urns.
func dependsOn(t *testing.T, r pulumitest.Resource, urns ...string) {
	t.Helper()
	for _, u := range urns {
		if !slices.Contains(r.Dependencies, u) {
			t.Errorf("%s %s does not depend on %s: %v", r.Type, r.Name, u, r.Dependencies)
		}
	}
}

// secretAt checks that a child's input at path (keys joined by dots) is secret, as a secret
// value or as a secret output value (what a remote component such as awsx's Vpc gets).
func secretAt(t *testing.T, r pulumitest.Resource, paths ...string) {
	t.Helper()
	for _, path := range paths {
		var v any = r.Plain()
		for _, k := range strings.Split(path, ".") {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if v != pulumitest.Redacted {
			t.Errorf("%s %s: %s is not secret: %v", r.Type, r.Name, path, v)
		}
	}
}

func TestInfrastructureTakesOutputsAndSecrets(t *testing.T) {
	m := pulumitest.NewMocks("test")
	s := server(t, m)
	from := urnOf("Network", "platform")

	mustConstruct(t, s, "Network", "shop", map[string]any{
		"natGateways": output("single", from), "availabilityZones": output(2, from),
		"tags": secretOutput(map[string]any{"team": "shop"}, from),
	})
	vpc := child(t, m, "awsx:ec2:Vpc", "shop", "Network")
	dependsOn(t, vpc, from)
	secretAt(t, vpc, "tags.team")

	mustConstruct(t, s, "Cluster", "shop", map[string]any{
		"vpcId": output("vpc-1", from), "namespaceName": output("shop.local", from),
		"tags": map[string]any{"team": secretOutput("shop")},
	})
	ecs := child(t, m, "aws:ecs/cluster:Cluster", "shop", "Cluster")
	dependsOn(t, ecs, from)
	secretAt(t, ecs, "tags.team")
	dependsOn(t, child(t, m, "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace", "shop-namespace", "Cluster"), from)

	ops := urnOf("Service", "ops")
	mustConstruct(t, s, "Database", "shopdb", map[string]any{
		"vpcId": "vpc-1", "subnetIds": output([]any{"subnet-a", "subnet-b"}, from),
		"instanceClass": output("db.t4g.micro", from), "allowedSecurityGroupIds": output([]any{"sg-ops"}, ops),
	})
	inst := child(t, m, "aws:rds/instance:Instance", "shopdb", "Database")
	dependsOn(t, inst, from)
	if inst.Plain()["instanceClass"] != "db.t4g.micro" {
		t.Errorf("instance class %v", inst.Plain()["instanceClass"])
	}
	admitted := false
	for _, r := range m.ByType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		if r.Plain()["referencedSecurityGroupId"] == "sg-ops" {
			admitted = true
			dependsOn(t, r, ops)
		}
	}
	if !admitted {
		t.Error("the allowed security group, passed as one output, is admitted by no rule")
	}
}

func TestMeshAndTracingTakeOutputs(t *testing.T) {
	m := pulumitest.NewMocks("test")
	s := server(t, m)
	cl := urnOf("Cluster", "shop")
	sc := mustConstruct(t, s, "Mesh", "shop", map[string]any{"mode": output("serviceconnect", cl), "namespaceArn": output("arn:ns", cl)})
	if sc["mode"] != "serviceconnect" {
		t.Errorf("mesh outputs %v", sc)
	}
	dependsOn(t, child(t, m, "meshtrace:mesh:ServiceConnect", "shop", "Mesh"), cl)

	platform := urnOf("Tracing", "platform")
	tr := mustConstruct(t, s, "Tracing", "shop", map[string]any{"mode": output("adot", platform), "samplingFixedRate": output(0.5, platform)})
	if tr["mode"] != "adot" || tr["samplingFixedRate"] != 0.5 {
		t.Errorf("tracing outputs %v", tr)
	}
	dependsOn(t, child(t, m, "meshtrace:xray:Tracing", "shop", "Tracing"), platform)
}

// inventory, as another team's program declares it: everything it knows of payments, the
// mesh and the tracing are their outputs.
func inventoryInputs(tracing, mesh, payments string) map[string]any {
	return map[string]any{
		"clusterArn": output("arn:aws:ecs:us-east-1:123456789012:cluster/shared", mesh),
		"vpcId":      "vpc-1", "subnetIds": []any{"subnet-a", output("subnet-b", mesh)},
		"image": secretOutput("123456789012.dkr.ecr.us-east-1.amazonaws.com/inventory:1"),
		"port":  output(8081, payments),
		"mesh":  map[string]any{"mode": output("serviceconnect", mesh), "namespaceArn": output("arn:ns", mesh)},
		"tracing": map[string]any{
			"name": output("shop", tracing), "mode": output("adot", tracing),
			"samplingFixedRate": output(0.05, tracing), "samplingReservoir": output(1, tracing),
		},
		"environment": map[string]any{"PAYMENT_ENDPOINT": output("http://payments:8080", payments), "TOKEN": secretOutput("s3cr3t")},
		"backends": []any{map[string]any{
			"name": "payments", "port": output(8080, payments), "endpoint": output("http://payments:8080", payments),
			"securityGroupId": secretOutput("sg-payments", payments),
		}},
		"tags": map[string]any{"team": output("inventory", mesh)},
	}
}

func TestServiceTakesOutputsAndSecrets(t *testing.T) {
	m := pulumitest.NewMocks("test")
	s := server(t, m)
	tracing, mesh, payments := urnOf("Tracing", "shop"), urnOf("Mesh", "shop"), urnOf("Service", "payments")
	out := mustConstruct(t, s, "Service", "inventory", inventoryInputs(tracing, mesh, payments))
	if out["port"] != 8081.0 || out["endpoint"] != "http://inventory:8081" {
		t.Errorf("inventory outputs %v", out)
	}

	// A plain value's dependencies reach everything the service declares.
	rule := child(t, m, "aws:xray/samplingRule:SamplingRule", "shop-inventory", "Service")
	dependsOn(t, rule, tracing, payments, mesh)
	if rule.Plain()["fixedRate"] != 0.05 {
		t.Errorf("sampling rule %v", rule.Plain())
	}
	svc := child(t, m, "aws:ecs/service:Service", "inventory", "Service")
	dependsOn(t, svc, tracing, payments, mesh)
	// An Input's dependencies and secretness go through as they came.
	admit := child(t, m, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "inventory-to-payments-in", "Service")
	dependsOn(t, admit, payments)
	secretAt(t, admit, "securityGroupId")
	if admit.Plain()["fromPort"] != 8080.0 {
		t.Errorf("payments admits inventory on %v", admit.Plain()["fromPort"])
	}
	td := child(t, m, "aws:ecs/taskDefinition:TaskDefinition", "inventory", "Service")
	dependsOn(t, td, payments)
	secretAt(t, td, "containerDefinitions") // the image and TOKEN are secret
	if ecsCluster, _ := svc.Plain()["cluster"].(string); ecsCluster != "arn:aws:ecs:us-east-1:123456789012:cluster/shared" {
		t.Errorf("service cluster %v", svc.Plain()["cluster"])
	}
	for _, r := range m.Resources() {
		if tags, _ := r.Plain()["tags"].(map[string]any); r.Custom && tags != nil && tags["team"] != "inventory" {
			t.Errorf("%s %s tags %v", r.Type, r.Name, tags)
		}
	}
}

// A program may pass a record, a map or a list as one output (another stack's output, an
// apply): each is read as well, keeping its dependencies and secretness.
func TestServiceTakesRecordsAsOneOutput(t *testing.T) {
	m := pulumitest.NewMocks("test")
	s := server(t, m)
	platform := urnOf("Stack", "platform")
	in := inventoryInputs(platform, platform, platform)
	in["tracing"] = output(map[string]any{"name": "shop", "mode": "xray-daemon", "samplingFixedRate": 0.1, "samplingReservoir": 2}, platform)
	in["mesh"] = output(map[string]any{"namespaceArn": "arn:ns"}, platform)
	in["backends"] = []any{output(map[string]any{"name": "payments", "endpoint": "http://payments:8080", "securityGroupId": "sg-payments"}, platform)}
	in["environment"] = secretOutput(map[string]any{"PAYMENT_ENDPOINT": "http://payments:8080"}, platform)
	in["securityGroupIds"] = output([]any{"sg-db-client"}, platform)
	mustConstruct(t, s, "Service", "inventory", in)

	// Lists of records as one output each.
	lists := inventoryInputs(platform, platform, platform)
	lists["backends"] = output([]any{map[string]any{"name": "payments", "port": 8443, "endpoint": "http://payments:8443", "securityGroupId": "sg-payments"}}, platform)
	lists["taskRoleGrants"] = output([]any{map[string]any{"actions": []any{"s3:GetObject"}, "resources": []any{"arn:aws:s3:::shop/*"}}}, platform)
	lists["secrets"] = output([]any{map[string]any{"name": "API_KEY", "secretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:api"}}, platform)
	mustConstruct(t, s, "Service", "lists", lists)
	listsAdmit := child(t, m, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "lists-to-payments-in", "Service")
	if listsAdmit.Plain()["fromPort"] != 8443.0 || listsAdmit.Plain()["securityGroupId"] != "sg-payments" {
		t.Errorf("payments, in a list passed as one output, admits lists by %v", listsAdmit.Plain())
	}
	dependsOn(t, listsAdmit, platform)
	if policy, _ := child(t, m, "aws:iam/rolePolicy:RolePolicy", "lists-task", "Service").Plain()["policy"].(string); !strings.Contains(policy, `"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::shop/*"]`) {
		t.Errorf("the grants passed as one output are not in the task role's policy: %s", policy)
	}
	if defs := child(t, m, "aws:ecs/taskDefinition:TaskDefinition", "lists", "Service").Inputs["containerDefinitions"].String(); !strings.Contains(defs, "secret:api") {
		t.Errorf("the secrets passed as one output are not in the task: %s", defs)
	}

	rule := child(t, m, "aws:xray/samplingRule:SamplingRule", "shop-inventory", "Service")
	dependsOn(t, rule, platform)
	if rule.Plain()["fixedRate"] != 0.1 || rule.Plain()["reservoirSize"] != 2.0 {
		t.Errorf("sampling rule %v", rule.Plain())
	}
	admit := child(t, m, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "inventory-to-payments-in", "Service")
	if admit.Plain()["securityGroupId"] != "sg-payments" || admit.Plain()["fromPort"] != 8080.0 {
		t.Errorf("payments (one output, default port) admits inventory by %v", admit.Plain())
	}
	svc := child(t, m, "aws:ecs/service:Service", "inventory", "Service")
	groups, _ := svc.Plain()["networkConfiguration"].(map[string]any)["securityGroups"].([]any)
	if !slices.Contains(groups, any("sg-db-client")) {
		t.Errorf("the service's security groups %v lack the one passed as one output", groups)
	}
	td := child(t, m, "aws:ecs/taskDefinition:TaskDefinition", "inventory", "Service")
	secretAt(t, td, "containerDefinitions")
}

// Where a value names resources or shapes them, a secret cannot stay secret: refused, naming
// the input.
func TestServiceRefusesSecretsWhereTheyCannotStaySecret(t *testing.T) {
	s := server(t, pulumitest.NewMocks("test"))
	in := inventoryInputs("", "", "")
	in["port"] = secretOutput(8081)
	in["tracing"].(map[string]any)["name"] = secretOutput("shop")
	_, err := construct(t, s, "Service", "inventory", in)
	if err == nil || !strings.Contains(err.Error(), "port, tracing.name must not be secret") {
		t.Errorf("a secret port and tracing name: %v", err)
	}
}

// In a preview, an input whose source does not exist yet is unknown. Passed through, it stays
// unknown in the children; where a plain value is needed, the component declares nothing in
// this preview and its outputs are unknown (the update knows the value).
func TestServiceInAPreviewWithUnknowns(t *testing.T) {
	m := pulumitest.NewMocks("test")
	s := server(t, m)
	payments := urnOf("Service", "payments")
	in := inventoryInputs("", "", payments)
	in["backends"].([]any)[0].(map[string]any)["securityGroupId"] = unknownOutput(payments)
	in["clusterArn"] = unknownOutput()
	if _, err := constructState(t, s, "Service", "inventory", in, true); err != nil {
		t.Fatal(err)
	}
	admit := child(t, m, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "inventory-to-payments-in", "Service")
	dependsOn(t, admit, payments)
	if admit.Plain()["securityGroupId"] != pulumitest.Unknown {
		t.Errorf("payments' unknown security group is %v in the rule", admit.Plain()["securityGroupId"])
	}
	if svc := child(t, m, "aws:ecs/service:Service", "inventory", "Service"); svc.Plain()["cluster"] != pulumitest.Unknown {
		t.Errorf("the unknown cluster is %v in the service", svc.Plain()["cluster"])
	}

	in = inventoryInputs("", "", payments)
	in["port"] = unknownOutput(payments)
	state, err := constructState(t, s, "Service", "later", in, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m.Resources() {
		if strings.Contains(r.URN, "::later") && r.Type != Name+":index:Service" {
			t.Errorf("with an unknown port the preview declared %s %s", r.Type, r.Name)
		}
	}
	for _, k := range []string{"endpoint", "port", "securityGroupId", "taskDefinitionArn"} {
		if v := state[presource.PropertyKey(k)]; !v.ContainsUnknowns() {
			t.Errorf("output %s is %v in a preview that declared nothing", k, v)
		}
	}
}
