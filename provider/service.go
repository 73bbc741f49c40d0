package main

import (
	"context"
	"fmt"
	"reflect"

	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/services"
)

// Backend is a service that a Service calls: the called Service's outputs of the same names,
// or, for a service of another stack, its reference as the stack exports it (an entry of
// the platform stack's "services" output: services.ServiceRef), passed as it is.
type Backend struct {
	Name            string `pulumi:"name,optional"`
	DiscoveryName   string `pulumi:"discoveryName,optional"`
	Port            int    `pulumi:"port,optional"`
	Endpoint        string `pulumi:"endpoint"`
	SecurityGroupId string `pulumi:"securityGroupId"`
}

// Annotate describes the fields.
func (b *Backend) Annotate(an infer.Annotator) {
	an.Describe(&b.Name, "The called service's name in the mesh (the Service component's name). Set this or discoveryName.")
	an.Describe(&b.DiscoveryName, "The called service's name in the mesh, as a stack's service reference names it. Set this or name.")
	an.Describe(&b.Port, "The called service's port (its Service's port output). Default 8080.")
	an.Describe(&b.Endpoint, "The called service's endpoint output, e.g. http://payments:8080.")
	an.Describe(&b.SecurityGroupId, "The called service's securityGroupId output: it admits the caller on port.")
}

// BackendArgs is a Backend of Inputs; BackendInput is either that or one output of a Backend.
type BackendArgs struct {
	Name            pulumi.StringInput `pulumi:"name,optional"`
	DiscoveryName   pulumi.StringInput `pulumi:"discoveryName,optional"`
	Port            pulumi.IntInput    `pulumi:"port,optional"`
	Endpoint        pulumi.StringInput `pulumi:"endpoint"`
	SecurityGroupId pulumi.StringInput `pulumi:"securityGroupId"`
}

type BackendInput interface {
	pulumi.Input
	ToBackendOutput() BackendOutput
}

type BackendOutput struct{ *pulumi.OutputState }

func (BackendArgs) ElementType() reflect.Type          { return reflect.TypeFor[Backend]() }
func (BackendOutput) ElementType() reflect.Type        { return reflect.TypeFor[Backend]() }
func (o BackendOutput) ToBackendOutput() BackendOutput { return o }
func (a BackendArgs) ToBackendOutput() BackendOutput {
	return toOutput[BackendOutput](context.Background(), a)
}

// BackendArray is a list of Backends; BackendArrayInput is either that or one output of the list.
type BackendArray []BackendInput

type BackendArrayInput interface {
	pulumi.Input
	ToBackendArrayOutput() BackendArrayOutput
}

type BackendArrayOutput struct{ *pulumi.OutputState }

func (BackendArray) ElementType() reflect.Type                        { return reflect.TypeFor[[]Backend]() }
func (BackendArrayOutput) ElementType() reflect.Type                  { return reflect.TypeFor[[]Backend]() }
func (o BackendArrayOutput) ToBackendArrayOutput() BackendArrayOutput { return o }
func (a BackendArray) ToBackendArrayOutput() BackendArrayOutput {
	return toOutput[BackendArrayOutput](context.Background(), a)
}

// SecretEnv is an environment variable ECS fills from Secrets Manager.
type SecretEnv struct {
	Name      string `pulumi:"name"`
	SecretArn string `pulumi:"secretArn"`
	JsonKey   string `pulumi:"jsonKey,optional"`
}

// Annotate describes the fields.
func (s *SecretEnv) Annotate(an infer.Annotator) {
	an.Describe(&s.Name, "Name of the environment variable.")
	an.Describe(&s.SecretArn, "ARN of the Secrets Manager secret; only these secrets are readable by the execution role.")
	an.Describe(&s.JsonKey, "One key of a JSON secret, e.g. password. Default: the whole secret.")
}

// SecretEnvArgs is a SecretEnv of Inputs; SecretEnvInput is either that or one output of a
// SecretEnv.
type SecretEnvArgs struct {
	Name      pulumi.StringInput `pulumi:"name"`
	SecretArn pulumi.StringInput `pulumi:"secretArn"`
	JsonKey   pulumi.StringInput `pulumi:"jsonKey,optional"`
}

type SecretEnvInput interface {
	pulumi.Input
	ToSecretEnvOutput() SecretEnvOutput
}

type SecretEnvOutput struct{ *pulumi.OutputState }

