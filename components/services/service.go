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
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/components/alarms"
	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/components/naming"
	"github.com/meshtrace/meshtrace/components/taskspec"
)

// TaskPart adds a part to the task of every service it is attached to, such as
// xray.Tracing. Attach may declare per-service resources as children of the resource in
// opts' Parent (the service); the service tells it its name and the mesh's
// proxy-ignored UID.
type TaskPart interface {
	Attach(ctx *pulumi.Context, to taskspec.Attachment, opts ...pulumi.ResourceOption) (taskspec.Part, error)
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
	// Sources are the files and directories (relative to Context) the image is built from;
	// their digest is the image's tag. Default: the whole context (but .git).
	Sources []string
}

// InitContainer runs once per task, from the service's own image, before the app starts;
// the app starts only when it exits 0 (e.g. database migrations as a step of the deploy).
// Its environment and secrets are its own: the app container gets none of them.
type InitContainer struct {
	// Name of the container in the task. Default "init".
	Name string
	// Command is passed to the image's entrypoint, e.g. ["migrate"]. Required.
	Command []string
	// Environment and Secrets of the init container only.
	Environment map[string]pulumi.StringInput
	Secrets     []SecretEnv
}

// Grant allows Actions on Resources, which may be outputs of other resources.
type Grant struct {
	Sid       string
	Actions   []string
	Resources pulumi.StringArrayInput
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
	// HealthCheckPath is the app's liveness endpoint, used by the mesh. Default
	// contract.LivenessPath (/healthz).
	HealthCheckPath string
	// LoadBalancerHealthCheckPath is what the load balancer's target group health check
	// probes (with contract's LoadBalancerHealthCheck* settings). ECS replaces a task that fails
	// it, so it must say whether the process serves, not whether a dependency answers (a
	// database outage would replace every task). Default HealthCheckPath.
	LoadBalancerHealthCheckPath string
	// AppHealthCheck is the app container's ECS health check; ECS replaces a task whose
	// essential container turns unhealthy. Images without a shell can run their own
	// binary, e.g. ["CMD", "/products", "-healthcheck"]. Default none.
	AppHealthCheck *taskspec.HealthCheck
	// Init runs before the app in every task (see InitContainer). Default none.
	Init *InitContainer
	// Environment is the app's plain environment. Never put secrets here.
	Environment map[string]pulumi.StringInput
	// Secrets are filled by ECS from Secrets Manager; only these secrets are readable
	// by the execution role.
	Secrets []SecretEnv
	// Cpu (units) and Memory (MiB) of the task, a Fargate pair. Default 256 and 512.
	Cpu    int
	Memory int
	// DesiredCount is the number of tasks the service starts with. Default MinCount, or 1.
	// Later updates leave the running count to autoscaling.
	DesiredCount int
	// MinCount and MaxCount bound autoscaling. Defaults DesiredCount and twice MinCount.
	MinCount int
	MaxCount int
	// Scaling is how the task count follows the load. Default: see Scaling.
	Scaling *Scaling
	// AlarmTopicArn is notified by the service's alarms. Default none: the alarms still
	// roll deployments back, and show in the console.
	AlarmTopicArn pulumi.StringInput
	// AlarmThresholds of the service's alarms. Default alarms.Defaults.
	AlarmThresholds *alarms.Thresholds
	// Public puts an internet-facing ALB in front of the service; it needs
	// PublicSubnetIds. Default false.
	Public          bool
	PublicSubnetIds pulumi.StringArrayInput
	// Backends are services this one calls: their security groups admit it on their
	// port and the mesh routes to them.
	Backends []*Service
	// CertificateArn serves the public load balancer over HTTPS (TLS 1.3 policy) with this
	// ACM certificate; port 80 then answers with a redirect to HTTPS. Default: plain HTTP.
	CertificateArn pulumi.StringInput
	// AccessLogsBucket receives the public load balancer's access logs (edge.LogBucket).
	// Default: no access logs.
	AccessLogsBucket pulumi.StringInput
	// AccessLogsPrefix is the key prefix of the access logs in AccessLogsBucket
	// (edge.LogBucket.Prefix, which its policy allows). Default: the service name.
	AccessLogsPrefix string
	// LoadBalancerDeletionProtection refuses to delete the public load balancer. Default false.
	LoadBalancerDeletionProtection bool
	// ClientOnly: nothing calls this service through the mesh (it is reached through its
	// load balancer only), so it joins the mesh as a caller and serves no mesh endpoint.
	// Default false.
	ClientOnly bool
	// SecurityGroupIds are attached besides the service's own (e.g. a database's
	// client group). Default none.
	SecurityGroupIds []pulumi.StringInput
	// DirectEgressPorts are ports the app reaches outside the mesh (PostgreSQL 5432).
	DirectEgressPorts []int
	// AwsEgress sends the tasks' HTTPS to the VPC endpoints (a security group and the S3
	// prefix list) instead of to 0.0.0.0/0. Default nil: 443 to anywhere, through NAT.
	AwsEgress *AwsEgress
	// CachedImageRepositories is an ECR repository ARN pattern (a pull-through cache's,
	// arn:aws:ecr:<region>:<account>:repository/<prefix>/*) the sidecar images are pulled
	// from: the execution role may pull from it and, for a first pull, import into it.
	// Default nil.
	CachedImageRepositories pulumi.StringInput
	// DependsOn are resources the ECS service starts after, besides its own (e.g. the VPC
	// endpoints its tasks reach AWS through: network.Network.VpcEndpoints). Default none.
	DependsOn []pulumi.Resource
	// Mesh the service joins. Required.
	Mesh mesh.Mesh
	// Parts add sidecars and permissions to the task, e.g. tracing. Default none.
	Parts []TaskPart
	// TaskRoleStatements are extra permissions for the app itself. Default none.
	TaskRoleStatements []taskspec.Statement
	// TaskRoleGrants are permissions for the app on resources known only at deploy time
	// (e.g. rds-db:connect on a database user's ARN). Default none.
	TaskRoleGrants []Grant
	// TaskRoleArn and ExecutionRoleArn bring your own roles: when set, the service creates
	// no such role and no policy for it, and the role must allow what the service's
	// RequiredTaskRolePolicy and RequiredExecutionRolePolicy outputs say. Default: created.
	TaskRoleArn      pulumi.StringInput
	ExecutionRoleArn pulumi.StringInput
	// ReadonlyRootFilesystem of the app (and init) container. Default true: our apps
	// write nothing to disk; set false for an image that must.
	ReadonlyRootFilesystem *bool
	// NamePrefix starts the service's account-unique physical names (task family, log
	// group, alarms), so that two stacks or two teams cannot collide in one account.
	// Default naming.StackPrefix: <project>-<stack>.
	NamePrefix string
	// DiscoveryName is the name clients call in the mesh (its DNS name, the Service Connect
	// discovery name) and the service's name in X-Ray; it is not a physical name. Default:
	// the service's name.
	DiscoveryName string
	// Family of the task definition. Default <NamePrefix>-<name>.
	Family string
	// LogGroupName and LogRetentionDays of the service's log group.
	// Defaults /ecs/<NamePrefix>/<name> and 30.
	LogGroupName     string
	LogRetentionDays int
	// WaitForSteadyState makes `pulumi up` wait until the service's tasks run and pass
	// their health checks, and fail if they do not (a crash loop, a failed first
	// deployment, a missing permission). Costs the time of one rollout per changed
	// service (a few minutes). Default true.
	WaitForSteadyState *bool
	// TransformContainers, TransformTaskDefinition and TransformService change what the
	// service declares, for what these args do not cover (a log router sidecar, a stop
	// timeout, ECS Exec). They run last, on the final values: the containers are the app's,
	// the init container's and the parts' (the execution role still grants every image the
	// result names). Default none.
	TransformContainers     func([]taskspec.ContainerDefinition) ([]taskspec.ContainerDefinition, error)
	TransformTaskDefinition func(*ecs.TaskDefinitionArgs)
	TransformService        func(*ecs.ServiceArgs)
	// Tags are added to every resource.
	Tags pulumi.StringMap
}

