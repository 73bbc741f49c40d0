// Package cluster declares the ECS cluster and the Cloud Map private DNS namespace
// that services register in and the mesh discovers them through.
package cluster

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/servicediscovery"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ClusterArgs configures a Cluster.
type ClusterArgs struct {
	// VpcId is the VPC the private DNS namespace resolves in. Required.
	VpcId pulumi.StringInput
	// NamespaceName is the Cloud Map private DNS namespace. Required, e.g. meshtrace.local.
	NamespaceName string
	// ServiceConnectDefaults makes the namespace the cluster's Service Connect default.
	// Default false.
	ServiceConnectDefaults bool
	// Tags are added to every resource.
	Tags pulumi.StringMap
}

// Cluster is an ECS cluster with Container Insights and a Cloud Map namespace.
type Cluster struct {
	pulumi.ResourceState

	ClusterArn    pulumi.StringOutput `pulumi:"clusterArn"`
	ClusterName   pulumi.StringOutput `pulumi:"clusterName"`
	NamespaceId   pulumi.StringOutput `pulumi:"namespaceId"`
	NamespaceArn  pulumi.StringOutput `pulumi:"namespaceArn"`
	NamespaceName pulumi.StringOutput `pulumi:"namespaceName"`
}

// NewCluster declares the cluster and its namespace.
func NewCluster(ctx *pulumi.Context, name string, args *ClusterArgs, opts ...pulumi.ResourceOption) (*Cluster, error) {
	if args.VpcId == nil || args.NamespaceName == "" {
		return nil, fmt.Errorf("cluster %s: VpcId and NamespaceName are required", name)
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource("meshtrace:cluster:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	ns, err := servicediscovery.NewPrivateDnsNamespace(ctx, name+"-namespace", &servicediscovery.PrivateDnsNamespaceArgs{
		Name:        pulumi.String(args.NamespaceName),
		Vpc:         args.VpcId,
		Description: pulumi.String("Service discovery for " + name),
		Tags:        args.Tags,
	}, pulumi.Parent(c))
	if err != nil {
		return nil, err
	}
	clusterArgs := &ecs.ClusterArgs{
		Name: pulumi.String(name),
		Settings: ecs.ClusterSettingArray{
			ecs.ClusterSettingArgs{Name: pulumi.String("containerInsights"), Value: pulumi.String("enabled")},
		},
		Tags: args.Tags,
	}
	if args.ServiceConnectDefaults {
		clusterArgs.ServiceConnectDefaults = ecs.ClusterServiceConnectDefaultsArgs{Namespace: ns.Arn}
	}
	cluster, err := ecs.NewCluster(ctx, name, clusterArgs, pulumi.Parent(c))
	if err != nil {
		return nil, err
	}
	c.ClusterArn = cluster.Arn
	c.ClusterName = cluster.Name
	c.NamespaceId = ns.ID().ToStringOutput()
	c.NamespaceArn = ns.Arn
	c.NamespaceName = ns.Name
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"clusterArn":    c.ClusterArn,
		"clusterName":   c.ClusterName,
		"namespaceId":   c.NamespaceId,
		"namespaceArn":  c.NamespaceArn,
		"namespaceName": c.NamespaceName,
	}); err != nil {
		return nil, err
	}
	return c, nil
}
