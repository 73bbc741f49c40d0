package stacks

import (
	"fmt"
	"strings"
)

// ConfigReference renders the config keys as the README's Markdown table, so the
// documentation is generated from the same table that parses and validates.
func ConfigReference() string {
	var b strings.Builder
	b.WriteString("| key | dev default | prod default | allowed |\n|---|---|---|---|\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "| `meshtrace:%s` | %s | %s | %s |\n", k.name, cell(k.dev), cell(k.prod), strings.ReplaceAll(k.allowed, "|", `\|`))
	}
	return b.String()
}

func cell(v string) string {
	if v == "" {
		return "(empty)"
	}
	return "`" + v + "`"
}
