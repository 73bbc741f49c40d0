package mesh

import (
	"strconv"
	"strings"

	"github.com/meshtrace/meshtrace/components/taskspec"
)

// EnvoyImage is the pinned App Mesh Envoy image.
const EnvoyImage = "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.12.1-prod"

// EnvoyContainerName is the Envoy sidecar's container name.
const EnvoyContainerName = "envoy"

// EnvoyUID is the UID Envoy runs as; the proxy configuration ignores its traffic so
// that Envoy's own upstream connections are not redirected back into itself.
const EnvoyUID = "1337"

// Ports Envoy listens on inside the task: redirected ingress, redirected egress, admin.
const (
	EnvoyIngressPort = 15000
	EnvoyEgressPort  = 15001
	EnvoyAdminPort   = 9901
)

// EgressIgnoredIPs are never redirected to Envoy: 169.254.170.2 is the ECS task
// metadata and credentials endpoint, 169.254.169.254 the instance metadata service.
var EgressIgnoredIPs = []string{"169.254.170.2", "169.254.169.254"}

// EnvoyContainer is the App Mesh Envoy sidecar for a virtual node. env adds settings
// such as Envoy's X-Ray tracing.
func EnvoyContainer(virtualNodeArn string, env []taskspec.KeyValuePair) taskspec.ContainerDefinition {
	return taskspec.ContainerDefinition{
		Name:              EnvoyContainerName,
		Image:             EnvoyImage,
		Essential:         taskspec.Bool(true),
		User:              EnvoyUID,
		MemoryReservation: 128,
		Environment: append([]taskspec.KeyValuePair{
			{Name: "APPMESH_RESOURCE_ARN", Value: virtualNodeArn},
		}, env...),
		// Envoy reports LIVE on its admin port once it has its configuration.
		HealthCheck: &taskspec.HealthCheck{
			Command:     []string{"CMD-SHELL", "curl -s http://localhost:" + strconv.Itoa(EnvoyAdminPort) + "/server_info | grep state | grep -q LIVE"},
			Interval:    5,
			Timeout:     2,
			Retries:     3,
			StartPeriod: 10,
		},
		// Envoy holds one descriptor per connection.
		Ulimits: []taskspec.Ulimit{{Name: "nofile", SoftLimit: 15000, HardLimit: 15000}},
	}
}

// EnvoyProxyConfiguration routes the app's traffic through Envoy: ingress to appPort
// and all TCP egress except Envoy's own, the metadata endpoints and directPorts.
func EnvoyProxyConfiguration(appPort int, directPorts []int) *taskspec.ProxyConfiguration {
	props := map[string]string{
		"AppPorts":         strconv.Itoa(appPort),
		"IgnoredUID":       EnvoyUID,
		"ProxyIngressPort": strconv.Itoa(EnvoyIngressPort),
		"ProxyEgressPort":  strconv.Itoa(EnvoyEgressPort),
		"EgressIgnoredIPs": strings.Join(EgressIgnoredIPs, ","),
	}
	if len(directPorts) > 0 {
		ports := make([]string, len(directPorts))
		for i, p := range directPorts {
			ports[i] = strconv.Itoa(p)
		}
		props["EgressIgnoredPorts"] = strings.Join(ports, ",")
	}
	return &taskspec.ProxyConfiguration{Type: "APPMESH", ContainerName: EnvoyContainerName, Properties: props}
}
