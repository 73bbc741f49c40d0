// Package naming is the one rule for the physical names the components give AWS resources
// whose names are unique in an account and region (task families, log groups, alarms,
// X-Ray groups and sampling rules, the database identifier, caches): every such name
// starts with a prefix, by default the Pulumi project and stack, <project>-<stack>, so two
// stacks, or two teams' programs, in one account cannot collide.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// MaxPrefixLength keeps every name built from a prefix within the shortest limit that
// Fit does not shorten: RDS instance identifiers (63 characters) with a suffix such as
// "-db".
const MaxPrefixLength = 40

// prefixPattern is what RDS identifiers and ECR repository prefixes both accept: lower-case
// letters and digits in groups joined by single hyphens, starting with a letter.
var prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// StackPrefix is the default prefix of a program's physical names: <project>-<stack>.
func StackPrefix(ctx *pulumi.Context) string {
	return ForStack(ctx.Project(), ctx.Stack())
}

// InStack is a component's name made account-unique: <project>-<stack>-<name>.
func InStack(ctx *pulumi.Context, name string) string {
	return StackPrefix(ctx) + "-" + name
}

// ForStack is <project>-<stack>.
func ForStack(project, stack string) string {
	return project + "-" + stack
}

// CheckPrefix says why AWS would refuse names built from prefix, or returns nil.
func CheckPrefix(prefix string) error {
	if !prefixPattern.MatchString(prefix) {
		return fmt.Errorf("name prefix %q: physical names need lower-case letters, digits and single hyphens, starting with a letter (RDS identifiers, ECR repository prefixes)", prefix)
	}
	if len(prefix) > MaxPrefixLength {
		return fmt.Errorf("name prefix %q is %d characters; at most %d fit every name built from it", prefix, len(prefix), MaxPrefixLength)
	}
	return nil
}

// Fit returns name when it has at most max characters, else its first characters and a
// hash of the whole name, at most max characters in all: deterministic (the same stack keeps its
// names from one up to the next) and distinct for distinct long names. For AWS's short
// limits: X-Ray group and sampling rule names (32), ECR pull-through cache prefixes (30).
func Fit(name string, max int) string {
	if len(name) <= max {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	hash := hex.EncodeToString(sum[:])[:8]
	// No hyphen before the one that joins the hash: AWS refuses "--" in some names.
	return strings.TrimRight(name[:max-len(hash)-1], "-") + "-" + hash
}
