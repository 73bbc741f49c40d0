package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/pulumitest"
)

var update = flag.Bool("update", false, "rewrite testdata/schema.json from the provider")

// server serves the package in process; its child resources go to mocks.
func server(t *testing.T, mocks pulumi.MockResourceMonitor) integration.Server {
	t.Helper()
	prov, err := Provider()
	if err != nil {
		t.Fatal(err)
	}
	opts := []integration.ServerOption{integration.WithProvider(prov)}
	if mocks != nil {
		opts = append(opts, integration.WithMocks(mocks))
	}
	s, err := integration.NewServer(t.Context(), Name, semver.MustParse(Version), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// schemaJSON is the package's schema, indented.
func schemaJSON(t *testing.T) []byte {
	t.Helper()
	resp, err := server(t, pulumitest.NewMocks("test")).GetSchema(p.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(resp.Schema), "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// The schema is what other languages' SDKs are generated from: a change to it shows in
// review as a change to testdata/schema.json (go test -run Schema -update rewrites it).
func TestSchemaMatchesTheGoldenFile(t *testing.T) {
	got := schemaJSON(t)
	const golden = "testdata/schema.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -run Schema -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the schema differs from %s; if the change is meant, run go test -run Schema -update and review the diff", golden)
	}
}
