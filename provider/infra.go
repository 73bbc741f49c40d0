package main

import (
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/cluster"
	"github.com/meshtrace/meshtrace/components/database"
	"github.com/meshtrace/meshtrace/components/network"
)

// register registers the package's component and returns the option that parents the
// Go component under it.
func register(ctx *pulumi.Context, name string, c pulumi.ComponentResource, opts []pulumi.ResourceOption) (pulumi.ResourceOption, error) {
	if err := ctx.RegisterComponentResource(ctxToken(ctx), name, c, opts...); err != nil {
		return nil, err
	}
	return pulumi.Parent(c), nil
}

// NetworkArgs are the Network's inputs.
type NetworkArgs struct {
	CidrBlock         pulumi.StringInput    `pulumi:"cidrBlock,optional"`
	AvailabilityZones pulumi.IntInput       `pulumi:"availabilityZones,optional"`
	NatGateways       pulumi.StringInput    `pulumi:"natGateways,optional"`
	Tags              pulumi.StringMapInput `pulumi:"tags,optional"`
}

// Annotate describes the inputs.
func (a *NetworkArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.CidrBlock, "IPv4 CIDR of the VPC, /16 to /24. Default 10.0.0.0/16.")
	an.Describe(&a.AvailabilityZones, "Availability zones, 2 to 4 (RDS and the load balancer need two). Default 2.")
	an.Describe(&a.NatGateways, `NAT gateways: "single" (one for all zones, cheap) or "onePerAz" (what production wants). Default onePerAz.`)
	an.Describe(&a.Tags, "Tags added to every resource.")
}

// Network is a VPC with public and private subnets in each zone and NAT for the private ones.
type Network struct {
	pulumi.ResourceState
	VpcId            pulumi.StringOutput      `pulumi:"vpcId"`
	PublicSubnetIds  pulumi.StringArrayOutput `pulumi:"publicSubnetIds"`
	PrivateSubnetIds pulumi.StringArrayOutput `pulumi:"privateSubnetIds"`
	CidrBlock        pulumi.StringOutput      `pulumi:"cidrBlock"`
}

// Annotate describes the component and its outputs.
func (n *Network) Annotate(an infer.Annotator) {
	an.Describe(&n, "A VPC with a public and a private subnet in each availability zone, and NAT for the private ones.")
	an.Describe(&n.VpcId, "ID of the VPC.")
	an.Describe(&n.PublicSubnetIds, "Public subnets, for load balancers.")
	an.Describe(&n.PrivateSubnetIds, "Private subnets, for tasks and databases.")
	an.Describe(&n.CidrBlock, "CIDR of the VPC.")
}

// NewNetwork constructs the Network.
func NewNetwork(ctx *pulumi.Context, name string, args NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	c := &Network{}
	parent, err := register(ctx, name, c, opts)
	if err != nil {
		return nil, err
	}
	p := newPlain(ctx)
	a := &network.NetworkArgs{
		CidrBlock:         value(p, "cidrBlock", args.CidrBlock, ""),
		AvailabilityZones: value(p, "availabilityZones", args.AvailabilityZones, 0),
		NatGateways:       value(p, "natGateways", args.NatGateways, ""),
		Tags:              stringMap(p, "tags", args.Tags),
	}
	deps, declare, err := p.done("Network "+name, c)
	if err != nil || !declare {
		return c, err
	}
	n, err := network.NewNetwork(ctx, name, a, parent, deps)
	if err != nil {
		return nil, err
	}
	c.VpcId, c.PublicSubnetIds, c.PrivateSubnetIds, c.CidrBlock = n.VpcId, n.PublicSubnetIds, n.PrivateSubnetIds, n.CidrBlock
	return c, nil
}

// ClusterArgs are the Cluster's inputs.
type ClusterArgs struct {
	VpcId                  pulumi.StringInput    `pulumi:"vpcId"`
	NamespaceName          pulumi.StringInput    `pulumi:"namespaceName"`
	ServiceConnectDefaults pulumi.BoolInput      `pulumi:"serviceConnectDefaults,optional"`
	Tags                   pulumi.StringMapInput `pulumi:"tags,optional"`
}

// Annotate describes the inputs.
func (a *ClusterArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.VpcId, "VPC the private DNS namespace resolves in.")
	an.Describe(&a.NamespaceName, "Cloud Map private DNS namespace services register in, e.g. shop.local.")
	an.Describe(&a.ServiceConnectDefaults, "Make the namespace the cluster's Service Connect default. Default false.")
	an.Describe(&a.Tags, "Tags added to every resource.")
}

