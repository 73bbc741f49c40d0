package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/pulumitest"
	"github.com/meshtrace/meshtrace/stacks"
)

// tsInventory is another team's TypeScript program on the platform stack (docs/reuse.md).
const tsInventory = "../examples/ts-inventory"

// The TypeScript inventory, run as the example is, reads the platform stack's real exports
// (the platform program run under the mocks for each stack in Service Connect mode, the
// mode the package joins) through a StackReference: payments admits it on payments' port, it
// calls payments' exported endpoint, and it runs in the platform's cluster and subnets, all
// compared with what the platform itself declared.
func TestTypeScriptInventoryUsesThePlatformStacksReferences(t *testing.T) {
	out := compileTypeScript(t, tsInventory)
	for _, stack := range []string{"dev", "prod"} {
		for _, modes := range stacks.AllModes()[:2] { // Service Connect: each tracing mode
			t.Run(stack+"/"+modes.String(), func(t *testing.T) {
				outputs, platform, err := pulumitest.StackOutputs(stack, modes.Overrides(), stacks.Run)
				if err != nil {
					t.Fatal(err)
				}
				name := "organization/meshtrace/" + stack
				config := map[string]any{"platformStack": name, "image": "inventory:1.0.0"}
				m := pulumitest.NewMocks("test")
				// A preview, then an update: a StackReference's outputs are known in both.
				for _, dryRun := range []bool{true, false} {
					if n := runTypeScriptWith(t, out, server(t, m), config, dryRun, map[string]map[string]any{name: outputs}); n != 1 {
						t.Fatalf("dryRun %v: %d components constructed, want 1 (inventory)", dryRun, n)
					}
				}
				payments := outputs["services"].(map[string]any)["payments"].(map[string]any)
				products := find(t, platform, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "products-to-payments-in")
				admit := child(t, m, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "inventory-to-payments-in", "Service").Plain()
				if admit["securityGroupId"] != payments["securityGroupId"] || admit["securityGroupId"] != products["securityGroupId"] ||
					admit["fromPort"] != products["fromPort"] || admit["fromPort"] != payments["port"] {
					t.Errorf("payments admits inventory by %v; it exports %v and admits products by %v", admit, payments, products)
				}
				var defs []taskspec.ContainerDefinition
				td := child(t, m, "aws:ecs/taskDefinition:TaskDefinition", "inventory", "Service").Plain()
				if err := json.Unmarshal([]byte(td["containerDefinitions"].(string)), &defs); err != nil {
					t.Fatal(err)
				}
				want := taskspec.KeyValuePair{Name: "PAYMENT_ENDPOINT", Value: payments["endpoint"].(string)}
				if !strings.HasPrefix(want.Value, "http://") || len(defs) == 0 || !containsPair(defs[0].Environment, want) {
					t.Errorf("inventory's app does not call payments' exported endpoint %q: %+v", want.Value, defs)
				}
				svc := child(t, m, "aws:ecs/service:Service", "inventory", "Service").Plain()
				paymentsSvc := find(t, platform, "aws:ecs/service:Service", "payments")
				net := func(s map[string]any) any { return s["networkConfiguration"].(map[string]any)["subnets"] }
				if svc["cluster"] != paymentsSvc["cluster"] || !reflect.DeepEqual(net(svc), net(paymentsSvc)) {
					t.Errorf("inventory runs in %v %v, payments in %v %v", svc["cluster"], net(svc), paymentsSvc["cluster"], net(paymentsSvc))
				}
				lb := child(t, m, "aws:lb/loadBalancer:LoadBalancer", "inventory", "Service").Plain()
				if !reflect.DeepEqual(lb["subnets"], find(t, platform, "aws:lb/loadBalancer:LoadBalancer", "products")["subnets"]) {
					t.Errorf("inventory's load balancer is in %v", lb["subnets"])
				}
				// Its sampling rule carries the consumer's own <project>-<stack> (the program runs
				// as meshtrace/test): another stack of the consumer gets a rule of its own.
				// (The mocks recorded the preview's and the update's.)
				rules := m.ByType("aws:xray/samplingRule:SamplingRule")
				for _, r := range rules {
					if r.Plain()["ruleName"] != "meshtrace-test-inventory" {
						t.Errorf("inventory's sampling rule %v, want it named meshtrace-test-inventory", r.Plain()["ruleName"])
					}
				}
				if len(rules) == 0 {
					t.Error("inventory declared no sampling rule")
				}
			})
		}
	}
}

func find(t *testing.T, m *pulumitest.Mocks, token, name string) map[string]any {
	t.Helper()
	r, ok := m.Find(token, name)
	if !ok {
		t.Fatalf("no %s named %s", token, name)
	}
	return r.Plain()
}

func containsPair(env []taskspec.KeyValuePair, want taskspec.KeyValuePair) bool {
	for _, kv := range env {
		if kv == want {
			return true
		}
	}
	return false
}

// A backend is named by name or by discoveryName (a service reference's); two different
// names are refused rather than one silently chosen.
func TestABackendIsNamedOnce(t *testing.T) {
	m := pulumitest.NewMocks("test")
	s := server(t, m)
	in := inventoryInputs("", "", "")
	backend := in["backends"].([]any)[0].(map[string]any)
	delete(backend, "name")
	backend["discoveryName"] = "payments"
	mustConstruct(t, s, "Service", "inventory", in)
	child(t, m, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "inventory-to-payments-in", "Service")

	in = inventoryInputs("", "", "")
	in["backends"].([]any)[0].(map[string]any)["discoveryName"] = "pay"
	if _, err := construct(t, s, "Service", "other", in); err == nil || !strings.Contains(err.Error(), `name "payments" and discoveryName "pay" differ`) {
		t.Errorf("two names for one backend: %v", err)
	}
}
