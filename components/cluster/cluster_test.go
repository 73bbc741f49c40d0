package cluster

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/pulumitest"
)

func TestServiceConnectDefaultsOnlyWhenAsked(t *testing.T) {
	for _, want := range []bool{false, true} {
		m, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
			_, err := NewCluster(ctx, "c", &ClusterArgs{VpcId: pulumi.String("vpc-1"), NamespaceName: "x.local", ServiceConnectDefaults: want})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := m.Find("aws:ecs/cluster:Cluster", "c")
		d, has := c.Plain()["serviceConnectDefaults"].(map[string]any)
		if has != want || (has && d["namespace"] != "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-c-namespace") {
			t.Errorf("want defaults %v, got %v", want, c.Plain()["serviceConnectDefaults"])
		}
	}
}

func TestClusterRequiresVpcAndNamespace(t *testing.T) {
	_, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		_, err := NewCluster(ctx, "c", &ClusterArgs{})
		return err
	})
	if err == nil {
		t.Error("accepted a cluster without VpcId and NamespaceName")
	}
}
