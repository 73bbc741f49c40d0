package services_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/components/services"
	"github.com/meshtrace/meshtrace/components/xray"
	"github.com/meshtrace/meshtrace/pulumitest"
)

// inventoryProgram is another team's Pulumi program: two services of its own on an existing
// cluster and namespace, in a mesh with tracing, one calling the other. The README shows this
// function's text (a test checks that); the tests below run it under the mocks.
func inventoryProgram(ctx *pulumi.Context) error {
	cluster, vpc := pulumi.String("arn:aws:ecs:eu-west-1:123456789012:cluster/shared"), pulumi.String("vpc-0abc")
	subnets := pulumi.ToStringArray([]string{"subnet-a", "subnet-b"})
	m, err := mesh.New(ctx, "inventory-mesh", &mesh.Args{NamespaceArn: pulumi.String("arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-1")})
	if err != nil {
		return err
	}
	tracing, err := xray.NewTracing(ctx, "inventory", &xray.TracingArgs{Mode: xray.ModeADOT, Services: []string{"stock", "inventory"}})
	if err != nil {
		return err
	}
	stock, err := services.NewService(ctx, "stock", &services.ServiceArgs{
		ClusterArn: cluster, VpcId: vpc, SubnetIds: subnets, Mesh: m, Parts: []services.TaskPart{tracing},
		Image: pulumi.String("123456789012.dkr.ecr.eu-west-1.amazonaws.com/stock:1.4.0"),
	})
	if err != nil {
		return err
	}
	_, err = services.NewService(ctx, "inventory", &services.ServiceArgs{
		ClusterArn: cluster, VpcId: vpc, SubnetIds: subnets, Mesh: m, Parts: []services.TaskPart{tracing},
		Build:       &services.ImageBuild{Context: "./inventory"},               // built and pushed to a new ECR repository
		Environment: map[string]pulumi.StringInput{"STOCK_URL": stock.Endpoint}, // http://stock:8080
		Backends:    []*services.Service{stock},                                 // stock admits inventory, the mesh routes to it
	})
	return err
}

// Example_anotherTeamsService shows how a team adds its own services with the
// Service component (see inventoryProgram).
func Example_anotherTeamsService() {
	pulumi.Run(inventoryProgram)
}

// runInventory runs inventoryProgram under the mocks in a project that has the inventory
// service's sources (its image's tag is their digest).
func runInventory(t *testing.T) (*pulumitest.Mocks, error) {
	t.Helper()
	return pulumitest.RunAt(inventoryRoot(t), "test", nil, inventoryProgram)
}

// inventoryRoot is a project directory with the inventory service's sources.
func inventoryRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "inventory"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "inventory", "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestAnotherTeamsServiceDeploysWithTheComponents(t *testing.T) {
	m, err := runInventory(t)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.ByType("aws:ecs/service:Service")) != 2 || len(m.ByType("awsx:ecr:Image")) != 1 {
		t.Errorf("want two ECS services and one image build")
	}
	td, _ := m.Find("aws:ecs/taskDefinition:TaskDefinition", "inventory")
	defs := td.Plain()["containerDefinitions"].(string)
	for _, want := range []string{`"STOCK_URL","value":"http://stock:8080"`, "aws-otel-collector", `"containerName":"xray","condition":"START"`} {
		if !strings.Contains(defs, want) {
			t.Errorf("inventory task lacks %s: %s", want, defs)
		}
	}
	in, _ := m.Find("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "inventory-to-stock-in")
	if in.Plain()["securityGroupId"] != "stock-id" || in.Plain()["referencedSecurityGroupId"] != "inventory-id" {
		t.Errorf("stock does not admit inventory: %v", in.Plain())
	}
}

// The README's example is this file's inventoryProgram, word for word, and short.
func TestTheReadmeShowsTheTestedExample(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(src), "func inventoryProgram(")
	end := start + strings.Index(string(src[start:]), "\n}\n") + 3
	example := string(src[start:end])
	if lines := strings.Count(example, "\n"); start < 0 || lines >= 30 {
		t.Errorf("the example is %d lines; keep it under 30", lines)
	}
	root, err := pulumitest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), example) {
		t.Errorf("README.md does not show the tested example; paste:\n%s", example)
	}
}
