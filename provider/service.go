package main

import (
	"fmt"

	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/services"
)

// Backend is a service that a Service calls: the called Service's outputs of the same names.
type Backend struct {
	Name            string             `pulumi:"name"`
	Port            int                `pulumi:"port,optional"`
	Endpoint        pulumi.StringInput `pulumi:"endpoint"`
	SecurityGroupId pulumi.StringInput `pulumi:"securityGroupId"`
}

// Annotate describes the fields.
func (b *Backend) Annotate(an infer.Annotator) {
	an.Describe(&b.Name, "The called service's name (its Service's serviceName in the mesh: the component's name).")
	an.Describe(&b.Port, "The called service's port (its Service's port output). Default 8080.")
	an.Describe(&b.Endpoint, "The called service's endpoint output, e.g. http://payments:8080.")
	an.Describe(&b.SecurityGroupId, "The called service's securityGroupId output: it admits the caller on port.")
}

// SecretEnv is an environment variable ECS fills from Secrets Manager.
type SecretEnv struct {
	Name      string             `pulumi:"name"`
	SecretArn pulumi.StringInput `pulumi:"secretArn"`
	JsonKey   string             `pulumi:"jsonKey,optional"`
}

// Annotate describes the fields.
func (s *SecretEnv) Annotate(an infer.Annotator) {
	an.Describe(&s.Name, "Name of the environment variable.")
	an.Describe(&s.SecretArn, "ARN of the Secrets Manager secret; only these secrets are readable by the execution role.")
	an.Describe(&s.JsonKey, "One key of a JSON secret, e.g. password. Default: the whole secret.")
}

// ServiceArgs are the Service's inputs.
type ServiceArgs struct {
	ClusterArn             pulumi.StringInput            `pulumi:"clusterArn"`
	VpcId                  pulumi.StringInput            `pulumi:"vpcId"`
	SubnetIds              pulumi.StringArrayInput       `pulumi:"subnetIds"`
	Image                  pulumi.StringInput            `pulumi:"image"`
	Port                   int                           `pulumi:"port,optional"`
	HealthCheckPath        string                        `pulumi:"healthCheckPath,optional"`
	ReadinessPath          string                        `pulumi:"readinessPath,optional"`
	Environment            map[string]pulumi.StringInput `pulumi:"environment,optional"`
	Secrets                []SecretEnv                   `pulumi:"secrets,optional"`
	Cpu                    int                           `pulumi:"cpu,optional"`
	Memory                 int                           `pulumi:"memory,optional"`
	DesiredCount           int                           `pulumi:"desiredCount,optional"`
	Public                 bool                          `pulumi:"public,optional"`
	PublicSubnetIds        pulumi.StringArrayInput       `pulumi:"publicSubnetIds,optional"`
	ClientOnly             bool                          `pulumi:"clientOnly,optional"`
	SecurityGroupIds       []pulumi.StringInput          `pulumi:"securityGroupIds,optional"`
	DirectEgressPorts      []int                         `pulumi:"directEgressPorts,optional"`
	Mesh                   MeshRef                       `pulumi:"mesh"`
	Tracing                *TracingRef                   `pulumi:"tracing,optional"`
	Backends               []Backend                     `pulumi:"backends,optional"`
	TaskRoleArn            pulumi.StringInput            `pulumi:"taskRoleArn,optional"`
	ExecutionRoleArn       pulumi.StringInput            `pulumi:"executionRoleArn,optional"`
	ReadonlyRootFilesystem *bool                         `pulumi:"readonlyRootFilesystem,optional"`
	LogGroupName           string                        `pulumi:"logGroupName,optional"`
	LogRetentionDays       int                           `pulumi:"logRetentionDays,optional"`
	WaitForSteadyState     *bool                         `pulumi:"waitForSteadyState,optional"`
	Tags                   map[string]string             `pulumi:"tags,optional"`
}

