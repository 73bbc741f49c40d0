package stacks

import (
	"maps"
	"testing"

	"github.com/meshtrace/meshtrace/pulumitest"
)

// BenchmarkStack evaluates the whole program (config parsing and validation, every component,
// every resource registration) under the Pulumi mocks, once per op, for both stacks in all four
// mode combinations: what `pulumi preview` costs the program itself, without the engine and
// providers. Reading Pulumi.<stack>.yaml happens once, outside the timed loop.
//
//	go test -run '^$' -bench BenchmarkStack -benchmem ./stacks
func BenchmarkStack(b *testing.B) {
	for _, stack := range []string{"dev", "prod"} {
		for _, modes := range AllModes() {
			b.Run(stack+"/"+modes.String(), func(b *testing.B) {
				config, err := pulumitest.StackConfig(stack)
				if err != nil {
					b.Fatal(err)
				}
				maps.Copy(config, modes.Overrides())
				b.ReportAllocs()
				resources := 0
				for b.Loop() {
					m, err := pulumitest.Run(stack, config, Run)
					if err != nil {
						b.Fatalf("stack %s %s: %v", stack, modes, err)
					}
					resources = len(m.Resources())
				}
				b.ReportMetric(float64(resources), "resources/op")
			})
		}
	}
}
