// Package services declares ECS Fargate services. A Service turns a small description
// (image, port, environment, secrets, size, backends it calls, public or not) into a
// task definition, roles, log group, security group, ECS service and, for a public
// service, an Application Load Balancer. The mesh and tracing are parts handed to it,
// not modes it knows about.
package services

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/components/taskspec"
)

// TaskPart is anything that adds a fixed part to every task, such as xray.Tracing.
type TaskPart interface {
	Part() taskspec.Part
}

// SecretEnv is an environment variable ECS fills from a Secrets Manager secret at
// task start. JSONKey picks one key of a JSON secret (e.g. "password").
type SecretEnv struct {
	Name      string
	SecretArn pulumi.StringInput
	JSONKey   string
}

// ImageBuild builds the service's image from source during `pulumi up` and pushes it
// to an ECR repository created for the service.
type ImageBuild struct {
	// Context is the Docker build context, relative to the Pulumi project. Required.
	Context string
	// Dockerfile is the Dockerfile's path. Default <Context>/Dockerfile.
	Dockerfile string
	// Platform of the image. Default linux/amd64 (the task's runtime platform).
	Platform string
}

// ServiceArgs describes a service.
type ServiceArgs struct {
	// ClusterArn is the ECS cluster. Required.
	ClusterArn pulumi.StringInput
	// VpcId and SubnetIds place the tasks; use private subnets. Required.
	VpcId     pulumi.StringInput
	SubnetIds pulumi.StringArrayInput
	// Image is the image URI to run. Set exactly one of Image and Build.
	Image pulumi.StringInput
	// Build builds the image from source. Set exactly one of Image and Build.
	Build *ImageBuild
	// Port is the app's HTTP port. Default 8080.
	Port int
	// HealthCheckPath is the app's health endpoint, used by the load balancer and the
	// mesh. Default /healthz.
	HealthCheckPath string
	// Environment is the app's plain environment. Never put secrets here.
	Environment map[string]pulumi.StringInput
	// Secrets are filled by ECS from Secrets Manager; only these secrets are readable
	// by the execution role.
	Secrets []SecretEnv
	// Cpu (units) and Memory (MiB) of the task, a Fargate pair. Default 256 and 512.
	Cpu    int
	Memory int
	// DesiredCount is the number of tasks. Default 1.
	DesiredCount int
	// Public puts an internet-facing ALB in front of the service; it needs
	// PublicSubnetIds. Default false.
	Public          bool
	PublicSubnetIds pulumi.StringArrayInput
	// Backends are services this one calls: their security groups admit it on their
	// port and the mesh routes to them.
	Backends []*Service
	// SecurityGroupIds are attached besides the service's own (e.g. a database's
	// client group). Default none.
	SecurityGroupIds []pulumi.StringInput
	// DirectEgressPorts are ports the app reaches outside the mesh (PostgreSQL 5432).
	DirectEgressPorts []int
	// Mesh the service joins. Required.
	Mesh mesh.Mesh
	// Parts add sidecars and permissions to the task, e.g. tracing. Default none.
	Parts []TaskPart
	// TaskRoleStatements are extra permissions for the app itself. Default none.
	TaskRoleStatements []taskspec.Statement
	// Family of the task definition. Default: the service name.
	Family string
	// LogGroupName and LogRetentionDays of the service's log group.
	// Defaults /ecs/<name> and 30.
	LogGroupName     string
	LogRetentionDays int
	// Tags are added to every resource.
	Tags pulumi.StringMap
}

// Service is a deployed ECS Fargate service.
type Service struct {
	pulumi.ResourceState

	ServiceName       pulumi.StringOutput `pulumi:"serviceName"`
	SecurityGroupId   pulumi.StringOutput `pulumi:"securityGroupId"`
	Endpoint          pulumi.StringOutput `pulumi:"endpoint"` // what mesh clients call
	URL               pulumi.StringOutput `pulumi:"url"`      // public URL, empty if not public
	TaskDefinitionArn pulumi.StringOutput `pulumi:"taskDefinitionArn"`
	TaskRoleArn       pulumi.StringOutput `pulumi:"taskRoleArn"`
	ExecutionRoleArn  pulumi.StringOutput `pulumi:"executionRoleArn"`
	LogGroupName      pulumi.StringOutput `pulumi:"logGroupName"`
	ImageUri          pulumi.StringOutput `pulumi:"imageUri"`

	// Membership is the service's place in the mesh, for the services that call it.
	Membership *mesh.Membership
	// Port is the app's port.
	Port int
}

