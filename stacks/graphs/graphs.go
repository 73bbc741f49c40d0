// Package graphs exports the resource graphs the program declares under the mocks, for the
// AWS API check (checks/awsapi) and cmd/graphexport. It lives apart from package stacks so
// that the program itself does not link the mocks.
package graphs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/meshtrace/meshtrace/pulumitest"
	"github.com/meshtrace/meshtrace/stacks"
)

// Graph runs the program under mocks for a stack (its real Pulumi.<stack>.yaml) with
// the given modes and returns the declared resource graph.
func Graph(stack string, modes stacks.Modes) (pulumitest.Graph, error) {
	return graphWith(stack, modes.Overrides())
}

// Variants are stack configs beyond the mode combinations whose graphs declare resource
// types the stack files alone do not: a domain of its own (certificate, DNS records).
var Variants = map[string]map[string]string{
	"prod-domain": {stacks.Namespace + ":domainName": "shop.example.com", stacks.Namespace + ":hostedZoneId": "Z0123456789ABC"},
	// A sidecar image (the default tracing mode's, the ADOT collector) copied into a private ECR
	// repository of its own: its execution role must pull it.
	"prod-private-sidecar": {stacks.Namespace + ":adotImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/adot@sha256:" + strings.Repeat("1", 64)},
}

func graphWith(stack string, overrides map[string]string) (pulumitest.Graph, error) {
	config, err := pulumitest.StackConfigWith(stack, overrides)
	if err != nil {
		return pulumitest.Graph{}, err
	}
	root, err := pulumitest.RepoRoot()
	if err != nil {
		return pulumitest.Graph{}, err
	}
	mocks, err := pulumitest.RunAt(root, stack, config, stacks.Run)
	if err != nil {
		return pulumitest.Graph{}, fmt.Errorf("stack %s, %v: %w", stack, overrides, err)
	}
	return mocks.Graph(config), nil
}

// ExportGraphs writes Graph for every stack and mode combination into dir as
// <stack>-<mesh>-<tracing>.json, and each of Variants as <variant>.json (on the stack its
// name starts with), and returns the paths written.
func ExportGraphs(dir string, stackNames []string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	write := func(name string, g pulumitest.Graph, err error) error {
		if err != nil {
			return err
		}
		b, err := g.JSON()
		if err != nil {
			return err
		}
		path := filepath.Join(dir, name+".json")
		paths = append(paths, path)
		return os.WriteFile(path, append(b, '\n'), 0o644)
	}
	for _, stack := range stackNames {
		for _, modes := range stacks.AllModes() {
			g, err := Graph(stack, modes)
			if err := write(fmt.Sprintf("%s-%s", stack, modes), g, err); err != nil {
				return nil, err
			}
		}
	}
	for name, overrides := range Variants {
		stack, _, _ := strings.Cut(name, "-")
		g, err := graphWith(stack, overrides)
		if err := write(name, g, err); err != nil {
			return nil, err
		}
	}
	return paths, nil
}
