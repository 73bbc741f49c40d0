package platform

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/components/services"
	"github.com/meshtrace/meshtrace/components/xray"
)

// Platform is a platform stack as a program in another stack uses it: its references, the
// mesh its services join and the tracing they get.
type Platform struct {
	// Ref is what the stack exported.
	Ref Ref
	// Mesh joins the platform's mesh (a component of this program; it declares nothing).
	Mesh mesh.Mesh
	// Tracing traces this program's services as the platform's are: same mode, sampling and
	// sidecar images; each service's sampling rule is named after this program's stack
	// (<project>-<stack>-<Import's name>-<service>, xray.NewTracing). It declares no X-Ray
	// group: the platform's shows the traces through its services.
	Tracing *xray.Tracing

	name     string
	backends map[string]*services.Service
}

// Import reads the references the platform stack behind stack exported (Export) and
// declares, as name, the mesh and the tracing of this program's services. It fails, naming
// the output, when the stack has not exported one (not deployed yet, or older than the
// references).
func Import(ctx *pulumi.Context, name string, stack *pulumi.StackReference) (*Platform, error) {
	var ref Ref
	for output, into := range map[string]any{
		NetworkOutput: &ref.Network, ClusterOutput: &ref.Cluster, MeshOutput: &ref.Mesh, TracingOutput: &ref.Tracing, ServicesOutput: &ref.Services,
	} {
		// The values decide what is declared and how it is named: read them now. A
		// StackReference's outputs are known in a preview too (the other stack's state).
		details, err := stack.GetOutputDetails(output)
		if err != nil {
			return nil, fmt.Errorf("platform %s: output %s: %w", name, output, err)
		}
		value := details.Value
		if value == nil {
			value = details.SecretValue
		}
		if value == nil {
			return nil, fmt.Errorf("platform %s: the stack exports no %q: deploy the platform stack with references (platform.Export) first", name, output)
		}
		raw, err := json.Marshal(value)
		if err == nil {
			err = json.Unmarshal(raw, into)
		}
		if err != nil {
			return nil, fmt.Errorf("platform %s: output %s: %w", name, output, err)
		}
	}
	meshArgs := &mesh.Args{
		Mode:          ref.Mesh.Mode,
		NamespaceArn:  pulumi.String(ref.Mesh.NamespaceArn),
		NamespaceId:   pulumi.String(ref.Cluster.NamespaceId),
		NamespaceName: ref.Cluster.NamespaceName,
	}
	if ref.Mesh.Mode == mesh.ModeAppMesh {
		if ref.Mesh.MeshName == "" {
			return nil, fmt.Errorf("platform %s: the App Mesh reference names no mesh", name)
		}
		meshArgs.MeshName = pulumi.String(ref.Mesh.MeshName) // join it, declare none
	}
	m, err := mesh.New(ctx, name, meshArgs)
	if err != nil {
		return nil, err
	}
	t := ref.Tracing
	tracing, err := xray.NewTracing(ctx, name, &xray.TracingArgs{
		Mode: t.Mode, SamplingFixedRate: &t.SamplingFixedRate, SamplingReservoir: &t.SamplingReservoir,
		DaemonImage: t.DaemonImage, CollectorImage: t.CollectorImage,
	})
	if err != nil {
		return nil, err
	}
	return &Platform{Ref: ref, Mesh: m, Tracing: tracing, name: name, backends: map[string]*services.Service{}}, nil
}

// ServiceArgs are the arguments every service on the platform starts from: the cluster,
// the VPC and its private subnets (public ones for a public load balancer), the mesh, the
// tracing, and the platform's way to AWS (its VPC endpoints and image cache, if any). Add the
// service's own (Image or Build, Environment, Backends, ...).
func (p *Platform) ServiceArgs() *services.ServiceArgs {
	n := p.Ref.Network
	args := &services.ServiceArgs{
		ClusterArn:      pulumi.String(p.Ref.Cluster.Arn),
		VpcId:           pulumi.String(n.VpcId),
		SubnetIds:       pulumi.ToStringArray(n.PrivateSubnetIds),
		PublicSubnetIds: pulumi.ToStringArray(n.PublicSubnetIds),
		Mesh:            p.Mesh,
		Parts:           []services.TaskPart{p.Tracing},
	}
	if n.EndpointSecurityGroupId != "" {
		args.AwsEgress = &services.AwsEgress{SecurityGroupId: pulumi.String(n.EndpointSecurityGroupId), PrefixListId: pulumi.String(n.S3PrefixListId)}
	}
	if n.PublicECRCacheRepositories != "" {
		args.CachedImageRepositories = pulumi.String(n.PublicECRCacheRepositories)
	}
	return args
}

// Backend is the platform's service of that discovery name, to put in ServiceArgs.Backends
// of the services that call it: each caller's security group reaches it on its port, its
// security group admits the caller, and the mesh routes to it. The stand-in is declared
// once, as <Import's name>-<service>.
func (p *Platform) Backend(ctx *pulumi.Context, service string) (*services.Service, error) {
	if b, ok := p.backends[service]; ok {
		return b, nil
	}
	ref, ok := p.Ref.Services[service]
	if !ok {
		return nil, fmt.Errorf("platform %s: the stack exports no service %q", p.name, service)
	}
	if ref.Endpoint == "" {
		return nil, fmt.Errorf("platform %s: service %s serves no mesh endpoint (it joined the mesh as a client only)", p.name, service)
	}
	b, err := ref.Backend(ctx, p.name+"-"+service)
	if err != nil {
		return nil, err
	}
	p.backends[service] = b
	return b, nil
}