// AwsEgress is where tasks reach AWS when the VPC has endpoints.
type AwsEgress struct {
	// SecurityGroupId of the interface endpoints.
	SecurityGroupId pulumi.StringInput
	// PrefixListId of the S3 gateway endpoint (ECR's image layers).
	PrefixListId pulumi.StringInput
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
	// RequiredTaskRolePolicy and RequiredExecutionRolePolicy are the policy documents the
	// roles need (attached inline to the roles the service creates).
	RequiredTaskRolePolicy      pulumi.StringOutput `pulumi:"requiredTaskRolePolicy"`
	RequiredExecutionRolePolicy pulumi.StringOutput `pulumi:"requiredExecutionRolePolicy"`
	// Load balancer handles of a public service, empty otherwise, for rules and listeners
	// of your own (e.g. an HTTPS listener).
	LoadBalancerArn             pulumi.StringOutput `pulumi:"loadBalancerArn"`
	LoadBalancerArnSuffix       pulumi.StringOutput `pulumi:"loadBalancerArnSuffix"`
	LoadBalancerDnsName         pulumi.StringOutput `pulumi:"loadBalancerDnsName"`
	LoadBalancerZoneId          pulumi.StringOutput `pulumi:"loadBalancerZoneId"`
	LoadBalancerSecurityGroupId pulumi.StringOutput `pulumi:"loadBalancerSecurityGroupId"`
	ListenerArn                 pulumi.StringOutput `pulumi:"listenerArn"`
	TargetGroupArn              pulumi.StringOutput `pulumi:"targetGroupArn"`
	TargetGroupArnSuffix        pulumi.StringOutput `pulumi:"targetGroupArnSuffix"`
	// ClusterName is the cluster's name (CloudWatch's ClusterName dimension).
	ClusterName pulumi.StringOutput `pulumi:"clusterName"`
	// DeploymentAlarmNames are the alarms that roll a deployment of the service back.
	DeploymentAlarmNames pulumi.StringArrayOutput `pulumi:"deploymentAlarmNames"`

	// EcsService and TaskDefinition are the ECS resources the service declared, for what its
	// outputs do not cover (their other outputs, dependencies of your own).
	EcsService     *ecs.Service
	TaskDefinition *ecs.TaskDefinition
	// Membership is the service's place in the mesh, for the services that call it.
	Membership *mesh.Membership
	// Port is the app's port.
	Port int
}

