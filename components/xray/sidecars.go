package xray

import (
	_ "embed"
	"strconv"

	"github.com/meshtrace/meshtrace/components/taskspec"
)

// Pinned sidecar images. Bump deliberately, one place.
const (
	DaemonImage    = "public.ecr.aws/xray/aws-xray-daemon:3.3.13"
	CollectorImage = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
)

// ContainerName is the tracing sidecar's container name in either mode.
const ContainerName = "xray"

// DaemonPort is where the X-Ray SDKs and Envoy send segments (UDP) and ask for
// sampling rules (TCP), in both modes.
const DaemonPort = 2000

// Ports of the collector's OTLP receiver (gRPC, HTTP), for OpenTelemetry SDKs.
const (
	OTLPGRPCPort = 4317
	OTLPHTTPPort = 4318
)

// DaemonAddress is what the app is told in AWS_XRAY_DAEMON_ADDRESS: containers of a
// Fargate task share one network namespace, so the sidecar is on loopback.
var DaemonAddress = "127.0.0.1:" + strconv.Itoa(DaemonPort)

// WriteActions are the X-Ray permissions a sidecar needs to send segments and use
// centralised sampling (the AWSXRayDaemonWriteAccess set). X-Ray has no resource-level
// permissions for them, so their resource is "*".
var WriteActions = []string{
	"xray:PutTraceSegments",
	"xray:PutTelemetryRecords",
	"xray:GetSamplingRules",
	"xray:GetSamplingTargets",
	"xray:GetSamplingStatisticSummaries",
}

// DaemonContainer is the X-Ray daemon sidecar. user is the UID to run as ("" for the
// image's default); a mesh that intercepts egress needs its proxy-ignored UID here so
// the daemon's calls to the X-Ray API bypass Envoy.
func DaemonContainer(user string) taskspec.ContainerDefinition {
	return taskspec.ContainerDefinition{
		Name:  ContainerName,
		Image: DaemonImage,
		// The daemon's image holds its binary only (no shell, no health endpoint), so no
		// health check can tell whether it runs well. Instead of an essential container that
		// nothing checks, it is not essential and ECS restarts it in place if it exits: the
		// app keeps serving, only segments sent while it restarts are lost.
		Essential:     taskspec.Bool(false),
		RestartPolicy: &taskspec.RestartPolicy{Enabled: true, RestartAttemptPeriod: 60},
		// The daemon buffers segments in memory and writes no files.
		ReadonlyRootFilesystem: taskspec.Bool(true),
		Cpu:                    32,  // the daemon idles at a few millicores
		MemoryReservation:      256, // the daemon's documented buffer budget
		User:                   user,
		PortMappings: []taskspec.PortMapping{
			{ContainerPort: DaemonPort, Protocol: "udp"},
		},
	}
}

// CollectorContainer is the ADOT collector sidecar, configured inline (no config file
// or SSM parameter to manage) to receive X-Ray segments on UDP 2000 and OTLP, and to
// export to X-Ray.
func CollectorContainer(user string) taskspec.ContainerDefinition {
	return taskspec.ContainerDefinition{
		Name:              ContainerName,
		Image:             CollectorImage,
		Essential:         taskspec.Bool(true),
		Cpu:               64,
		MemoryReservation: 256,
		User:              user,
		PortMappings: []taskspec.PortMapping{
			{ContainerPort: DaemonPort, Protocol: "udp"},
			{ContainerPort: OTLPGRPCPort, Protocol: "tcp"},
			{ContainerPort: OTLPHTTPPort, Protocol: "tcp"},
		},
		Environment: []taskspec.KeyValuePair{
			{Name: "AOT_CONFIG_CONTENT", Value: CollectorConfig()},
		},
		// The image ships a /healthcheck binary that queries the health_check extension;
		// ECS runs a command only behind CMD or CMD-SHELL.
		HealthCheck: &taskspec.HealthCheck{
			Command:     []string{"CMD", "/healthcheck"},
			Interval:    5,
			Timeout:     6,
			Retries:     5,
			StartPeriod: 1,
		},
	}
}

// CollectorConfig is the collector's YAML configuration (collector.yaml): the awsxray
// receiver takes the segments the X-Ray SDK and Envoy already send (and proxies sampling
// requests on TCP 2000), OTLP takes OpenTelemetry SDK spans, both export to X-Ray. It is a
// file so that tools/collectorcheck loads the very same text with the collector's own code.
func CollectorConfig() string { return collectorConfig }

//go:embed collector.yaml
var collectorConfig string

// EnvoyEnvironment turns on Envoy's own X-Ray tracer, which sends segments for every
// hop through the mesh to the sidecar on UDP 2000.
func EnvoyEnvironment() []taskspec.KeyValuePair {
	return []taskspec.KeyValuePair{
		{Name: "ENABLE_ENVOY_XRAY_TRACING", Value: "1"},
		{Name: "XRAY_DAEMON_PORT", Value: strconv.Itoa(DaemonPort)},
	}
}