// Cluster is an ECS cluster with its Cloud Map namespace.
type Cluster struct {
	pulumi.ResourceState
	ClusterArn    pulumi.StringOutput `pulumi:"clusterArn"`
	ClusterName   pulumi.StringOutput `pulumi:"clusterName"`
	NamespaceId   pulumi.StringOutput `pulumi:"namespaceId"`
	NamespaceArn  pulumi.StringOutput `pulumi:"namespaceArn"`
	NamespaceName pulumi.StringOutput `pulumi:"namespaceName"`
}

// Annotate describes the component and its outputs.
func (c *Cluster) Annotate(an infer.Annotator) {
	an.Describe(&c, "An ECS cluster with Container Insights and the Cloud Map private DNS namespace its services register in.")
	an.Describe(&c.ClusterArn, "ARN of the ECS cluster.")
	an.Describe(&c.ClusterName, "Name of the ECS cluster.")
	an.Describe(&c.NamespaceId, "ID of the Cloud Map namespace.")
	an.Describe(&c.NamespaceArn, "ARN of the Cloud Map namespace.")
	an.Describe(&c.NamespaceName, "Name of the Cloud Map namespace.")
}

// NewCluster constructs the Cluster.
func NewCluster(ctx *pulumi.Context, name string, args ClusterArgs, opts ...pulumi.ResourceOption) (*Cluster, error) {
	c := &Cluster{}
	parent, err := register(ctx, name, c, opts)
	if err != nil {
		return nil, err
	}
	p := newPlain(ctx)
	a := &cluster.ClusterArgs{
		VpcId:                  args.VpcId,
		NamespaceName:          value(p, "namespaceName", args.NamespaceName, ""),
		ServiceConnectDefaults: value(p, "serviceConnectDefaults", args.ServiceConnectDefaults, false),
		Tags:                   stringMap(p, "tags", args.Tags),
	}
	deps, declare, err := p.done("Cluster "+name, c)
	if err != nil || !declare {
		return c, err
	}
	cl, err := cluster.NewCluster(ctx, name, a, parent, deps)
	if err != nil {
		return nil, err
	}
	c.ClusterArn, c.ClusterName, c.NamespaceId, c.NamespaceArn, c.NamespaceName = cl.ClusterArn, cl.ClusterName, cl.NamespaceId, cl.NamespaceArn, cl.NamespaceName
	return c, nil
}

// DatabaseArgs are the Database's inputs.
type DatabaseArgs struct {
	VpcId                   pulumi.StringInput      `pulumi:"vpcId"`
	SubnetIds               pulumi.StringArrayInput `pulumi:"subnetIds"`
	AllowedSecurityGroupIds pulumi.StringArrayInput `pulumi:"allowedSecurityGroupIds,optional"`
	InstanceClass           pulumi.StringInput      `pulumi:"instanceClass"`
	EngineVersion           pulumi.StringInput      `pulumi:"engineVersion,optional"`
	AllocatedStorageGb      pulumi.IntInput         `pulumi:"allocatedStorageGb,optional"`
	MultiAz                 pulumi.BoolInput        `pulumi:"multiAz,optional"`
	BackupRetentionDays     pulumi.IntInput         `pulumi:"backupRetentionDays,optional"`
	DeletionProtection      pulumi.BoolInput        `pulumi:"deletionProtection,optional"`
	Protect                 pulumi.BoolInput        `pulumi:"protect,optional"`
	DbName                  pulumi.StringInput      `pulumi:"dbName,optional"`
	Username                pulumi.StringInput      `pulumi:"username,optional"`
	Tags                    pulumi.StringMapInput   `pulumi:"tags,optional"`
}