func (SecretEnvArgs) ElementType() reflect.Type              { return reflect.TypeFor[SecretEnv]() }
func (SecretEnvOutput) ElementType() reflect.Type            { return reflect.TypeFor[SecretEnv]() }
func (o SecretEnvOutput) ToSecretEnvOutput() SecretEnvOutput { return o }
func (a SecretEnvArgs) ToSecretEnvOutput() SecretEnvOutput {
	return toOutput[SecretEnvOutput](context.Background(), a)
}

// SecretEnvArray is a list of SecretEnvs; SecretEnvArrayInput is either that or one output of the list.
type SecretEnvArray []SecretEnvInput

type SecretEnvArrayInput interface {
	pulumi.Input
	ToSecretEnvArrayOutput() SecretEnvArrayOutput
}

type SecretEnvArrayOutput struct{ *pulumi.OutputState }

func (SecretEnvArray) ElementType() reflect.Type                            { return reflect.TypeFor[[]SecretEnv]() }
func (SecretEnvArrayOutput) ElementType() reflect.Type                      { return reflect.TypeFor[[]SecretEnv]() }
func (o SecretEnvArrayOutput) ToSecretEnvArrayOutput() SecretEnvArrayOutput { return o }
func (a SecretEnvArray) ToSecretEnvArrayOutput() SecretEnvArrayOutput {
	return toOutput[SecretEnvArrayOutput](context.Background(), a)
}

func init() {
	registerRecord[BackendArgs, BackendOutput](reflect.TypeFor[BackendInput]())
	registerRecord[BackendArray, BackendArrayOutput](reflect.TypeFor[BackendArrayInput]())
	registerRecord[SecretEnvArgs, SecretEnvOutput](reflect.TypeFor[SecretEnvInput]())
	registerRecord[SecretEnvArray, SecretEnvArrayOutput](reflect.TypeFor[SecretEnvArrayInput]())
}

// ServiceArgs are the Service's inputs. An optional record is a pointer (infer wants one).
type ServiceArgs struct {
	ClusterArn                     pulumi.StringInput      `pulumi:"clusterArn"`
	VpcId                          pulumi.StringInput      `pulumi:"vpcId"`
	SubnetIds                      pulumi.StringArrayInput `pulumi:"subnetIds"`
	Image                          pulumi.StringInput      `pulumi:"image"`
	Port                           pulumi.IntInput         `pulumi:"port,optional"`
	HealthCheckPath                pulumi.StringInput      `pulumi:"healthCheckPath,optional"`
	LoadBalancerHealthCheckPath    pulumi.StringInput      `pulumi:"loadBalancerHealthCheckPath,optional"`
	Environment                    pulumi.StringMapInput   `pulumi:"environment,optional"`
	Secrets                        SecretEnvArrayInput     `pulumi:"secrets,optional"`
	Cpu                            pulumi.IntInput         `pulumi:"cpu,optional"`
	Memory                         pulumi.IntInput         `pulumi:"memory,optional"`
	DesiredCount                   pulumi.IntInput         `pulumi:"desiredCount,optional"`
	Public                         pulumi.BoolInput        `pulumi:"public,optional"`
	PublicSubnetIds                pulumi.StringArrayInput `pulumi:"publicSubnetIds,optional"`
	ClientOnly                     pulumi.BoolInput        `pulumi:"clientOnly,optional"`
	SecurityGroupIds               pulumi.StringArrayInput `pulumi:"securityGroupIds,optional"`
	DirectEgressPorts              pulumi.IntArrayInput    `pulumi:"directEgressPorts,optional"`
	Mesh                           MeshRefInput            `pulumi:"mesh"`
	Tracing                        *TracingRefInput        `pulumi:"tracing,optional"`
	Backends                       BackendArrayInput       `pulumi:"backends,optional"`
	TaskRoleArn                    pulumi.StringInput      `pulumi:"taskRoleArn,optional"`
	ExecutionRoleArn               pulumi.StringInput      `pulumi:"executionRoleArn,optional"`
	ReadonlyRootFilesystem         pulumi.BoolInput        `pulumi:"readonlyRootFilesystem,optional"`
	LogGroupName                   pulumi.StringInput      `pulumi:"logGroupName,optional"`
	LogRetentionDays               pulumi.IntInput         `pulumi:"logRetentionDays,optional"`
	WaitForSteadyState             pulumi.BoolInput        `pulumi:"waitForSteadyState,optional"`
	Tags                           pulumi.StringMapInput   `pulumi:"tags,optional"`
	Family                         pulumi.StringInput      `pulumi:"family,optional"`
	NamePrefix                     pulumi.StringInput      `pulumi:"namePrefix,optional"`
	DiscoveryName                  pulumi.StringInput      `pulumi:"discoveryName,optional"`
	MinCount                       pulumi.IntInput         `pulumi:"minCount,optional"`
	MaxCount                       pulumi.IntInput         `pulumi:"maxCount,optional"`
	Scaling                        *ScalingInput           `pulumi:"scaling,optional"`
	AlarmTopicArn                  pulumi.StringInput      `pulumi:"alarmTopicArn,optional"`
	CertificateArn                 pulumi.StringInput      `pulumi:"certificateArn,optional"`
	AccessLogsBucket               pulumi.StringInput      `pulumi:"accessLogsBucket,optional"`
	LoadBalancerDeletionProtection pulumi.BoolInput        `pulumi:"loadBalancerDeletionProtection,optional"`
	AppHealthCheck                 *HealthCheckInput       `pulumi:"appHealthCheck,optional"`
	Init                           *InitContainerInput     `pulumi:"init,optional"`
	TaskRoleGrants                 GrantArrayInput         `pulumi:"taskRoleGrants,optional"`
}

