package mesh

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appmesh"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/servicediscovery"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/components/taskspec"
)

// AppMeshArgs configures an AppMesh.
type AppMeshArgs struct {
	// NamespaceId and NamespaceName are the Cloud Map private DNS namespace that
	// virtual nodes discover tasks in. Required.
	NamespaceId   pulumi.StringInput
	NamespaceName string
	// MaxRetries and PerRetryTimeoutMs make each route retry 5xx and connection errors.
	// Defaults 2 and 2000.
	MaxRetries        int
	PerRetryTimeoutMs int
	// PerRequestTimeoutSeconds bounds one request on a route. Default 15.
	PerRequestTimeoutSeconds int
	// EnvoyImage replaces the pinned Envoy image (EnvoyImage), e.g. a digest-pinned copy in
	// your own registry. Default EnvoyImage.
	EnvoyImage string
	// IdleTimeoutSeconds closes idle connections, on the route (caller's Envoy) and on the
	// listener (the member's Envoy to its app); it must stay below the apps' own idle timeout
	// (contract.AppIdleTimeout). Default contract.ProxyIdleTimeout (App Mesh's own default,
	// 300 s, would reuse connections the app has already closed).
	IdleTimeoutSeconds int
	// ControlPlaneEndpoint declares an interface endpoint for App Mesh's Envoy management
	// service, so that Envoy gets its configuration without egress to the internet. Default
	// nil: Envoy reaches App Mesh through NAT.
	ControlPlaneEndpoint *ControlPlaneEndpoint
	// MeshName joins an existing mesh (another stack's: platform.MeshRef): the component
	// declares no mesh, nor ControlPlaneEndpoint (the mesh's owner did). Default: a new mesh,
	// named after the component.
	MeshName pulumi.StringInput
	// Tags are added to every resource.
	Tags pulumi.StringMap
}

// ControlPlaneEndpoint is where the mesh's VPC endpoint goes: the VPC, the tasks' subnets and
// the security group of the VPC's other interface endpoints.
type ControlPlaneEndpoint struct {
	VpcId           pulumi.StringInput
	SubnetIds       pulumi.StringArrayInput
	SecurityGroupId pulumi.StringInput
}

// AppMesh is an AWS App Mesh mesh that denies egress outside the mesh.
type AppMesh struct {
	pulumi.ResourceState

	MeshName pulumi.StringOutput `pulumi:"meshName"`
	MeshArn  pulumi.StringOutput `pulumi:"meshArn"`

	name         string
	args         AppMeshArgs
	controlPlane pulumi.Resource // the Envoy management endpoint; nil without ControlPlaneEndpoint
}

// controlPlaneEndpoints is the Envoy management endpoint, if the mesh declared one.
func (m *AppMesh) controlPlaneEndpoints() []pulumi.Resource {
	if m.controlPlane == nil {
		return nil
	}
	return []pulumi.Resource{m.controlPlane}
}

