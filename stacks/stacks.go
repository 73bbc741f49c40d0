// Package stacks reads a stack's config and composes the whole meshtrace system from
// the components: network, cluster, database, mesh, tracing and the two services.
package stacks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/components/alarms"
	"github.com/meshtrace/meshtrace/components/cluster"
	"github.com/meshtrace/meshtrace/components/database"
	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/components/naming"
	"github.com/meshtrace/meshtrace/components/network"
	platformref "github.com/meshtrace/meshtrace/components/platform"
	"github.com/meshtrace/meshtrace/components/services"
	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/components/xray"
)

// Run is the Pulumi program. Config is validated before any resource is declared.
func Run(ctx *pulumi.Context) error {
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return err
	}
	if notice := tracingNotice(cfg, now()); notice != "" {
		if err := ctx.Log.Warn(notice, nil); err != nil {
			return err
		}
	}
	return Compose(ctx, cfg)
}

// Service names: the segment names in X-Ray and the names clients call in the mesh.
const (
	ProductsName = "products"
	PaymentsName = "payments"
)

// Compose declares the system for a validated config and exports the stack outputs.
func Compose(ctx *pulumi.Context, cfg Config) error {
	p := &platform{cfg: cfg, prefix: cfg.NamePrefix, tags: pulumi.StringMap{
		"project":     pulumi.String(ctx.Project()),
		"environment": pulumi.String(cfg.Environment),
		"stack":       pulumi.String(ctx.Stack()),
	}}
	if err := p.declareFoundation(ctx); err != nil {
		return err
	}
	if err := p.declareMeshTracingAndAlarms(ctx); err != nil {
		return err
	}

	payments, err := services.NewService(ctx, PaymentsName, p.serviceArgs(cfg.Payments, PaymentsName))
	if err != nil {
		return err
	}
	productsArgs := p.serviceArgs(cfg.Products, ProductsName)
	productsArgs.Public = true
	productsArgs.PublicSubnetIds = p.net.PublicSubnetIds
	productsArgs.ClientOnly = true // reached through its load balancer only
	// The load balancer probes liveness: a database outage must not make ECS replace tasks.
	productsArgs.LoadBalancerHealthCheckPath = contract.LoadBalancerHealthCheckPath
	productsArgs.Backends = []*services.Service{payments}
	productsArgs.SecurityGroupIds = []pulumi.StringInput{p.db.ClientSecurityGroupId}
	productsArgs.DirectEgressPorts = []int{database.PostgresPort}
	publicEdge, err := declareEdge(ctx, p.prefix, cfg, productsArgs, p.tags)
	if err != nil {
		return err
	}
	if err := connectProductsToDatabase(ctx, productsArgs, cfg, p.db, payments); err != nil {
		return err
	}
	// products is the edge: internet callers may name a trace, not decide its sampling.
	productsArgs.Environment["TRACING_EDGE"] = pulumi.String("true")
	productsArgs.Environment["TRACING_EDGE_FORCED_PER_SECOND"] = pulumi.String(fmt.Sprint(cfg.EdgeForcedTracesPerSecond))
	products, err := services.NewService(ctx, ProductsName, productsArgs)
	if err != nil {
		return err
	}

	if err := declareOperations(ctx, cfg, p.prefix, p.tags, p.topic, p.db, p.tracing, products, payments); err != nil {
		return err
	}
	if err := publicEdge.finish(ctx, p.prefix, products, p.tags); err != nil {
		return err
	}
	p.export(ctx, products, payments)
	// The references other stacks' programs import (docs/reuse.md).
	return platformref.Export(ctx, platformref.Shared{
		Network: p.net, Cluster: p.cl, Mesh: p.mesh, Tracing: p.tracing, Services: []*services.Service{products, payments},
	})
}

// platform is what the services of a stack share: its config, names and tags, and the
// network, cluster, database, mesh, tracing and alarm topic declared for them.
type platform struct {
	cfg    Config
	prefix string // Config.NamePrefix (<project>-<stack>), the prefix of physical names
	tags   pulumi.StringMap

	net     *network.Network
	cl      *cluster.Cluster
	db      *database.Database
	mesh    mesh.Mesh
	tracing *xray.Tracing
	topic   *alarms.Topic
	cache   *imageCache // the sidecar images' pull-through cache; nil without VPC endpoints
}