// Annotate describes the inputs.
func (a *ServiceArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.ClusterArn, "ARN of the ECS cluster (a Cluster's clusterArn).")
	an.Describe(&a.VpcId, "VPC of the tasks.")
	an.Describe(&a.SubnetIds, "Subnets of the tasks; use private ones.")
	an.Describe(&a.Image, "Image URI the app container runs.")
	an.Describe(&a.Port, "The app's HTTP port. Default 8080.")
	an.Describe(&a.HealthCheckPath, "The app's liveness endpoint, used by the mesh. Default /healthz.")
	an.Describe(&a.LoadBalancerHealthCheckPath, "What the load balancer's health check probes when public. ECS replaces a task that fails it, so it must say whether the process serves, not whether a dependency answers. Default healthCheckPath.")
	an.Describe(&a.Environment, "The app's plain environment. Never put secrets here.")
	an.Describe(&a.Secrets, "Environment variables ECS fills from Secrets Manager at task start.")
	an.Describe(&a.Cpu, "CPU units of the task, a Fargate pair with memory. Default 256.")
	an.Describe(&a.Memory, "Memory of the task in MiB. Default 512.")
	an.Describe(&a.DesiredCount, "Number of tasks. Default 1.")
	an.Describe(&a.Public, "Put an internet-facing load balancer in front of the service; needs publicSubnetIds. Default false.")
	an.Describe(&a.PublicSubnetIds, "Public subnets of the load balancer.")
	an.Describe(&a.ClientOnly, "Nothing calls this service through the mesh (it is reached through its load balancer only): it joins as a caller and has no mesh endpoint. Default false.")
	an.Describe(&a.SecurityGroupIds, "Security groups attached besides the service's own, e.g. a Database's clientSecurityGroupId. Default none.")
	an.Describe(&a.DirectEgressPorts, "Ports the app reaches outside the mesh, e.g. 5432 for PostgreSQL.")
	an.Describe(&a.Mesh, "The mesh the service joins: a Mesh's mode and namespaceArn.")
	an.Describe(&a.Tracing, "The tracing of the system: a Tracing's outputs. The service declares its sampling rule and runs the sidecar. Default: no tracing.")
	an.Describe(&a.Backends, "Services this one calls: their security groups admit it on their port and the mesh routes to them.")
	an.Describe(&a.TaskRoleArn, "Bring your own task role: the service creates none, and the role must allow what requiredTaskRolePolicy says. Default: created.")
	an.Describe(&a.ExecutionRoleArn, "Bring your own execution role: the service creates none, and the role must allow what requiredExecutionRolePolicy says. Default: created.")
	an.Describe(&a.ReadonlyRootFilesystem, "Read-only root filesystem for the app container. Default true; set false for an image that must write to disk.")
	an.Describe(&a.LogGroupName, "The service's log group. Default /ecs/<namePrefix>/<name>.")
	an.Describe(&a.LogRetentionDays, "Days the logs are kept. Default 30.")
	an.Describe(&a.WaitForSteadyState, "Make the deployment wait until the tasks run and pass their health checks, and fail if they do not. Default true.")
	an.Describe(&a.Tags, "Tags added to every resource.")
	an.Describe(&a.Family, "Family of the task definition. Default <namePrefix>-<name>.")
	an.Describe(&a.NamePrefix, "Starts the service's account-unique physical names (task family, log group, alarms), so that two stacks or two teams cannot collide in one account. Default <project>-<stack>.")
	an.Describe(&a.DiscoveryName, "The name clients call in the mesh (its DNS name) and the service's name in X-Ray; not a physical name. Default: the service's name.")
	an.Describe(&a.MinCount, "Fewest tasks autoscaling keeps. Default desiredCount.")
	an.Describe(&a.MaxCount, "Most tasks autoscaling starts. Default twice minCount.")
	an.Describe(&a.Scaling, "How the task count follows the load. Default: see each field.")
	an.Describe(&a.AlarmTopicArn, "SNS topic the service's alarms notify. Default none: the alarms still roll deployments back and show in the console.")
	an.Describe(&a.CertificateArn, "ACM certificate: the public load balancer serves HTTPS (TLS 1.3 policy) and port 80 redirects to it. Default: plain HTTP.")
	an.Describe(&a.AccessLogsBucket, "S3 bucket (its policy must admit ELB log delivery) for the public load balancer's access logs. Default none.")
	an.Describe(&a.LoadBalancerDeletionProtection, "Refuse to delete the public load balancer. Default false.")
	an.Describe(&a.AppHealthCheck, "The app container's ECS health check: ECS replaces a task whose app turns unhealthy. Default none.")
	an.Describe(&a.Init, "A container that runs before the app in every task, from the service's image (e.g. migrations). Default none.")
	an.Describe(&a.TaskRoleGrants, "Permissions of the app on resources, e.g. rds-db:connect on a database user. Default none.")
}

