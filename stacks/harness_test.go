package stacks

import (
	"testing"

	"github.com/meshtrace/meshtrace/pulumitest"
)

// runStack runs the whole program under mocks with the real Pulumi.<stack>.yaml and
// the given overrides ("meshtrace:key" -> value), failing the test on error.
func runStack(t testing.TB, stack string, overrides map[string]string) *pulumitest.Mocks {
	t.Helper()
	mocks, err := pulumitest.RunStack(stack, overrides, Run)
	if err != nil {
		t.Fatalf("stack %s: %v", stack, err)
	}
	return mocks
}

// only returns the single resource of a type, failing if there are none or several.
func only(t testing.TB, m *pulumitest.Mocks, token string) pulumitest.Resource {
	t.Helper()
	rs := m.ByType(token)
	if len(rs) != 1 {
		t.Fatalf("want one %s, got %d", token, len(rs))
	}
	return rs[0]
}

func runStackErr(stack string, overrides map[string]string) (*pulumitest.Mocks, error) {
	return pulumitest.RunStack(stack, overrides, Run)
}
