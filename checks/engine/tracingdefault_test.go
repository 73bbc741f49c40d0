package enginecheck

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/pulumitest"
	"github.com/meshtrace/meshtrace/stacks"
)

// TestTracingDefaultFlip is what an existing stack's next `pulumi up` does when the default
// tracingMode flips from xray-daemon to adot (issue 21): the stack is deployed with the old
// default written out, then previewed with the key unset (the new default). The plan touches
// only what tracing is made of (the task definitions, the services, the roles' policies, the
// tracing component's children), never the network or the database; the up that applies it
// does nothing the preview did not plan. xray-daemon prints its end-of-support notice; the
// new default prints none. docs/tracing.md holds the plan's summary.
func TestTracingDefaultFlip(t *testing.T) {
	for _, stack := range stackNames {
		t.Run(stack, func(t *testing.T) {
			oldDefault := stackConfig(t, stack, stacks.Modes{Mesh: stacks.MeshServiceConnect, Tracing: stacks.TracingXRayDaemon}, nil)
			unset, err := pulumitest.StackConfig(stack)
			if err != nil {
				t.Fatal(err)
			}
			delete(unset, stacks.Namespace+":tracingMode")

			s := NewStack(t, stack, stacks.Run)
			up := s.Up(oldDefault)
			if up.Err != nil {
				t.Fatalf("up with xray-daemon failed: %v\n%s", up.Err, strings.Join(up.Diags, "\n"))
			}
			if notice := notice(up.Diags); notice == "" {
				t.Errorf("up with xray-daemon printed no end-of-support notice; diagnostics:\n%s", strings.Join(up.Diags, "\n"))
			} else {
				t.Logf("up with xray-daemon: %s", notice)
			}

			res := s.Preview(unset)
			t.Logf("plan for tracingMode xray-daemon -> unset (adot):\n%s", res.Plan())
			if res.Err != nil {
				t.Fatalf("preview failed: %v\n%s", res.Err, strings.Join(res.Diags, "\n"))
			}
			if notice(res.Diags) != "" {
				t.Errorf("the new default printed the end-of-support notice:\n%s", strings.Join(res.Diags, "\n"))
			}
			assertOnlyTracingChanges(t, res.Changes())
			t.Logf("summary: %s", planSummary(res.Changes()))
			switchAndBack(t, s, res, unset, oldDefault)
		})
	}
}

// notice is the X-Ray end-of-support warning among the diagnostics, "" if there is none.
func notice(diags []string) string {
	for _, d := range diags {
		if strings.HasPrefix(d, "warning: ") && strings.Contains(d, `tracingMode = "xray-daemon"`) && strings.Contains(d, "end of support on 2027-02-25") {
			return d
		}
	}
	return ""
}

// planSummary counts a plan's steps by operation and resource type, e.g.
// "replace aws:ecs/taskDefinition:TaskDefinition x2 (containerDefinitions)".
func planSummary(changes []Step) string {
	type key struct{ op, typ string }
	count := map[key]int{}
	props := map[key]map[string]bool{}
	for _, c := range changes {
		k := key{string(c.Op), c.Type}
		count[k]++
		if props[k] == nil {
			props[k] = map[string]bool{}
		}
		for _, p := range append(append([]string{}, c.Replace...), c.Changed...) {
			props[k][p] = true
		}
	}
	var lines []string
	for k, n := range count {
		line := fmt.Sprintf("%s %s x%d", k.op, k.typ, n)
		if len(props[k]) > 0 {
			line += " (" + strings.Join(sortedKeys(props[k]), ", ") + ")"
		}
		lines = append(lines, line)
	}
	sort.Strings(lines)
	return strings.Join(lines, "; ")
}