// declareFoundation declares the network, the cluster and the database.
func (p *platform) declareFoundation(ctx *pulumi.Context) error {
	cfg := p.cfg
	netArgs := &network.NetworkArgs{CidrBlock: cfg.VpcCidr, NatGateways: cfg.NatGateways, Tags: p.tags}
	if cfg.Hardening.FlowLogs {
		netArgs.FlowLogs = &network.FlowLogsArgs{RetentionDays: cfg.LogRetentionDays}
	}
	var err error
	if cfg.Hardening.VpcEndpoints {
		netArgs.Endpoints = &network.EndpointsArgs{PublicECRCachePrefix: naming.Fit(p.prefix+"-ecr-public", network.MaxECRCachePrefixLength)}
		if p.cache, err = newImageCache(ctx, netArgs.Endpoints.PublicECRCachePrefix); err != nil {
			return err
		}
	}
	if p.net, err = network.NewNetwork(ctx, p.prefix, netArgs); err != nil {
		return err
	}
	p.cl, err = cluster.NewCluster(ctx, p.prefix, &cluster.ClusterArgs{
		VpcId:         p.net.VpcId,
		NamespaceName: cfg.NamespaceName,
		// Harmless in App Mesh mode, whose services do not enable Service Connect.
		ServiceConnectDefaults: true,
		Tags:                   p.tags,
	})
	if err != nil {
		return err
	}
	p.db, err = database.NewDatabase(ctx, p.prefix+"-db", &database.DatabaseArgs{
		VpcId:               p.net.VpcId,
		SubnetIds:           p.net.PrivateSubnetIds,
		InstanceClass:       cfg.Database.InstanceClass,
		EngineVersion:       cfg.Database.EngineVersion,
		AllocatedStorageGb:  cfg.Database.AllocatedStorageGb,
		MultiAZ:             cfg.Database.MultiAZ,
		BackupRetentionDays: cfg.Database.BackupRetentionDays,
		DeletionProtection:  cfg.Database.DeletionProtection,
		// The data is protected in Pulumi as it is in AWS: a replacement or a destroy needs an
		// explicit step first (docs/operating.md).
		Protect:  cfg.Database.DeletionProtection,
		DbName:   cfg.Database.Name,
		Username: cfg.Database.Username,
		Tags:     p.tags,
	})
	return err
}

// declareMeshTracingAndAlarms declares the mesh and the tracing of the configured modes and
// the topic the alarms notify.
func (p *platform) declareMeshTracingAndAlarms(ctx *pulumi.Context) error {
	cfg := p.cfg
	var err error
	meshArgs := &mesh.Args{
		Mode:          cfg.MeshMode,
		NamespaceArn:  p.cl.NamespaceArn,
		NamespaceId:   p.cl.NamespaceId,
		NamespaceName: cfg.NamespaceName,
		EnvoyImage:    p.cache.address(orDefault(cfg.Hardening.EnvoyImage, mesh.EnvoyImage)),
		Tags:          p.tags,
	}
	if cfg.Hardening.VpcEndpoints {
		// In App Mesh mode Envoy fetches its configuration from App Mesh's control plane: the
		// mesh declares that endpoint (a mode switch leaves the network alone).
		meshArgs.ControlPlaneEndpoint = &mesh.ControlPlaneEndpoint{
			VpcId: p.net.VpcId, SubnetIds: p.net.PrivateSubnetIds, SecurityGroupId: p.net.EndpointSecurityGroupId,
		}
	}
	p.mesh, err = mesh.New(ctx, p.prefix, meshArgs)
	if err != nil {
		return err
	}
	p.tracing, err = xray.NewTracing(ctx, p.prefix, &xray.TracingArgs{
		Name:              p.prefix,
		Mode:              cfg.TracingMode,
		SamplingFixedRate: &cfg.SamplingFixedRate,
		SamplingReservoir: &cfg.SamplingReservoir,
		DaemonImage:       p.cache.address(orDefault(cfg.Hardening.XRayDaemonImage, xray.DaemonImage)),
		CollectorImage:    p.cache.address(orDefault(cfg.Hardening.CollectorImage, xray.CollectorImage)),
		Services:          []string{PaymentsName, ProductsName},
		Tags:              p.tags,
	})
	if err != nil {
		return err
	}
	p.topic, err = alarmTopic(ctx, cfg, p.prefix, p.tags)
	return err
}

// serviceArgs is what every service of the stack gets: its place on the platform, its
// size and scaling, alarms, mesh, tracing, logs, health check and image.
func (p *platform) serviceArgs(svc ServiceConfig, name string) *services.ServiceArgs {
	cfg := p.cfg
	args := &services.ServiceArgs{
		ClusterArn:       p.cl.ClusterArn,
		VpcId:            p.net.VpcId,
		SubnetIds:        p.net.PrivateSubnetIds,
		Cpu:              svc.Cpu,
		Memory:           svc.Memory,
		DesiredCount:     svc.DesiredCount,
		MinCount:         svc.MinCount,
		MaxCount:         svc.MaxCount,
		Scaling:          scaling(cfg),
		AlarmTopicArn:    p.topic.TopicArn,
		AlarmThresholds:  &cfg.Operations.Thresholds,
		Mesh:             p.mesh,
		Parts:            []services.TaskPart{p.tracing},
		NamePrefix:       p.prefix, // the task family <prefix>-<name> and the alarm names
		LogGroupName:     cfg.LogGroupPath + "/" + name,
		LogRetentionDays: cfg.LogRetentionDays,
		AppHealthCheck:   appHealthCheck(name),
		Tags:             p.tags,
	}
	if p.cache != nil {
		args.AwsEgress = &services.AwsEgress{SecurityGroupId: p.net.EndpointSecurityGroupId, PrefixListId: p.net.S3PrefixListId}
		args.CachedImageRepositories = p.net.PublicECRCacheRepositories
		args.DependsOn = p.net.VpcEndpoints // their private DNS must be in place before the tasks start
	}
	if svc.Image != "" {
		args.Image = pulumi.String(svc.Image)
	} else {
		// The sources are what the root .dockerignore lets into the build context.
		args.Build = &services.ImageBuild{Context: ".", Dockerfile: "apps/" + name + "/Dockerfile", Sources: []string{"go.mod", "go.sum", "apps"}}
	}
	return args
}

