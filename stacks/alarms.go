package stacks

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/alarms"
	"github.com/meshtrace/meshtrace/components/database"
	"github.com/meshtrace/meshtrace/components/services"
	"github.com/meshtrace/meshtrace/components/xray"
)

// alarmTopic declares the stack's alarm topic, with the configured e-mail subscription.
func alarmTopic(ctx *pulumi.Context, cfg Config, prefix string, tags pulumi.StringMap) (*alarms.Topic, error) {
	return alarms.NewTopic(ctx, prefix+"-alarms", &alarms.TopicArgs{Email: cfg.Operations.AlarmEmail, Tags: tags})
}

// scaling is the services' target tracking from the config.
func scaling(cfg Config) *services.Scaling {
	return &services.Scaling{CPUPercent: cfg.Operations.ScalingCPUPercent, RequestsPerTarget: cfg.Operations.ScalingRequestsPerTarget}
}

// declareOperations declares the stack-wide alarms (database, traces) and the dashboard, and
// exports the dashboard's URL and the alarm topic. The services declared their own alarms.
func declareOperations(ctx *pulumi.Context, cfg Config, prefix string, tags pulumi.StringMap, topic *alarms.Topic, db *database.Database, tracing *xray.Tracing, products, payments *services.Service) error {
	maxConns, ok := MaxConnections(cfg.Database.InstanceClass)
	memory, okMemory := InstanceMemoryGiB(cfg.Database.InstanceClass)
	if !ok || !okMemory { // Parse refuses such a class first
		return fmt.Errorf("dbInstanceClass %s: unknown max_connections or memory", cfg.Database.InstanceClass)
	}
	views := []alarms.ServiceView{
		{Name: ProductsName, ClusterName: products.ClusterName, ServiceName: products.ServiceName,
			LoadBalancerArnSuffix: products.LoadBalancerArnSuffix, TargetGroupArnSuffix: products.TargetGroupArnSuffix},
		{Name: PaymentsName, ClusterName: payments.ClusterName, ServiceName: payments.ServiceName},
	}
	system, err := alarms.NewSystem(ctx, prefix, &alarms.SystemArgs{
		Region:   regionOf(ctx),
		TopicArn: topic.TopicArn,
		Database: &alarms.DatabaseArgs{
			Identifier:         db.Identifier,
			MaxConnections:     maxConns,
			AllocatedStorageGb: cfg.Database.AllocatedStorageGb,
			MemoryGiB:          memory,
			ClientLogGroup:     products.LogGroupName,
		},
		XRayGroupName:      tracing.GroupName,
		XRayFaultGroupName: tracing.FaultGroupName,
		Services:           views,
		Thresholds:         cfg.Operations.Thresholds,
		Tags:               tags,
	})
	if err != nil {
		return err
	}
	ctx.Export("dashboardUrl", system.DashboardURL)
	ctx.Export("alarmTopicArn", topic.TopicArn)
	return nil
}
