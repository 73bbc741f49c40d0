package collectorcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stackConfig is the configuration the stack hands the ADOT sidecar (xray.CollectorConfig
// embeds this file).
const stackConfig = "../../components/xray/collector.yaml"

func read(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(stackConfig)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// validate writes text to a file and validates it as the collector would.
func validate(t *testing.T, text string) error {
	t.Helper()
	file := filepath.Join(t.TempDir(), "collector.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Validate(context.Background(), file)
}

func TestTheStacksCollectorConfigValidates(t *testing.T) {
	if err := validate(t, read(t)); err != nil {
		t.Fatalf("%s: %v", stackConfig, err)
	}
}

// Each breakage of the stack's own configuration must be refused, with the reason.
func TestBrokenCollectorConfigsAreRefused(t *testing.T) {
	config := read(t)
	for _, c := range []struct{ name, old, new, want string }{
		{"a pipeline names an undeclared processor", "processors: [batch/traces]", "processors: [batch/other]", `references processor "batch/other" which is not configured`},
		{"a pipeline names an undeclared receiver", "receivers: [awsxray, otlp]", "receivers: [awsxray, otlp/2]", `references receiver "otlp/2" which is not configured`},
		{"a misspelt key of a core component", "send_batch_size: 50", "send_batch_sise: 50", "send_batch_sise"},
		{"a misspelt key of the awsxray exporter", "index_all_attributes: false", "index_all_atributes: false", "index_all_atributes"},
		{"a misspelt key of the awsxray receiver's proxy", "proxy_server:\n      endpoint:", "proxy_server:\n      endpont:", "endpont"},
		{"a misspelt key of the health_check extension", "health_check:\n    endpoint:", "health_check:\n    endpiont:", "endpiont"},
		{"an unknown component type", "  otlp:\n    protocols:", "  otlpp:\n    protocols:", `unknown type: "otlpp"`},
		{"the awsxray receiver on TCP", "transport: udp", "transport: tcp", `transport must be "udp"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			broken := strings.Replace(config, c.old, c.new, 1)
			if broken == config {
				t.Fatalf("%q is not in %s: the case no longer breaks anything", c.old, stackConfig)
			}
			err := validate(t, broken)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}
