package main

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/pulumitest"
	"github.com/meshtrace/meshtrace/stacks"
)

const (
	tIngress = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	tService = "aws:ecs/service:Service"
	tTaskDef = "aws:ecs/taskDefinition:TaskDefinition"
	tNode    = "aws:appmesh/virtualNode:VirtualNode"
)

// run runs the platform program for a stack and modes under the mocks, then this program
// with the platform's exported outputs as its StackReference's value.
func run(t *testing.T, stack string, modes stacks.Modes) (platform, inventory *pulumitest.Mocks, outputs map[string]any) {
	t.Helper()
	outputs, platform, err := pulumitest.StackOutputs(stack, modes.Overrides(), stacks.Run)
	if err != nil {
		t.Fatalf("platform %s: %v", stack, err)
	}
	return platform, runInventory(t, "inventory", "dev", stack, outputs), outputs
}

// runInventory runs this program as project's stack on the platform stack whose exports are
// outputs.
func runInventory(t *testing.T, project, stack, platformStack string, outputs map[string]any) *pulumitest.Mocks {
	t.Helper()
	name := "organization/meshtrace/" + platformStack
	m := pulumitest.NewProjectMocks(project, stack).WithStackOutputs(name, outputs)
	config := map[string]string{"inventory:platformStack": name, "inventory:image": "inventory:1.0.0"}
	if err := pulumitest.RunWith(m, "", config, program); err != nil {
		t.Fatalf("%s/%s on %s: %v", project, stack, platformStack, err)
	}
	return m
}

