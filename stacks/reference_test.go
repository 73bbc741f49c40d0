package stacks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/internal/pulumitest"
)

// The README's config reference is the generated table, so it cannot drift.
// On failure the test prints the table to paste.
func TestReadmeConfigReferenceIsCurrent(t *testing.T) {
	root, err := pulumitest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), ConfigReference()) {
		t.Errorf("README.md's config reference is out of date; replace it with:\n%s", ConfigReference())
	}
}
