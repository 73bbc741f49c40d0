// Package graphs exports the resource graphs the program declares under the mocks, for the
// AWS API check (checks/awsapi) and cmd/graphexport. It lives apart from package stacks so
// that the program itself does not link the mocks.
package graphs

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/meshtrace/meshtrace/internal/pulumitest"
	"github.com/meshtrace/meshtrace/stacks"
)

// Graph runs the program under mocks for a stack (its real Pulumi.<stack>.yaml) with
// the given modes and returns the declared resource graph.
func Graph(stack string, modes stacks.Modes) (pulumitest.Graph, error) {
	config, err := pulumitest.StackConfigWith(stack, modes.Overrides())
	if err != nil {
		return pulumitest.Graph{}, err
	}
	root, err := pulumitest.RepoRoot()
	if err != nil {
		return pulumitest.Graph{}, err
	}
	mocks, err := pulumitest.RunAt(root, stack, config, stacks.Run)
	if err != nil {
		return pulumitest.Graph{}, fmt.Errorf("stack %s, %s: %w", stack, modes, err)
	}
	return mocks.Graph(config), nil
}

// ExportGraphs writes Graph for every stack and mode combination into dir as
// <stack>-<mesh>-<tracing>.json and returns the paths written.
func ExportGraphs(dir string, stackNames []string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, stack := range stackNames {
		for _, modes := range stacks.AllModes() {
			g, err := Graph(stack, modes)
			if err != nil {
				return nil, err
			}
			b, err := g.JSON()
			if err != nil {
				return nil, err
			}
			path := filepath.Join(dir, fmt.Sprintf("%s-%s.json", stack, modes))
			if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
				return nil, err
			}
			paths = append(paths, path)
		}
	}
	return paths, nil
}