// withDefaults validates the args and fills in defaults; stackPrefix is the default
// NamePrefix (naming.StackPrefix).
func (a *ServiceArgs) withDefaults(name, stackPrefix string) (ServiceArgs, error) {
	d := *a
	if d.NamePrefix == "" {
		d.NamePrefix = stackPrefix
	}
	if err := naming.CheckPrefix(d.NamePrefix); err != nil {
		return d, fmt.Errorf("service %s: %w (set NamePrefix)", name, err)
	}
	if d.DiscoveryName == "" {
		d.DiscoveryName = name
	}
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
		d.HealthCheckPath = contract.LivenessPath
	}
	if d.LoadBalancerHealthCheckPath == "" {
		d.LoadBalancerHealthCheckPath = d.HealthCheckPath
	}
	if d.WaitForSteadyState == nil {
		d.WaitForSteadyState = pulumi.BoolRef(true)
	}
	if d.ReadonlyRootFilesystem == nil {
		d.ReadonlyRootFilesystem = pulumi.BoolRef(true)
	}
	for _, b := range d.Backends {
		if b == nil || b.Membership == nil {
			return d, fmt.Errorf("service %s: a backend is not a declared Service", name)
		}
		if b.Membership.ClientOnly {
			return d, fmt.Errorf("service %s: backend %s joined the mesh as ClientOnly and cannot be called", name, b.Membership.Name)
		}
	}
	if d.Init != nil {
		init := *d.Init
		if len(init.Command) == 0 {
			return d, fmt.Errorf("service %s: Init.Command is required", name)
		}
		if init.Name == "" {
			init.Name = "init"
		}
		if init.Name == AppContainerName {
			return d, fmt.Errorf("service %s: Init.Name %q is the app container's name", name, init.Name)
		}
		if err := checkSecrets(name, init.Environment, init.Secrets); err != nil {
			return d, err
		}
		d.Init = &init
	}
	if d.Cpu == 0 {
		d.Cpu = 256
	}
	if d.Memory == 0 {
		d.Memory = 512
	}
	if d.DesiredCount < 0 || d.MinCount < 0 || d.MaxCount < 0 {
		return d, fmt.Errorf("service %s: DesiredCount, MinCount and MaxCount must not be negative", name)
	}
	if d.DesiredCount == 0 {
		d.DesiredCount = max(d.MinCount, 1)
	}
	if d.MinCount == 0 {
		d.MinCount = d.DesiredCount
	}
	if d.MaxCount == 0 {
		d.MaxCount = 2 * max(d.MinCount, d.DesiredCount)
	}
	if d.MinCount > d.DesiredCount || d.DesiredCount > d.MaxCount {
		return d, fmt.Errorf("service %s: want MinCount (%d) <= DesiredCount (%d) <= MaxCount (%d)", name, d.MinCount, d.DesiredCount, d.MaxCount)
	}
	scaling := Scaling{}
	if d.Scaling != nil {
		scaling = *d.Scaling
	}
	scaling = scaling.withDefaults()
	if err := scaling.check(name); err != nil {
		return d, err
	}
	d.Scaling = &scaling
	if d.AlarmThresholds == nil {
		d.AlarmThresholds = &alarms.Defaults
	}
	if d.Family == "" {
		d.Family = d.NamePrefix + "-" + name
	}
	if d.LogGroupName == "" {
		d.LogGroupName = "/ecs/" + d.NamePrefix + "/" + name
	}
	if d.LogRetentionDays == 0 {
		d.LogRetentionDays = 30
	}
	if err := checkSecrets(name, d.Environment, d.Secrets); err != nil {
		return d, err
	}
	return d, nil
}

