package enginecheck

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/stacks"
)

// previousRelease is the program as releases before the names rule named things: every
// account-unique name from the environment (meshtrace-<environment>, /meshtrace/<environment>/).
func previousRelease(ctx *pulumi.Context) error {
	cfg, err := stacks.LoadConfig(ctx)
	if err != nil {
		return err
	}
	cfg.NamePrefix = "meshtrace-" + cfg.Environment
	cfg.LogGroupPath = "/meshtrace/" + cfg.Environment
	return stacks.Compose(ctx, cfg)
}

// TestRepoStacksKeepTheirNames: the repository's dev and prod stacks, deployed by the
// previous release, preview as a no-op under this one in every mode: names now derived from
// <project>-<stack> are the names they have, so nothing is replaced or renamed.
func TestRepoStacksKeepTheirNames(t *testing.T) {
	for _, stack := range stackNames {
		for _, modes := range stacks.AllModes() {
			t.Run(stack+"/"+modes.String(), func(t *testing.T) {
				cfg := stackConfig(t, stack, modes, nil)
				s := NewStack(t, stack, previousRelease)
				if up := s.Up(cfg); up.Err != nil {
					t.Fatalf("up with the previous release failed: %v\n%s", up.Err, strings.Join(up.Diags, "\n"))
				}
				s.Program = stacks.Run
				res := s.Preview(cfg)
				if res.Err != nil {
					t.Fatalf("preview failed: %v\n%s", res.Err, strings.Join(res.Diags, "\n"))
				}
				if changes := res.Changes(); len(changes) > 0 {
					t.Errorf("this release changes %d resources of a stack the previous release deployed:\n%s", len(changes), res.Plan())
				}
			})
		}
	}
}