// Service is a traced, meshed ECS Fargate service.
type Service struct {
	pulumi.ResourceState
	ServiceName                 pulumi.StringOutput `pulumi:"serviceName"`
	Port                        pulumi.IntOutput    `pulumi:"port"`
	SecurityGroupId             pulumi.StringOutput `pulumi:"securityGroupId"`
	Endpoint                    pulumi.StringOutput `pulumi:"endpoint"`
	Url                         pulumi.StringOutput `pulumi:"url"`
	TaskDefinitionArn           pulumi.StringOutput `pulumi:"taskDefinitionArn"`
	TaskRoleArn                 pulumi.StringOutput `pulumi:"taskRoleArn"`
	ExecutionRoleArn            pulumi.StringOutput `pulumi:"executionRoleArn"`
	LogGroupName                pulumi.StringOutput `pulumi:"logGroupName"`
	RequiredTaskRolePolicy      pulumi.StringOutput `pulumi:"requiredTaskRolePolicy"`
	RequiredExecutionRolePolicy pulumi.StringOutput `pulumi:"requiredExecutionRolePolicy"`
	LoadBalancerArn             pulumi.StringOutput `pulumi:"loadBalancerArn"`
	LoadBalancerDnsName         pulumi.StringOutput `pulumi:"loadBalancerDnsName"`
	LoadBalancerSecurityGroupId pulumi.StringOutput `pulumi:"loadBalancerSecurityGroupId"`
	ListenerArn                 pulumi.StringOutput `pulumi:"listenerArn"`
	TargetGroupArn              pulumi.StringOutput `pulumi:"targetGroupArn"`
	// For a team's own alarms, dashboards, DNS records and rules.
	ClusterName           pulumi.StringOutput      `pulumi:"clusterName"`
	ImageUri              pulumi.StringOutput      `pulumi:"imageUri"`
	LoadBalancerArnSuffix pulumi.StringOutput      `pulumi:"loadBalancerArnSuffix"`
	LoadBalancerZoneId    pulumi.StringOutput      `pulumi:"loadBalancerZoneId"`
	TargetGroupArnSuffix  pulumi.StringOutput      `pulumi:"targetGroupArnSuffix"`
	DeploymentAlarmNames  pulumi.StringArrayOutput `pulumi:"deploymentAlarmNames"`
}

