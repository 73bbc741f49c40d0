package services

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/components/sgrule"
)

// httpsPort is how tasks reach AWS APIs, ECR and the mesh control plane (through NAT).
const httpsPort = 443

// listenerPort is the public ALB listener. HTTP only: TLS needs a certificate and a
// domain, which the caller owns; see the README.
const listenerPort = 80

type serviceNetwork struct {
	securityGroup             *ec2.SecurityGroup
	taskSecurityGroups        pulumi.StringArray
	loadBalancer              *lb.LoadBalancer
	loadBalancerSecurityGroup *ec2.SecurityGroup
	targetGroup               *lb.TargetGroup
	listener                  *lb.Listener
	// rules are every security-group rule declared here: tasks must not start before them.
	rules []pulumi.Resource
}

// declareNetwork declares the tasks' security group and its rules: HTTPS out, the
// backends' ports out to the backends (whose groups admit this one), and, for a
// public service, an ALB that alone is open to 0.0.0.0/0.
func declareNetwork(ctx *pulumi.Context, name string, a ServiceArgs, opts ...pulumi.ResourceOption) (*serviceNetwork, error) {
	sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		VpcId:       a.VpcId,
		Description: pulumi.String("Tasks of service " + name),
		Tags:        a.Tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	n := &serviceNetwork{securityGroup: sg, taskSecurityGroups: pulumi.StringArray{sg.ID()}}
	for _, extra := range a.SecurityGroupIds {
		n.taskSecurityGroups = append(n.taskSecurityGroups, extra)
	}
	httpsOut, err := vpc.NewSecurityGroupEgressRule(ctx, name+"-https-out", &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId: sg.ID(),
		CidrIpv4:        pulumi.String("0.0.0.0/0"),
		IpProtocol:      pulumi.String("tcp"),
		FromPort:        pulumi.Int(httpsPort),
		ToPort:          pulumi.Int(httpsPort),
		Description:     pulumi.String("AWS APIs, ECR and the mesh control plane"),
	}, opts...)
	if err != nil {
		return nil, err
	}
	n.rules = append(n.rules, httpsOut)
	for _, b := range a.Backends {
		rules, err := sgrule.AllowTCP(ctx, fmt.Sprintf("%s-to-%s", name, b.Membership.Name), sg.ID(), b.SecurityGroupId, b.Port,
			fmt.Sprintf("%s calls %s", name, b.Membership.Name), opts...)
		if err != nil {
			return nil, err
		}
		n.rules = append(n.rules, rules...)
	}
	if !a.Public {
		return n, nil
	}

	albSG, err := ec2.NewSecurityGroup(ctx, name+"-alb", &ec2.SecurityGroupArgs{
		VpcId:       a.VpcId,
		Description: pulumi.String("Public load balancer of " + name),
		Tags:        a.Tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	httpIn, err := vpc.NewSecurityGroupIngressRule(ctx, name+"-alb-http-in", &vpc.SecurityGroupIngressRuleArgs{
		SecurityGroupId: albSG.ID(),
		CidrIpv4:        pulumi.String("0.0.0.0/0"),
		IpProtocol:      pulumi.String("tcp"),
		FromPort:        pulumi.Int(listenerPort),
		ToPort:          pulumi.Int(listenerPort),
		Description:     pulumi.String("HTTP from the internet"),
	}, opts...)
	if err != nil {
		return nil, err
	}
	n.loadBalancerSecurityGroup = albSG
	albToTasks, err := sgrule.AllowTCP(ctx, name+"-alb-to-tasks", albSG.ID(), sg.ID(), a.Port, "load balancer to "+name, opts...)
	if err != nil {
		return nil, err
	}
	n.rules = append(append(n.rules, httpIn), albToTasks...)
	n.loadBalancer, err = lb.NewLoadBalancer(ctx, name, &lb.LoadBalancerArgs{
		LoadBalancerType:        pulumi.String("application"),
		Internal:                pulumi.Bool(false),
		Subnets:                 a.PublicSubnetIds,
		SecurityGroups:          pulumi.StringArray{albSG.ID()},
		DropInvalidHeaderFields: pulumi.Bool(true),
		// Below the app's keep-alive timeout: the load balancer closes idle connections first.
		IdleTimeout: pulumi.Int(int(contract.ProxyIdleTimeout.Seconds())),
		Tags:        a.Tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	n.targetGroup, err = lb.NewTargetGroup(ctx, name, &lb.TargetGroupArgs{
		VpcId:               a.VpcId,
		TargetType:          pulumi.String("ip"), // awsvpc tasks register by IP
		Port:                pulumi.Int(a.Port),
		Protocol:            pulumi.String("HTTP"),
		DeregistrationDelay: pulumi.Int(30),
		HealthCheck: lb.TargetGroupHealthCheckArgs{
			Path:               pulumi.String(a.ReadinessPath),
			Matcher:            pulumi.String("200"),
			Interval:           pulumi.Int(15),
			Timeout:            pulumi.Int(5),
			HealthyThreshold:   pulumi.Int(2),
			UnhealthyThreshold: pulumi.Int(3),
		},
		Tags: a.Tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	n.listener, err = lb.NewListener(ctx, name, &lb.ListenerArgs{
		LoadBalancerArn: n.loadBalancer.Arn,
		Port:            pulumi.Int(listenerPort),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions: lb.ListenerDefaultActionArray{
			lb.ListenerDefaultActionArgs{Type: pulumi.String("forward"), TargetGroupArn: n.targetGroup.Arn},
		},
		Tags: a.Tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// exportTo sets the service's network outputs; those of a service without a load
// balancer are empty.
func (n *serviceNetwork) exportTo(s *Service) {
	empty := pulumi.String("").ToStringOutput()
	s.LoadBalancerArn, s.LoadBalancerArnSuffix, s.LoadBalancerDnsName, s.LoadBalancerSecurityGroupId = empty, empty, empty, empty
	s.ListenerArn, s.TargetGroupArn, s.TargetGroupArnSuffix = empty, empty, empty
	if n.loadBalancer == nil {
		return
	}
	s.LoadBalancerArn = n.loadBalancer.Arn
	s.LoadBalancerArnSuffix = n.loadBalancer.ArnSuffix
	s.LoadBalancerDnsName = n.loadBalancer.DnsName
	s.LoadBalancerSecurityGroupId = n.loadBalancerSecurityGroup.ID().ToStringOutput()
	s.ListenerArn = n.listener.Arn
	s.TargetGroupArn = n.targetGroup.Arn
	s.TargetGroupArnSuffix = n.targetGroup.ArnSuffix
}
