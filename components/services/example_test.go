package services_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/components/services"
	"github.com/meshtrace/meshtrace/components/xray"
	"github.com/meshtrace/meshtrace/internal/pulumitest"
)

// inventoryProgram is another team's Pulumi program: its own service on an existing
// cluster and namespace, in the same mesh and tracing as meshtrace, calling a second
// service of its own. This is the README's example; the test below runs it.
func inventoryProgram(ctx *pulumi.Context) error {
	cfg := struct{ cluster, vpc, namespaceArn string }{
		"arn:aws:ecs:eu-west-1:123456789012:cluster/shared", "vpc-0abc", "arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-1",
	}
	subnets := pulumi.ToStringArray([]string{"subnet-a", "subnet-b"})

	m, err := mesh.NewServiceConnect(ctx, "inventory-mesh", &mesh.ServiceConnectArgs{NamespaceArn: pulumi.String(cfg.namespaceArn)})
	if err != nil {
		return err
	}
	tracing, err := xray.NewTracing(ctx, "inventory", &xray.TracingArgs{Mode: xray.ModeADOT})
	if err != nil {
		return err
	}
	stock, err := services.NewService(ctx, "stock", &services.ServiceArgs{
		ClusterArn: pulumi.String(cfg.cluster), VpcId: pulumi.String(cfg.vpc), SubnetIds: subnets,
		Image: pulumi.String("123456789012.dkr.ecr.eu-west-1.amazonaws.com/stock:1.4.0"),
		Mesh:  m, Parts: []services.TaskPart{tracing},
	})
	if err != nil {
		return err
	}
	_, err = services.NewService(ctx, "inventory", &services.ServiceArgs{
		ClusterArn: pulumi.String(cfg.cluster), VpcId: pulumi.String(cfg.vpc), SubnetIds: subnets,
		Build:       &services.ImageBuild{Context: "./inventory"},
		Environment: map[string]pulumi.StringInput{"STOCK_URL": stock.Endpoint},
		Backends:    []*services.Service{stock},
		Mesh:        m, Parts: []services.TaskPart{tracing},
	})
	return err
}

// Example_anotherTeamsService shows how a team adds its own services with the
// Service component (see inventoryProgram).
func Example_anotherTeamsService() {
	pulumi.Run(inventoryProgram)
}

func TestAnotherTeamsServiceDeploysWithTheComponents(t *testing.T) {
	m, err := pulumitest.Run("test", nil, inventoryProgram)
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
