package main

import (
	"strings"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/meshtrace/meshtrace/pulumitest"
)

// construct constructs one of the package's components in process, as the engine does
// for a program in another language, and returns its outputs.
func construct(t *testing.T, s integration.Server, component, name string, inputs map[string]any) (map[string]any, error) {
	t.Helper()
	state, err := constructState(t, s, component, name, inputs, false)
	if err != nil {
		return nil, err
	}
	return state.Mappable(), nil
}

// constructState constructs as construct does, in a preview when dryRun, and returns the
// outputs as property values (unknowns, secrets and dependencies kept). inputs' values may
// be property values: outputs with dependencies, secrets, unknowns.
func constructState(t *testing.T, s integration.Server, component, name string, inputs map[string]any, dryRun bool) (presource.PropertyMap, error) {
	t.Helper()
	typ := tokens.Type(Name + ":index:" + component)
	resp, err := s.Construct(p.ConstructRequest{
		Urn:    presource.NewURN("test", pulumitest.Project, "", typ, name),
		Inputs: presource.FromResourcePropertyMap(presource.NewPropertyMapFromMap(inputs)),
		DryRun: dryRun,
	})
	if err != nil {
		return nil, err
	}
	return presource.ToResourcePropertyMap(resp.State), nil
}

func mustConstruct(t *testing.T, s integration.Server, component, name string, inputs map[string]any) map[string]any {
	t.Helper()
	out, err := construct(t, s, component, name, inputs)
	if err != nil {
		t.Fatalf("%s %s: %v", component, name, err)
	}
	return out
}

// child finds a resource the construct declared, and checks it sits under the package's component.
func child(t *testing.T, m *pulumitest.Mocks, typ, name, component string) pulumitest.Resource {
	t.Helper()
	r, ok := m.Find(typ, name)
	if !ok {
		t.Fatalf("no %s %s", typ, name)
	}
	if !strings.Contains(r.URN, "meshtrace:index:"+component+"$") {
		t.Errorf("%s %s is not under the %s component: %s", typ, name, component, r.URN)
	}
	return r
}

func TestNetworkClusterAndDatabase(t *testing.T) {
	m := pulumitest.NewMocks("test")
	s := server(t, m)

	net := mustConstruct(t, s, "Network", "shop", map[string]any{"natGateways": "single", "tags": map[string]any{"team": "shop"}})
	vpc := child(t, m, "awsx:ec2:Vpc", "shop", "Network")
	if vpc.Plain()["natGateways"].(map[string]any)["strategy"] != "Single" || vpc.Plain()["tags"].(map[string]any)["team"] != "shop" {
		t.Errorf("vpc inputs %v", vpc.Plain())
	}
	if _, ok := net["vpcId"].(string); !ok {
		t.Errorf("network outputs %v", net)
	}

	cl := mustConstruct(t, s, "Cluster", "shop", map[string]any{"vpcId": "vpc-1", "namespaceName": "shop.local", "serviceConnectDefaults": true})
	ecs := child(t, m, "aws:ecs/cluster:Cluster", "shop", "Cluster")
	if ecs.Plain()["serviceConnectDefaults"] == nil {
		t.Errorf("cluster without Service Connect defaults: %v", ecs.Plain())
	}
	child(t, m, "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace", "shop-namespace", "Cluster")
	for _, k := range []string{"clusterArn", "clusterName", "namespaceId", "namespaceArn", "namespaceName"} {
		if v, _ := cl[k].(string); v == "" {
			t.Errorf("cluster output %s empty: %v", k, cl)
		}
	}

	db := mustConstruct(t, s, "Database", "shopdb", map[string]any{
		"vpcId": "vpc-1", "subnetIds": []any{"subnet-a", "subnet-b"}, "instanceClass": "db.t4g.micro",
		"allowedSecurityGroupIds": []any{"sg-ops"},
	})
	inst := child(t, m, "aws:rds/instance:Instance", "shopdb", "Database")
	if inst.Plain()["instanceClass"] != "db.t4g.micro" || inst.Plain()["storageEncrypted"] != true {
		t.Errorf("instance %v", inst.Plain())
	}
	if db["port"] != 5432.0 || db["clientSecurityGroupId"] == "" {
		t.Errorf("database outputs %v", db)
	}
	ops := 0
	for _, r := range m.ByType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		if r.Plain()["referencedSecurityGroupId"] == "sg-ops" {
			ops++
		}
	}
	if ops != 1 {
		t.Errorf("the allowed security group is admitted by %d rules, want 1", ops)
	}

	if _, err := construct(t, s, "Network", "bad", map[string]any{"natGateways": "none"}); err == nil || !strings.Contains(err.Error(), "NatGateways") {
		t.Errorf("a bad NAT strategy: %v", err)
	}
}

