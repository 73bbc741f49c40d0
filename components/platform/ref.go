// Package platform is what a platform stack shares with programs in other stacks: the
// shapes of its references (Ref: one stack output per shared thing), Export, which declares
// them as stack outputs, and Import, which reads them through a pulumi.StackReference and
// gives a program what services.NewService needs to run a service on the platform.
package platform

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/meshtrace/meshtrace/components/cluster"
	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/components/network"
	"github.com/meshtrace/meshtrace/components/services"
	"github.com/meshtrace/meshtrace/components/xray"
)

// The stack outputs that hold the references, one per shared thing.
const (
	NetworkOutput  = "network"
	ClusterOutput  = "cluster"
	MeshOutput     = "mesh"
	TracingOutput  = "tracing"
	ServicesOutput = "services"
)

// Ref is every reference of a platform stack. Each field is one stack output (the name in
// its tag); the field names within are the tags of each type.
type Ref struct {
	Network NetworkRef `json:"network"`
	Cluster ClusterRef `json:"cluster"`
	Mesh    MeshRef    `json:"mesh"`
	Tracing TracingRef `json:"tracing"`
	// Services are the services' references by discovery name.
	Services map[string]services.ServiceRef `json:"services"`
}

// NetworkRef is the VPC the services run in.
type NetworkRef struct {
	VpcId string `json:"vpcId" pulumi:"vpcId"`
	// PrivateSubnetIds are where tasks run, PublicSubnetIds where public load balancers go.
	PrivateSubnetIds []string `json:"privateSubnetIds" pulumi:"privateSubnetIds"`
	PublicSubnetIds  []string `json:"publicSubnetIds" pulumi:"publicSubnetIds"`
	// EndpointSecurityGroupId and S3PrefixListId are where tasks send their AWS traffic when
	// the VPC has endpoints (services.AwsEgress); "" without.
	EndpointSecurityGroupId string `json:"endpointSecurityGroupId" pulumi:"endpointSecurityGroupId"`
	S3PrefixListId          string `json:"s3PrefixListId" pulumi:"s3PrefixListId"`
	// PublicECRCacheRepositories is the pull-through cache the tracing sidecar images come
	// from (services.ServiceArgs.CachedImageRepositories); "" without one.
	PublicECRCacheRepositories string `json:"publicEcrCacheRepositories" pulumi:"publicEcrCacheRepositories"`
}

// ClusterRef is the ECS cluster and its Cloud Map namespace.
type ClusterRef struct {
	Arn           string `json:"arn" pulumi:"arn"`
	Name          string `json:"name" pulumi:"name"`
	NamespaceArn  string `json:"namespaceArn" pulumi:"namespaceArn"`
	NamespaceId   string `json:"namespaceId" pulumi:"namespaceId"`
	NamespaceName string `json:"namespaceName" pulumi:"namespaceName"`
}

// MeshRef is the mesh and what a member needs to join it.
type MeshRef struct {
	// Mode is mesh.ModeServiceConnect or mesh.ModeAppMesh.
	Mode string `json:"mode" pulumi:"mode"`
	// NamespaceArn is the namespace Service Connect members join; "" in App Mesh mode.
	NamespaceArn string `json:"namespaceArn" pulumi:"namespaceArn"`
	// MeshName is the App Mesh mesh members join (discovered in the cluster's namespace);
	// "" in Service Connect mode.
	MeshName string `json:"meshName" pulumi:"meshName"`
}

// TracingRef is the tracing: what a service needs to be traced as the platform's are.
type TracingRef struct {
	// Mode is xray.ModeDaemon or xray.ModeADOT.
	Mode string `json:"mode" pulumi:"mode"`
	// GroupName is the platform's X-Ray group: it shows the traces through the platform's
	// services, a caller's calls into them included.
	GroupName         string  `json:"groupName" pulumi:"groupName"`
	SamplingFixedRate float64 `json:"samplingFixedRate" pulumi:"samplingFixedRate"`
	SamplingReservoir int     `json:"samplingReservoir" pulumi:"samplingReservoir"`
	// DaemonImage and CollectorImage are the sidecar images the platform runs.
	DaemonImage    string `json:"daemonImage" pulumi:"daemonImage"`
	CollectorImage string `json:"collectorImage" pulumi:"collectorImage"`
}

// Shared is what a platform stack declared and shares.
type Shared struct {
	Network  *network.Network
	Cluster  *cluster.Cluster
	Mesh     mesh.Mesh
	Tracing  *xray.Tracing // after DeclareGroup: its group is part of the reference
	Services []*services.Service
}

// Export declares the references of what s holds as the stack outputs Import reads.
func Export(ctx *pulumi.Context, s Shared) error {
	meshRef, err := meshRefOf(s.Mesh)
	if err != nil {
		return err
	}
	n := s.Network
	ctx.Export(NetworkOutput, pulumix.Apply(pulumi.All(n.VpcId, n.PrivateSubnetIds, n.PublicSubnetIds, n.EndpointSecurityGroupId, n.S3PrefixListId, n.PublicECRCacheRepositories),
		func(v []any) NetworkRef {
			return NetworkRef{
				VpcId: v[0].(string), PrivateSubnetIds: v[1].([]string), PublicSubnetIds: v[2].([]string),
				EndpointSecurityGroupId: v[3].(string), S3PrefixListId: v[4].(string), PublicECRCacheRepositories: v[5].(string),
			}
		}))
	c := s.Cluster
	ctx.Export(ClusterOutput, pulumix.Apply(pulumi.All(c.ClusterArn, c.ClusterName, c.NamespaceArn, c.NamespaceId, c.NamespaceName),
		func(v []any) ClusterRef {
			return ClusterRef{Arn: v[0].(string), Name: v[1].(string), NamespaceArn: v[2].(string), NamespaceId: v[3].(string), NamespaceName: v[4].(string)}
		}))
	ctx.Export(MeshOutput, meshRef)
	settings := s.Tracing.Settings()
	ctx.Export(TracingOutput, pulumix.Apply(s.Tracing.GroupName, func(group string) TracingRef {
		return TracingRef{
			Mode: settings.Mode, GroupName: group, SamplingFixedRate: *settings.SamplingFixedRate, SamplingReservoir: *settings.SamplingReservoir,
			DaemonImage: settings.DaemonImage, CollectorImage: settings.CollectorImage,
		}
	}))
	var refs []any
	for _, svc := range s.Services {
		refs = append(refs, svc.Ref())
	}
	ctx.Export(ServicesOutput, pulumix.Apply(pulumi.All(refs...), func(v []any) map[string]services.ServiceRef {
		out := map[string]services.ServiceRef{}
		for _, r := range v {
			out[r.(services.ServiceRef).DiscoveryName] = r.(services.ServiceRef)
		}
		return out
	}))
	return nil
}

// meshRefOf is the reference of a mesh of either mode.
func meshRefOf(m mesh.Mesh) (pulumix.Output[MeshRef], error) {
	switch m := m.(type) {
	case *mesh.ServiceConnect:
		return pulumix.Apply(m.NamespaceArn, func(arn string) MeshRef {
			return MeshRef{Mode: mesh.ModeServiceConnect, NamespaceArn: arn}
		}), nil
	case *mesh.AppMesh:
		return pulumix.Apply(m.MeshName, func(name string) MeshRef {
			return MeshRef{Mode: mesh.ModeAppMesh, MeshName: name}
		}), nil
	}
	return pulumix.Output[MeshRef]{}, fmt.Errorf("platform: a %T mesh has no reference", m)
}
