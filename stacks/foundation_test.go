package stacks

import (
	"testing"
)

func TestStacksDeclareFoundation(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		m := runStack(t, stack, nil)
		for _, r := range m.Resources() {
			t.Logf("%s %s parent=%s", r.Type, r.Name, r.Parent)
		}
	}
}
