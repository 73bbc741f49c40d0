// Package taskspec holds the plain values an ECS task is assembled from: container
// definitions in the JSON shape of ECS RegisterTaskDefinition, IAM policy documents,
// and Part, the contract through which the mesh and the tracing components hand a
// service the sidecars, proxy configuration, dependencies and permissions they need.
//
// Everything here is a pure value: no Pulumi resources, so it can be built and tested
// without an engine and reused by any component.
package taskspec

// ContainerDefinition is one entry of an ECS task definition's containerDefinitions,
// with the field names and JSON types of the ECS API (RegisterTaskDefinition).
type ContainerDefinition struct {
	Name                   string                `json:"name"`
	Image                  string                `json:"image"`
	Essential              *bool                 `json:"essential,omitempty"`
	Cpu                    int                   `json:"cpu,omitempty"`
	Memory                 int                   `json:"memory,omitempty"`
	MemoryReservation      int                   `json:"memoryReservation,omitempty"`
	User                   string                `json:"user,omitempty"`
	Command                []string              `json:"command,omitempty"`
	PortMappings           []PortMapping         `json:"portMappings,omitempty"`
	Environment            []KeyValuePair        `json:"environment,omitempty"`
	Secrets                []Secret              `json:"secrets,omitempty"`
	DependsOn              []ContainerDependency `json:"dependsOn,omitempty"`
	HealthCheck            *HealthCheck          `json:"healthCheck,omitempty"`
	RestartPolicy          *RestartPolicy        `json:"restartPolicy,omitempty"`
	LogConfiguration       *LogConfiguration     `json:"logConfiguration,omitempty"`
	ReadonlyRootFilesystem *bool                 `json:"readonlyRootFilesystem,omitempty"`
	Ulimits                []Ulimit              `json:"ulimits,omitempty"`
}

// PortMapping is a container port. Name and AppProtocol are what Service Connect
// refers to; they are harmless elsewhere.
type PortMapping struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"` // "tcp" or "udp"
	AppProtocol   string `json:"appProtocol,omitempty"`
}

// KeyValuePair is a plain environment variable.
type KeyValuePair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Secret is an environment variable that ECS reads from Secrets Manager or SSM at
// task start; the value never appears in the task definition.
type Secret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

// ContainerDependency orders container start-up within a task.
type ContainerDependency struct {
	ContainerName string `json:"containerName"`
	Condition     string `json:"condition"`
}

// Container start conditions accepted by ECS.
const (
	ConditionStart    = "START"
	ConditionHealthy  = "HEALTHY"
	ConditionComplete = "COMPLETE"
	ConditionSuccess  = "SUCCESS"
)

// HealthCheck is a container health check run by the ECS agent.
type HealthCheck struct {
	Command     []string `json:"command"`
	Interval    int      `json:"interval,omitempty"`
	Timeout     int      `json:"timeout,omitempty"`
	Retries     int      `json:"retries,omitempty"`
	StartPeriod int      `json:"startPeriod,omitempty"`
}

// RestartPolicy makes ECS restart a container that exits, in place, without stopping the
// task.
type RestartPolicy struct {
	Enabled bool `json:"enabled"`
	// RestartAttemptPeriod: a container must have run this many seconds before ECS
	// restarts it again (ECS's default 300).
	RestartAttemptPeriod int `json:"restartAttemptPeriod,omitempty"`
}

// LogConfiguration sends a container's output to a log driver.
type LogConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options,omitempty"`
}

// Ulimit raises a resource limit of a container.
type Ulimit struct {
	Name      string `json:"name"`
	SoftLimit int    `json:"softLimit"`
	HardLimit int    `json:"hardLimit"`
}

// ProxyConfiguration is a task definition's proxyConfiguration (App Mesh's Envoy).
type ProxyConfiguration struct {
	Type          string
	ContainerName string
	Properties    map[string]string
}

// Bool returns a pointer to b, for the optional booleans of a container definition.
func Bool(b bool) *bool { return &b }

// AWSLogs is the awslogs configuration that writes a container's output to group,
// one stream per task under prefix.
func AWSLogs(group, region, prefix string) *LogConfiguration {
	return &LogConfiguration{
		LogDriver: "awslogs",
		Options: map[string]string{
			"awslogs-group":         group,
			"awslogs-region":        region,
			"awslogs-stream-prefix": prefix,
		},
	}
}