// Annotate describes the inputs.
func (a *DatabaseArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.VpcId, "VPC of the instance.")
	an.Describe(&a.SubnetIds, "Private subnets in two or more availability zones.")
	an.Describe(&a.AllowedSecurityGroupIds, "Security groups that may connect on 5432, besides clientSecurityGroupId. Default none.")
	an.Describe(&a.InstanceClass, "Instance class, e.g. db.t4g.micro.")
	an.Describe(&a.EngineVersion, `PostgreSQL version, major or major.minor. Default "16".`)
	an.Describe(&a.AllocatedStorageGb, "Initial gp3 storage in GiB; autoscaling may grow it 4x. Default 20.")
	an.Describe(&a.MultiAz, "Keep a synchronous standby in another availability zone. Default false.")
	an.Describe(&a.BackupRetentionDays, "Days of automated backups, 1 to 35. Default 7.")
	an.Describe(&a.DeletionProtection, "Refuse deletion and take a final snapshot on destroy. Default false.")
	an.Describe(&a.Protect, "Declare the instance with Pulumi's protect: neither a replacement nor a destroy deletes it until it is unprotected. Default false.")
	an.Describe(&a.DbName, "Database created at launch. Default meshtrace.")
	an.Describe(&a.Username, "Master user, for migrations only. Default meshtrace.")
	an.Describe(&a.Tags, "Tags added to every resource.")
}

// Database is a private, encrypted RDS PostgreSQL instance.
type Database struct {
	pulumi.ResourceState
	Address               pulumi.StringOutput `pulumi:"address"`
	Port                  pulumi.IntOutput    `pulumi:"port"`
	DbName                pulumi.StringOutput `pulumi:"dbName"`
	Username              pulumi.StringOutput `pulumi:"username"`
	SecretArn             pulumi.StringOutput `pulumi:"secretArn"`
	ResourceId            pulumi.StringOutput `pulumi:"resourceId"`
	SecurityGroupId       pulumi.StringOutput `pulumi:"securityGroupId"`
	ClientSecurityGroupId pulumi.StringOutput `pulumi:"clientSecurityGroupId"`
}

// Annotate describes the component and its outputs.
func (d *Database) Annotate(an infer.Annotator) {
	an.Describe(&d, "A private, encrypted RDS PostgreSQL instance whose master password RDS generates and keeps in Secrets Manager.")
	an.Describe(&d.Address, "Host name of the instance.")
	an.Describe(&d.Port, "Port of the instance (5432).")
	an.Describe(&d.DbName, "Name of the database created at launch.")
	an.Describe(&d.Username, "Master user.")
	an.Describe(&d.SecretArn, `Secrets Manager secret {"username","password"} of the master user, kept by RDS: for migrations only.`)
	an.Describe(&d.ResourceId, "The instance's dbi resource id, which IAM database authentication policies name.")
	an.Describe(&d.SecurityGroupId, "Security group of the instance.")
	an.Describe(&d.ClientSecurityGroupId, "Attach this group to whatever should reach the database (a service's securityGroupIds): the database admits it.")
}

// NewDatabase constructs the Database.
func NewDatabase(ctx *pulumi.Context, name string, args DatabaseArgs, opts ...pulumi.ResourceOption) (*Database, error) {
	c := &Database{}
	parent, err := register(ctx, name, c, opts)
	if err != nil {
		return nil, err
	}
	p := newPlain(ctx)
	a := &database.DatabaseArgs{
		VpcId: args.VpcId, SubnetIds: args.SubnetIds,
		AllowedSecurityGroupIds: stringList(p, "allowedSecurityGroupIds", args.AllowedSecurityGroupIds),
		InstanceClass:           value(p, "instanceClass", args.InstanceClass, ""),
		EngineVersion:           value(p, "engineVersion", args.EngineVersion, ""),
		AllocatedStorageGb:      value(p, "allocatedStorageGb", args.AllocatedStorageGb, 0),
		MultiAZ:                 value(p, "multiAz", args.MultiAz, false),
		BackupRetentionDays:     value(p, "backupRetentionDays", args.BackupRetentionDays, 0),
		DeletionProtection:      value(p, "deletionProtection", args.DeletionProtection, false),
		Protect:                 value(p, "protect", args.Protect, false),
		DbName:                  value(p, "dbName", args.DbName, ""),
		Username:                value(p, "username", args.Username, ""),
		Tags:                    stringMap(p, "tags", args.Tags),
	}
	deps, declare, err := p.done("Database "+name, c)
	if err != nil || !declare {
		return c, err
	}
	db, err := database.NewDatabase(ctx, name, a, parent, deps)
	if err != nil {
		return nil, err
	}
	c.Address, c.Port, c.DbName, c.Username, c.SecretArn = db.Address, db.Port, db.DbName, db.Username, db.SecretArn
	c.ResourceId, c.SecurityGroupId, c.ClientSecurityGroupId = db.ResourceId, db.SecurityGroupId, db.ClientSecurityGroupId
	return c, nil
}
