package services

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/pulumitest"
)

// A service calls a backend declared in another program as it calls one declared here:
// the backend's group admits it and the mesh routes to the backend's virtual service.
func TestARemoteBackendIsAdmittedAndRouted(t *testing.T) {
	m, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		am, err := mesh.NewAppMesh(ctx, "mesh", &mesh.AppMeshArgs{NamespaceId: pulumi.String("ns-1"), NamespaceName: "corp.local"})
		if err != nil {
			return err
		}
		stock, err := NewRemoteBackend(ctx, "orders-calls-stock", &RemoteBackendArgs{
			Name: "stock", Port: 9000, Endpoint: pulumi.String("http://stock.corp.local:9000"), SecurityGroupId: pulumi.String("sg-stock"),
		})
		if err != nil {
			return err
		}
		_, err = NewService(ctx, "orders", &ServiceArgs{
			ClusterArn: pulumi.String("arn:aws:ecs:eu-west-1:123456789012:cluster/c"), VpcId: pulumi.String("vpc-1"),
			SubnetIds: pulumi.StringArray{pulumi.String("subnet-1")}, Image: pulumi.String("orders:1"),
			Mesh: am, Backends: []*Service{stock},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	in, ok := m.Find("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "orders-to-stock-in")
	if !ok || in.Plain()["securityGroupId"] != "sg-stock" || in.Plain()["fromPort"] != 9000.0 {
		t.Errorf("stock does not admit orders: %v", in.Plain())
	}
	node, _ := m.Find("aws:appmesh/virtualNode:VirtualNode", "orders")
	if !strings.Contains(strings.ReplaceAll(toJSON(t, node.Plain()["spec"]), " ", ""), `"virtualServiceName":"stock.corp.local"`) {
		t.Errorf("orders' node does not route to stock: %v", node.Plain()["spec"])
	}
	if len(m.ByType("aws:ecs/service:Service")) != 1 {
		t.Error("the remote backend declared an ECS service")
	}
}

func TestARemoteBackendNeedsWhatCallersUse(t *testing.T) {
	_, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		_, err := NewRemoteBackend(ctx, "b", &RemoteBackendArgs{Name: "stock", Port: 9000, Endpoint: pulumi.String("http://stock:9000")})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "SecurityGroupId is required") {
		t.Errorf("without a security group: %v", err)
	}
	_, err = pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		_, err := NewRemoteBackend(ctx, "b", &RemoteBackendArgs{Name: "stock", SecurityGroupId: pulumi.String("sg"), Endpoint: pulumi.String("http://stock:9000")})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "needs a name, a TCP port") {
		t.Errorf("without a port: %v", err)
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
