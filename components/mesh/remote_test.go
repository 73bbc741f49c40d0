package mesh

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/pulumitest"
)

// A caller in this program reaches a member that joined App Mesh elsewhere through the
// virtual service named by the member's endpoint.
func TestRemoteMemberIsABackendLikeALocalOne(t *testing.T) {
	m, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		am, err := NewAppMesh(ctx, "mesh", &AppMeshArgs{NamespaceId: pulumi.String("ns-1"), NamespaceName: "corp.local"})
		if err != nil {
			return err
		}
		stock, err := Remote("stock", 8080, pulumi.String("http://stock.corp.local:8080"))
		if err != nil {
			return err
		}
		if stock.Name != "stock" || stock.Port != 8080 || stock.ClientOnly {
			t.Errorf("remote membership %+v", stock)
		}
		_, err = am.Join(ctx, Member{Name: "orders", Port: 8080, Backends: []*Membership{stock}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	node, _ := m.Find("aws:appmesh/virtualNode:VirtualNode", "orders")
	backends := node.Plain()["spec"].(map[string]any)["backends"].([]any)
	got := backends[0].(map[string]any)["virtualService"].(map[string]any)["virtualServiceName"]
	if len(backends) != 1 || got != "stock.corp.local" {
		t.Errorf("orders' backends %v", backends)
	}
	if _, declared := m.Find("aws:appmesh/virtualNode:VirtualNode", "stock"); declared {
		t.Error("a remote member declared a virtual node")
	}
}

func TestRemoteRefusesWhatNoCallerCouldReach(t *testing.T) {
	for _, c := range []struct {
		name string
		port int
		ep   pulumi.StringInput
	}{{"", 8080, pulumi.String("http://a:8080")}, {"a", 0, pulumi.String("http://a:8080")}, {"a", 8080, nil}} {
		if _, err := Remote(c.name, c.port, c.ep); err == nil || !strings.Contains(err.Error(), "needs a name") {
			t.Errorf("%+v: %v", c, err)
		}
	}
	_, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		am, err := NewAppMesh(ctx, "mesh", &AppMeshArgs{NamespaceId: pulumi.String("ns-1"), NamespaceName: "corp.local"})
		if err != nil {
			return err
		}
		bad, err := Remote("stock", 8080, pulumi.String("stock:8080"))
		if err != nil {
			return err
		}
		_, err = am.Join(ctx, Member{Name: "orders", Port: 8080, Backends: []*Membership{bad}})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "is not http://") {
		t.Errorf("an endpoint without scheme: %v", err)
	}
}
