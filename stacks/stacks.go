// Package stacks reads a stack's config and composes the whole meshtrace system from
// the components: network, cluster, database, mesh, tracing and the two services.
package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/cluster"
	"github.com/meshtrace/meshtrace/components/database"
	"github.com/meshtrace/meshtrace/components/network"
)

// Run is the Pulumi program. Config is validated before any resource is declared.
func Run(ctx *pulumi.Context) error {
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return err
	}
	_, err = Compose(ctx, cfg)
	return err
}

// System is what Compose declared.
type System struct {
	Network  *network.Network
	Cluster  *cluster.Cluster
	Database *database.Database
}

// Compose declares the system for a validated config and exports the stack outputs.
func Compose(ctx *pulumi.Context, cfg Config) (*System, error) {
	prefix := "meshtrace-" + cfg.Environment
	tags := pulumi.StringMap{
		"project":     pulumi.String("meshtrace"),
		"environment": pulumi.String(cfg.Environment),
		"stack":       pulumi.String(ctx.Stack()),
	}

	net, err := network.NewNetwork(ctx, prefix, &network.NetworkArgs{
		CidrBlock:   cfg.VpcCidr,
		NatGateways: cfg.NatGateways,
		Tags:        tags,
	})
	if err != nil {
		return nil, err
	}
	cl, err := cluster.NewCluster(ctx, prefix, &cluster.ClusterArgs{
		VpcId:                  net.VpcId,
		NamespaceName:          cfg.NamespaceName,
		ServiceConnectDefaults: cfg.MeshMode == MeshServiceConnect,
		Tags:                   tags,
	})
	if err != nil {
		return nil, err
	}
	db, err := database.NewDatabase(ctx, prefix+"-db", &database.DatabaseArgs{
		VpcId:               net.VpcId,
		SubnetIds:           net.PrivateSubnetIds,
		InstanceClass:       cfg.Database.InstanceClass,
		EngineVersion:       cfg.Database.EngineVersion,
		AllocatedStorageGb:  cfg.Database.AllocatedStorageGb,
		MultiAZ:             cfg.Database.MultiAZ,
		BackupRetentionDays: cfg.Database.BackupRetentionDays,
		DeletionProtection:  cfg.Database.DeletionProtection,
		DbName:              cfg.Database.Name,
		Username:            cfg.Database.Username,
		Tags:                tags,
	})
	if err != nil {
		return nil, err
	}

	ctx.Export("vpcId", net.VpcId)
	ctx.Export("clusterName", cl.ClusterName)
	ctx.Export("databaseEndpoint", db.Address)
	ctx.Export("databaseSecretArn", db.SecretArn)
	return &System{Network: net, Cluster: cl, Database: db}, nil
}
