// Command pulumi-resource-meshtrace is meshtrace's component package: the reusable
// components of components/ (network, cluster, database, mesh, tracing, service) for
// Pulumi programs in any language. Other teams add it with
//
//	pulumi package add <repo>/provider@<tag>
//
// (see README.md). Its inputs are plain data: IDs and ARNs as strings, the mesh and the
// tracing as small records that the Mesh and Tracing components output, a service's
// backends as records of the Service outputs they need.
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// Name is the package's name: its resources are meshtrace:index:<Component>.
const Name = "meshtrace"

// Version is the package's version, as a release tags it.
const Version = "0.1.0"

// Provider is the component package.
func Provider() (p.Provider, error) {
	return infer.NewProviderBuilder().
		WithDisplayName("meshtrace").
		WithDescription("Traced, meshed services on ECS Fargate: network, cluster, database, mesh, tracing and services, as meshtrace deploys them.").
		WithKeywords("aws", "ecs", "fargate", "service-connect", "x-ray", "category/cloud", "kind/component").
		WithRepository("https://github.com/meshtrace/meshtrace").
		WithLicense("Apache-2.0").
		// The components are this Go package's (provider): in the schema they are index's.
		WithModuleMap(map[tokens.ModuleName]tokens.ModuleName{"provider": "index"}).
		WithComponents(
			infer.ComponentF(NewNetwork),
			infer.ComponentF(NewCluster),
			infer.ComponentF(NewDatabase),
			infer.ComponentF(NewMesh),
			infer.ComponentF(NewTracing),
			infer.ComponentF(NewService),
		).
		Build()
}

func main() {
	prov, err := Provider()
	if err == nil {
		err = prov.Run(context.Background(), Name, Version)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
