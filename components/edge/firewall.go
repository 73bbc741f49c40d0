// Package edge declares what stands in front of a public service: a WAF web ACL, the bucket
// its load balancer writes access logs to, and a validated certificate with a DNS name.
package edge

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DefaultRateLimit is how many requests one client IP may send in 5 minutes before the
// firewall blocks it: about 3 a second, far above a person and far below a flood.
const DefaultRateLimit = 1000

// managedRuleGroups are AWS's rule groups every web ACL here applies, in priority order:
// the common rule set (OWASP top-10 style) and known bad inputs (exploit payloads).
var managedRuleGroups = []string{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}

// FirewallArgs configures a Firewall.
type FirewallArgs struct {
	// LoadBalancerArn is the load balancer to protect. Required.
	LoadBalancerArn pulumi.StringInput
	// RateLimit: requests per client IP per 5 minutes. Default DefaultRateLimit.
	RateLimit int
	// Tags are added to every resource.
	Tags pulumi.StringMap
}

// Firewall is a regional WAF web ACL on a load balancer.
type Firewall struct {
	pulumi.ResourceState

	WebAclArn pulumi.StringOutput `pulumi:"webAclArn"`
}

// NewFirewall declares the web ACL (allow by default; AWS's managed rule groups; a rate limit
// per client IP) and associates it with the load balancer.
func NewFirewall(ctx *pulumi.Context, name string, args *FirewallArgs, opts ...pulumi.ResourceOption) (*Firewall, error) {
	a := *args
	if a.LoadBalancerArn == nil {
		return nil, fmt.Errorf("firewall %s: LoadBalancerArn is required", name)
	}
	if a.RateLimit == 0 {
		a.RateLimit = DefaultRateLimit
	}
	f := &Firewall{}
	if err := ctx.RegisterComponentResource("meshtrace:edge:Firewall", name, f, opts...); err != nil {
		return nil, err
	}
	visibility := func(metric string) wafv2.WebAclRuleVisibilityConfigArgs {
		return wafv2.WebAclRuleVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true), MetricName: pulumi.String(metric), SampledRequestsEnabled: pulumi.Bool(true),
		}
	}
	var rules wafv2.WebAclRuleArray
	for i, group := range managedRuleGroups {
		rules = append(rules, wafv2.WebAclRuleArgs{
			Name:           pulumi.String(group),
			Priority:       pulumi.Int(i + 1),
			OverrideAction: wafv2.WebAclRuleOverrideActionArgs{None: wafv2.WebAclRuleOverrideActionNoneArgs{}},
			Statement: wafv2.WebAclRuleStatementArgs{
				ManagedRuleGroupStatement: wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs{
					Name: pulumi.String(group), VendorName: pulumi.String("AWS"),
				},
			},
			VisibilityConfig: visibility(group),
		})
	}
	rules = append(rules, wafv2.WebAclRuleArgs{
		Name:     pulumi.String("RateLimitPerClientIP"),
		Priority: pulumi.Int(len(managedRuleGroups) + 1),
		Action:   wafv2.WebAclRuleActionArgs{Block: wafv2.WebAclRuleActionBlockArgs{}},
		Statement: wafv2.WebAclRuleStatementArgs{
			RateBasedStatement: wafv2.WebAclRuleStatementRateBasedStatementArgs{
				Limit: pulumi.Int(a.RateLimit), AggregateKeyType: pulumi.String("IP"),
			},
		},
		VisibilityConfig: visibility("RateLimitPerClientIP"),
	})
	acl, err := wafv2.NewWebAcl(ctx, name, &wafv2.WebAclArgs{
		Scope:         pulumi.String("REGIONAL"), // a load balancer's, not CloudFront's
		DefaultAction: wafv2.WebAclDefaultActionArgs{Allow: wafv2.WebAclDefaultActionAllowArgs{}},
		Rules:         rules,
		VisibilityConfig: wafv2.WebAclVisibilityConfigArgs{
			CloudwatchMetricsEnabled: pulumi.Bool(true), MetricName: pulumi.String(name), SampledRequestsEnabled: pulumi.Bool(true),
		},
		Tags: a.Tags,
	}, pulumi.Parent(f))
	if err != nil {
		return nil, err
	}
	if _, err := wafv2.NewWebAclAssociation(ctx, name, &wafv2.WebAclAssociationArgs{
		ResourceArn: a.LoadBalancerArn,
		WebAclArn:   acl.Arn,
	}, pulumi.Parent(f)); err != nil {
		return nil, err
	}
	f.WebAclArn = acl.Arn
	return f, ctx.RegisterResourceOutputs(f, pulumi.Map{"webAclArn": f.WebAclArn})
}
