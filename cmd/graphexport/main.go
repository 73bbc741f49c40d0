// Command graphexport writes the resource graph the program declares under Pulumi's
// mocks, for each stack and each mesh x tracing combination, as JSON files
// <stack>-<mesh>-<tracing>.json: every resource's type, name, URN, parent, inputs
// (secrets redacted) and dependencies. The output is deterministic, so a diff of two
// exports is a diff of what `pulumi up` would be asked to create.
//
//	go run ./cmd/graphexport -out build/graph
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/meshtrace/meshtrace/stacks/graphs"
)

func main() {
	out := flag.String("out", "build/graph", "directory to write the graphs to")
	flag.Parse()
	paths, err := graphs.ExportGraphs(*out, []string{"dev", "prod"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "graphexport:", err)
		os.Exit(1)
	}
	for _, p := range paths {
		fmt.Println(p)
	}
}
