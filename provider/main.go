// Command pulumi-resource-meshtrace is meshtrace's component package: the reusable
// components of components/ (network, cluster, database, mesh, tracing, service) for
// Pulumi programs in any language. Other teams add it with
//
//	pulumi package add <repo>/provider@<tag>
//
// (see README.md). Its inputs are IDs and ARNs, the mesh and the tracing as small records
// that the Mesh and Tracing components output, a service's backends as records of the
// Service outputs they need; each of them, at every depth, may be another resource's
// output, an unknown or a secret (inputs.go).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// Name is the package's name: its resources are meshtrace:index:<Component>.
const Name = "meshtrace"

// Version is the package's version, as a release tags it.
const Version = "0.1.0"

// Provider is the component package.
func Provider() (p.Provider, error) {
	prov, err := infer.NewProviderBuilder().
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
	if err != nil {
		return prov, err
	}
	inferred := prov.GetSchema
	prov.GetSchema = func(ctx context.Context, req p.GetSchemaRequest) (p.GetSchemaResponse, error) {
		resp, err := inferred(ctx, req)
		if err == nil {
			resp.Schema, err = noPlainInputs(resp.Schema)
		}
		return resp, err
	}
	return prov, nil
}

// noPlainInputs clears "plain" from every input of the schema: each one, at every depth (a
// list's items, a map's values), may be an output (inputs.go), which the schema must say so
// that the SDKs type them pulumi.Input. infer marks the elements of a StringArrayInput or
// StringMapInput plain.
func noPlainInputs(spec string) (string, error) {
	var pkg schema.PackageSpec
	if err := json.Unmarshal([]byte(spec), &pkg); err != nil {
		return "", err
	}
	var clear func(t *schema.TypeSpec)
	clear = func(t *schema.TypeSpec) {
		if t == nil {
			return
		}
		t.Plain = false
		clear(t.Items)
		clear(t.AdditionalProperties)
		for i := range t.OneOf {
			clear(&t.OneOf[i])
		}
	}
	clearAll := func(props map[string]schema.PropertySpec) {
		for k, prop := range props {
			clear(&prop.TypeSpec)
			props[k] = prop
		}
	}
	for _, r := range pkg.Resources {
		clearAll(r.InputProperties)
	}
	for _, t := range pkg.Types {
		clearAll(t.Properties)
	}
	out, err := json.Marshal(pkg)
	return string(out), err
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
