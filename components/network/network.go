// Package network declares the VPC meshtrace runs in: public subnets for the load
// balancer and NAT gateways, private subnets for tasks and the database, across
// availability zones.
package network

import (
	"fmt"
	"net/netip"

	awsxec2 "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NAT gateway strategies.
const (
	NatSingle   = "single"   // one NAT gateway for all AZs: cheap, one AZ's outage cuts egress
	NatOnePerAz = "onePerAz" // one per AZ: what production wants
)

// NetworkArgs configures a Network.
type NetworkArgs struct {
	// CidrBlock is the VPC's IPv4 range, /16 to /24. Default 10.0.0.0/16.
	CidrBlock string
	// AvailabilityZones is how many AZs get a public and a private subnet. Default 2.
	AvailabilityZones int
	// NatGateways is NatSingle or NatOnePerAz. Default NatOnePerAz.
	NatGateways string
	// FlowLogs records the VPC's traffic in CloudWatch Logs. Default nil: none.
	FlowLogs *FlowLogsArgs
	// Endpoints declares VPC endpoints for the AWS services the tasks call (endpoints.go).
	// Default nil: none, AWS is reached through NAT.
	Endpoints *EndpointsArgs
	// Tags are added to every resource.
	Tags pulumi.StringMap
}

// Network is a VPC with public and private subnets.
type Network struct {
	pulumi.ResourceState

	VpcId            pulumi.StringOutput      `pulumi:"vpcId"`
	PublicSubnetIds  pulumi.StringArrayOutput `pulumi:"publicSubnetIds"`
	PrivateSubnetIds pulumi.StringArrayOutput `pulumi:"privateSubnetIds"`
	CidrBlock        pulumi.StringOutput      `pulumi:"cidrBlock"`
	// EndpointSecurityGroupId is the interface endpoints' security group, S3PrefixListId the
	// prefix list of the S3 gateway endpoint: where tasks send their AWS traffic. Both ""
	// without Endpoints.
	EndpointSecurityGroupId pulumi.StringOutput `pulumi:"endpointSecurityGroupId"`
	S3PrefixListId          pulumi.StringOutput `pulumi:"s3PrefixListId"`
	// PublicECRCacheRepositories is the ARN pattern of the pull-through cache's repositories
	// (arn:aws:ecr:<region>:<account>:repository/<prefix>/*), "" without one.
	PublicECRCacheRepositories pulumi.StringOutput `pulumi:"publicEcrCacheRepositories"`
	// VpcEndpoints are the endpoints declared (the interface endpoints and the S3 gateway),
	// nil without Endpoints. What reaches AWS through them must start after them: until an
	// interface endpoint is available its private DNS name is not in place, so ECR, Logs and
	// Secrets Manager resolve to public addresses that a tasks' egress limited to the
	// endpoints refuses (an ECS service: ServiceArgs.DependsOn).
	VpcEndpoints []pulumi.Resource
}

// NewNetwork declares the VPC.
func NewNetwork(ctx *pulumi.Context, name string, args *NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	a := *args
	if a.CidrBlock == "" {
		a.CidrBlock = "10.0.0.0/16"
	}
	if a.AvailabilityZones == 0 {
		a.AvailabilityZones = 2
	}
	if a.NatGateways == "" {
		a.NatGateways = NatOnePerAz
	}
	prefix, err := netip.ParsePrefix(a.CidrBlock)
	if err != nil || !prefix.Addr().Is4() || prefix.Bits() < 16 || prefix.Bits() > 24 {
		return nil, fmt.Errorf("network %s: CidrBlock %q must be an IPv4 CIDR from /16 to /24", name, a.CidrBlock)
	}
	strategy := map[string]awsxec2.NatGatewayStrategy{
		NatSingle:   awsxec2.NatGatewayStrategySingle,
		NatOnePerAz: awsxec2.NatGatewayStrategyOnePerAz,
	}[a.NatGateways]
	if strategy == "" {
		return nil, fmt.Errorf("network %s: NatGateways %q must be %q or %q", name, a.NatGateways, NatSingle, NatOnePerAz)
	}
	if a.AvailabilityZones < 2 || a.AvailabilityZones > 4 {
		return nil, fmt.Errorf("network %s: AvailabilityZones %d must be 2 to 4 (RDS and the ALB need two)", name, a.AvailabilityZones)
	}

	n := &Network{}
	if err := ctx.RegisterComponentResource("meshtrace:network:Network", name, n, opts...); err != nil {
		return nil, err
	}
	// Each AZ gets a quarter of the range: a private subnet of half of it for tasks and
	// the database, a public subnet of a quarter of it for the ALB and NAT gateways.
	azMask := prefix.Bits() + 2
	privateMask, publicMask := azMask+1, azMask+2
	auto := awsxec2.SubnetAllocationStrategyAuto
	vpc, err := awsxec2.NewVpc(ctx, name, &awsxec2.VpcArgs{
		CidrBlock:                 &a.CidrBlock,
		NumberOfAvailabilityZones: &a.AvailabilityZones,
		AvailabilityZoneCidrMask:  &azMask,
		EnableDnsHostnames:        pulumi.Bool(true), // Cloud Map and RDS endpoints resolve by name
		EnableDnsSupport:          pulumi.Bool(true),
		SubnetStrategy:            &auto,
		SubnetSpecs: []awsxec2.SubnetSpecArgs{
			{Type: awsxec2.SubnetTypePrivate, Name: pulumi.StringRef("private"), CidrMask: &privateMask},
			{Type: awsxec2.SubnetTypePublic, Name: pulumi.StringRef("public"), CidrMask: &publicMask},
		},
		NatGateways: &awsxec2.NatGatewayConfigurationArgs{Strategy: strategy},
		Tags:        a.Tags,
	}, pulumi.Parent(n))
	if err != nil {
		return nil, err
	}
	if a.FlowLogs != nil {
		if err := declareFlowLogs(ctx, name, vpc.VpcId, *a.FlowLogs, a.Tags, n); err != nil {
			return nil, err
		}
	}
	n.EndpointSecurityGroupId = pulumi.String("").ToStringOutput()
	n.S3PrefixListId = pulumi.String("").ToStringOutput()
	n.PublicECRCacheRepositories = pulumi.String("").ToStringOutput()
	if a.Endpoints != nil {
		e, err := declareEndpoints(ctx, name, a.CidrBlock, vpcRef{id: vpc.VpcId, privateSubnetIds: vpc.PrivateSubnetIds}, *a.Endpoints, a.Tags, n)
		if err != nil {
			return nil, err
		}
		n.EndpointSecurityGroupId, n.S3PrefixListId, n.PublicECRCacheRepositories = e.securityGroupId, e.s3PrefixListId, e.cacheRepos
		n.VpcEndpoints = e.resources
	}
	n.VpcId = vpc.VpcId
	n.PublicSubnetIds = vpc.PublicSubnetIds
	n.PrivateSubnetIds = vpc.PrivateSubnetIds
	n.CidrBlock = pulumi.String(a.CidrBlock).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":                      n.VpcId,
		"publicSubnetIds":            n.PublicSubnetIds,
		"privateSubnetIds":           n.PrivateSubnetIds,
		"cidrBlock":                  n.CidrBlock,
		"endpointSecurityGroupId":    n.EndpointSecurityGroupId,
		"s3PrefixListId":             n.S3PrefixListId,
		"publicEcrCacheRepositories": n.PublicECRCacheRepositories,
	}); err != nil {
		return nil, err
	}
	return n, nil
}
