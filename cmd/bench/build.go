package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/meshtrace/meshtrace/internal/testenv"
)

// openloopPackage is the open-loop load generator, run as a process of its own.
const openloopPackage = "github.com/meshtrace/meshtrace/cmd/bench/openloop"

// pprofEnv is read by the profiling build of the services (see pprofSource).
const pprofEnv = "BENCH_PPROF_ADDR"

// pprofSource is added to package main of both services by go build -overlay, so a profiling
// build needs no change to apps/: with BENCH_PPROF_ADDR set, net/http/pprof serves on that address
// (the services' own routes use their own mux, so pprof is not reachable on the service port).
const pprofSource = `package main

import (
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("` + pprofEnv + `")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		panic("` + pprofEnv + `: " + err.Error())
	}
	go http.Serve(ln, nil)
}
`

// build builds both services and openloop into dir. The services are built with go build -overlay
// when profiling (pprofSource added) or when overlayFile is set (a go build overlay, to measure a
// change to apps/ without editing it); both can combine.
func build(root, dir string, profiling bool, overlayFile string) (testenv.Binaries, string, error) {
	openloop := filepath.Join(dir, "openloop")
	if err := goBuild(root, openloop, openloopPackage, ""); err != nil {
		return testenv.Binaries{}, "", err
	}
	if !profiling && overlayFile == "" {
		bins, err := testenv.BuildServices(dir)
		return bins, openloop, err
	}

	overlay := struct{ Replace map[string]string }{Replace: map[string]string{}}
	if overlayFile != "" {
		b, err := os.ReadFile(overlayFile)
		if err != nil {
			return testenv.Binaries{}, "", err
		}
		if err := json.Unmarshal(b, &overlay); err != nil {
			return testenv.Binaries{}, "", fmt.Errorf("-overlay %s: %w", overlayFile, err)
		}
		// Keys are files of the module (relative: to its root); values relative to the overlay file.
		abs := map[string]string{}
		for k, v := range overlay.Replace {
			abs[absFrom(root, k)] = absFrom(filepath.Dir(overlayFile), v)
		}
		overlay.Replace = abs
	}
	if profiling {
		src := filepath.Join(dir, "bench_pprof.go")
		if err := os.WriteFile(src, []byte(pprofSource), 0o644); err != nil {
			return testenv.Binaries{}, "", err
		}
		overlay.Replace[filepath.Join(root, "apps", "products", "zz_bench_pprof.go")] = src
		overlay.Replace[filepath.Join(root, "apps", "payments", "zz_bench_pprof.go")] = src
	}
	b, err := json.Marshal(overlay)
	if err != nil {
		return testenv.Binaries{}, "", err
	}
	overlayPath := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayPath, b, 0o644); err != nil {
		return testenv.Binaries{}, "", err
	}
	bins := testenv.Binaries{Products: filepath.Join(dir, "products"), Payments: filepath.Join(dir, "payments")}
	if err := goBuild(root, bins.Products, testenv.ProductsPackage, overlayPath); err != nil {
		return testenv.Binaries{}, "", err
	}
	if err := goBuild(root, bins.Payments, testenv.PaymentsPackage, overlayPath); err != nil {
		return testenv.Binaries{}, "", err
	}
	return bins, openloop, nil
}

func absFrom(base, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(base, path)
}

func goBuild(root, out, pkg, overlay string) error {
	args := []string{"build", "-o", out}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = root
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, output)
	}
	return nil
}
