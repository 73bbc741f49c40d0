// Package collectorcheck checks the ADOT collector configuration of the stack
// (components/xray/collector.yaml, xray.CollectorConfig) with the collector's own code: the
// upstream collector's config loading and validation (otelcol, the command `validate` runs)
// with the real factories of the OTLP receiver, the batch processor and the health_check
// extension. The awsxray receiver and exporter (contrib) are not buildable from the modules
// served here, so they are stand-ins with the same configuration keys as their documented
// settings (see each type); docs/tracing.md cites the documentation.
package collectorcheck

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
)

// awsxrayType is the type name both contrib components register.
var awsxrayType = component.MustNewType("awsxray")

// XRayReceiverConfig has the awsxray receiver's documented settings (receiver/awsxrayreceiver
// README, "Configuration"): the UDP endpoint and transport for segments, and proxy_server,
// the local TCP proxy to X-Ray's sampling APIs.
type XRayReceiverConfig struct {
	Endpoint    string                 `mapstructure:"endpoint"`
	Transport   string                 `mapstructure:"transport"`
	ProxyServer *XRayProxyServerConfig `mapstructure:"proxy_server"`
}

// XRayProxyServerConfig is the receiver's proxy_server block.
type XRayProxyServerConfig struct {
	Endpoint     string                 `mapstructure:"endpoint"`
	ProxyAddress string                 `mapstructure:"proxy_address"`
	TLS          configtls.ClientConfig `mapstructure:"tls"` // insecure, server_name_override, ...
	Region       string                 `mapstructure:"region"`
	RoleARN      string                 `mapstructure:"role_arn"`
	AWSEndpoint  string                 `mapstructure:"aws_endpoint"`
	LocalMode    bool                   `mapstructure:"local_mode"`
}

// Validate holds what the README says of transport: X-Ray SDKs send segments over UDP only.
func (c *XRayReceiverConfig) Validate() error {
	if c.Transport != "udp" {
		return errors.New(`transport must be "udp"`)
	}
	return nil
}

// XRayExporterConfig has the awsxray exporter's documented settings (exporter/awsxrayexporter
// README, "Exporter Configuration").
type XRayExporterConfig struct {
	NumWorkers            int                 `mapstructure:"num_workers"`
	Endpoint              string              `mapstructure:"endpoint"`
	RequestTimeoutSeconds int                 `mapstructure:"request_timeout_seconds"`
	MaxRetries            int                 `mapstructure:"max_retries"`
	NoVerifySSL           bool                `mapstructure:"no_verify_ssl"`
	ProxyAddress          string              `mapstructure:"proxy_address"`
	Region                string              `mapstructure:"region"`
	LocalMode             bool                `mapstructure:"local_mode"`
	ResourceARN           string              `mapstructure:"resource_arn"`
	RoleARN               string              `mapstructure:"role_arn"`
	IndexedAttributes     []string            `mapstructure:"indexed_attributes"`
	IndexAllAttributes    bool                `mapstructure:"index_all_attributes"`
	LogGroupNames         []string            `mapstructure:"aws_log_groups"`
	Telemetry             XRayTelemetryConfig `mapstructure:"telemetry"`
}

// XRayTelemetryConfig is the exporter's telemetry block.
type XRayTelemetryConfig struct {
	Enabled         bool     `mapstructure:"enabled"`
	IncludeMetadata bool     `mapstructure:"include_metadata"`
	Contributors    []string `mapstructure:"contributors"`
	Hostname        string   `mapstructure:"hostname"`
	InstanceID      string   `mapstructure:"instance_id"`
	ResourceARN     string   `mapstructure:"resource_arn"`
}

// The defaults the READMEs give.
func defaultReceiverConfig() component.Config {
	return &XRayReceiverConfig{Endpoint: "localhost:2000", Transport: "udp", ProxyServer: &XRayProxyServerConfig{Endpoint: "localhost:2000"}}
}

func defaultExporterConfig() component.Config {
	return &XRayExporterConfig{NumWorkers: 8, RequestTimeoutSeconds: 30, MaxRetries: 2}
}

// nop is a component that starts, stops and drops what it is given.
type nop struct {
	component.StartFunc
	component.ShutdownFunc
	consumer.Traces
}

func newNop() nop {
	traces, _ := consumer.NewTraces(func(context.Context, ptrace.Traces) error { return nil })
	return nop{Traces: traces}
}

// XRayReceiverFactory and XRayExporterFactory are the stand-ins' factories.
func XRayReceiverFactory() receiver.Factory {
	return receiver.NewFactory(awsxrayType, defaultReceiverConfig, receiver.WithTraces(
		func(context.Context, receiver.Settings, component.Config, consumer.Traces) (receiver.Traces, error) {
			return newNop(), nil
		}, component.StabilityLevelBeta))
}

func XRayExporterFactory() exporter.Factory {
	return exporter.NewFactory(awsxrayType, defaultExporterConfig, exporter.WithTraces(
		func(context.Context, exporter.Settings, component.Config) (exporter.Traces, error) {
			return newNop(), nil
		}, component.StabilityLevelBeta))
}
