package enginecheck

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/platform"
	"github.com/meshtrace/meshtrace/components/services"
	"github.com/meshtrace/meshtrace/pulumitest"
	"github.com/meshtrace/meshtrace/stacks"
)

// The references the platform stack exports, as the real engine stores them (the Go SDK's
// serialization of platform.Export), are what platform.Import reads: another stack's program
// reaches the deployed payments, in each mesh mode.
func TestAnotherStackImportsTheReferencesTheEngineStored(t *testing.T) {
	for _, modes := range []stacks.Modes{stacks.AllModes()[0], stacks.AllModes()[2]} {
		t.Run(modes.String(), func(t *testing.T) {
			s := NewStack(t, "dev", stacks.Run)
			up := s.Up(stackConfig(t, "dev", modes, nil))
			if up.Err != nil {
				t.Fatal(up.Err)
			}
			m := pulumitest.NewMocks("team").WithStackOutputs("org/meshtrace/dev", s.stackOutputs().Mappable())
			err := pulumitest.RunWith(m, "", nil, func(ctx *pulumi.Context) error {
				stack, err := pulumi.NewStackReference(ctx, "platform", &pulumi.StackReferenceArgs{Name: pulumi.String("org/meshtrace/dev")})
				if err != nil {
					return err
				}
				shared, err := platform.Import(ctx, "platform", stack)
				if err != nil {
					return err
				}
				payments, err := shared.Backend(ctx, "payments")
				if err != nil {
					return err
				}
				args := shared.ServiceArgs()
				args.Image, args.Backends = pulumi.String("orders:1"), []*services.Service{payments}
				_, err = services.NewService(ctx, "orders", args)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			paymentsGroup := s.Find("aws:ec2/securityGroup:SecurityGroup", "payments").ID
			admit, _ := m.Find("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "orders-to-payments-in")
			if admit.Plain()["securityGroupId"] != string(paymentsGroup) || admit.Plain()["fromPort"] != 8080.0 {
				t.Errorf("the deployed payments (%s) admits orders by %v", paymentsGroup, admit.Plain())
			}
			cluster := s.Find("aws:ecs/cluster:Cluster", "meshtrace-dev").Outputs["arn"].StringValue()
			if svc, _ := m.Find("aws:ecs/service:Service", "orders"); svc.Plain()["cluster"] != cluster {
				t.Errorf("orders runs in %v, the platform's cluster is %s", svc.Plain()["cluster"], cluster)
			}
		})
	}
}
