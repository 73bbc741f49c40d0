package dockerfile

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServiceDockerfiles checks both services' Dockerfiles in one package, so that the one-time
// compile of the -trimpath build (standard library and dependencies) is not done twice at once.
func TestServiceDockerfiles(t *testing.T) {
	for _, service := range []string{"products", "payments"} {
		t.Run(service, func(t *testing.T) { check(t, service) })
	}
}

// check verifies apps/<service>/Dockerfile: a pinned Go toolchain matching go.mod for the build,
// the repository-root build context (go.mod, go.sum and apps/ copied, and the service imports
// nothing from the repository outside apps/), its go build line building the service as a static
// binary, and a small pinned non-root final image running that binary.
func check(t *testing.T, service string) {
	t.Helper()
	root := repoRoot(t)
	instructions, err := Parse(filepath.Join(root, "apps", service, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := Stages(instructions)
	if len(stages) != 2 {
		t.Fatalf("%d stages, want 2 (build, then run)", len(stages))
	}
	build, final := stages[0], stages[1]

	// Build stage: the Go version go.mod asks for, pinned to a patch release.
	goVersion := goModVersion(t, root)
	if !strings.HasPrefix(build.Image, "golang:"+goVersion+"-") && build.Image != "golang:"+goVersion {
		t.Errorf("build image %s, want golang:%s (go.mod's go version)", build.Image, goVersion)
	}
	copied := ""
	for _, in := range build.Instructions {
		if in.Command == "COPY" {
			copied += " " + in.Args
		}
	}
	for _, want := range []string{"go.mod", "go.sum", "apps/"} {
		if !strings.Contains(copied, want) {
			t.Errorf("the build stage does not copy %s from the repository root", want)
		}
	}
	outsideApps := repoPackagesOutsideApps(t, root, service)
	if len(outsideApps) > 0 {
		t.Errorf("%s imports %v, which the image build does not copy (only apps/)", service, outsideApps)
	}

	// Its go build line builds the service as a static binary.
	command, err := GoBuildCommand(build)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(command, "CGO_ENABLED=0") || !strings.HasSuffix(command, "./apps/"+service) {
		t.Errorf("go build line %q: want CGO_ENABLED=0 and the ./apps/%s package", command, service)
	}
	binary, err := RunGoBuild(command, root, t.TempDir(), service)
	if err != nil {
		t.Fatalf("the Dockerfile's go build line fails: %v", err)
	}
	if static, err := IsStatic(binary); err != nil || !static {
		t.Errorf("built binary is not static (%v): it would not start on a distroless static image", err)
	}

	// Final stage: small, pinned, non-root, running the binary built above.
	if !strings.HasPrefix(final.Image, "gcr.io/distroless/static") && final.Image != "scratch" {
		t.Errorf("final image %s, want distroless static or scratch", final.Image)
	}
	if !strings.Contains(final.Image, ":") || strings.HasSuffix(final.Image, ":latest") {
		t.Errorf("final image %s is not pinned to a tag", final.Image)
	}
	var user, entrypoint, copyFromBuild string
	for _, in := range final.Instructions {
		switch in.Command {
		case "USER":
			user = in.Args
		case "ENTRYPOINT":
			entrypoint = in.Args
		case "COPY":
			if strings.HasPrefix(in.Args, "--from="+build.Name+" ") {
				copyFromBuild = in.Args
			}
		}
	}
	if user == "" || strings.HasPrefix(user, "root") || strings.HasPrefix(user, "0") {
		t.Errorf("final stage USER %q, want a non-root user", user)
	}
	if copyFromBuild != "--from="+build.Name+" /out/"+service+" /"+service {
		t.Errorf("final stage copies %q, want the built /out/%s", copyFromBuild, service)
	}
	var argv []string
	if err := json.Unmarshal([]byte(entrypoint), &argv); err != nil || len(argv) != 1 || argv[0] != "/"+service {
		t.Errorf("ENTRYPOINT %s, want [\"/%s\"] (exec form: the binary is PID 1 and gets SIGTERM)", entrypoint, service)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func goModVersion(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("go.mod has no go directive")
	return ""
}

// repoPackagesOutsideApps lists the packages of this module, outside apps/, that the service
// depends on.
func repoPackagesOutsideApps(t *testing.T, root, service string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.ImportPath}}{{end}}{{end}}", "./apps/"+service)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var outside []string
	for _, pkg := range strings.Fields(string(out)) {
		if !strings.HasPrefix(pkg, "github.com/meshtrace/meshtrace/apps/") {
			outside = append(outside, pkg)
		}
	}
	return outside
}