// Annotate describes the component and its outputs.
func (s *Service) Annotate(an infer.Annotator) {
	an.Describe(&s, "An ECS Fargate service in the mesh, traced: task definition, roles, log group, security group, ECS service and, when public, an Application Load Balancer. Its name is its name in the mesh: keep it short.")
	an.Describe(&s.ServiceName, "Name of the ECS service.")
	an.Describe(&s.Port, "The app's port, for the services that call this one (a Backend's port).")
	an.Describe(&s.SecurityGroupId, "Security group of the tasks (a Backend's securityGroupId).")
	an.Describe(&s.Endpoint, "Base URL callers in the mesh use, e.g. http://payments:8080 (a Backend's endpoint); empty for a clientOnly service.")
	an.Describe(&s.Url, "Public URL of the load balancer; empty when not public.")
	an.Describe(&s.TaskDefinitionArn, "ARN of the task definition.")
	an.Describe(&s.TaskRoleArn, "ARN of the task role, created or brought.")
	an.Describe(&s.ExecutionRoleArn, "ARN of the execution role, created or brought.")
	an.Describe(&s.LogGroupName, "The service's log group.")
	an.Describe(&s.RequiredTaskRolePolicy, "Policy document the task role needs (attached to a created role).")
	an.Describe(&s.RequiredExecutionRolePolicy, "Policy document the execution role needs (attached to a created role).")
	an.Describe(&s.LoadBalancerArn, "ARN of the load balancer; empty when not public.")
	an.Describe(&s.LoadBalancerDnsName, "DNS name of the load balancer; empty when not public.")
	an.Describe(&s.LoadBalancerSecurityGroupId, "Security group of the load balancer; empty when not public.")
	an.Describe(&s.ListenerArn, "ARN of the HTTP listener, for rules of your own; empty when not public.")
	an.Describe(&s.TargetGroupArn, "ARN of the target group; empty when not public.")
	an.Describe(&s.ClusterName, "Name of the cluster (CloudWatch's ClusterName dimension).")
	an.Describe(&s.ImageUri, "The image the app container runs.")
	an.Describe(&s.LoadBalancerArnSuffix, "The load balancer's ARN suffix (CloudWatch's LoadBalancer dimension); empty when not public.")
	an.Describe(&s.LoadBalancerZoneId, "Hosted zone of the load balancer, for an alias record; empty when not public.")
	an.Describe(&s.TargetGroupArnSuffix, "The target group's ARN suffix (CloudWatch's TargetGroup dimension); empty when not public.")
	an.Describe(&s.DeploymentAlarmNames, "The alarms that roll a deployment of the service back.")
}

