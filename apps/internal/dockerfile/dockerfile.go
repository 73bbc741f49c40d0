// Package dockerfile checks a service's Dockerfile without a Docker engine: it parses the file,
// checks the properties the stack relies on, and runs the Dockerfile's own go build command.
package dockerfile

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Instruction is one Dockerfile instruction, continuation lines joined.
type Instruction struct {
	Command string // FROM, RUN, COPY... upper-cased
	Args    string
}

// Parse reads the instructions of a Dockerfile, skipping comments and parser directives.
func Parse(path string) ([]Instruction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		instructions []Instruction
		pending      string
	)
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if strings.HasPrefix(line, "#") || (line == "" && pending == "") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, "\\"); ok {
			pending += cont + " "
			continue
		}
		line = pending + line
		pending = ""
		command, args, _ := strings.Cut(line, " ")
		instructions = append(instructions, Instruction{Command: strings.ToUpper(command), Args: strings.TrimSpace(args)})
	}
	return instructions, scanner.Err()
}

// Stage is one FROM and the instructions after it.
type Stage struct {
	Image        string // the FROM image reference
	Name         string // AS name, if any
	Instructions []Instruction
}

// Stages splits instructions at each FROM.
func Stages(instructions []Instruction) []Stage {
	var stages []Stage
	for _, in := range instructions {
		if in.Command == "FROM" {
			var image, name string
			for i, f := range strings.Fields(in.Args) {
				switch {
				case strings.HasPrefix(f, "--"):
				case strings.EqualFold(f, "AS"):
					name = strings.Fields(in.Args)[i+1]
				case image == "":
					image = f
				}
			}
			stages = append(stages, Stage{Image: image, Name: name})
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].Instructions = append(stages[len(stages)-1].Instructions, in)
		}
	}
	return stages
}

// GoBuildCommand returns the shell command of the RUN instruction that runs go build, without
// its --mount options.
func GoBuildCommand(stage Stage) (string, error) {
	for _, in := range stage.Instructions {
		if in.Command != "RUN" || !strings.Contains(in.Args, "go build") {
			continue
		}
		var kept []string
		for _, f := range strings.Fields(in.Args) {
			if !strings.HasPrefix(f, "--mount=") {
				kept = append(kept, f)
			}
		}
		return strings.Join(kept, " "), nil
	}
	return "", fmt.Errorf("stage %s has no RUN ... go build", stage.Image)
}

// RunGoBuild runs command (a Dockerfile's go build line) with sh in repoRoot, as the build stage
// would with WORKDIR at the copied repository, writing to outDir instead of /out. It returns the
// path of the built binary.
func RunGoBuild(command, repoRoot, outDir, binary string) (string, error) {
	command = strings.ReplaceAll(command, "/out/", outDir+"/")
	cmd := exec.Command("sh", "-c", command)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "TARGETOS=linux", "TARGETARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", command, err, out)
	}
	return filepath.Join(outDir, binary), nil
}

// IsStatic tells whether an ELF binary needs no dynamic loader or shared library, as required to
// run on a distroless static or scratch image.
func IsStatic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return false, nil
		}
	}
	return true, nil
}
