package mesh

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/pulumitest"
)

func TestServiceConnectJoinDeclaresNoResourcesAndNamesTheAlias(t *testing.T) {
	var endpoint string
	m, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		sc, err := NewServiceConnect(ctx, "mesh", &ServiceConnectArgs{NamespaceArn: pulumi.String("arn:ns")})
		if err != nil {
			return err
		}
		if sc.ProxyIgnoredUID() != "" {
			t.Error("service connect intercepts nothing, yet has an ignored UID")
		}
		ms, err := sc.Join(ctx, Member{Name: "orders", Port: 9000})
		if err != nil {
			return err
		}
		// Exported so that the run waits for the applies.
		ctx.Export("endpoint", ms.Endpoint.ApplyT(func(e string) string { endpoint = e; return e }))
		ctx.Export("task", ms.Task.ApplyT(func(v any) any {
			if p := v.(taskspec.Part); len(p.Sidecars) != 0 || p.ProxyConfiguration != nil {
				t.Errorf("service connect adds to the task: %+v", p)
			}
			return v
		}))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if endpoint != "http://orders:9000" {
		t.Errorf("endpoint %q", endpoint)
	}
	if n := len(m.Resources()); n != 1 {
		t.Errorf("%d resources, want only the component", n)
	}
}

func TestJoinRejectsAMemberWithoutNameOrPort(t *testing.T) {
	_, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		sc, err := NewServiceConnect(ctx, "mesh", &ServiceConnectArgs{NamespaceArn: pulumi.String("arn:ns")})
		if err != nil {
			return err
		}
		_, err = sc.Join(ctx, Member{Name: "orders"})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "Name and Port") {
		t.Errorf("got %v", err)
	}
}

func TestAppMeshJoinDeclaresTheNodeChainUnderTheCaller(t *testing.T) {
	m, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		am, err := NewAppMesh(ctx, "mesh", &AppMeshArgs{NamespaceId: pulumi.String("ns-1"), NamespaceName: "corp.local"})
		if err != nil {
			return err
		}
		var owner struct{ pulumi.ResourceState }
		if err := ctx.RegisterComponentResource("test:index:Owner", "owner", &owner); err != nil {
			return err
		}
		backend, err := am.Join(ctx, Member{Name: "stock", Port: 8080}, pulumi.Parent(&owner))
		if err != nil {
			return err
		}
		_, err = am.Join(ctx, Member{Name: "orders", Port: 8080, Backends: []*Membership{backend}}, pulumi.Parent(&owner))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{
		"aws:servicediscovery/service:Service", "aws:appmesh/virtualNode:VirtualNode", "aws:appmesh/virtualRouter:VirtualRouter",
		"aws:appmesh/route:Route", "aws:appmesh/virtualService:VirtualService",
	} {
		r, ok := m.Find(token, "orders")
		if !ok {
			t.Errorf("no %s for orders", token)
			continue
		}
		if !strings.HasSuffix(r.Parent, "test:index:Owner::owner") {
			t.Errorf("%s parent %s", token, r.Parent)
		}
	}
	vs, _ := m.Find("aws:appmesh/virtualService:VirtualService", "stock")
	if vs.Plain()["name"] != "stock.corp.local" {
		t.Errorf("virtual service name %v", vs.Plain()["name"])
	}
}

func TestEnvoyProxyConfigurationLetsDirectPortsThrough(t *testing.T) {
	pc := EnvoyProxyConfiguration(8080, []int{5432, 6379})
	if pc.Properties["EgressIgnoredPorts"] != "5432,6379" || pc.Properties["IgnoredUID"] != EnvoyUID || pc.Type != "APPMESH" {
		t.Errorf("%+v", pc)
	}
	if _, set := EnvoyProxyConfiguration(8080, nil).Properties["EgressIgnoredPorts"]; set {
		t.Error("EgressIgnoredPorts set without direct ports")
	}
}

func TestEnvoyContainerIsPinnedAndReportsLiveness(t *testing.T) {
	c := EnvoyContainer("arn:node", []taskspec.KeyValuePair{{Name: "ENABLE_ENVOY_XRAY_TRACING", Value: "1"}})
	if c.User != "1337" || !strings.HasSuffix(c.Image, "-prod") || strings.Contains(c.Image, "latest") {
		t.Errorf("envoy %s as %s", c.Image, c.User)
	}
	if c.Environment[0] != (taskspec.KeyValuePair{Name: "APPMESH_RESOURCE_ARN", Value: "arn:node"}) || len(c.Environment) != 2 {
		t.Errorf("env %+v", c.Environment)
	}
	if c.HealthCheck == nil || !strings.Contains(c.HealthCheck.Command[1], "LIVE") {
		t.Errorf("health %+v", c.HealthCheck)
	}
}

func TestNewChoosesTheModeAndRefusesOthers(t *testing.T) {
	kinds := map[string]string{}
	_, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		for _, mode := range []string{"", ModeServiceConnect, ModeAppMesh} {
			m, err := New(ctx, "m"+mode, &Args{Mode: mode, NamespaceArn: pulumi.String("arn"), NamespaceId: pulumi.String("ns-1"), NamespaceName: "x.local"})
			if err != nil {
				return err
			}
			kinds[mode] = fmt.Sprintf("%T", m)
		}
		if _, err := New(ctx, "bad", &Args{Mode: "istio"}); err == nil || !strings.Contains(err.Error(), `"istio"`) {
			t.Errorf("unknown mode: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if kinds[""] != "*mesh.ServiceConnect" || kinds[ModeServiceConnect] != "*mesh.ServiceConnect" || kinds[ModeAppMesh] != "*mesh.AppMesh" {
		t.Errorf("kinds %v", kinds)
	}
	if Discontinued(ModeAppMesh) == "" || Discontinued(ModeServiceConnect) != "" {
		t.Error("Discontinued")
	}
}

// A proxy idle timeout at or above the app's would reuse connections the app has closed.
func TestMeshesRefuseIdleTimeoutsAboveTheApps(t *testing.T) {
	_, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		_, err := NewServiceConnect(ctx, "sc", &ServiceConnectArgs{NamespaceArn: pulumi.String("arn"), IdleTimeoutSeconds: 300})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "below the apps' own idle timeout") {
		t.Errorf("service connect idle 300 s: %v", err)
	}
	_, err = pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		_, err := NewAppMesh(ctx, "am", &AppMeshArgs{NamespaceId: pulumi.String("ns"), NamespaceName: "x.local", IdleTimeoutSeconds: 75})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "IdleTimeoutSeconds") {
		t.Errorf("app mesh idle 75 s: %v", err)
	}
}
