package services_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/components/services"
	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/pulumitest"
)

const logRouterImage = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/fluent-bit:3.0"

// ordersProgram is a team's service with what the args do not cover: a log router sidecar
// from its own registry, ECS Exec and a task-level setting, through the transforms; it
// exports the exposed resources' outputs.
func ordersProgram(transformErr error) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		m, err := mesh.New(ctx, "orders-mesh", &mesh.Args{NamespaceArn: pulumi.String("arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-1")})
		if err != nil {
			return err
		}
		orders, err := services.NewService(ctx, "orders", &services.ServiceArgs{
			ClusterArn: pulumi.String("arn:aws:ecs:eu-west-1:123456789012:cluster/shared"), VpcId: pulumi.String("vpc-0abc"),
			SubnetIds: pulumi.ToStringArray([]string{"subnet-a"}), Mesh: m,
			Image: pulumi.String("123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders:2.0"),
			TransformContainers: func(defs []taskspec.ContainerDefinition) ([]taskspec.ContainerDefinition, error) {
				if transformErr != nil {
					return nil, transformErr
				}
				for i := range defs {
					if defs[i].Name == services.AppContainerName {
						defs[i].Ulimits = []taskspec.Ulimit{{Name: "nofile", SoftLimit: 65536, HardLimit: 65536}}
					}
				}
				return append(defs, taskspec.ContainerDefinition{Name: "log-router", Image: logRouterImage, Essential: taskspec.Bool(true)}), nil
			},
			TransformTaskDefinition: func(td *ecs.TaskDefinitionArgs) { td.Cpu = pulumi.String("1024"); td.Memory = pulumi.String("2048") },
			TransformService:        func(s *ecs.ServiceArgs) { s.EnableExecuteCommand = pulumi.Bool(true) },
		})
		if err != nil {
			return err
		}
		ctx.Export("taskDefinitionRevision", orders.TaskDefinition.Revision)
		ctx.Export("ecsServiceCluster", orders.EcsService.Cluster)
		return nil
	}
}

// A team changes a container definition and a service property the args do not cover; the
// execution role grants the pull of the image the transform added (the seam between the
// containers and the role); the ECS resources are exposed; a transform's error stops the program.
func TestTransformsChangeWhatTheServiceDeclares(t *testing.T) {
	m, err := pulumitest.Run("test", nil, ordersProgram(nil))
	if err != nil {
		t.Fatal(err)
	}
	td, _ := m.Find("aws:ecs/taskDefinition:TaskDefinition", "orders")
	defs := td.Plain()["containerDefinitions"].(string)
	for _, want := range []string{`"name":"log-router","image":"` + logRouterImage, `"ulimits":[{"name":"nofile"`} {
		if !strings.Contains(defs, want) {
			t.Errorf("the task's containers lack %s: %s", want, defs)
		}
	}
	if td.Plain()["cpu"] != "1024" || td.Plain()["memory"] != "2048" {
		t.Errorf("task definition size %v/%v, want the transform's 1024/2048", td.Plain()["cpu"], td.Plain()["memory"])
	}
	svc, _ := m.Find("aws:ecs/service:Service", "orders")
	if svc.Plain()["enableExecuteCommand"] != true {
		t.Errorf("the service transform was not applied: %v", svc.Plain())
	}
	policy, _ := m.Find("aws:iam/rolePolicy:RolePolicy", "orders-execution")
	if doc := policy.Plain()["policy"].(string); !strings.Contains(doc, "repository/mirror/fluent-bit") {
		t.Errorf("the execution role cannot pull the log router's image: %s", doc)
	}

	_, err = pulumitest.Run("test", nil, ordersProgram(errors.New("no log router for this account")))
	if err == nil || !strings.Contains(err.Error(), "TransformContainers: no log router for this account") {
		t.Errorf("a transform's error: %v", err)
	}
}
