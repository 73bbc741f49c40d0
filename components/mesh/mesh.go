// Package mesh connects services to each other through a service mesh. Two modes sit
// behind one interface:
//
//   - ServiceConnect (ECS Service Connect): deploys on AWS today; ECS injects and runs
//     the proxy, so the task gets no sidecar from the mesh.
//   - AppMesh (AWS App Mesh with an Envoy sidecar per task): the seed system's design,
//     implemented faithfully. AWS discontinued App Mesh on 2026-09-30.
//
// A service joins the mesh and gets back a Membership: the taskspec.Part for its task,
// the settings for its ECS service, and the endpoint its clients call.
package mesh

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/components/taskspec"
)

// Mesh modes, as named in stack config.
const (
	ModeServiceConnect = "serviceconnect"
	ModeAppMesh        = "appmesh"
)

// PortName names the app's port mapping; Service Connect refers to it.
const PortName = "http"

// Args chooses the mesh and says where its services are discovered.
type Args struct {
	// Mode is ModeServiceConnect or ModeAppMesh. Default ModeServiceConnect.
	Mode string
	// NamespaceArn, NamespaceId and NamespaceName are the Cloud Map private DNS
	// namespace of the cluster (cluster.Cluster's outputs). Service Connect needs only
	// NamespaceArn; App Mesh needs only NamespaceId and NamespaceName.
	NamespaceArn  pulumi.StringInput
	NamespaceId   pulumi.StringInput
	NamespaceName string
	// EnvoyImage replaces App Mesh's pinned Envoy image. Default EnvoyImage.
	EnvoyImage string
	// ControlPlaneEndpoint: App Mesh mode declares a VPC endpoint for Envoy's management
	// service there. Default nil: none.
	ControlPlaneEndpoint *ControlPlaneEndpoint
	// MeshName: App Mesh mode joins this existing mesh instead of declaring one
	// (AppMeshArgs.MeshName). Default: a new mesh.
	MeshName pulumi.StringInput
	// Tags are added to every resource.
	Tags pulumi.StringMap
}

// New declares the mesh of the chosen mode. It is the one place that tells the modes
// apart; everything else holds a Mesh.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (Mesh, error) {
	switch args.Mode {
	case "", ModeServiceConnect:
		m, err := NewServiceConnect(ctx, name, &ServiceConnectArgs{NamespaceArn: args.NamespaceArn}, opts...)
		if err != nil {
			return nil, err
		}
		return m, nil
	case ModeAppMesh:
		m, err := NewAppMesh(ctx, name, &AppMeshArgs{NamespaceId: args.NamespaceId, NamespaceName: args.NamespaceName, EnvoyImage: args.EnvoyImage,
			ControlPlaneEndpoint: args.ControlPlaneEndpoint, MeshName: args.MeshName, Tags: args.Tags}, opts...)
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	return nil, fmt.Errorf("mesh %s: Mode %q must be %q or %q", name, args.Mode, ModeServiceConnect, ModeAppMesh)
}

// Discontinued says why a mode can no longer be deployed, or "" when it can.
func Discontinued(mode string) string {
	if mode == ModeAppMesh {
		return "AWS App Mesh was discontinued on 2026-09-30"
	}
	return ""
}

// Mesh is a service mesh that services join.
type Mesh interface {
	// Join declares a service's mesh resources (as children of the resource in opts'
	// Parent) and returns what its task and ECS service need.
	Join(ctx *pulumi.Context, member Member, opts ...pulumi.ResourceOption) (*Membership, error)
	// ProxyIgnoredUID is the UID whose traffic the mesh's proxy lets through untouched,
	// for sidecars that must reach AWS directly; "" when the mesh intercepts nothing.
	ProxyIgnoredUID() string
}

// Member describes a service joining the mesh.
type Member struct {
	// Name is the service's name in the mesh and in service discovery.
	Name string
	// Port is the app's HTTP port.
	Port int
	// HealthCheckPath is the app's health endpoint.
	HealthCheckPath string
	// Backends are the memberships of the services this one calls.
	Backends []*Membership
	// ProxyEnvironment is added to the mesh's proxy sidecar, if it runs one (the parts'
	// taskspec.Part.ProxyEnvironment, e.g. Envoy's X-Ray tracer).
	ProxyEnvironment []taskspec.KeyValuePair
	// ClientOnly joins as a caller only: nothing in the mesh calls this service (e.g. one
	// reached only through its load balancer), so it registers no endpoint. Service Connect
	// then runs no inbound listener for it; App Mesh still declares its virtual service.
	ClientOnly bool
	// DirectEgressPorts are ports the app reaches outside the mesh (e.g. 5432 for
	// PostgreSQL); a mesh that intercepts egress lets them through.
	DirectEgressPorts []int
	// LogGroupName and Region are where mesh-managed proxies write their logs.
	LogGroupName pulumi.StringInput
	Region       string
}

// Membership is what joining the mesh gives a service.
type Membership struct {
	// Name and Port of the member, for its clients.
	Name string
	Port int
	// ClientOnly: the member cannot be called through the mesh (Member.ClientOnly).
	ClientOnly bool
	// Endpoint is the base URL clients in the mesh use, e.g. http://payments:8080; empty
	// for a ClientOnly member of Service Connect.
	Endpoint pulumi.StringOutput
	// Task is the taskspec.Part the mesh adds to the task.
	Task pulumix.Output[taskspec.Part]
	// ServiceConnect is the ECS service's Service Connect configuration, or nil.
	ServiceConnect ecs.ServiceServiceConnectConfigurationPtrInput
	// ServiceRegistries is the ECS service's Cloud Map registration, or nil.
	ServiceRegistries ecs.ServiceServiceRegistriesPtrInput
	// DependsOn lists mesh resources the ECS service must wait for.
	DependsOn []pulumi.Resource
	// ref is the mode's handle for clients (App Mesh: the virtual service name).
	ref pulumi.StringOutput
}

// checkIdleTimeout holds the keep-alive rule of package contract: a proxy's idle timeout
// (seconds) must be positive and below the app's, so the proxy closes idle connections first.
func checkIdleTimeout(seconds int) error {
	app := int(contract.AppIdleTimeout.Seconds())
	if seconds <= 0 || seconds >= app {
		return fmt.Errorf("%d s must be from 1 to %d s, below the apps' own idle timeout (%d s), or the proxy reuses connections the app has closed", seconds, app-1, app)
	}
	return nil
}