// NewService constructs the Service: its mesh and tracing from their records, its backends
// as stand-ins (services.NewRemoteBackend), then the Go Service.
func NewService(ctx *pulumi.Context, name string, args ServiceArgs, opts ...pulumi.ResourceOption) (*Service, error) {
	c := &Service{}
	parent, err := register(ctx, name, c, opts)
	if err != nil {
		return nil, err
	}
	p := newPlain(ctx)
	newMesh, err := joinable(ctx, p, args.Mesh, name)
	if err != nil {
		return nil, err
	}
	a := &services.ServiceArgs{
		ClusterArn: args.ClusterArn, VpcId: args.VpcId, SubnetIds: args.SubnetIds, Image: args.Image,
		Port:                           value(p, "port", args.Port, 0),
		HealthCheckPath:                value(p, "healthCheckPath", args.HealthCheckPath, ""),
		LoadBalancerHealthCheckPath:    value(p, "loadBalancerHealthCheckPath", args.LoadBalancerHealthCheckPath, ""),
		Environment:                    stringMap(p, "environment", args.Environment),
		Cpu:                            value(p, "cpu", args.Cpu, 0),
		Memory:                         value(p, "memory", args.Memory, 0),
		DesiredCount:                   value(p, "desiredCount", args.DesiredCount, 0),
		Public:                         value(p, "public", args.Public, false),
		PublicSubnetIds:                args.PublicSubnetIds,
		ClientOnly:                     value(p, "clientOnly", args.ClientOnly, false),
		SecurityGroupIds:               stringList(p, "securityGroupIds", args.SecurityGroupIds),
		DirectEgressPorts:              value[[]int](p, "directEgressPorts", args.DirectEgressPorts, nil),
		TaskRoleArn:                    args.TaskRoleArn,
		ExecutionRoleArn:               args.ExecutionRoleArn,
		ReadonlyRootFilesystem:         pointer[bool](p, "readonlyRootFilesystem", args.ReadonlyRootFilesystem),
		LogGroupName:                   value(p, "logGroupName", args.LogGroupName, ""),
		LogRetentionDays:               value(p, "logRetentionDays", args.LogRetentionDays, 0),
		WaitForSteadyState:             pointer[bool](p, "waitForSteadyState", args.WaitForSteadyState),
		Tags:                           stringMap(p, "tags", args.Tags),
		Secrets:                        secretEnvs(p, "secrets", args.Secrets),
		Family:                         value(p, "family", args.Family, ""),
		NamePrefix:                     value(p, "namePrefix", args.NamePrefix, ""),
		DiscoveryName:                  value(p, "discoveryName", args.DiscoveryName, ""),
		MinCount:                       value(p, "minCount", args.MinCount, 0),
		MaxCount:                       value(p, "maxCount", args.MaxCount, 0),
		AlarmTopicArn:                  args.AlarmTopicArn,
		CertificateArn:                 args.CertificateArn,
		AccessLogsBucket:               args.AccessLogsBucket,
		TaskRoleGrants:                 grants(p, args.TaskRoleGrants),
		LoadBalancerDeletionProtection: value(p, "loadBalancerDeletionProtection", args.LoadBalancerDeletionProtection, false),
	}
	if args.Scaling != nil && *args.Scaling != nil {
		a.Scaling = recordArgs[ScalingArgs](p, "scaling", *args.Scaling).read(p)
	}
	if args.AppHealthCheck != nil && *args.AppHealthCheck != nil {
		a.AppHealthCheck = recordArgs[HealthCheckArgs](p, "appHealthCheck", *args.AppHealthCheck).read(p)
	}
	if args.Init != nil && *args.Init != nil {
		a.Init = recordArgs[InitContainerArgs](p, "init", *args.Init).read(p)
	}
	var tracing *TracingRef
	if args.Tracing != nil && *args.Tracing != nil {
		t := tracingRef(p, *args.Tracing)
		tracing = &t
	}
	var backends []services.RemoteBackendArgs
	for i, in := range list[BackendInput](p, "backends", args.Backends) {
		b := recordArgs[BackendArgs](p, fmt.Sprintf("backends[%d]", i), in)
		port := value(p, fmt.Sprintf("backends[%d].port", i), b.Port, 0)
		if port == 0 { // unset, or absent from a Backend passed as one output
			port = 8080
		}
		called := value(p, fmt.Sprintf("backends[%d].name", i), b.Name, "")
		if discovery := value(p, fmt.Sprintf("backends[%d].discoveryName", i), b.DiscoveryName, ""); called == "" {
			called = discovery
		} else if discovery != "" && discovery != called {
			return nil, fmt.Errorf("service %s: backends[%d]: name %q and discoveryName %q differ: set one", name, i, called, discovery)
		}
		backends = append(backends, services.RemoteBackendArgs{Name: called, Port: port, Endpoint: b.Endpoint, SecurityGroupId: b.SecurityGroupId})
	}
	deps, declare, err := p.done("Service "+name, c)
	if err != nil || !declare {
		return c, err
	}

	if a.Mesh, err = newMesh(parent, deps); err != nil {
		return nil, err
	}
	if tracing != nil {
		t, err := tracing.part(ctx, name+"-tracing", nil, parent, deps)
		if err != nil {
			return nil, err
		}
		a.Parts = append(a.Parts, t)
	}
	for _, b := range backends {
		backend, err := services.NewRemoteBackend(ctx, fmt.Sprintf("%s-calls-%s", name, b.Name), &b, parent, deps)
		if err != nil {
			return nil, err
		}
		a.Backends = append(a.Backends, backend)
	}
	s, err := services.NewService(ctx, name, a, parent, deps)
	if err != nil {
		return nil, err
	}
	c.ServiceName, c.Port, c.SecurityGroupId, c.Endpoint, c.Url = s.ServiceName, pulumi.Int(s.Port).ToIntOutput(), s.SecurityGroupId, s.Endpoint, s.URL
	c.TaskDefinitionArn, c.TaskRoleArn, c.ExecutionRoleArn, c.LogGroupName = s.TaskDefinitionArn, s.TaskRoleArn, s.ExecutionRoleArn, s.LogGroupName
	c.RequiredTaskRolePolicy, c.RequiredExecutionRolePolicy = s.RequiredTaskRolePolicy, s.RequiredExecutionRolePolicy
	c.LoadBalancerArn, c.LoadBalancerDnsName, c.LoadBalancerSecurityGroupId = s.LoadBalancerArn, s.LoadBalancerDnsName, s.LoadBalancerSecurityGroupId
	c.ListenerArn, c.TargetGroupArn = s.ListenerArn, s.TargetGroupArn
	c.ClusterName, c.ImageUri, c.DeploymentAlarmNames = s.ClusterName, s.ImageUri, s.DeploymentAlarmNames
	c.LoadBalancerArnSuffix, c.LoadBalancerZoneId, c.TargetGroupArnSuffix = s.LoadBalancerArnSuffix, s.LoadBalancerZoneId, s.TargetGroupArnSuffix
	return c, nil
}
