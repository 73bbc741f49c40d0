package services_test

import (
	"testing"

	"github.com/meshtrace/meshtrace/pulumitest"
)

// The same consumer program deployed twice in one account, as two stacks of one project and
// as two teams' projects with one stack name, sets no account-unique name twice: the
// components' names start with <project>-<stack> by default.
func TestTwoConsumerProgramsShareNoPhysicalName(t *testing.T) {
	root := inventoryRoot(t)
	run := func(project, stack string) *pulumitest.Mocks {
		m, err := pulumitest.RunProject(project, root, stack, nil, inventoryProgram)
		if err != nil {
			t.Fatalf("%s/%s: %v", project, stack, err)
		}
		return m
	}
	for pair, programs := range map[string][2]*pulumitest.Mocks{
		"two stacks of one project":    {run("inventory", "prod"), run("inventory", "prod-eu")},
		"two projects, one stack name": {run("team-a", "prod"), run("team-b", "prod")},
	} {
		names, err := programs[0].PhysicalNames()
		if err != nil {
			t.Fatal(err)
		}
		if len(names) < 6 { // two families, two log groups, X-Ray group and fault group, rules, alarms
			t.Fatalf("%s: only %d physical names: %v", pair, len(names), names)
		}
		shared, err := pulumitest.SharedPhysicalNames(programs[0], programs[1])
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range shared {
			t.Errorf("%s: both set %q (%v)", pair, name, names[name])
		}
	}
}