// NewAppMesh declares the mesh.
func NewAppMesh(ctx *pulumi.Context, name string, args *AppMeshArgs, opts ...pulumi.ResourceOption) (*AppMesh, error) {
	a := *args
	if a.NamespaceId == nil || a.NamespaceName == "" {
		return nil, fmt.Errorf("app mesh %s: NamespaceId and NamespaceName are required", name)
	}
	if a.MaxRetries == 0 {
		a.MaxRetries = 2
	}
	if a.PerRetryTimeoutMs == 0 {
		a.PerRetryTimeoutMs = 2000
	}
	if a.PerRequestTimeoutSeconds == 0 {
		a.PerRequestTimeoutSeconds = 15
	}
	if a.EnvoyImage == "" {
		a.EnvoyImage = EnvoyImage
	}
	if a.IdleTimeoutSeconds == 0 {
		a.IdleTimeoutSeconds = int(contract.ProxyIdleTimeout.Seconds())
	}
	if err := checkIdleTimeout(a.IdleTimeoutSeconds); err != nil {
		return nil, fmt.Errorf("app mesh %s: IdleTimeoutSeconds: %w", name, err)
	}
	if a.MeshName != nil && a.ControlPlaneEndpoint != nil {
		return nil, fmt.Errorf("app mesh %s: set MeshName or ControlPlaneEndpoint: the existing mesh's owner declares its endpoint", name)
	}
	m := &AppMesh{name: name, args: a}
	if err := ctx.RegisterComponentResource("meshtrace:mesh:AppMesh", name, m, opts...); err != nil {
		return nil, err
	}
	if a.MeshName != nil {
		m.MeshName = a.MeshName.ToStringOutput()
		m.MeshArn = pulumi.String("").ToStringOutput() // not ours: callers need only its name
		return m, ctx.RegisterResourceOutputs(m, pulumi.Map{"meshName": m.MeshName, "meshArn": m.MeshArn})
	}
	mesh, err := appmesh.NewMesh(ctx, name, &appmesh.MeshArgs{
		Name: pulumi.String(name),
		Spec: appmesh.MeshSpecArgs{
			// Only traffic to mesh members (and the proxy-ignored ports) leaves a task.
			EgressFilter: appmesh.MeshSpecEgressFilterArgs{Type: pulumi.String("DROP_ALL")},
		},
		Tags: a.Tags,
	}, pulumi.Parent(m))
	if err != nil {
		return nil, err
	}
	m.MeshName = mesh.Name
	m.MeshArn = mesh.Arn
	if e := a.ControlPlaneEndpoint; e != nil {
		region, err := aws.GetRegion(ctx, nil, pulumi.Parent(m))
		if err != nil {
			return nil, err
		}
		if m.controlPlane, err = ec2.NewVpcEndpoint(ctx, name+"-envoy-management", &ec2.VpcEndpointArgs{
			VpcId:             e.VpcId,
			ServiceName:       pulumi.String("com.amazonaws." + region.Name + ".appmesh-envoy-management"),
			VpcEndpointType:   pulumi.String("Interface"),
			SubnetIds:         e.SubnetIds,
			SecurityGroupIds:  pulumi.StringArray{e.SecurityGroupId},
			PrivateDnsEnabled: pulumi.Bool(true),
			Tags:              a.Tags,
		}, pulumi.Parent(m)); err != nil {
			return nil, err
		}
	}
	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{"meshName": m.MeshName, "meshArn": m.MeshArn}); err != nil {
		return nil, err
	}
	return m, nil
}

// ProxyIgnoredUID is Envoy's UID: sidecars running as it bypass Envoy.
func (m *AppMesh) ProxyIgnoredUID() string { return EnvoyUID }

// Join declares the member's Cloud Map service, virtual node, virtual router, route
// and virtual service (named <name>.<namespace>, which is also the DNS name clients
// call), and the Envoy sidecar for its task.
func (m *AppMesh) Join(ctx *pulumi.Context, member Member, opts ...pulumi.ResourceOption) (*Membership, error) {
	if member.Name == "" || member.Port == 0 {
		return nil, fmt.Errorf("app mesh: a member needs Name and Port")
	}
	healthPath := member.HealthCheckPath
	if healthPath == "" {
		healthPath = "/"
	}
	name := member.Name
	dnsName := name + "." + m.args.NamespaceName
	opts = append(opts, pulumi.DependsOn([]pulumi.Resource{m}))

	node, discovery, err := m.declareNode(ctx, member, healthPath, opts...)
	if err != nil {
		return nil, err
	}
	service, err := m.declareRouting(ctx, name, dnsName, member.Port, node, opts...)
	if err != nil {
		return nil, err
	}

	envoyEnv := member.ProxyEnvironment
	task := pulumix.Apply[string](node.Arn, func(nodeArn string) taskspec.Part {
		envoy := EnvoyContainer(nodeArn, envoyEnv)
		envoy.Image = m.args.EnvoyImage
		return taskspec.Part{
			Sidecars:           []taskspec.ContainerDefinition{envoy},
			ProxyConfiguration: EnvoyProxyConfiguration(member.Port, member.DirectEgressPorts),
			AppDependsOn:       []taskspec.ContainerDependency{{ContainerName: EnvoyContainerName, Condition: taskspec.ConditionHealthy}},
			// Envoy fetches its configuration for this node only.
			TaskRoleStatements: []taskspec.Statement{taskspec.Allow("AppMeshEnvoy", []string{"appmesh:StreamAggregatedResources"}, nodeArn)},
		}
	})

	return &Membership{
		Name:       name,
		Port:       member.Port,
		ClientOnly: member.ClientOnly,
		Endpoint:   pulumi.Sprintf("http://%s:%d", service.Name, member.Port),
		Task:       task,
		ServiceRegistries: ecs.ServiceServiceRegistriesArgs{
			RegistryArn: discovery.Arn,
		},
		DependsOn: append([]pulumi.Resource{node, service}, m.controlPlaneEndpoints()...), // Envoy needs its configuration to start
		ref:       service.Name,
	}, nil
}