// export declares the stack outputs that are not the edge's or the operations'.
func (p *platform) export(ctx *pulumi.Context, products, payments *services.Service) {
	region := regionOf(ctx)
	ctx.Export("region", pulumi.String(region))
	ctx.Export("xrayGroupName", p.tracing.GroupName)
	ctx.Export("xrayConsole", pulumi.Sprintf(
		"https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#xray:service-map/map?group=%s", region, region, p.tracing.GroupName))
	ctx.Export("productsService", products.ServiceName)
	ctx.Export("paymentsService", payments.ServiceName)
	ctx.Export("meshMode", pulumi.String(p.cfg.MeshMode))
	ctx.Export("tracingMode", pulumi.String(p.cfg.TracingMode))
	ctx.Export("vpcId", p.net.VpcId)
	ctx.Export("clusterName", p.cl.ClusterName)
	ctx.Export("databaseEndpoint", p.db.Address)
	ctx.Export("databaseSecretArn", p.db.SecretArn)
}

// ProductsDBUser is the database role products signs in as: it may read what products serves
// and nothing else (created by products' migrate step). The master user is for migrations only.
const ProductsDBUser = "products_app"

// dbSSLMode is how products and its migrations connect: TLS required (the parameter group
// refuses anything else). Not verify-full: no RDS CA bundle is shipped in the image yet
// (docs/database.md says how to add it).
const dbSSLMode = "require"

// connectProductsToDatabase gives products its database: the app signs in as ProductsDBUser
// with IAM tokens (no password reaches its container), and a migrate container, run from the
// same image before the app starts, applies the migrations as the master user, whose
// RDS-managed secret only it receives.
func connectProductsToDatabase(ctx *pulumi.Context, args *services.ServiceArgs, cfg Config, db *database.Database, payments *services.Service) error {
	connectArn, err := db.ConnectArn(ctx, ProductsDBUser)
	if err != nil {
		return err
	}
	port := db.Port.ApplyT(func(p int) string { return fmt.Sprint(p) }).(pulumi.StringOutput)
	location := map[string]pulumi.StringInput{
		"DB_HOST":    db.Address,
		"DB_PORT":    port,
		"DB_NAME":    db.DbName,
		"DB_SSLMODE": pulumi.String(dbSSLMode),
	}
	args.Environment = withEntries(location, map[string]pulumi.StringInput{
		"PAYMENT_ENDPOINT": payments.Endpoint,
		"DB_USER":          pulumi.String(ProductsDBUser),
		"DB_AUTH":          pulumi.String("iam"),
		"AWS_REGION":       pulumi.String(regionOf(ctx)),
		"DB_MAX_CONNS":     pulumi.String(fmt.Sprint(cfg.Database.MaxConnsPerTask)),
	})
	args.TaskRoleGrants = []services.Grant{{Sid: "ConnectAsAppRole", Actions: []string{"rds-db:connect"}, Resources: pulumi.StringArray{connectArn}}}
	migrateEnv := withEntries(location, map[string]pulumi.StringInput{
		"DB_USER":     db.Username,
		"DB_APP_USER": pulumi.String(ProductsDBUser),
		"DB_APP_AUTH": pulumi.String("iam"),
	})
	if cfg.Environment == "dev" {
		migrateEnv["DB_SEED"] = pulumi.String("true") // prod gets its data from its owners, not seed rows
	}
	args.Init = &services.InitContainer{
		Name:        "migrate",
		Command:     []string{"migrate"},
		Environment: migrateEnv,
		Secrets:     []services.SecretEnv{{Name: "DB_PASSWORD", SecretArn: db.SecretArn, JSONKey: "password"}},
	}
	return nil
}

// appHealthCheck is the ECS health check of one of our apps: its binary probes its own
// liveness endpoint (distroless images have no shell or curl; the Dockerfiles install the
// binary as /<name>).
func appHealthCheck(name string) *taskspec.HealthCheck {
	return &taskspec.HealthCheck{
		Command:     []string{"CMD", "/" + name, contract.HealthCheckFlag},
		Interval:    15,
		Timeout:     5,
		Retries:     3,
		StartPeriod: 30,
	}
}

// orDefault is image, or def when image is "".
func orDefault(image, def string) string {
	if image == "" {
		return def
	}
	return image
}

func withEntries(base, more map[string]pulumi.StringInput) map[string]pulumi.StringInput {
	out := map[string]pulumi.StringInput{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// regionOf is the stack's AWS region from provider config.
func regionOf(ctx *pulumi.Context) string {
	if r, ok := ctx.GetConfig("aws:region"); ok {
		return r
	}
	return "us-east-1"
}
