package services

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/components/sgrule"
)

// httpsPort is how tasks reach AWS APIs, ECR and the mesh control plane (through NAT).
const httpsPort = 443

// listenerPort is the public ALB's HTTP listener: it forwards, or redirects to HTTPS when
// the service has a certificate.
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
	httpsOut, err := declareHTTPSEgress(ctx, name, sg, a.AwsEgress, opts...)
	if err != nil {
		return nil, err
	}
	n.rules = append(n.rules, httpsOut...)
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

	if err := declareLoadBalancer(ctx, name, a, n, opts...); err != nil {
		return nil, err
	}
	return n, nil
}

// declareHTTPSEgress lets the tasks reach AWS APIs, ECR and the mesh control plane on 443:
// anywhere (through NAT), or with egress only the VPC endpoints and S3's prefix list.
func declareHTTPSEgress(ctx *pulumi.Context, name string, sg *ec2.SecurityGroup, egress *AwsEgress, opts ...pulumi.ResourceOption) ([]pulumi.Resource, error) {
	rule := func(suffix, description string, to func(*vpc.SecurityGroupEgressRuleArgs)) (pulumi.Resource, error) {
		args := &vpc.SecurityGroupEgressRuleArgs{
			SecurityGroupId: sg.ID(),
			IpProtocol:      pulumi.String("tcp"),
			FromPort:        pulumi.Int(httpsPort),
			ToPort:          pulumi.Int(httpsPort),
			Description:     pulumi.String(description),
		}
		to(args)
		return vpc.NewSecurityGroupEgressRule(ctx, name+suffix, args, opts...)
	}
	if egress == nil {
		out, err := rule("-https-out", "AWS APIs, ECR and the mesh control plane", func(a *vpc.SecurityGroupEgressRuleArgs) {
			a.CidrIpv4 = pulumi.String("0.0.0.0/0")
		})
		return []pulumi.Resource{out}, err
	}
	endpoints, err := rule("-https-out", "AWS APIs and ECR through the VPC endpoints", func(a *vpc.SecurityGroupEgressRuleArgs) {
		a.ReferencedSecurityGroupId = egress.SecurityGroupId
	})
	if err != nil {
		return nil, err
	}
	s3, err := rule("-s3-out", "ECR image layers through the S3 gateway endpoint", func(a *vpc.SecurityGroupEgressRuleArgs) {
		a.PrefixListId = egress.PrefixListId
	})
	if err != nil {
		return nil, err
	}
	return []pulumi.Resource{endpoints, s3}, nil
}

// tlsPolicy is the HTTPS listener's security policy: TLS 1.3 and 1.2 with forward secrecy
// only (the ELB user guide's recommended policy).
const tlsPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// httpsPort is the public HTTPS listener's port.
const publicHTTPSPort = 443

