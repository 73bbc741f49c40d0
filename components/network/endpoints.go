package network

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// EndpointsArgs turns on VPC endpoints for the AWS services the tasks call, so that their
// HTTPS traffic to AWS stays in the VPC instead of going through NAT.
type EndpointsArgs struct {
	// ExtraServices are interface endpoints besides InterfaceServices, e.g.
	// "appmesh-envoy-management" for App Mesh's Envoy. Default none.
	ExtraServices []string
	// PublicECRCachePrefix, when set, declares an ECR pull-through cache rule for
	// public.ecr.aws with this repository prefix: with no egress to the internet, images from
	// public.ecr.aws are pulled as <account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<path>.
	// At most MaxECRCachePrefixLength characters. Default "": none.
	PublicECRCachePrefix string
}

// PublicECR is the upstream registry of the pull-through cache.
const PublicECR = "public.ecr.aws"

// MaxECRCachePrefixLength is ECR's limit for a pull-through cache rule's repository prefix
// (botocore: CreatePullThroughCacheRule ecrRepositoryPrefix, 2 to 30 characters).
const MaxECRCachePrefixLength = 30

// InterfaceServices are the interface endpoints every stack with endpoints gets: what Fargate
// calls through the task's network interface to start a task (ECR for the images, Logs for
// awslogs, Secrets Manager for the secrets: "Migrating to Linux platform version 1.4.0" in the
// ECS developer guide), what the tasks call (X-Ray) and the ECS API. Not ecs-agent and
// ecs-telemetry: only the agent on EC2 container instances calls them ("Tasks using the Fargate
// launch type don't require the interface VPC endpoints for Amazon ECS"); not STS: the tasks get
// their role's credentials from the ECS credential endpoint in the task, and nothing here
// assumes a role or a web identity (docs/security.md#network).
var InterfaceServices = []string{"ecr.api", "ecr.dkr", "logs", "secretsmanager", "xray", "ecs"}

// endpoints are what the services need to send their AWS traffic to the endpoints.
type endpoints struct {
	securityGroupId pulumi.StringOutput
	s3PrefixListId  pulumi.StringOutput
	cacheRepos      pulumi.StringOutput // "" without a cache
	resources       []pulumi.Resource   // the endpoints
}

// declareEndpoints declares the interface endpoints in the private subnets, with private DNS
// (the SDKs' default hostnames resolve to them) and a security group of their own that admits
// 443 from the VPC, and an S3 gateway endpoint (ECR serves image layers from S3) on the VPC's
// route tables.
//
// The route tables are looked up by VPC id (ec2.getRouteTables) rather than read from awsx's
// Vpc.RouteTables, an output of resource references. On a first deploy the lookup runs once
// the VPC id is known, which is when awsx's component has registered its children (the
// provider answers Construct after its registrations complete); in a preview of a first
// deploy it is unknown, as the route tables are.
func declareEndpoints(ctx *pulumi.Context, name string, cidr string, v vpcRef, args EndpointsArgs, tags pulumi.StringMap, parent pulumi.Resource) (*endpoints, error) {
	opts := []pulumi.ResourceOption{pulumi.Parent(parent)}
	region, err := aws.GetRegion(ctx, nil, pulumi.Parent(parent))
	if err != nil {
		return nil, err
	}
	sg, err := ec2.NewSecurityGroup(ctx, name+"-endpoints", &ec2.SecurityGroupArgs{
		VpcId:       v.id,
		Description: pulumi.String("VPC interface endpoints of " + name),
		Tags:        tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	in, err := vpc.NewSecurityGroupIngressRule(ctx, name+"-endpoints-https-in", &vpc.SecurityGroupIngressRuleArgs{
		SecurityGroupId: sg.ID(),
		CidrIpv4:        pulumi.String(cidr),
		IpProtocol:      pulumi.String("tcp"),
		FromPort:        pulumi.Int(443),
		ToPort:          pulumi.Int(443),
		Description:     pulumi.String("HTTPS from the VPC"),
	}, opts...)
	if err != nil {
		return nil, err
	}
	services := append(append([]string{}, InterfaceServices...), args.ExtraServices...)
	var resources []pulumi.Resource
	for _, svc := range services {
		endpoint, err := ec2.NewVpcEndpoint(ctx, name+"-"+svc, &ec2.VpcEndpointArgs{
			VpcId:             v.id,
			ServiceName:       pulumi.String("com.amazonaws." + region.Name + "." + svc),
			VpcEndpointType:   pulumi.String("Interface"),
			SubnetIds:         v.privateSubnetIds,
			SecurityGroupIds:  pulumi.StringArray{sg.ID()},
			PrivateDnsEnabled: pulumi.Bool(true),
			Tags:              tags,
		}, append(opts, pulumi.DependsOn([]pulumi.Resource{in}))...)
		if err != nil {
			return nil, err
		}
		resources = append(resources, endpoint)
	}
	routeTables := ec2.GetRouteTablesOutput(ctx, ec2.GetRouteTablesOutputArgs{VpcId: v.id}, pulumi.Parent(parent))
	ids := routeTables.Ids().ApplyT(func(ids []string) []string {
		out := append([]string{}, ids...)
		sort.Strings(out)
		return out
	}).(pulumi.StringArrayOutput)
	s3, err := ec2.NewVpcEndpoint(ctx, name+"-s3", &ec2.VpcEndpointArgs{
		VpcId:           v.id,
		ServiceName:     pulumi.String("com.amazonaws." + region.Name + ".s3"),
		VpcEndpointType: pulumi.String("Gateway"),
		RouteTableIds:   ids,
		Tags:            tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	e := &endpoints{securityGroupId: sg.ID().ToStringOutput(), s3PrefixListId: s3.PrefixListId, cacheRepos: pulumi.String("").ToStringOutput(),
		resources: append(resources, s3)}
	if args.PublicECRCachePrefix != "" {
		if n := len(args.PublicECRCachePrefix); n > MaxECRCachePrefixLength {
			return nil, fmt.Errorf("network %s: PublicECRCachePrefix %q is %d characters, ECR allows %d (naming.Fit shortens it)", name, args.PublicECRCachePrefix, n, MaxECRCachePrefixLength)
		}
		rule, err := ecr.NewPullThroughCacheRule(ctx, name+"-public-ecr", &ecr.PullThroughCacheRuleArgs{
			EcrRepositoryPrefix: pulumi.String(args.PublicECRCachePrefix),
			UpstreamRegistryUrl: pulumi.String(PublicECR),
		}, opts...)
		if err != nil {
			return nil, err
		}
		// Refers to the rule, so that a policy allowing pulls from it waits for it.
		e.cacheRepos = pulumi.Sprintf("arn:aws:ecr:%s:%s:repository/%s/*", region.Name, rule.RegistryId, rule.EcrRepositoryPrefix)
	}
	return e, nil
}

// vpcRef is what the endpoints need of the VPC.
type vpcRef struct {
	id               pulumi.StringOutput
	privateSubnetIds pulumi.StringArrayOutput
}
