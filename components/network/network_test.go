package network

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/pulumitest"
)

func run(args NetworkArgs) (*pulumitest.Mocks, error) {
	return pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		_, err := NewNetwork(ctx, "net", &args)
		return err
	})
}

func TestSubnetMasksSplitTheRangePerAZ(t *testing.T) {
	m, err := run(NetworkArgs{CidrBlock: "10.1.0.0/20", NatGateways: NatSingle})
	if err != nil {
		t.Fatal(err)
	}
	vpc, _ := m.Find("awsx:ec2:Vpc", "net")
	in := vpc.Plain()
	if in["availabilityZoneCidrMask"] != 22.0 || in["cidrBlock"] != "10.1.0.0/20" {
		t.Errorf("vpc %v", in)
	}
	masks := map[string]float64{}
	for _, s := range in["subnetSpecs"].([]any) {
		spec := s.(map[string]any)
		masks[spec["type"].(string)] = spec["cidrMask"].(float64)
	}
	if masks["Private"] != 23 || masks["Public"] != 24 {
		t.Errorf("masks %v", masks)
	}
	if in["natGateways"].(map[string]any)["strategy"] != "Single" {
		t.Errorf("nat %v", in["natGateways"])
	}
}

func TestNetworkRejectsBadArgs(t *testing.T) {
	for want, args := range map[string]NetworkArgs{
		"CidrBlock":         {CidrBlock: "10.0.0.0/26"},
		"NatGateways":       {NatGateways: "none"},
		"AvailabilityZones": {AvailabilityZones: 1},
	} {
		if _, err := run(args); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}

// With Endpoints: interface endpoints in the private subnets with private DNS behind a group
// that admits 443 from the VPC, an S3 gateway endpoint on the VPC's route tables, and the
// group and prefix list exported; without: none of it.
func TestEndpoints(t *testing.T) {
	const vpcEndpoint = "aws:ec2/vpcEndpoint:VpcEndpoint"
	var sgId, prefixList, cache string
	m, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		n, err := NewNetwork(ctx, "net", &NetworkArgs{CidrBlock: "10.1.0.0/16", Endpoints: &EndpointsArgs{
			ExtraServices: []string{"appmesh-envoy-management"}, PublicECRCachePrefix: "net-cache"}})
		if err != nil {
			return err
		}
		n.EndpointSecurityGroupId.ApplyT(func(s string) string { sgId = s; return s })
		n.S3PrefixListId.ApplyT(func(s string) string { prefixList = s; return s })
		n.PublicECRCacheRepositories.ApplyT(func(s string) string { cache = s; return s })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sgId != "net-endpoints-id" || prefixList != pulumitest.S3PrefixListId {
		t.Errorf("exports: security group %q, prefix list %q", sgId, prefixList)
	}
	if cache != "arn:aws:ecr:us-east-1:123456789012:repository/net-cache/*" {
		t.Errorf("cache repositories %q", cache)
	}
	rule, ok := m.Find("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "net-public-ecr")
	if !ok || rule.Plain()["upstreamRegistryUrl"] != "public.ecr.aws" || rule.Plain()["ecrRepositoryPrefix"] != "net-cache" {
		t.Errorf("pull-through cache rule %v", rule.Plain())
	}
	services := map[string]map[string]any{}
	for _, e := range m.ByType(vpcEndpoint) {
		in := e.Plain()
		services[strings.TrimPrefix(in["serviceName"].(string), "com.amazonaws."+pulumitest.Region+".")] = in
	}
	for _, svc := range append(append([]string{}, InterfaceServices...), "appmesh-envoy-management") {
		in, ok := services[svc]
		if !ok {
			t.Errorf("no endpoint for %s", svc)
			continue
		}
		if in["vpcEndpointType"] != "Interface" || in["privateDnsEnabled"] != true || in["vpcId"] != "vpc-net" ||
			len(in["subnetIds"].([]any)) != 2 || in["securityGroupIds"].([]any)[0] != "net-endpoints-id" {
			t.Errorf("%s endpoint %v", svc, in)
		}
	}
	s3 := services["s3"]
	if s3["vpcEndpointType"] != "Gateway" || len(s3["routeTableIds"].([]any)) != len(pulumitest.RouteTableIds) {
		t.Errorf("s3 endpoint %v", s3)
	}
	if len(services) != len(InterfaceServices)+2 {
		t.Errorf("%d endpoints: %v", len(services), services)
	}
	in, ok := m.Find("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "net-endpoints-https-in")
	if !ok || in.Plain()["cidrIpv4"] != "10.1.0.0/16" || in.Plain()["fromPort"] != 443.0 || in.Plain()["securityGroupId"] != "net-endpoints-id" {
		t.Errorf("endpoints ingress %v", in.Plain())
	}

	none, err := run(NetworkArgs{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(none.ByType(vpcEndpoint)) + len(none.ByType("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")); n != 0 {
		t.Errorf("%d endpoints and cache rules without Endpoints", n)
	}
}
