package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"gopkg.in/yaml.v3"
)

// The YAML team's program (README.md shows it), checked against the schema as far as it can
// be without the engine: every resource's type exists, every property is an input of it (and
// of the records nested in it), every required input is set, and every ${resource.output}
// names an output of that resource or a config value.
func TestYAMLExampleMatchesTheSchema(t *testing.T) {
	var spec schema.PackageSpec
	if err := json.Unmarshal(schemaJSON(t), &spec); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../examples/yaml/Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, problem := range checkYAMLProgram(spec, src) {
		t.Error(problem)
	}
}

// A program with mistakes of each kind is refused, mistake by mistake.
func TestYAMLCheckFindsEachMistake(t *testing.T) {
	var spec schema.PackageSpec
	if err := json.Unmarshal(schemaJSON(t), &spec); err != nil {
		t.Fatal(err)
	}
	bad := `name: x
runtime: yaml
config:
  arn: {type: string}
resources:
  m:
    type: meshtrace:index:Mesh
    properties: {namespaceArn: "${arn}", colour: blue}
  s:
    type: meshtrace:index:Servic
  t:
    type: meshtrace:index:Service
    properties:
      clusterArn: ${arn}
      vpcId: ${m.vpcId}
      subnetIds: ${nowhere}
      mesh: {mode: serviceconnect, namespaceArn: "${m.namespaceArn}", flavour: x}
      backends: [{name: a, endpoint: "http://a:1", sg: x}]
`
	got := strings.Join(checkYAMLProgram(spec, []byte(bad)), "\n")
	for _, want := range []string{"m: no input colour", "s: no resource type meshtrace:index:Servic", "t: image is required",
		"t: ${m.vpcId}", "t: ${nowhere}", "t.mesh: no field flavour", "t.backends: no field sg", "t.backends: securityGroupId is required"} {
		if !strings.Contains(got, want) {
			t.Errorf("missed %q in:\n%s", want, got)
		}
	}
}

var reference = regexp.MustCompile(`\$\{([A-Za-z0-9_-]+)(?:\.([A-Za-z0-9_]+))?\}`)

func checkYAMLProgram(spec schema.PackageSpec, src []byte) []string {
	var prog struct {
		Name      string         `yaml:"name"`
		Runtime   string         `yaml:"runtime"`
		Packages  map[string]any `yaml:"packages"`
		Config    map[string]any `yaml:"config"`
		Resources map[string]struct {
			Type       string         `yaml:"type"`
			Name       string         `yaml:"name"`
			Properties map[string]any `yaml:"properties"`
		} `yaml:"resources"`
		Outputs map[string]any `yaml:"outputs"`
	}
	if err := yaml.Unmarshal(src, &prog); err != nil {
		return []string{err.Error()}
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if prog.Runtime != "yaml" || prog.Name == "" {
		add("a YAML program needs a name and runtime: yaml")
	}
	outputsOf := func(name string) (map[string]schema.PropertySpec, bool) {
		r, ok := prog.Resources[name]
		if !ok {
			return nil, false
		}
		res, ok := spec.Resources[r.Type]
		return res.Properties, ok
	}
	checkRefs := func(where string, v any) {
		walk(v, func(s string) {
			for _, m := range reference.FindAllStringSubmatch(s, -1) {
				if m[2] == "" {
					if _, ok := prog.Config[m[1]]; !ok {
						add("%s: ${%s} is no config value", where, m[1])
					}
					continue
				}
				outs, ok := outputsOf(m[1])
				if _, has := outs[m[2]]; !ok || !has {
					add("%s: ${%s.%s} is no output of a resource here", where, m[1], m[2])
				}
			}
		})
	}
	for name, r := range prog.Resources {
		res, ok := spec.Resources[r.Type]
		if !ok {
			add("%s: no resource type %s in the schema", name, r.Type)
			continue
		}
		problems = append(problems, checkObject(spec, name, r.Properties, res.InputProperties, res.RequiredInputs, "input")...)
		checkRefs(name, r.Properties)
	}
	checkRefs("outputs", prog.Outputs)
	return problems
}

// checkObject checks an object's keys against the schema's properties, and the records
// nested in it (a $ref to one of the package's types) against theirs.
func checkObject(spec schema.PackageSpec, where string, obj map[string]any, props map[string]schema.PropertySpec, required []string, what string) []string {
	var problems []string
	for k, v := range obj {
		p, ok := props[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: no %s %s", where, what, k))
			continue
		}
		ts := p.TypeSpec
		if ts.Type == "array" && ts.Items != nil {
			ts = *ts.Items
		}
		ref := strings.TrimPrefix(ts.Ref, "#/types/")
		typ, isRecord := spec.Types[ref]
		if !isRecord {
			continue
		}
		items := []any{v}
		if list, isList := v.([]any); isList {
			items = list
		}
		for _, item := range items {
			if m, isMap := item.(map[string]any); isMap {
				problems = append(problems, checkObject(spec, where+"."+k, m, typ.Properties, typ.Required, "field")...)
			}
		}
	}
	for _, k := range required {
		if _, ok := obj[k]; !ok {
			problems = append(problems, fmt.Sprintf("%s: %s is required", where, k))
		}
	}
	return problems
}

func walk(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case []any:
		for _, e := range v {
			walk(e, f)
		}
	case map[string]any:
		for _, e := range v {
			walk(e, f)
		}
	}
}

// README.md shows the examples' own text, not copies that could drift.
func TestTheReadmeShowsTheCheckedExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, example := range []string{"../examples/ts/index.ts", "../examples/yaml/Pulumi.yaml"} {
		text, err := os.ReadFile(example)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), string(text)) {
			t.Errorf("provider/README.md does not show %s as it is", example)
		}
	}
	if !strings.Contains(string(readme), "pulumi package add github.com/meshtrace/meshtrace/provider@") {
		t.Error("provider/README.md does not say how to add the package")
	}
}
