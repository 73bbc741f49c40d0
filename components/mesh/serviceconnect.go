package mesh

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/components/taskspec"
)

// ServiceConnectArgs configures a ServiceConnect mesh.
type ServiceConnectArgs struct {
	// NamespaceArn is the Cloud Map namespace services register in. Required. Make it
	// the cluster's Service Connect default too (cluster.ClusterArgs.ServiceConnectDefaults).
	NamespaceArn pulumi.StringInput
	// PerRequestTimeoutSeconds bounds one request through the proxy. Default 15.
	PerRequestTimeoutSeconds int
	// IdleTimeoutSeconds closes idle connections; it must stay below the apps' own idle
	// timeout (contract.AppIdleTimeout). Default contract.ProxyIdleTimeout (ECS's own default,
	// 300 s, would reuse connections the app has already closed).
	IdleTimeoutSeconds int
}

// ServiceConnect is an ECS Service Connect mesh.
type ServiceConnect struct {
	pulumi.ResourceState

	NamespaceArn pulumi.StringOutput `pulumi:"namespaceArn"`

	args ServiceConnectArgs
}

// NewServiceConnect declares the mesh. ECS owns the proxies; the component holds the
// settings every member gets.
func NewServiceConnect(ctx *pulumi.Context, name string, args *ServiceConnectArgs, opts ...pulumi.ResourceOption) (*ServiceConnect, error) {
	a := *args
	if a.NamespaceArn == nil {
		return nil, fmt.Errorf("service connect %s: NamespaceArn is required", name)
	}
	if a.PerRequestTimeoutSeconds == 0 {
		a.PerRequestTimeoutSeconds = 15
	}
	if a.IdleTimeoutSeconds == 0 {
		a.IdleTimeoutSeconds = int(contract.ProxyIdleTimeout.Seconds())
	}
	if err := checkIdleTimeout(a.IdleTimeoutSeconds); err != nil {
		return nil, fmt.Errorf("service connect %s: IdleTimeoutSeconds: %w", name, err)
	}
	m := &ServiceConnect{args: a}
	if err := ctx.RegisterComponentResource("meshtrace:mesh:ServiceConnect", name, m, opts...); err != nil {
		return nil, err
	}
	m.NamespaceArn = a.NamespaceArn.ToStringOutput()
	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{"namespaceArn": m.NamespaceArn}); err != nil {
		return nil, err
	}
	return m, nil
}

// ProxyIgnoredUID: Service Connect does not intercept a task's egress.
func (m *ServiceConnect) ProxyIgnoredUID() string { return "" }

// Join makes the service a client of the namespace and, unless it is ClientOnly,
// discoverable as <name>:<port>. No resources: ECS creates the Cloud Map service and runs
// the proxy.
func (m *ServiceConnect) Join(ctx *pulumi.Context, member Member, opts ...pulumi.ResourceOption) (*Membership, error) {
	if member.Name == "" || member.Port == 0 {
		return nil, fmt.Errorf("service connect: a member needs Name and Port")
	}
	cfg := ecs.ServiceServiceConnectConfigurationArgs{
		Enabled:   pulumi.Bool(true),
		Namespace: m.args.NamespaceArn,
	}
	if !member.ClientOnly {
		cfg.Services = ecs.ServiceServiceConnectConfigurationServiceArray{
			ecs.ServiceServiceConnectConfigurationServiceArgs{
				PortName:      pulumi.String(PortName),
				DiscoveryName: pulumi.String(member.Name),
				ClientAlias: ecs.ServiceServiceConnectConfigurationServiceClientAliasArray{
					ecs.ServiceServiceConnectConfigurationServiceClientAliasArgs{
						DnsName: pulumi.String(member.Name),
						Port:    pulumi.Int(member.Port),
					},
				},
				Timeout: ecs.ServiceServiceConnectConfigurationServiceTimeoutArgs{
					PerRequestTimeoutSeconds: pulumi.Int(m.args.PerRequestTimeoutSeconds),
					IdleTimeoutSeconds:       pulumi.Int(m.args.IdleTimeoutSeconds),
				},
			},
		}
	}
	if member.LogGroupName != nil {
		cfg.LogConfiguration = ecs.ServiceServiceConnectConfigurationLogConfigurationArgs{
			LogDriver: pulumi.String("awslogs"),
			Options: pulumi.StringMap{
				"awslogs-group":         member.LogGroupName,
				"awslogs-region":        pulumi.String(member.Region),
				"awslogs-stream-prefix": pulumi.String("service-connect"),
			},
		}
	}
	endpoint := ""
	if !member.ClientOnly {
		endpoint = fmt.Sprintf("http://%s:%d", member.Name, member.Port)
	}
	return &Membership{
		Name:           member.Name,
		Port:           member.Port,
		ClientOnly:     member.ClientOnly,
		Endpoint:       pulumi.String(endpoint).ToStringOutput(),
		Task:           pulumix.Val(taskspec.Part{}),
		ServiceConnect: cfg,
		ref:            pulumi.String(member.Name).ToStringOutput(),
	}, nil
}