// Annotate describes the inputs.
func (a *ServiceArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.ClusterArn, "ARN of the ECS cluster (a Cluster's clusterArn).")
	an.Describe(&a.VpcId, "VPC of the tasks.")
	an.Describe(&a.SubnetIds, "Subnets of the tasks; use private ones.")
	an.Describe(&a.Image, "Image URI the app container runs.")
	an.Describe(&a.Port, "The app's HTTP port. Default 8080.")
	an.Describe(&a.HealthCheckPath, "The app's liveness endpoint, used by the mesh. Default /healthz.")
	an.Describe(&a.ReadinessPath, "What the load balancer routes on: 200 only when the app's dependencies answer. Default healthCheckPath.")
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
	an.Describe(&a.LogGroupName, "The service's log group. Default /ecs/<name>.")
	an.Describe(&a.LogRetentionDays, "Days the logs are kept. Default 30.")
	an.Describe(&a.WaitForSteadyState, "Make the deployment wait until the tasks run and pass their health checks, and fail if they do not. Default true.")
	an.Describe(&a.Tags, "Tags added to every resource.")
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
}

// NewService constructs the Service: its mesh and tracing from their records, its backends
// as stand-ins (services.NewRemoteBackend), then the Go Service.
func NewService(ctx *pulumi.Context, name string, args ServiceArgs, opts ...pulumi.ResourceOption) (*Service, error) {
	c := &Service{}
	parent, err := register(ctx, name, c, opts)
	if err != nil {
		return nil, err
	}
	m, err := args.Mesh.joinable(ctx, name, parent)
	if err != nil {
		return nil, err
	}
	a := &services.ServiceArgs{
		ClusterArn: args.ClusterArn, VpcId: args.VpcId, SubnetIds: args.SubnetIds, Image: args.Image,
		Port: args.Port, HealthCheckPath: args.HealthCheckPath, LoadBalancerHealthCheckPath: args.ReadinessPath,
		Environment: args.Environment, Cpu: args.Cpu, Memory: args.Memory, DesiredCount: args.DesiredCount,
		Public: args.Public, PublicSubnetIds: args.PublicSubnetIds, ClientOnly: args.ClientOnly,
		SecurityGroupIds: args.SecurityGroupIds, DirectEgressPorts: args.DirectEgressPorts, Mesh: m,
		TaskRoleArn: args.TaskRoleArn, ExecutionRoleArn: args.ExecutionRoleArn, ReadonlyRootFilesystem: args.ReadonlyRootFilesystem,
		LogGroupName: args.LogGroupName, LogRetentionDays: args.LogRetentionDays, WaitForSteadyState: args.WaitForSteadyState,
		Tags: tags(args.Tags),
	}
	for _, s := range args.Secrets {
		a.Secrets = append(a.Secrets, services.SecretEnv{Name: s.Name, SecretArn: s.SecretArn, JSONKey: s.JsonKey})
	}
	if args.Tracing != nil {
		t, err := args.Tracing.part(ctx, name+"-tracing", parent)
		if err != nil {
			return nil, err
		}
		a.Parts = append(a.Parts, t)
	}
	for _, b := range args.Backends {
		port := b.Port
		if port == 0 {
			port = 8080
		}
		backend, err := services.NewRemoteBackend(ctx, fmt.Sprintf("%s-calls-%s", name, b.Name), &services.RemoteBackendArgs{
			Name: b.Name, Port: port, Endpoint: b.Endpoint, SecurityGroupId: b.SecurityGroupId,
		}, parent)
		if err != nil {
			return nil, err
		}
		a.Backends = append(a.Backends, backend)
	}
	s, err := services.NewService(ctx, name, a, parent)
	if err != nil {
		return nil, err
	}
	c.ServiceName, c.Port, c.SecurityGroupId, c.Endpoint, c.Url = s.ServiceName, pulumi.Int(s.Port).ToIntOutput(), s.SecurityGroupId, s.Endpoint, s.URL
	c.TaskDefinitionArn, c.TaskRoleArn, c.ExecutionRoleArn, c.LogGroupName = s.TaskDefinitionArn, s.TaskRoleArn, s.ExecutionRoleArn, s.LogGroupName
	c.RequiredTaskRolePolicy, c.RequiredExecutionRolePolicy = s.RequiredTaskRolePolicy, s.RequiredExecutionRolePolicy
	c.LoadBalancerArn, c.LoadBalancerDnsName, c.LoadBalancerSecurityGroupId = s.LoadBalancerArn, s.LoadBalancerDnsName, s.LoadBalancerSecurityGroupId
	c.ListenerArn, c.TargetGroupArn = s.ListenerArn, s.TargetGroupArn
	return c, nil
}
