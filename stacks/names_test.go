package stacks

import (
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/pulumitest"
)

// runStackAs runs the program under mocks as stack name, with the config of the repository's
// Pulumi.<configOf>.yaml (e.g. a prod-eu stack that copies prod's file).
func runStackAs(t *testing.T, name, configOf string, overrides map[string]string) *pulumitest.Mocks {
	t.Helper()
	cfg, err := pulumitest.StackConfigWith(configOf, overrides)
	if err != nil {
		t.Fatal(err)
	}
	root, err := pulumitest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	m, err := pulumitest.RunAt(root, name, cfg, Run)
	if err != nil {
		t.Fatalf("stack %s (config of %s): %v", name, configOf, err)
	}
	return m
}

// A second stack of one environment in the same account (prod-eu beside prod, dev2 beside
// dev, each with the same stack file) shares no account-unique physical name with the first,
// in every mode: the names come from <project>-<stack>, not from the environment.
func TestTwoStacksOfOneEnvironmentShareNoPhysicalName(t *testing.T) {
	for first, second := range map[string]string{"prod": "prod-eu", "dev": "dev2"} {
		for _, modes := range AllModes() {
			t.Run(first+"/"+modes.String(), func(t *testing.T) {
				a := runStackAs(t, first, first, modes.Overrides())
				b := runStackAs(t, second, first, modes.Overrides())
				names, err := a.PhysicalNames()
				if err != nil {
					t.Fatal(err)
				}
				// The cluster, the database, the log groups, families, alarms, X-Ray names at least.
				if len(names) < 15 {
					t.Fatalf("only %d physical names found: %v", len(names), names)
				}
				shared, err := pulumitest.SharedPhysicalNames(a, b)
				if err != nil {
					t.Fatal(err)
				}
				for _, name := range shared {
					t.Errorf("stacks %s and %s (both environment %s) both name a resource %q: %v", first, second,
						DefaultEnvironment(first), name, names[name])
				}
			})
		}
	}
}

// A stack name AWS would refuse in the names built from it is a config error naming the
// stack, before anything is declared.
func TestAStackNameThatMakesBadPhysicalNamesIsRefused(t *testing.T) {
	for _, stack := range []string{"prod.eu", "Prod", "prod_eu", "prod--eu", "prod-" + strings.Repeat("x", 40)} {
		_, err := Parse(stack, map[string]string{"environment": "dev"})
		if err == nil || !strings.Contains(err.Error(), `stack "`+stack+`"`) || !strings.Contains(err.Error(), "<project>-<stack>") {
			t.Errorf("stack %q: %v, want a config error naming the stack and the rule", stack, err)
		}
	}
	c, err := Parse("prod-eu", map[string]string{"allowPlainHttp": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if c.NamePrefix != "meshtrace-prod-eu" || c.LogGroupPath != "/meshtrace/prod-eu" {
		t.Errorf("names of stack prod-eu: prefix %q, log path %q", c.NamePrefix, c.LogGroupPath)
	}
}