// declareLoadBalancer declares the public ALB, the only thing open to 0.0.0.0/0: its
// security group, target group and listeners. With a certificate it serves HTTPS on 443 and
// port 80 only redirects to it.
func declareLoadBalancer(ctx *pulumi.Context, name string, a ServiceArgs, n *serviceNetwork, opts ...pulumi.ResourceOption) error {
	albSG, err := ec2.NewSecurityGroup(ctx, name+"-alb", &ec2.SecurityGroupArgs{
		VpcId:       a.VpcId,
		Description: pulumi.String("Public load balancer of " + name),
		Tags:        a.Tags,
	}, opts...)
	if err != nil {
		return err
	}
	n.loadBalancerSecurityGroup = albSG
	ports := map[int]string{listenerPort: "http"}
	if a.CertificateArn != nil {
		ports[publicHTTPSPort] = "https"
	}
	for port, scheme := range ports {
		in, err := vpc.NewSecurityGroupIngressRule(ctx, fmt.Sprintf("%s-alb-%s-in", name, scheme), &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId: albSG.ID(),
			CidrIpv4:        pulumi.String("0.0.0.0/0"),
			IpProtocol:      pulumi.String("tcp"),
			FromPort:        pulumi.Int(port),
			ToPort:          pulumi.Int(port),
			Description:     pulumi.String(strings.ToUpper(scheme) + " from the internet"),
		}, opts...)
		if err != nil {
			return err
		}
		n.rules = append(n.rules, in)
	}
	albToTasks, err := sgrule.AllowTCP(ctx, name+"-alb-to-tasks", albSG.ID(), n.securityGroup.ID(), a.Port, "load balancer to "+name, opts...)
	if err != nil {
		return err
	}
	n.rules = append(n.rules, albToTasks...)
	lbArgs := &lb.LoadBalancerArgs{
		LoadBalancerType:        pulumi.String("application"),
		Internal:                pulumi.Bool(false),
		Subnets:                 a.PublicSubnetIds,
		SecurityGroups:          pulumi.StringArray{albSG.ID()},
		DropInvalidHeaderFields: pulumi.Bool(true),
		// Below the app's keep-alive timeout: the load balancer closes idle connections first.
		IdleTimeout:              pulumi.Int(int(contract.ProxyIdleTimeout.Seconds())),
		EnableDeletionProtection: pulumi.Bool(a.LoadBalancerDeletionProtection),
		Tags:                     a.Tags,
	}
	if a.AccessLogsBucket != nil {
		prefix := a.AccessLogsPrefix
		if prefix == "" {
			prefix = name
		}
		lbArgs.AccessLogs = lb.LoadBalancerAccessLogsArgs{Bucket: a.AccessLogsBucket, Prefix: pulumi.String(prefix), Enabled: pulumi.Bool(true)}
	}
	n.loadBalancer, err = lb.NewLoadBalancer(ctx, name, lbArgs, opts...)
	if err != nil {
		return err
	}
	n.targetGroup, err = lb.NewTargetGroup(ctx, name, &lb.TargetGroupArgs{
		VpcId:               a.VpcId,
		TargetType:          pulumi.String("ip"), // awsvpc tasks register by IP
		Port:                pulumi.Int(a.Port),
		Protocol:            pulumi.String("HTTP"),
		DeregistrationDelay: pulumi.Int(30),
		// The settings the apps are tested against (apps/contract); ECS replaces a task
		// whose target turns unhealthy.
		HealthCheck: lb.TargetGroupHealthCheckArgs{
			Path:               pulumi.String(a.LoadBalancerHealthCheckPath),
			Matcher:            pulumi.String(contract.LoadBalancerHealthCheckMatcher),
			Interval:           pulumi.Int(int(contract.LoadBalancerHealthCheckInterval.Seconds())),
			Timeout:            pulumi.Int(int(contract.LoadBalancerHealthCheckTimeout.Seconds())),
			HealthyThreshold:   pulumi.Int(contract.LoadBalancerHealthyThreshold),
			UnhealthyThreshold: pulumi.Int(contract.LoadBalancerUnhealthyThreshold),
		},
		Tags: a.Tags,
	}, opts...)
	if err != nil {
		return err
	}
	forward := lb.ListenerDefaultActionArray{
		lb.ListenerDefaultActionArgs{Type: pulumi.String("forward"), TargetGroupArn: n.targetGroup.Arn},
	}
	httpArgs := &lb.ListenerArgs{
		LoadBalancerArn: n.loadBalancer.Arn,
		Port:            pulumi.Int(listenerPort),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions:  forward,
		Tags:            a.Tags,
	}
	if a.CertificateArn != nil {
		httpArgs.DefaultActions = lb.ListenerDefaultActionArray{lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: lb.ListenerDefaultActionRedirectArgs{
				Protocol: pulumi.String("HTTPS"), Port: pulumi.String(fmt.Sprint(publicHTTPSPort)), StatusCode: pulumi.String("HTTP_301"),
			},
		}}
	}
	n.listener, err = lb.NewListener(ctx, name, httpArgs, opts...)
	if err != nil {
		return err
	}
	if a.CertificateArn == nil {
		return nil
	}
	n.listener, err = lb.NewListener(ctx, name+"-https", &lb.ListenerArgs{
		LoadBalancerArn: n.loadBalancer.Arn,
		Port:            pulumi.Int(publicHTTPSPort),
		Protocol:        pulumi.String("HTTPS"),
		SslPolicy:       pulumi.String(tlsPolicy),
		CertificateArn:  a.CertificateArn,
		DefaultActions:  forward,
		Tags:            a.Tags,
	}, opts...)
	return err
}

// exportTo sets the service's network outputs; those of a service without a load
// balancer are empty.
func (n *serviceNetwork) exportTo(s *Service) {
	empty := pulumi.String("").ToStringOutput()
	s.LoadBalancerArn, s.LoadBalancerArnSuffix, s.LoadBalancerDnsName, s.LoadBalancerSecurityGroupId = empty, empty, empty, empty
	s.LoadBalancerZoneId = empty
	s.ListenerArn, s.TargetGroupArn, s.TargetGroupArnSuffix = empty, empty, empty
	if n.loadBalancer == nil {
		return
	}
	s.LoadBalancerArn = n.loadBalancer.Arn
	s.LoadBalancerZoneId = n.loadBalancer.ZoneId
	s.LoadBalancerArnSuffix = n.loadBalancer.ArnSuffix
	s.LoadBalancerDnsName = n.loadBalancer.DnsName
	s.LoadBalancerSecurityGroupId = n.loadBalancerSecurityGroup.ID().ToStringOutput()
	s.ListenerArn = n.listener.Arn
	s.TargetGroupArn = n.targetGroup.Arn
	s.TargetGroupArnSuffix = n.targetGroup.ArnSuffix
}