// declareNode declares the member's Cloud Map service and its virtual node: the listener
// with its health check and idle timeout, Cloud Map discovery, the backends it calls, and an
// access log.
func (m *AppMesh) declareNode(ctx *pulumi.Context, member Member, healthPath string, opts ...pulumi.ResourceOption) (*appmesh.VirtualNode, *servicediscovery.Service, error) {
	name := member.Name
	discovery, err := servicediscovery.NewService(ctx, name, &servicediscovery.ServiceArgs{
		Name:        pulumi.String(name),
		NamespaceId: m.args.NamespaceId,
		DnsConfig: servicediscovery.ServiceDnsConfigArgs{
			NamespaceId:   m.args.NamespaceId,
			RoutingPolicy: pulumi.String("MULTIVALUE"),
			DnsRecords: servicediscovery.ServiceDnsConfigDnsRecordArray{
				servicediscovery.ServiceDnsConfigDnsRecordArgs{Type: pulumi.String("A"), Ttl: pulumi.Int(10)},
			},
		},
		// ECS reports task health to Cloud Map.
		HealthCheckCustomConfig: servicediscovery.ServiceHealthCheckCustomConfigArgs{FailureThreshold: pulumi.Int(1)},
		Tags:                    m.args.Tags,
	}, opts...)
	if err != nil {
		return nil, nil, err
	}

	var backends appmesh.VirtualNodeSpecBackendArray
	for _, b := range member.Backends {
		backends = append(backends, appmesh.VirtualNodeSpecBackendArgs{
			VirtualService: appmesh.VirtualNodeSpecBackendVirtualServiceArgs{VirtualServiceName: b.ref},
		})
	}
	node, err := appmesh.NewVirtualNode(ctx, name, &appmesh.VirtualNodeArgs{
		Name:     pulumi.String(name),
		MeshName: m.MeshName,
		Spec: appmesh.VirtualNodeSpecArgs{
			Listeners: appmesh.VirtualNodeSpecListenerArray{
				appmesh.VirtualNodeSpecListenerArgs{
					PortMapping: appmesh.VirtualNodeSpecListenerPortMappingArgs{Port: pulumi.Int(member.Port), Protocol: pulumi.String("http")},
					HealthCheck: appmesh.VirtualNodeSpecListenerHealthCheckArgs{
						Protocol:           pulumi.String("http"),
						Path:               pulumi.String(healthPath),
						HealthyThreshold:   pulumi.Int(2),
						UnhealthyThreshold: pulumi.Int(2),
						TimeoutMillis:      pulumi.Int(2000),
						IntervalMillis:     pulumi.Int(5000),
					},
					Timeout: appmesh.VirtualNodeSpecListenerTimeoutArgs{
						Http: appmesh.VirtualNodeSpecListenerTimeoutHttpArgs{
							Idle: appmesh.VirtualNodeSpecListenerTimeoutHttpIdleArgs{Unit: pulumi.String("s"), Value: pulumi.Int(m.args.IdleTimeoutSeconds)},
						},
					},
				},
			},
			ServiceDiscovery: appmesh.VirtualNodeSpecServiceDiscoveryArgs{
				AwsCloudMap: appmesh.VirtualNodeSpecServiceDiscoveryAwsCloudMapArgs{
					NamespaceName: pulumi.String(m.args.NamespaceName),
					ServiceName:   discovery.Name,
				},
			},
			Backends: backends,
			Logging: appmesh.VirtualNodeSpecLoggingArgs{
				AccessLog: appmesh.VirtualNodeSpecLoggingAccessLogArgs{
					File: appmesh.VirtualNodeSpecLoggingAccessLogFileArgs{Path: pulumi.String("/dev/stdout")},
				},
			},
		},
		Tags: m.args.Tags,
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	return node, discovery, nil
}

// declareRouting declares the member's virtual router, its route (retries and timeouts) to
// the node, and the virtual service clients call by dnsName.
func (m *AppMesh) declareRouting(ctx *pulumi.Context, name, dnsName string, port int, node *appmesh.VirtualNode, opts ...pulumi.ResourceOption) (*appmesh.VirtualService, error) {
	router, err := appmesh.NewVirtualRouter(ctx, name, &appmesh.VirtualRouterArgs{
		Name:     pulumi.String(name),
		MeshName: m.MeshName,
		Spec: appmesh.VirtualRouterSpecArgs{
			Listeners: appmesh.VirtualRouterSpecListenerArray{
				appmesh.VirtualRouterSpecListenerArgs{
					PortMapping: appmesh.VirtualRouterSpecListenerPortMappingArgs{Port: pulumi.Int(port), Protocol: pulumi.String("http")},
				},
			},
		},
		Tags: m.args.Tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	route, err := appmesh.NewRoute(ctx, name, &appmesh.RouteArgs{
		Name:              pulumi.String(name),
		MeshName:          m.MeshName,
		VirtualRouterName: router.Name,
		Spec: appmesh.RouteSpecArgs{
			HttpRoute: appmesh.RouteSpecHttpRouteArgs{
				Match: appmesh.RouteSpecHttpRouteMatchArgs{Prefix: pulumi.String("/")},
				Action: appmesh.RouteSpecHttpRouteActionArgs{
					WeightedTargets: appmesh.RouteSpecHttpRouteActionWeightedTargetArray{
						appmesh.RouteSpecHttpRouteActionWeightedTargetArgs{VirtualNode: node.Name, Weight: pulumi.Int(1)},
					},
				},
				RetryPolicy: appmesh.RouteSpecHttpRouteRetryPolicyArgs{
					HttpRetryEvents: pulumi.StringArray{pulumi.String("server-error"), pulumi.String("gateway-error")},
					TcpRetryEvents:  pulumi.StringArray{pulumi.String("connection-error")},
					MaxRetries:      pulumi.Int(m.args.MaxRetries),
					PerRetryTimeout: appmesh.RouteSpecHttpRouteRetryPolicyPerRetryTimeoutArgs{Unit: pulumi.String("ms"), Value: pulumi.Int(m.args.PerRetryTimeoutMs)},
				},
				Timeout: appmesh.RouteSpecHttpRouteTimeoutArgs{
					PerRequest: appmesh.RouteSpecHttpRouteTimeoutPerRequestArgs{Unit: pulumi.String("s"), Value: pulumi.Int(m.args.PerRequestTimeoutSeconds)},
					Idle:       appmesh.RouteSpecHttpRouteTimeoutIdleArgs{Unit: pulumi.String("s"), Value: pulumi.Int(m.args.IdleTimeoutSeconds)},
				},
			},
		},
		Tags: m.args.Tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	service, err := appmesh.NewVirtualService(ctx, name, &appmesh.VirtualServiceArgs{
		Name:     pulumi.String(dnsName),
		MeshName: m.MeshName,
		Spec: appmesh.VirtualServiceSpecArgs{
			Provider: appmesh.VirtualServiceSpecProviderArgs{
				VirtualRouter: appmesh.VirtualServiceSpecProviderVirtualRouterArgs{VirtualRouterName: router.Name},
			},
		},
		Tags: m.args.Tags,
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{route}))...)
	if err != nil {
		return nil, err
	}

	return service, nil
}
