// Package sgrule declares the security-group rules that let one group reach another on a
// TCP port, one rule per resource (the vpc.SecurityGroup*Rule resources).
package sgrule

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AdmitTCP lets group from connect to group to on port: an ingress rule on to, named name.
// Use it alone when from belongs to someone else, who grants its own egress.
func AdmitTCP(ctx *pulumi.Context, name string, from, to pulumi.StringInput, port int, why string, opts ...pulumi.ResourceOption) (pulumi.Resource, error) {
	return vpc.NewSecurityGroupIngressRule(ctx, name, &vpc.SecurityGroupIngressRuleArgs{
		SecurityGroupId:           to,
		ReferencedSecurityGroupId: from,
		IpProtocol:                pulumi.String("tcp"),
		FromPort:                  pulumi.Int(port),
		ToPort:                    pulumi.Int(port),
		Description:               pulumi.String(why),
	}, opts...)
}

// AllowTCP lets group from open connections to group to on port: an egress rule on from
// (name-out) and the matching ingress rule on to (name-in). It returns both rules, for
// whatever must not start before they exist.
func AllowTCP(ctx *pulumi.Context, name string, from, to pulumi.StringInput, port int, why string, opts ...pulumi.ResourceOption) ([]pulumi.Resource, error) {
	out, err := vpc.NewSecurityGroupEgressRule(ctx, name+"-out", &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId:           from,
		ReferencedSecurityGroupId: to,
		IpProtocol:                pulumi.String("tcp"),
		FromPort:                  pulumi.Int(port),
		ToPort:                    pulumi.Int(port),
		Description:               pulumi.String(why),
	}, opts...)
	if err != nil {
		return nil, err
	}
	in, err := AdmitTCP(ctx, name+"-in", from, to, port, why, opts...)
	if err != nil {
		return nil, err
	}
	return []pulumi.Resource{out, in}, nil
}