func (a *ServiceArgs) withDefaults(name string) (ServiceArgs, error) {
	d := *a
	if d.ClusterArn == nil || d.VpcId == nil || d.SubnetIds == nil {
		return d, fmt.Errorf("service %s: ClusterArn, VpcId and SubnetIds are required", name)
	}
	if (d.Image == nil) == (d.Build == nil) {
		return d, fmt.Errorf("service %s: set exactly one of Image and Build", name)
	}
	if d.Build != nil && d.Build.Context == "" {
		return d, fmt.Errorf("service %s: Build.Context is required", name)
	}
	if d.Mesh == nil {
		return d, fmt.Errorf("service %s: Mesh is required", name)
	}
	if d.Public && d.PublicSubnetIds == nil {
		return d, fmt.Errorf("service %s: Public needs PublicSubnetIds", name)
	}
	if d.Port == 0 {
		d.Port = 8080
	}
	if d.Port < 1 || d.Port > 65535 {
		return d, fmt.Errorf("service %s: Port %d is not a TCP port", name, d.Port)
	}
	if d.HealthCheckPath == "" {
		d.HealthCheckPath = "/healthz"
	}
	if d.Cpu == 0 {
		d.Cpu = 256
	}
	if d.Memory == 0 {
		d.Memory = 512
	}
	if d.DesiredCount == 0 {
		d.DesiredCount = 1
	}
	if d.DesiredCount < 0 {
		return d, fmt.Errorf("service %s: DesiredCount %d is negative", name, d.DesiredCount)
	}
	if d.Family == "" {
		d.Family = name
	}
	if d.LogGroupName == "" {
		d.LogGroupName = "/ecs/" + name
	}
	if d.LogRetentionDays == 0 {
		d.LogRetentionDays = 30
	}
	for _, s := range d.Secrets {
		if s.Name == "" || s.SecretArn == nil {
			return d, fmt.Errorf("service %s: every secret needs Name and SecretArn", name)
		}
		if _, clash := d.Environment[s.Name]; clash {
			return d, fmt.Errorf("service %s: %s is both in Environment and in Secrets", name, s.Name)
		}
	}
	return d, nil
}