func checkSecrets(service string, env map[string]pulumi.StringInput, secrets []SecretEnv) error {
	for _, s := range secrets {
		if s.Name == "" || s.SecretArn == nil {
			return fmt.Errorf("service %s: every secret needs Name and SecretArn", service)
		}
		if _, clash := env[s.Name]; clash {
			return fmt.Errorf("service %s: %s is both in Environment and in Secrets", service, s.Name)
		}
	}
	return nil
}

// NewService declares the service. name is also its name in the mesh (the DNS name
// clients use) unless DiscoveryName says otherwise, so keep it short: products, payments.
func NewService(ctx *pulumi.Context, name string, args *ServiceArgs, opts ...pulumi.ResourceOption) (*Service, error) {
	a, err := args.withDefaults(name, naming.StackPrefix(ctx))
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
	caller, err := aws.GetCallerIdentity(ctx, nil, pulumi.Parent(s))
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

	image, err := declareImage(ctx, name, a, parent)
	if err != nil {
		return nil, err
	}

	membership, part, err := joinMesh(ctx, name, a, logGroup.Name, region.Name, parent)
	if err != nil {
		return nil, err
	}

	in := taskInputs{image: image, logGroup: logGroup.Name, region: region.Name, part: part}
	containers := containerDefinitions(name, a, in)
	roles, err := declareRoles(ctx, name, a, roleInputs{
		part:        part,
		logGroupArn: logGroup.Arn,
		containers:  containers,
		account:     caller.AccountId,
		region:      region.Name,
	}, parent)
	if err != nil {
		return nil, err
	}
	taskDef, err := declareTaskDefinition(ctx, name, a, in, containers, roles, parent)
	if err != nil {
		return nil, err
	}
	net, err := declareNetwork(ctx, name, a, parent)
	if err != nil {
		return nil, err
	}
	// The alarms that roll a deployment back: the load balancer's, declared before the
	// service; else those on its tasks, declared after it (they name it) under names known now.
	clusterName := ClusterNameOf(a.ClusterArn)
	deployment := deploymentAlarms{names: []string{alarms.TaskDeploymentAlarm(a.Family, serviceConnectName(a, membership))}}
	if net.loadBalancer != nil {
		deployment.names, deployment.resources, err = alarms.NewLoadBalancerAlarms(ctx, a.Family, &alarms.LoadBalancerArgs{
			LoadBalancerArnSuffix: net.loadBalancer.ArnSuffix,
			TargetGroupArnSuffix:  net.targetGroup.ArnSuffix,
			TopicArn:              a.AlarmTopicArn,
			Thresholds:            *a.AlarmThresholds,
			Tags:                  a.Tags,
		}, parent)
		if err != nil {
			return nil, err
		}
	}
	service, err := declareECSService(ctx, name, a, taskDef, membership, roles, net, deployment, parent)
	if err != nil {
		return nil, err
	}
	if err := alarms.NewTaskAlarms(ctx, a.Family, &alarms.TaskArgs{
		ClusterName:   clusterName,
		ServiceName:   service.Name,
		DiscoveryName: serviceConnectName(a, membership),
		TopicArn:      a.AlarmTopicArn,
		Thresholds:    *a.AlarmThresholds,
		Tags:          a.Tags,
	}, parent); err != nil {
		return nil, err
	}
	if err := declareScaling(ctx, name, a, clusterName, service, net, parent); err != nil {
		return nil, err
	}

	if err := s.export(ctx, a, declared{
		service: service, net: net, membership: membership, taskDef: taskDef, roles: roles,
		logGroupName: logGroup.Name, image: image, clusterName: clusterName, deploymentAlarms: deployment.names,
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// taskInputs are the outputs of other children that the task definition is made of.
type taskInputs struct {
	image    pulumi.StringOutput
	logGroup pulumi.StringOutput
	region   string
	part     pulumix.Output[taskspec.Part]
}

// containerDefinitions is the task's container definitions (JSON): the app container, the
// init container if any, and the parts' sidecars. The execution role's policy is derived from
// them (every image), the task definition is made of them.
func containerDefinitions(name string, a ServiceArgs, in taskInputs) pulumi.StringOutput {
	env, secrets := plainEnvironment(a.Environment), secretReferences(a.Secrets)
	initEnv, initSecrets := pulumi.StringMap{}, pulumi.StringMap{}
	if a.Init != nil {
		initEnv, initSecrets = plainEnvironment(a.Init.Environment), secretReferences(a.Init.Secrets)
	}
	return pulumi.All(in.image, in.logGroup, env, secrets, initEnv, initSecrets, in.part).ApplyT(func(v []any) (string, error) {
		app := appSpec{
			Image:       v[0].(string),
			Port:        a.Port,
			Environment: v[2].(map[string]string),
			Secrets:     v[3].(map[string]string),
			HealthCheck: a.AppHealthCheck,
			LogGroup:    v[1].(string),
			Region:      in.region,
			Readonly:    *a.ReadonlyRootFilesystem,
		}
		if a.Init != nil {
			app.Init = &initSpec{
				Name:        a.Init.Name,
				Command:     a.Init.Command,
				Environment: v[4].(map[string]string),
				Secrets:     v[5].(map[string]string),
			}
		}
		defs, err := assembleContainers(app, v[6].(taskspec.Part))
		if err != nil {
			return "", fmt.Errorf("service %s: %w", name, err)
		}
		if a.TransformContainers != nil {
			if defs, err = a.TransformContainers(defs); err != nil {
				return "", fmt.Errorf("service %s: TransformContainers: %w", name, err)
			}
		}
		return containerDefinitionsJSON(defs)
	}).(pulumi.StringOutput)
}

// declareTaskDefinition declares the Fargate task definition of these containers.
func declareTaskDefinition(ctx *pulumi.Context, name string, a ServiceArgs, in taskInputs, containers pulumi.StringOutput, roles *roles,
	opts ...pulumi.ResourceOption) (*ecs.TaskDefinition, error) {
	proxy := in.part.ApplyT(func(p taskspec.Part) *ecs.TaskDefinitionProxyConfiguration {
		if p.ProxyConfiguration == nil {
			return nil
		}
		return &ecs.TaskDefinitionProxyConfiguration{
			Type:          &p.ProxyConfiguration.Type,
			ContainerName: p.ProxyConfiguration.ContainerName,
			Properties:    p.ProxyConfiguration.Properties,
		}
	}).(ecs.TaskDefinitionProxyConfigurationPtrOutput)

	taskArgs := &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String(a.Family),
		RequiresCompatibilities: pulumi.StringArray{pulumi.String("FARGATE")},
		NetworkMode:             pulumi.String("awsvpc"),
		Cpu:                     pulumi.Sprintf("%d", a.Cpu),
		Memory:                  pulumi.Sprintf("%d", a.Memory),
		RuntimePlatform: ecs.TaskDefinitionRuntimePlatformArgs{
			OperatingSystemFamily: pulumi.String("LINUX"),
			CpuArchitecture:       pulumi.String("X86_64"),
		},
		ExecutionRoleArn:     roles.executionArn,
		TaskRoleArn:          roles.taskArn,
		ContainerDefinitions: containers,
		ProxyConfiguration:   proxy,
		Tags:                 a.Tags,
	}
	if a.TransformTaskDefinition != nil {
		a.TransformTaskDefinition(taskArgs)
	}
	return ecs.NewTaskDefinition(ctx, name, taskArgs, opts...)
}

func plainEnvironment(env map[string]pulumi.StringInput) pulumi.StringMap {
	out := pulumi.StringMap{}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// secretReferences maps each secret's variable to the valueFrom ECS resolves at task start.
func secretReferences(secrets []SecretEnv) pulumi.StringMap {
	out := pulumi.StringMap{}
	for _, sec := range secrets {
		valueFrom := sec.SecretArn.ToStringOutput()
		if sec.JSONKey != "" {
			// ECS syntax: <secret-arn>:<json-key>:<version-stage>:<version-id>
			valueFrom = pulumi.Sprintf("%s:%s::", sec.SecretArn, sec.JSONKey)
		}
		out[sec.Name] = valueFrom
	}
	return out
}

// declareECSService declares the ECS service. It starts only once everything its first
// tasks need exists: the roles' policies (IAM is eventually consistent, and a task
// started before its execution policy exists stops with AccessDenied), the security-group
// rules, the mesh resources, the listener and the backends.
func declareECSService(ctx *pulumi.Context, name string, a ServiceArgs, taskDef *ecs.TaskDefinition, membership *mesh.Membership,
	roles *roles, net *serviceNetwork, deployment deploymentAlarms, opts ...pulumi.ResourceOption) (*ecs.Service, error) {
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
		// Beside the circuit breaker (tasks that do not start): a deploy whose tasks start
		// but fail requests sets off these alarms, and ECS rolls it back.
		Alarms: ecs.ServiceAlarmsArgs{
			AlarmNames: pulumi.ToStringArray(deployment.names),
			Enable:     pulumi.Bool(true),
			Rollback:   pulumi.Bool(true),
		},
		DeploymentMinimumHealthyPercent: pulumi.Int(100),
		DeploymentMaximumPercent:        pulumi.Int(200),
		ServiceConnectConfiguration:     membership.ServiceConnect,
		ServiceRegistries:               membership.ServiceRegistries,
		WaitForSteadyState:              pulumi.BoolPtrFromPtr(a.WaitForSteadyState),
		PropagateTags:                   pulumi.String("SERVICE"),
		EnableEcsManagedTags:            pulumi.Bool(true),
		Tags:                            a.Tags,
	}
	dependsOn := append([]pulumi.Resource{}, membership.DependsOn...)
	dependsOn = append(dependsOn, roles.policies...)
	dependsOn = append(dependsOn, net.rules...)
	dependsOn = append(dependsOn, deployment.resources...)
	dependsOn = append(dependsOn, a.DependsOn...)
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
	if a.TransformService != nil {
		a.TransformService(serviceArgs)
	}
	// Autoscaling owns the running count: a deploy must not reset it to DesiredCount.
	return ecs.NewService(ctx, name, serviceArgs, append(opts, pulumi.DependsOn(dependsOn), pulumi.IgnoreChanges([]string{"desiredCount"}))...)
}

// joinMesh attaches the parts to the service, then joins the mesh with what the parts ask
// of its proxy, and returns the membership and the task's merged part.
func joinMesh(ctx *pulumi.Context, name string, a ServiceArgs, logGroupName pulumi.StringInput, region string,
	parent pulumi.ResourceOption) (*mesh.Membership, pulumix.Output[taskspec.Part], error) {
	var none pulumix.Output[taskspec.Part]
	attachment := taskspec.Attachment{ServiceName: a.DiscoveryName, RunAsUser: a.Mesh.ProxyIgnoredUID()}
	parts := []taskspec.Part{{TaskRoleStatements: a.TaskRoleStatements}}
	for _, p := range a.Parts {
		part, err := p.Attach(ctx, attachment, parent)
		if err != nil {
			return nil, none, err
		}
		parts = append(parts, part)
	}
	fixed, err := taskspec.Merge(parts...)
	if err != nil {
		return nil, none, fmt.Errorf("service %s: %w", name, err)
	}
	var backends []*mesh.Membership
	for _, b := range a.Backends {
		backends = append(backends, b.Membership)
	}
	membership, err := a.Mesh.Join(ctx, mesh.Member{
		Name:              a.DiscoveryName,
		Port:              a.Port,
		HealthCheckPath:   a.HealthCheckPath,
		Backends:          backends,
		ClientOnly:        a.ClientOnly,
		DirectEgressPorts: a.DirectEgressPorts,
		ProxyEnvironment:  fixed.ProxyEnvironment,
		LogGroupName:      logGroupName,
		Region:            region,
	}, parent)
	if err != nil {
		return nil, none, err
	}
	// The mesh's part may depend on mesh outputs (App Mesh: the virtual node ARN).
	part := pulumix.ApplyErr(membership.Task, func(meshPart taskspec.Part) (taskspec.Part, error) {
		return taskspec.Merge(meshPart, fixed)
	})
	return membership, part, nil
}

// declared is what NewService declared, for its outputs.
type declared struct {
	service          *ecs.Service
	net              *serviceNetwork
	membership       *mesh.Membership
	taskDef          *ecs.TaskDefinition
	roles            *roles
	logGroupName     pulumi.StringOutput
	image            pulumi.StringOutput
	clusterName      pulumi.StringOutput
	deploymentAlarms []string
}

// export sets the service's outputs and registers them.
func (s *Service) export(ctx *pulumi.Context, a ServiceArgs, d declared) error {
	s.ServiceName = d.service.Name
	s.SecurityGroupId = d.net.securityGroup.ID().ToStringOutput()
	s.Endpoint = d.membership.Endpoint
	s.URL = pulumi.String("").ToStringOutput()
	if d.net.loadBalancer != nil {
		scheme := "http"
		if a.CertificateArn != nil {
			scheme = "https"
		}
		s.URL = pulumi.Sprintf("%s://%s", scheme, d.net.loadBalancer.DnsName)
	}
	s.TaskDefinitionArn = d.taskDef.Arn
	s.TaskRoleArn = d.roles.taskArn
	s.ExecutionRoleArn = d.roles.executionArn
	s.RequiredTaskRolePolicy = d.roles.taskPolicy
	s.RequiredExecutionRolePolicy = d.roles.executionPolicy
	s.LogGroupName = d.logGroupName
	s.ImageUri = d.image
	s.Membership = d.membership
	s.EcsService, s.TaskDefinition = d.service, d.taskDef
	d.net.exportTo(s)
	s.ClusterName = d.clusterName
	s.DeploymentAlarmNames = pulumi.ToStringArray(d.deploymentAlarms).ToStringArrayOutput()
	return ctx.RegisterResourceOutputs(s, pulumi.Map{
		"serviceName":                 s.ServiceName,
		"securityGroupId":             s.SecurityGroupId,
		"endpoint":                    s.Endpoint,
		"url":                         s.URL,
		"taskDefinitionArn":           s.TaskDefinitionArn,
		"taskRoleArn":                 s.TaskRoleArn,
		"executionRoleArn":            s.ExecutionRoleArn,
		"requiredTaskRolePolicy":      s.RequiredTaskRolePolicy,
		"requiredExecutionRolePolicy": s.RequiredExecutionRolePolicy,
		"logGroupName":                s.LogGroupName,
		"imageUri":                    s.ImageUri,
		"loadBalancerArn":             s.LoadBalancerArn,
		"loadBalancerArnSuffix":       s.LoadBalancerArnSuffix,
		"loadBalancerDnsName":         s.LoadBalancerDnsName,
		"loadBalancerZoneId":          s.LoadBalancerZoneId,
		"loadBalancerSecurityGroupId": s.LoadBalancerSecurityGroupId,
		"listenerArn":                 s.ListenerArn,
		"targetGroupArn":              s.TargetGroupArn,
		"targetGroupArnSuffix":        s.TargetGroupArnSuffix,
		"clusterName":                 s.ClusterName,
		"deploymentAlarmNames":        s.DeploymentAlarmNames,
	})
}
