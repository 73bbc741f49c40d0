package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// tsExample is the TypeScript team's program (README.md shows it); its node_modules, with
// typescript and @pulumi/pulumi at the versions of its package-lock.json, come from
// scripts/install.sh (npm ci).
const tsExample = "../examples/ts"

// The schema is valid for code generation: pulumi's own codegen binds it and writes the
// TypeScript SDK, and tsc compiles that SDK with the example program against @pulumi/pulumi.
func TestTypeScriptSDKCompilesWithTheExample(t *testing.T) {
	tsc := filepath.Join(tsExample, "node_modules", "typescript", "bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		t.Fatalf("%v: run scripts/install.sh (npm ci in examples/ts)", err)
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(schemaJSON(t), &spec); err != nil {
		t.Fatal(err)
	}
	pkg, diags, err := schema.BindSpec(spec, noPackages{}, schema.ValidationOptions{})
	if err != nil || diags.HasErrors() {
		t.Fatalf("the schema does not bind: %v %v", err, diags)
	}
	files, err := nodejs.GeneratePackage("meshtrace-test", pkg, nil, nil, false, noPackages{})
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, "sdk", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	modules, err := filepath.Abs(filepath.Join(tsExample, "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(tsExample, "index.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.ts"), example, 0o644); err != nil {
		t.Fatal(err)
	}
	// The example imports the package as `pulumi package add` names it.
	tsconfig := `{"compilerOptions": {"strict": true, "noEmit": true, "target": "es2020", "module": "commonjs",
  "moduleResolution": "node", "esModuleInterop": true, "resolveJsonModule": true, "skipLibCheck": true,
  "baseUrl": ".", "paths": {"@pulumi/meshtrace": ["sdk/index.ts"]}},
 "files": ["index.ts"]}`
	if err := os.WriteFile(filepath.Join(dir, "tsconfig.json"), []byte(tsconfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tscAbs, err := filepath.Abs(tsc)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", tscAbs, "-p", "tsconfig.json")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc: %v\n%s", err, out)
	}
}

// noPackages loads no package: the schema refers to no other package's types (an input or
// output that did would need that package's plugin to bind).
type noPackages struct{}

func (noPackages) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema refers to package %s", pkg)
}

func (noPackages) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema refers to package %s", d.Name)
}

func (noPackages) LoadPackageReference(pkg string, _ *semver.Version) (schema.PackageReference, error) {
	return nil, fmt.Errorf("the schema refers to package %s", pkg)
}

func (noPackages) LoadPackageReferenceV2(_ context.Context, d *schema.PackageDescriptor) (schema.PackageReference, error) {
	return nil, fmt.Errorf("the schema refers to package %s", d.Name)
}
