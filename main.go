// Command meshtrace is the Pulumi program: everything happens in stacks.Run.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/stacks"
)

func main() {
	pulumi.Run(stacks.Run)
}
