package services

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"

	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/components/taskspec"
)

// AppContainerName is the name of a service's own container in its task.
const AppContainerName = "app"

// appSpec is everything the app container is made of, resolved to plain values.
type appSpec struct {
	Image       string
	Port        int
	Environment map[string]string
	Secrets     map[string]string // env name -> valueFrom
	HealthCheck *taskspec.HealthCheck
	Init        *initSpec
	Readonly    bool // root filesystems of the app and init containers
	LogGroup    string
	Region      string
}

// initSpec is the init container, resolved to plain values; it runs the app's image.
type initSpec struct {
	Name        string
	Command     []string
	Environment map[string]string
	Secrets     map[string]string
}

// assembleContainers builds the task's container definitions: the app container with
// the environment and start-up dependencies the parts ask for, then the parts'
// sidecars. Every container without a log configuration logs to the service's group.
func assembleContainers(app appSpec, part taskspec.Part) ([]taskspec.ContainerDefinition, error) {
	env := map[string]string{}
	for k, v := range app.Environment {
		env[k] = v
	}
	for _, kv := range part.AppEnvironment {
		if old, ok := env[kv.Name]; ok && old != kv.Value {
			return nil, fmt.Errorf("environment variable %s is set by the service (%q) and by a part (%q)", kv.Name, old, kv.Value)
		}
		env[kv.Name] = kv.Value
	}
	appContainer := taskspec.ContainerDefinition{
		Name:      AppContainerName,
		Image:     app.Image,
		Essential: taskspec.Bool(true),
		PortMappings: []taskspec.PortMapping{
			{Name: mesh.PortName, ContainerPort: app.Port, Protocol: "tcp", AppProtocol: "http"},
		},
		Environment:            sortedPairs(env),
		Secrets:                sortedSecrets(app.Secrets),
		DependsOn:              part.AppDependsOn,
		HealthCheck:            app.HealthCheck,
		ReadonlyRootFilesystem: taskspec.Bool(app.Readonly),
	}
	containers := []taskspec.ContainerDefinition{appContainer}
	if app.Init != nil {
		// Not essential: it exits when done. The app starts only after it exited 0.
		containers = append(containers, taskspec.ContainerDefinition{
			Name:                   app.Init.Name,
			Image:                  app.Image,
			Essential:              taskspec.Bool(false),
			Command:                app.Init.Command,
			Environment:            sortedPairs(app.Init.Environment),
			Secrets:                sortedSecrets(app.Init.Secrets),
			ReadonlyRootFilesystem: taskspec.Bool(app.Readonly),
		})
		containers[0].DependsOn = append(append([]taskspec.ContainerDependency{}, part.AppDependsOn...),
			taskspec.ContainerDependency{ContainerName: app.Init.Name, Condition: taskspec.ConditionSuccess})
	}
	containers = append(containers, part.Sidecars...)
	names := map[string]bool{}
	for i := range containers {
		c := &containers[i]
		if names[c.Name] {
			return nil, fmt.Errorf("two containers are named %q", c.Name)
		}
		names[c.Name] = true
		if c.LogConfiguration == nil {
			c.LogConfiguration = taskspec.AWSLogs(app.LogGroup, app.Region, c.Name)
		}
	}
	for _, d := range containers[0].DependsOn {
		if !names[d.ContainerName] {
			return nil, fmt.Errorf("the app depends on container %q, which no part adds", d.ContainerName)
		}
	}
	return containers, nil
}

// containerDefinitionsJSON renders container definitions for the task definition.
func containerDefinitionsJSON(containers []taskspec.ContainerDefinition) (string, error) {
	b, err := json.Marshal(containers)
	return string(b), err
}

func sortedPairs(m map[string]string) []taskspec.KeyValuePair {
	var out []taskspec.KeyValuePair
	for k, v := range m {
		out = append(out, taskspec.KeyValuePair{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func sortedSecrets(m map[string]string) []taskspec.Secret {
	var out []taskspec.Secret
	for k, v := range m {
		out = append(out, taskspec.Secret{Name: k, ValueFrom: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ecrImage matches a private ECR image URI,
// <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag][@digest]: account, region,
// China partition, repository.
var ecrImage = regexp.MustCompile(`^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/([^:@]+)(?::[^@]+)?(?:@sha256:[0-9a-f]{64})?$`)

// ecrRepositoryArn is the ARN of the private ECR repository an image URI points at, or
// "" for images elsewhere (public registries need no pull permissions).
func ecrRepositoryArn(image string) string {
	m := ecrImage.FindStringSubmatch(image)
	if m == nil {
		return ""
	}
	partition := "aws"
	if m[3] != "" {
		partition = "aws-cn"
	}
	return fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", partition, m[2], m[1], m[4])
}