func TestMeshAndTracing(t *testing.T) {
	m := pulumitest.NewMocks("test")
	s := server(t, m)
	sc := mustConstruct(t, s, "Mesh", "shop", map[string]any{"namespaceArn": "arn:ns"})
	if sc["mode"] != "serviceconnect" || sc["namespaceArn"] != "arn:ns" || sc["proxyIgnoredUid"] != "" {
		t.Errorf("service connect outputs %v", sc)
	}
	child(t, m, "meshtrace:mesh:ServiceConnect", "shop", "Mesh")
	am := mustConstruct(t, s, "Mesh", "legacy", map[string]any{"mode": "appmesh", "namespaceArn": "arn:ns", "namespaceId": "ns-1", "namespaceName": "shop.local"})
	if am["proxyIgnoredUid"] != "1337" {
		t.Errorf("app mesh outputs %v", am)
	}
	child(t, m, "aws:appmesh/mesh:Mesh", "legacy", "Mesh")

	tr := mustConstruct(t, s, "Tracing", "shop", map[string]any{"mode": "adot", "samplingFixedRate": 0.5})
	if tr["name"] != "meshtrace-test-shop" || tr["mode"] != "adot" || tr["samplingFixedRate"] != 0.5 || tr["samplingReservoir"] != 1.0 {
		t.Errorf("tracing outputs %v", tr)
	}
	if n := len(m.ByType("aws:xray/group:Group")); n != 0 {
		t.Errorf("a Tracing without services declared %d X-Ray groups", n)
	}
	shop := mustConstruct(t, s, "Tracing", "shop2", map[string]any{"services": []any{"orders", "stock"}})
	group := child(t, m, "aws:xray/group:Group", "meshtrace-test-shop2", "Tracing")
	if group.Plain()["filterExpression"] != `service("orders") OR service("stock")` || shop["groupName"] != "meshtrace-test-shop2" || shop["faultGroupName"] != "meshtrace-test-shop2-faults" {
		t.Errorf("the group of a Tracing with services: %v, outputs %v", group.Plain(), shop)
	}
	if _, err := construct(t, s, "Tracing", "bad", map[string]any{"samplingFixedRate": 2.0}); err == nil || !strings.Contains(err.Error(), "SamplingFixedRate") {
		t.Errorf("a sampling rate above 1: %v", err)
	}
	if _, err := construct(t, s, "Mesh", "bad", map[string]any{"mode": "istio", "namespaceArn": "arn:ns"}); err == nil || !strings.Contains(err.Error(), "istio") {
		t.Errorf("an unknown mesh mode: %v", err)
	}
}

// Another team's two services, each constructed on its own as a program in another language
// does: products calls payments through the mesh, with the records the package defines.
func TestServiceCallsAnotherThroughTheMesh(t *testing.T) {
	m := pulumitest.NewMocks("test")
	s := server(t, m)
	meshRef := map[string]any{"mode": "serviceconnect", "namespaceArn": "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-1"}
	tracing := map[string]any{"name": "shop", "mode": "xray-daemon", "samplingFixedRate": 0.05, "samplingReservoir": 1}
	common := func(image string) map[string]any {
		return map[string]any{
			"clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/shared", "vpcId": "vpc-1",
			"subnetIds": []any{"subnet-a", "subnet-b"}, "image": image, "mesh": meshRef, "tracing": tracing,
		}
	}
	payments := mustConstruct(t, s, "Service", "payments", common("payments:1"))
	if payments["endpoint"] != "http://payments:8080" || payments["port"] != 8080.0 || payments["url"] != "" {
		t.Errorf("payments outputs %v", payments)
	}

	in := common("products:1")
	in["public"], in["publicSubnetIds"], in["clientOnly"] = true, []any{"subnet-pa", "subnet-pb"}, true
	in["environment"] = map[string]any{"PAYMENT_ENDPOINT": payments["endpoint"]}
	in["backends"] = []any{map[string]any{
		"name": "payments", "port": payments["port"], "endpoint": payments["endpoint"], "securityGroupId": payments["securityGroupId"],
	}}
	products := mustConstruct(t, s, "Service", "products", in)
	for _, k := range []string{"url", "loadBalancerArn", "listenerArn", "targetGroupArn", "loadBalancerSecurityGroupId", "taskRoleArn"} {
		if v, _ := products[k].(string); v == "" {
			t.Errorf("products output %s is empty", k)
		}
	}

	rule := child(t, m, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "products-to-payments-in", "Service")
	if rule.Plain()["securityGroupId"] != payments["securityGroupId"] || rule.Plain()["referencedSecurityGroupId"] != products["securityGroupId"] || rule.Plain()["fromPort"] != 8080.0 {
		t.Errorf("payments does not admit products: %v", rule.Plain())
	}
	for name, alias := range map[string]bool{"payments": true, "products": false} {
		svc := child(t, m, "aws:ecs/service:Service", name, "Service")
		sc, _ := svc.Plain()["serviceConnectConfiguration"].(map[string]any)
		if sc == nil || sc["enabled"] != true || (sc["services"] != nil) != alias {
			t.Errorf("%s's Service Connect configuration %v", name, sc)
		}
		rule := child(t, m, "aws:xray/samplingRule:SamplingRule", "shop-"+name, "Service")
		if rule.Plain()["serviceName"] != name || rule.Plain()["fixedRate"] != 0.05 {
			t.Errorf("%s's sampling rule %v", name, rule.Plain())
		}
		td := child(t, m, "aws:ecs/taskDefinition:TaskDefinition", name, "Service")
		if defs := td.Plain()["containerDefinitions"].(string); !strings.Contains(defs, "xray-daemon") {
			t.Errorf("%s's task has no X-Ray daemon: %s", name, defs)
		}
	}
	td, _ := m.Find("aws:ecs/taskDefinition:TaskDefinition", "products")
	if defs := td.Plain()["containerDefinitions"].(string); !strings.Contains(defs, `"PAYMENT_ENDPOINT","value":"http://payments:8080"`) {
		t.Errorf("products does not get payments' endpoint: %s", defs)
	}

	bad := common("x:1")
	bad["mesh"] = map[string]any{"mode": "appmesh", "namespaceArn": "arn:ns"}
	if _, err := construct(t, s, "Service", "legacy", bad); err == nil || !strings.Contains(err.Error(), "discontinued") {
		t.Errorf("joining App Mesh: %v", err)
	}
}
