// Package database declares a private, encrypted RDS PostgreSQL instance whose master
// password RDS generates and keeps in Secrets Manager: no password exists in code,
// config or Pulumi state.
package database

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/components/sgrule"
)

// DefaultBackupRetentionDays keeps a week of point-in-time recovery: enough to notice a bad
// change made on a Friday. It is also what a prod stack must keep at least.
const DefaultBackupRetentionDays = 7

// PostgresPort is the port the instance listens on.
const PostgresPort = 5432

// DatabaseArgs configures a Database.
type DatabaseArgs struct {
	// VpcId and SubnetIds place the instance; use private subnets in two or more AZs. Required.
	VpcId     pulumi.StringInput
	SubnetIds pulumi.StringArrayInput
	// AllowedSecurityGroupIds may connect on 5432, besides ClientSecurityGroupId.
	// Nothing else may. Default none.
	AllowedSecurityGroupIds []pulumi.StringInput
	// InstanceClass, e.g. db.t4g.micro. Required.
	InstanceClass string
	// EngineVersion is the PostgreSQL version, major or major.minor. Default "16".
	EngineVersion string
	// AllocatedStorageGb is the initial gp3 storage; autoscaling may grow it 4x. Default 20.
	AllocatedStorageGb int
	// MultiAZ keeps a synchronous standby in another AZ. Default false.
	MultiAZ bool
	// BackupRetentionDays keeps automated backups, 1 to 35. Default DefaultBackupRetentionDays.
	BackupRetentionDays int
	// DeletionProtection refuses deletion and takes a final snapshot on destroy. Default false.
	DeletionProtection bool
	// Protect declares the instance with Pulumi's protect: neither a replacement nor
	// `pulumi destroy` can delete it until `pulumi state unprotect` (see docs/operating.md).
	// Default false; stacks sets it in prod.
	Protect bool
	// DbName is the database created at launch. Default contract.DatabaseName.
	DbName string
	// Username is the master user. Default meshtrace.
	Username string
	// Tags are added to every resource.
	Tags pulumi.StringMap
}

// Database is an RDS PostgreSQL instance with its subnet group and security group.
type Database struct {
	pulumi.ResourceState

	// Identifier is the RDS instance identifier (CloudWatch's DBInstanceIdentifier).
	Identifier pulumi.StringOutput `pulumi:"identifier"`
	Address    pulumi.StringOutput `pulumi:"address"`
	Port       pulumi.IntOutput    `pulumi:"port"`
	DbName     pulumi.StringOutput `pulumi:"dbName"`
	Username   pulumi.StringOutput `pulumi:"username"`
	SecretArn  pulumi.StringOutput `pulumi:"secretArn"` // JSON {"username","password"} kept by RDS: the master's, for migrations only
	// ResourceId is the instance's dbi resource id, which IAM database authentication
	// policies name (see ConnectArn).
	ResourceId      pulumi.StringOutput `pulumi:"resourceId"`
	SecurityGroupId pulumi.StringOutput `pulumi:"securityGroupId"`
	// ClientSecurityGroupId is a security group to attach to whatever should reach the
	// database: the database admits it, and it may open connections to 5432 only.
	ClientSecurityGroupId pulumi.StringOutput `pulumi:"clientSecurityGroupId"`
}

