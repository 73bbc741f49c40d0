package stacks

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/pulumitest"
)

// The configuration reference in docs/configuration.md is the generated table, so it cannot
// drift. On failure the test prints the table to paste.
func TestConfigReferenceIsCurrent(t *testing.T) {
	root, err := pulumitest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), ConfigReference()) {
		t.Errorf("docs/configuration.md's config reference is out of date; replace it with:\n%s", ConfigReference())
	}
}

// The README stays the front door: short, and every document it hands off to exists.
func TestReadmeIsShortAndItsLinksResolve(t *testing.T) {
	root, err := pulumitest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(readme) > 12*1024 {
		t.Errorf("README.md is %d bytes; keep it under 12 KiB and move reference material to docs/", len(readme))
	}
	links := regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`).FindAllStringSubmatch(string(readme), -1)
	if len(links) < 5 {
		t.Fatalf("README.md links to %d documents", len(links))
	}
	for _, l := range links {
		if _, err := os.Stat(filepath.Join(root, l[1])); err != nil {
			t.Errorf("README.md links to %s: %v", l[1], err)
		}
	}
	for _, doc := range []string{"docs/configuration.md", "docs/services.md", "docs/database.md", "docs/operating.md", "docs/verification.md", "docs/benchmarks.md", "docs/reuse.md", "docs/consumer-tests.md", "checks/awsapi/README.md"} {
		if !strings.Contains(string(readme), "("+doc+")") {
			t.Errorf("README.md does not link to %s", doc)
		}
	}
}