// Consumers share the platform's account: this program deployed as two stacks, and the same
// program as another team's project, share no account-unique physical name with each other
// or with the platform (each takes its names from its own <project>-<stack>).
func TestConsumersAndThePlatformShareNoPhysicalName(t *testing.T) {
	t.Chdir("../..")
	for _, stack := range []string{"dev", "prod"} {
		for _, modes := range stacks.AllModes() {
			t.Run(stack+"/"+modes.String(), func(t *testing.T) {
				platform, dev, outputs := run(t, stack, modes)
				programs := map[string]*pulumitest.Mocks{
					"platform":          platform,
					"inventory/dev":     dev,
					"inventory/staging": runInventory(t, "inventory", "staging", stack, outputs),
					"orders/dev":        runInventory(t, "orders", "dev", stack, outputs),
				}
				if names, err := dev.PhysicalNames(); err != nil || len(names) < 5 {
					t.Fatalf("inventory's physical names: %v %v", names, err)
				}
				for a, ma := range programs {
					for b, mb := range programs {
						if a >= b {
							continue
						}
						shared, err := pulumitest.SharedPhysicalNames(ma, mb)
						if err != nil {
							t.Fatal(err)
						}
						if len(shared) > 0 {
							t.Errorf("%s and %s both name %v", a, b, shared)
						}
					}
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

func containers(t *testing.T, m *pulumitest.Mocks, taskDef string) map[string]taskspec.ContainerDefinition {
	t.Helper()
	var defs []taskspec.ContainerDefinition
	if err := json.Unmarshal([]byte(find(t, m, tTaskDef, taskDef)["containerDefinitions"].(string)), &defs); err != nil {
		t.Fatal(err)
	}
	out := map[string]taskspec.ContainerDefinition{}
	for _, d := range defs {
		out[d.Name] = d
	}
	return out
}

func env(c taskspec.ContainerDefinition, name string) string {
	for _, kv := range c.Environment {
		if kv.Name == name {
			return kv.Value
		}
	}
	return ""
}

// inventory, on each stack and mode of the platform, calls payments as products does: payments'
// group admits it on payments' port, it calls payments' endpoint, it runs in the platform's
// cluster and subnets, and it is traced as the platform's services are. Every value comes from
// the platform's exports, compared here with what the platform itself declared.
func TestInventoryRunsOnThePlatformFromItsReferences(t *testing.T) {
	t.Chdir("../..") // the platform's project and stack files (this directory holds inventory's project)
	for _, stack := range []string{"dev", "prod"} {
		for _, modes := range stacks.AllModes() {
			t.Run(stack+"/"+modes.String(), func(t *testing.T) {
				platform, inventory, outputs := run(t, stack, modes)
				payments := outputs["services"].(map[string]any)["payments"].(map[string]any)

				// products is the platform's own caller of payments: inventory must be admitted alike.
				products := find(t, platform, tIngress, "products-to-payments-in")
				admit := find(t, inventory, tIngress, "inventory-to-payments-in")
				inventorySvc := find(t, inventory, tService, "inventory")
				inventorySG := inventorySvc["networkConfiguration"].(map[string]any)["securityGroups"].([]any)[0]
				if admit["securityGroupId"] != payments["securityGroupId"] || admit["securityGroupId"] != products["securityGroupId"] ||
					admit["referencedSecurityGroupId"] != inventorySG ||
					admit["fromPort"] != payments["port"] || admit["fromPort"] != products["fromPort"] || admit["toPort"] != products["toPort"] {
					t.Errorf("payments admits inventory by %v; payments exports %v, admits products by %v", admit, payments, products)
				}
				if out := find(t, inventory, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "inventory-to-payments-out"); out["referencedSecurityGroupId"] != payments["securityGroupId"] {
					t.Errorf("inventory may not reach payments: %v", out)
				}

				app := containers(t, inventory, "inventory")["app"]
				productsApp := containers(t, platform, "products")["app"]
				if got := env(app, "PAYMENT_ENDPOINT"); got == "" || got != payments["endpoint"] || got != env(productsApp, "PAYMENT_ENDPOINT") {
					t.Errorf("inventory calls payments at %q; payments exports %v, products calls %q", got, payments["endpoint"], env(productsApp, "PAYMENT_ENDPOINT"))
				}

				paymentsSvc := find(t, platform, tService, "payments")
				if inventorySvc["cluster"] != paymentsSvc["cluster"] || inventorySvc["cluster"] != outputs["cluster"].(map[string]any)["arn"] {
					t.Errorf("inventory runs in cluster %v, payments in %v", inventorySvc["cluster"], paymentsSvc["cluster"])
				}
				subnets := func(s map[string]any) any { return s["networkConfiguration"].(map[string]any)["subnets"] }
				if !reflect.DeepEqual(subnets(inventorySvc), subnets(paymentsSvc)) {
					t.Errorf("inventory runs in subnets %v, payments in %v", subnets(inventorySvc), subnets(paymentsSvc))
				}
				lb := find(t, inventory, "aws:lb/loadBalancer:LoadBalancer", "inventory")
				productsLB := find(t, platform, "aws:lb/loadBalancer:LoadBalancer", "products")
				if !reflect.DeepEqual(lb["subnets"], productsLB["subnets"]) {
					t.Errorf("inventory's load balancer is in %v, products' in %v", lb["subnets"], productsLB["subnets"])
				}

				// Traced as payments is: the same sidecar (image, from the platform's cache in prod)
				// and the same way of tracing in the app.
				paymentsTask := containers(t, platform, "payments")
				if app, want := env(app, "TRACING"), env(paymentsTask["app"], "TRACING"); app != want {
					t.Errorf("inventory traces with %q, payments with %q", app, want)
				}
				if got, want := containers(t, inventory, "inventory")["xray"].Image, paymentsTask["xray"].Image; got == "" || got != want {
					t.Errorf("inventory's tracing sidecar runs %q, payments' %q", got, want)
				}
				checkOthersRulesStay(t, platform)
				if modes.Mesh == stacks.MeshAppMesh {
					checkJoinsTheAppMesh(t, platform, inventory)
				}
			})
		}
	}
}

// In App Mesh mode inventory joins the platform's mesh (it declares none) and routes to
// payments' virtual service as products does.
func checkJoinsTheAppMesh(t *testing.T, platform, inventory *pulumitest.Mocks) {
	t.Helper()
	if meshes := inventory.ByType("aws:appmesh/mesh:Mesh"); len(meshes) != 0 {
		t.Errorf("inventory declared a mesh of its own: %v", meshes[0].Name)
	}
	node, productsNode := find(t, inventory, tNode, "inventory"), find(t, platform, tNode, "products")
	if node["meshName"] != productsNode["meshName"] {
		t.Errorf("inventory's node is in mesh %v, products' in %v", node["meshName"], productsNode["meshName"])
	}
	backends := func(n map[string]any) any { return n["spec"].(map[string]any)["backends"] }
	if !reflect.DeepEqual(backends(node), backends(productsNode)) {
		t.Errorf("inventory's node routes to %v, products' to %v", backends(node), backends(productsNode))
	}
}

// The rule that admits inventory into payments' group is inventory's stack's resource. The
// platform's next up leaves it alone only if no group of the platform declares its rules
// inline (a group with inline rules is made to hold exactly those; the AWS provider's
// SecurityGroup docs warn against mixing the two, docs/reuse.md).
func checkOthersRulesStay(t *testing.T, platform *pulumitest.Mocks) {
	t.Helper()
	for _, sg := range platform.ByType("aws:ec2/securityGroup:SecurityGroup") {
		if _, in := sg.Plain()["ingress"]; in {
			t.Errorf("security group %s declares inline ingress rules", sg.Name)
		}
		if _, out := sg.Plain()["egress"]; out {
			t.Errorf("security group %s declares inline egress rules", sg.Name)
		}
	}
	if rules := platform.ByType("aws:ec2/securityGroupRule:SecurityGroupRule"); len(rules) > 0 {
		t.Errorf("the platform declares %d aws.ec2.SecurityGroupRule resources, which conflict with aws.vpc rules", len(rules))
	}
}

// docs/reuse.md shows this program's text and the TypeScript one's, word for word.
func TestTheReuseDocShowsTheTestedPrograms(t *testing.T) {
	doc, err := os.ReadFile("../../docs/reuse.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(src), "func program(")
	if start < 0 {
		t.Fatal("main.go has no func program")
	}
	goProgram := string(src[start : start+strings.Index(string(src[start:]), "\n}\n")+3])
	tsProgram, err := os.ReadFile("../ts-inventory/index.ts")
	if err != nil {
		t.Fatal(err)
	}
	for name, program := range map[string]string{"main.go's program": goProgram, "examples/ts-inventory/index.ts": string(tsProgram)} {
		if !strings.Contains(string(doc), "\n"+program+"```") {
			t.Errorf("docs/reuse.md does not show %s; paste:\n%s", name, program)
		}
	}
}
