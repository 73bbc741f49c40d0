package pulumitest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"
)

// Run runs program under mocks for a stack with the given config (keys in
// "namespace:key" form, as in a stack file) and returns the recorded resources.
func Run(stack string, config map[string]string, program pulumi.RunFunc) (*Mocks, error) {
	return RunAt("", stack, config, program)
}

// RunAt is Run with the project's root directory at root (ctx.RootDirectory(), where
// Pulumi.yaml is; "" for the current directory), which relative paths in the program are
// resolved against.
func RunAt(root, stack string, config map[string]string, program pulumi.RunFunc) (*Mocks, error) {
	return RunProject(Project, root, stack, config, program)
}

// RunProject is RunAt for a program of another Pulumi project (ctx.Project()), e.g. another
// team's program beside this one.
func RunProject(project, root, stack string, config map[string]string, program pulumi.RunFunc) (*Mocks, error) {
	mocks := NewProjectMocks(project, stack)
	return mocks, RunWith(mocks, root, config, program)
}

// RunStack runs program under mocks with the config of the repository's real
// Pulumi.<stack>.yaml, overridden by overrides.
func RunStack(stack string, overrides map[string]string, program pulumi.RunFunc) (*Mocks, error) {
	config, err := StackConfigWith(stack, overrides)
	if err != nil {
		return nil, err
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	return RunAt(root, stack, config, program)
}

// StackConfigWith is StackConfig with overrides applied.
func StackConfigWith(stack string, overrides map[string]string) (map[string]string, error) {
	config, err := StackConfig(stack)
	if err != nil {
		return nil, err
	}
	for k, v := range overrides {
		config[k] = v
	}
	return config, nil
}

// StackConfig reads the config of Pulumi.<stack>.yaml at the repository root, in the
// "namespace:key" -> string form the engine hands a Go program (objects as JSON).
func StackConfig(stack string) (map[string]string, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(root, "Pulumi."+stack+".yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	config := map[string]string{}
	for key, value := range file.Config {
		switch v := value.(type) {
		case string:
			config[key] = v
		case map[string]any, []any:
			if m, ok := v.(map[string]any); ok && m["secure"] != nil {
				return nil, fmt.Errorf("%s: %s is an encrypted value; tests cannot read it", path, key)
			}
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, key, err)
			}
			config[key] = string(b)
		default:
			config[key] = fmt.Sprint(v)
		}
	}
	return config, nil
}

// RepoRoot is the nearest directory above the working directory holding Pulumi.yaml.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("pulumitest: no Pulumi.yaml above the working directory")
		}
		dir = parent
	}
}
