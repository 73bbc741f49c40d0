// Command inventory is another team's Pulumi program: its service inventory, behind its own
// load balancer, on the meshtrace platform stack, calling payments. All it knows of the
// platform comes from the platform stack's references (docs/reuse.md).
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/meshtrace/meshtrace/components/platform"
	"github.com/meshtrace/meshtrace/components/services"
)

func main() { pulumi.Run(program) }

func program(ctx *pulumi.Context) error {
	cfg := config.New(ctx, "inventory")
	// platformStack is the platform's stack, e.g. organization/meshtrace/dev.
	stack, err := pulumi.NewStackReference(ctx, "platform", &pulumi.StackReferenceArgs{Name: pulumi.String(cfg.Require("platformStack"))})
	if err != nil {
		return err
	}
	shared, err := platform.Import(ctx, "platform", stack) // the cluster, network, mesh and tracing
	if err != nil {
		return err
	}
	payments, err := shared.Backend(ctx, "payments")
	if err != nil {
		return err
	}
	args := shared.ServiceArgs()
	args.Image = pulumi.String(cfg.Require("image"))
	args.Public = true // its own internet-facing load balancer
	args.Environment = map[string]pulumi.StringInput{"PAYMENT_ENDPOINT": payments.Endpoint}
	args.Backends = []*services.Service{payments} // payments admits inventory, the mesh routes to it
	_, err = services.NewService(ctx, "inventory", args)
	return err
}