// NewService declares the service. name is also its name in the mesh (the DNS name
// clients use), so keep it short: products, payments.
func NewService(ctx *pulumi.Context, name string, args *ServiceArgs, opts ...pulumi.ResourceOption) (*Service, error) {
	a, err := args.withDefaults(name)
	if err != nil {
		return nil, err
	}
	s := &Service{Port: a.Port}
	if err := ctx.RegisterComponentResource("meshtrace:services:Service", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)

	region, err := aws.GetRegion(ctx, nil, pulumi.Parent(s))
	if err != nil {
		return nil, err
	}
	logGroup, err := cloudwatch.NewLogGroup(ctx, name, &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(a.LogGroupName),
		RetentionInDays: pulumi.Int(a.LogRetentionDays),
		Tags:            a.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}

	image, repositoryArn, err := declareImage(ctx, name, a, parent)
	if err != nil {
		return nil, err
	}

	var backends []*mesh.Membership
	for _, b := range a.Backends {
		backends = append(backends, b.Membership)
	}
	membership, err := a.Mesh.Join(ctx, mesh.Member{
		Name:              name,
		Port:              a.Port,
		HealthCheckPath:   a.HealthCheckPath,
		Backends:          backends,
		DirectEgressPorts: a.DirectEgressPorts,
		LogGroupName:      logGroup.Name,
		Region:            region.Name,
	}, parent)
	if err != nil {
		return nil, err
	}

	// The mesh part may depend on mesh outputs (App Mesh: the virtual node ARN); the
	// fixed parts are merged in with it once it resolves.
	fixed := []taskspec.Part{{TaskRoleStatements: a.TaskRoleStatements}}
	for _, p := range a.Parts {
		fixed = append(fixed, p.Part())
	}
	part := membership.Task.ApplyT(func(v any) (taskspec.Part, error) {
		return taskspec.Merge(append([]taskspec.Part{v.(taskspec.Part)}, fixed...)...)
	})

	roles, err := declareRoles(ctx, name, a, roleInputs{
		part:          part,
		logGroupArn:   logGroup.Arn,
		repositoryArn: repositoryArn,
	}, parent)
	if err != nil {
		return nil, err
	}

	env := pulumi.StringMap{}
	for k, v := range a.Environment {
		env[k] = v
	}
	secrets := pulumi.StringMap{}
	for _, sec := range a.Secrets {
		valueFrom := sec.SecretArn.ToStringOutput()
		if sec.JSONKey != "" {
			// ECS syntax: <secret-arn>:<json-key>:<version-stage>:<version-id>
			valueFrom = pulumi.Sprintf("%s:%s::", sec.SecretArn, sec.JSONKey)
		}
		secrets[sec.Name] = valueFrom
	}
	containers := pulumi.All(image, logGroup.Name, env, secrets, part).ApplyT(func(v []any) (string, error) {
		defs, err := assembleContainers(appSpec{
			Image:       v[0].(string),
			Port:        a.Port,
			Environment: v[2].(map[string]string),
			Secrets:     v[3].(map[string]string),
			LogGroup:    v[1].(string),
			Region:      region.Name,
		}, v[4].(taskspec.Part))
		if err != nil {
			return "", fmt.Errorf("service %s: %w", name, err)
		}
		return containerDefinitionsJSON(defs)
	}).(pulumi.StringOutput)
	proxy := part.ApplyT(func(v any) *ecs.TaskDefinitionProxyConfiguration {
		p := v.(taskspec.Part)
		if p.ProxyConfiguration == nil {
			return nil
		}
		return &ecs.TaskDefinitionProxyConfiguration{
			Type:          &p.ProxyConfiguration.Type,
			ContainerName: p.ProxyConfiguration.ContainerName,
			Properties:    p.ProxyConfiguration.Properties,
		}
	}).(ecs.TaskDefinitionProxyConfigurationPtrOutput)

	taskDef, err := ecs.NewTaskDefinition(ctx, name, &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String(a.Family),
		RequiresCompatibilities: pulumi.StringArray{pulumi.String("FARGATE")},
		NetworkMode:             pulumi.String("awsvpc"),
		Cpu:                     pulumi.Sprintf("%d", a.Cpu),
		Memory:                  pulumi.Sprintf("%d", a.Memory),
		RuntimePlatform: ecs.TaskDefinitionRuntimePlatformArgs{
			OperatingSystemFamily: pulumi.String("LINUX"),
			CpuArchitecture:       pulumi.String("X86_64"),
		},
		ExecutionRoleArn:     roles.execution.Arn,
		TaskRoleArn:          roles.task.Arn,
		ContainerDefinitions: containers,
		ProxyConfiguration:   proxy,
		Tags:                 a.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}

	net, err := declareNetwork(ctx, name, a, parent)
	if err != nil {
		return nil, err
	}

	serviceArgs := &ecs.ServiceArgs{
		Cluster:        a.ClusterArn,
		TaskDefinition: taskDef.Arn,
		DesiredCount:   pulumi.Int(a.DesiredCount),
		LaunchType:     pulumi.String("FARGATE"),
		NetworkConfiguration: ecs.ServiceNetworkConfigurationArgs{
			Subnets:        a.SubnetIds,
			SecurityGroups: net.taskSecurityGroups,
			AssignPublicIp: pulumi.Bool(false),
		},
		DeploymentCircuitBreaker: ecs.ServiceDeploymentCircuitBreakerArgs{
			Enable:   pulumi.Bool(true),
			Rollback: pulumi.Bool(true),
		},
		DeploymentMinimumHealthyPercent: pulumi.Int(100),
		DeploymentMaximumPercent:        pulumi.Int(200),
		ServiceConnectConfiguration:     membership.ServiceConnect,
		ServiceRegistries:               membership.ServiceRegistries,
		PropagateTags:                   pulumi.String("SERVICE"),
		EnableEcsManagedTags:            pulumi.Bool(true),
		Tags:                            a.Tags,
	}
	dependsOn := append([]pulumi.Resource{}, membership.DependsOn...)
	if net.targetGroup != nil {
		serviceArgs.LoadBalancers = ecs.ServiceLoadBalancerArray{
			ecs.ServiceLoadBalancerArgs{
				TargetGroupArn: net.targetGroup.Arn,
				ContainerName:  pulumi.String(AppContainerName),
				ContainerPort:  pulumi.Int(a.Port),
			},
		}
		// Give new tasks time to pass the ALB health check before ECS judges them.
		serviceArgs.HealthCheckGracePeriodSeconds = pulumi.Int(60)
		// ECS refuses a target group that no listener uses yet.
		dependsOn = append(dependsOn, net.listener)
	}
	for _, b := range a.Backends {
		dependsOn = append(dependsOn, b) // call a backend only once it exists
	}
	service, err := ecs.NewService(ctx, name, serviceArgs, parent, pulumi.DependsOn(dependsOn))
	if err != nil {
		return nil, err
	}

	s.ServiceName = service.Name
	s.SecurityGroupId = net.securityGroup.ID().ToStringOutput()
	s.Endpoint = membership.Endpoint
	s.URL = pulumi.String("").ToStringOutput()
	if net.loadBalancer != nil {
		s.URL = pulumi.Sprintf("http://%s", net.loadBalancer.DnsName)
	}
	s.TaskDefinitionArn = taskDef.Arn
	s.TaskRoleArn = roles.task.Arn
	s.ExecutionRoleArn = roles.execution.Arn
	s.LogGroupName = logGroup.Name
	s.ImageUri = image
	s.Membership = membership
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{
		"serviceName":       s.ServiceName,
		"securityGroupId":   s.SecurityGroupId,
		"endpoint":          s.Endpoint,
		"url":               s.URL,
		"taskDefinitionArn": s.TaskDefinitionArn,
		"taskRoleArn":       s.TaskRoleArn,
		"executionRoleArn":  s.ExecutionRoleArn,
		"logGroupName":      s.LogGroupName,
		"imageUri":          s.ImageUri,
	}); err != nil {
		return nil, err
	}
	return s, nil
}
