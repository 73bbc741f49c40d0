package services_test

import (
	"fmt"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/components/services"
	"github.com/meshtrace/meshtrace/components/xray"
	"github.com/meshtrace/meshtrace/pulumitest"
)

// scaledProgram is a team's program with n services declared through the Service component,
// standalone as in inventoryProgram: one Service Connect mesh, one tracing setup (a sampling
// rule per service), and n services in a chain, each calling the one declared before it (its
// endpoint in the environment, a backend whose security group admits it).
func scaledProgram(n int) pulumi.RunFunc {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("svc%03d", i)
	}
	return func(ctx *pulumi.Context) error {
		subnets := pulumi.ToStringArray([]string{"subnet-a", "subnet-b"})
		m, err := mesh.NewServiceConnect(ctx, "scale-mesh", &mesh.ServiceConnectArgs{
			NamespaceArn: pulumi.String("arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-1"),
		})
		if err != nil {
			return err
		}
		tracing, err := xray.NewTracing(ctx, "scale", &xray.TracingArgs{})
		if err != nil {
			return err
		}
		var previous *services.Service
		for _, name := range names {
			args := &services.ServiceArgs{
				ClusterArn: pulumi.String("arn:aws:ecs:eu-west-1:123456789012:cluster/shared"),
				VpcId:      pulumi.String("vpc-0abc"),
				SubnetIds:  subnets,
				Image:      pulumi.String("123456789012.dkr.ecr.eu-west-1.amazonaws.com/" + name + ":1.0.0"),
				Mesh:       m,
				Parts:      []services.TaskPart{tracing},
			}
			if previous != nil {
				args.Environment = map[string]pulumi.StringInput{"UPSTREAM_URL": previous.Endpoint}
				args.Backends = []*services.Service{previous}
			}
			if previous, err = services.NewService(ctx, name, args); err != nil {
				return err
			}
		}
		return nil
	}
}

// BenchmarkServices declares n services (2, 10, 50) through the Service component under the
// Pulumi mocks, per op. ns/service and resources/service are ns/op and resources/op divided by n:
// when each service costs the same time and declares the same resources whatever n is, they stay
// flat as n grows (the fixed part, the mesh and tracing components and the run itself, is shared
// out and fades).
//
//	go test -run '^$' -bench BenchmarkServices -benchmem ./components/services
func BenchmarkServices(b *testing.B) {
	for _, n := range []int{2, 10, 50} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			program := scaledProgram(n)
			b.ReportAllocs()
			resources := 0
			for b.Loop() {
				m, err := pulumitest.Run("bench", nil, program)
				if err != nil {
					b.Fatalf("%d services: %v", n, err)
				}
				resources = len(m.Resources())
			}
			nsPerOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(float64(resources), "resources/op")
			b.ReportMetric(nsPerOp/float64(n), "ns/service")
			b.ReportMetric(float64(resources)/float64(n), "resources/service")
		})
	}
}