// NewDatabase declares the instance.
func NewDatabase(ctx *pulumi.Context, name string, args *DatabaseArgs, opts ...pulumi.ResourceOption) (*Database, error) {
	a := *args
	if a.VpcId == nil || a.SubnetIds == nil || a.InstanceClass == "" {
		return nil, fmt.Errorf("database %s: VpcId, SubnetIds and InstanceClass are required", name)
	}
	if a.EngineVersion == "" {
		a.EngineVersion = "16"
	}
	if a.AllocatedStorageGb == 0 {
		a.AllocatedStorageGb = 20
	}
	if a.BackupRetentionDays == 0 {
		a.BackupRetentionDays = DefaultBackupRetentionDays
	}
	if a.DbName == "" {
		a.DbName = contract.DatabaseName
	}
	if a.Username == "" {
		a.Username = "meshtrace"
	}

	d := &Database{}
	if err := ctx.RegisterComponentResource("meshtrace:database:Database", name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)

	subnets, err := rds.NewSubnetGroup(ctx, name, &rds.SubnetGroupArgs{
		SubnetIds:   a.SubnetIds,
		Description: pulumi.String("Private subnets of " + name),
		Tags:        a.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	// No egress rules: the database never opens connections.
	sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		VpcId:       a.VpcId,
		Description: pulumi.String("PostgreSQL " + name + ": 5432 from its clients only"),
		Tags:        a.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	clients, err := ec2.NewSecurityGroup(ctx, name+"-clients", &ec2.SecurityGroupArgs{
		VpcId:       a.VpcId,
		Description: pulumi.String("Clients of PostgreSQL " + name),
		Tags:        a.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := sgrule.AllowTCP(ctx, name+"-clients", clients.ID(), sg.ID(), PostgresPort, "PostgreSQL clients of "+name, parent); err != nil {
		return nil, err
	}
	for i, client := range a.AllowedSecurityGroupIds {
		if _, err := sgrule.AdmitTCP(ctx, fmt.Sprintf("%s-from-client-%d", name, i), client, sg.ID(), PostgresPort,
			"PostgreSQL from an allowed client", parent); err != nil {
			return nil, err
		}
	}

	// TLS only: the server refuses connections without it. The family follows the major version
	// and cannot change in place (a replacement): the group is auto-named and created before the
	// old one is deleted, so a major upgrade creates postgres<new>, moves the instance to it in
	// the same modification, then deletes postgres<old> (docs/database.md#engine-upgrades).
	params, err := rds.NewParameterGroup(ctx, name, &rds.ParameterGroupArgs{
		Family:      pulumi.String(ParameterGroupFamily(a.EngineVersion)),
		Description: pulumi.String("PostgreSQL settings of " + name + ": TLS required"),
		Parameters: rds.ParameterGroupParameterArray{
			rds.ParameterGroupParameterArgs{Name: pulumi.String("rds.force_ssl"), Value: pulumi.String("1")},
		},
		Tags: a.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}

	instanceArgs := &rds.InstanceArgs{
		// A fixed identifier reads well in the console; deleteBeforeReplace below lets a
		// replacement reuse it instead of failing with DBInstanceAlreadyExists.
		Identifier:          pulumi.String(name),
		Engine:              pulumi.String(engine),
		EngineVersion:       pulumi.String(a.EngineVersion),
		InstanceClass:       pulumi.String(a.InstanceClass),
		AllocatedStorage:    pulumi.Int(a.AllocatedStorageGb),
		MaxAllocatedStorage: pulumi.Int(4 * a.AllocatedStorageGb),
		StorageType:         pulumi.String("gp3"),
		StorageEncrypted:    pulumi.Bool(true),
		DbName:              pulumi.String(a.DbName),
		Username:            pulumi.String(a.Username),
		// RDS generates the password and keeps it in Secrets Manager.
		ManageMasterUserPassword: pulumi.Bool(true),
		// The app signs in with short-lived IAM tokens instead of a password.
		IamDatabaseAuthenticationEnabled: pulumi.Bool(true),
		ParameterGroupName:               params.Name,
		Port:                             pulumi.Int(PostgresPort),
		DbSubnetGroupName:                subnets.Name,
		VpcSecurityGroupIds:              pulumi.StringArray{sg.ID()},
		PubliclyAccessible:               pulumi.Bool(false),
		MultiAz:                          pulumi.Bool(a.MultiAZ),
		BackupRetentionPeriod:            pulumi.Int(a.BackupRetentionDays),
		DeletionProtection:               pulumi.Bool(a.DeletionProtection),
		SkipFinalSnapshot:                pulumi.Bool(!a.DeletionProtection),
		CopyTagsToSnapshot:               pulumi.Bool(true),
		AutoMinorVersionUpgrade:          pulumi.Bool(true),
		// ModifyDBInstance refuses an EngineVersion of another major without it (botocore's rds
		// model); setting it causes no outage. Config admits majors 13-17.
		AllowMajorVersionUpgrade: pulumi.Bool(true),
		// What `up` declares is what runs once it ends: an engine, class or storage change is
		// applied now, not in the next maintenance window. The alarms' thresholds (computed from
		// the class and storage) change in the same `up`, and the old parameter group is no
		// longer in use when Pulumi deletes it (docs/database.md#engine-upgrades).
		ApplyImmediately:             pulumi.Bool(true),
		EnabledCloudwatchLogsExports: pulumi.StringArray{pulumi.String("postgresql")},
		Tags:                         a.Tags,
	}
	if a.DeletionProtection {
		instanceArgs.FinalSnapshotIdentifier = pulumi.String(FinalSnapshotIdentifier(name, instanceGeneration{
			Engine: engine, DbName: a.DbName, Username: a.Username, StorageEncrypted: true,
		}))
	}
	instance, err := rds.NewInstance(ctx, name, instanceArgs, parent,
		pulumi.DeleteBeforeReplace(true), pulumi.Protect(a.Protect))
	if err != nil {
		return nil, err
	}

	d.Identifier = instance.Identifier
	d.Address = instance.Address
	d.Port = instance.Port
	d.DbName = pulumi.String(a.DbName).ToStringOutput()
	d.Username = pulumi.String(a.Username).ToStringOutput()
	d.SecretArn = instance.MasterUserSecrets.ApplyT(masterSecretArn).(pulumi.StringOutput)
	d.ResourceId = instance.ResourceId
	d.SecurityGroupId = sg.ID().ToStringOutput()
	d.ClientSecurityGroupId = clients.ID().ToStringOutput()
	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{
		"identifier":            d.Identifier,
		"address":               d.Address,
		"port":                  d.Port,
		"dbName":                d.DbName,
		"username":              d.Username,
		"secretArn":             d.SecretArn,
		"resourceId":            d.ResourceId,
		"securityGroupId":       d.SecurityGroupId,
		"clientSecurityGroupId": d.ClientSecurityGroupId,
	}); err != nil {
		return nil, err
	}
	return d, nil
}

// engine is the RDS engine of every instance declared here.
const engine = "postgres"

// ParameterGroupFamily is the RDS parameter group family of a PostgreSQL version
// ("16" or "16.4" -> "postgres16").
func ParameterGroupFamily(engineVersion string) string {
	major, _, _ := strings.Cut(engineVersion, ".")
	return engine + major
}

// instanceGeneration holds the instance inputs whose change makes AWS replace the
// instance (ForceNew in the Terraform AWS provider's aws_db_instance schema, which
// pulumi-aws wraps: engine, db_name, username, storage_encrypted; identifier is fixed).
type instanceGeneration struct {
	Engine, DbName, Username string
	StorageEncrypted         bool
}

// FinalSnapshotIdentifier names the snapshot RDS takes when it deletes the instance. It is a
// pure function of the instance's name and of the inputs that force a replacement, so it is
// the same in every preview (no perpetual diff) and differs for each instance that replaces
// another (whose deletion snapshot keeps the old name): no DBSnapshotAlreadyExists. A
// time stamp would do the latter but change in every preview.
func FinalSnapshotIdentifier(name string, g instanceGeneration) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%s|%t", name, g.Engine, g.DbName, g.Username, g.StorageEncrypted)))
	return name + "-final-" + hex.EncodeToString(sum[:])[:8]
}

// masterSecretArn is the ARN of the secret RDS keeps the master password in. RDS
// reports it once the instance manages its password; an empty list is an error worth
// reading, not a panic.
func masterSecretArn(secrets []rds.InstanceMasterUserSecret) (string, error) {
	if len(secrets) == 0 || secrets[0].SecretArn == nil || *secrets[0].SecretArn == "" {
		return "", errors.New("RDS reported no master user secret: is manageMasterUserPassword on for this instance?")
	}
	return *secrets[0].SecretArn, nil
}

// ConnectArn is the resource of the rds-db:connect permission that lets a database user
// sign in with IAM database authentication to this instance, and nothing else.
func (d *Database) ConnectArn(ctx *pulumi.Context, user string) (pulumi.StringOutput, error) {
	region, err := aws.GetRegion(ctx, nil, pulumi.Parent(d))
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	caller, err := aws.GetCallerIdentity(ctx, nil, pulumi.Parent(d))
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return pulumi.Sprintf("arn:aws:rds-db:%s:%s:dbuser:%s/%s", region.Name, caller.AccountId, d.ResourceId, user), nil
}
