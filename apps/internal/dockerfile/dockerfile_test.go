package dockerfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseJoinsContinuationsAndSplitsStages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Dockerfile")
	content := `# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM golang:1.2.3-bookworm AS build
RUN --mount=type=cache,target=/x \
    CGO_ENABLED=0 go build -o /out/svc ./apps/svc

FROM scratch
USER 65532
`
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	instructions, err := Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	stages := Stages(instructions)
	if len(stages) != 2 || stages[0].Image != "golang:1.2.3-bookworm" || stages[0].Name != "build" || stages[1].Image != "scratch" {
		t.Fatalf("stages %+v", stages)
	}
	command, err := GoBuildCommand(stages[0])
	if err != nil || command != "CGO_ENABLED=0 go build -o /out/svc ./apps/svc" {
		t.Fatalf("go build command %q, %v", command, err)
	}
	if _, err := GoBuildCommand(stages[1]); err == nil {
		t.Fatal("found a go build line in a stage without one")
	}
}

func TestIsStaticTellsDynamicBinariesApart(t *testing.T) {
	// /bin/sh comes from the distribution, linked against libc.
	static, err := IsStatic("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	if static {
		t.Fatal("/bin/sh reported static")
	}
}
