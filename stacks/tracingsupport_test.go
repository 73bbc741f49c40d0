package stacks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/components/xray"
	"github.com/meshtrace/meshtrace/pulumitest"
)

// atTime sets the clock the config check reads for the rest of the test.
func atTime(t *testing.T, at time.Time) {
	t.Helper()
	saved := now
	now = func() time.Time { return at }
	t.Cleanup(func() { now = saved })
}

var (
	lastSupportedSecond = time.Date(2027, 2, 24, 23, 59, 59, 0, time.UTC)
	endOfSupport        = time.Date(2027, 2, 25, 0, 0, 0, 0, time.UTC)
)

// A stack that does not say which tracing to run gets OpenTelemetry: every service's app
// runs TRACING=otel beside the ADOT collector, on every stack.
func TestStackWithoutTracingModeRunsOpenTelemetry(t *testing.T) {
	root, err := pulumitest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// The checked-in stacks without the key, and a stack that has no file at all.
	configs := map[string]map[string]string{"alice": {"aws:region": "us-east-1"}}
	for _, stack := range []string{"dev", "prod"} {
		cfg, err := pulumitest.StackConfig(stack)
		if err != nil {
			t.Fatal(err)
		}
		delete(cfg, Namespace+":tracingMode")
		configs[stack] = cfg
	}
	for stack, cfg := range configs {
		t.Run(stack, func(t *testing.T) {
			m, err := pulumitest.RunAt(root, stack, cfg, Run)
			if err != nil {
				t.Fatal(err)
			}
			tasks := m.ByType(tTaskDef)
			if len(tasks) < 2 {
				t.Fatalf("%d task definitions, want one per service", len(tasks))
			}
			for _, td := range tasks {
				var defs []taskspec.ContainerDefinition
				if err := json.Unmarshal([]byte(td.Plain()["containerDefinitions"].(string)), &defs); err != nil {
					t.Fatalf("%s: %v", td.Name, err)
				}
				cs := map[string]taskspec.ContainerDefinition{}
				for _, d := range defs {
					cs[d.Name] = d
				}
				app, collector := cs["app"], cs[xray.ContainerName]
				if got := env(app)["TRACING"]; got != "otel" {
					t.Errorf("%s: app TRACING=%q, want otel", td.Name, got)
				}
				if !strings.Contains(collector.Image, "aws-otel-collector") || env(collector)["AOT_CONFIG_CONTENT"] != xray.CollectorConfig() {
					t.Errorf("%s: tracing sidecar %q is not the ADOT collector with the stack's config", td.Name, collector.Image)
				}
				for _, d := range defs {
					if strings.Contains(d.Image, "aws-xray-daemon") {
						t.Errorf("%s: container %s runs the X-Ray daemon (%s)", td.Name, d.Name, d.Image)
					}
				}
			}
			t.Logf("%d task definitions (%d resources): each app TRACING=otel beside the ADOT collector", len(tasks), len(m.Resources()))
		})
	}
}

// xray-daemon runs until its end of support; from that day on the config is refused unless
// it acknowledges it, and the message says what to do. adot is unaffected by the date.
func TestXRayDaemonIsRefusedFromItsEndOfSupportUnlessAcknowledged(t *testing.T) {
	daemon := map[string]string{"tracingMode": TracingXRayDaemon}
	acknowledged := map[string]string{"tracingMode": TracingXRayDaemon, "allowXRayEndOfSupport": "true"}
	for _, stack := range []string{"dev", "prod"} {
		atTime(t, lastSupportedSecond)
		if c, err := Parse(stack, withCertificate(daemon)); err != nil || c.TracingMode != TracingXRayDaemon {
			t.Errorf("%s on %s: xray-daemon refused before its end of support: %v", stack, lastSupportedSecond, err)
		}

		atTime(t, endOfSupport)
		_, err := Parse(stack, withCertificate(daemon))
		var ce *ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) != 1 {
			t.Fatalf("%s on %s: xray-daemon without the acknowledgement: %v, want one problem", stack, endOfSupport, err)
		}
		for _, want := range []string{`meshtrace:tracingMode = "xray-daemon"`, "end of support on 2027-02-25",
			`Switch to "adot"`, "remove meshtrace:tracingMode", "meshtrace:allowXRayEndOfSupport: true"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: message lacks %q: %v", stack, want, err)
			}
		}
		if _, err := Parse(stack, withCertificate(map[string]string{"tracingMode": TracingXRayDaemon, "allowXRayEndOfSupport": "false"})); err == nil {
			t.Errorf("%s: xray-daemon accepted with allowXRayEndOfSupport false", stack)
		}
		if c, err := Parse(stack, withCertificate(acknowledged)); err != nil || c.TracingMode != TracingXRayDaemon || !c.AllowXRayEndOfSupport {
			t.Errorf("%s: xray-daemon with the acknowledgement: %v", stack, err)
		}
		for _, adot := range []map[string]string{nil, {"tracingMode": TracingADOT}} {
			if c, err := Parse(stack, withCertificate(adot)); err != nil || c.TracingMode != TracingADOT {
				t.Errorf("%s: %v refused after the date: %v", stack, adot, err)
			}
		}
		// Every mode combination's overrides (what tests and previews use) still run.
		for _, modes := range AllModes() {
			raw := map[string]string{}
			for k, v := range modes.Overrides() {
				raw[strings.TrimPrefix(k, Namespace+":")] = v
			}
			if _, err := Parse(stack, withCertificate(raw)); err != nil {
				t.Errorf("%s %s after the date: %v", stack, modes, err)
			}
		}
	}
	// Under the mocks, too: the program declares nothing.
	atTime(t, endOfSupport)
	m, err := runStackErr("dev", map[string]string{Namespace + ":tracingMode": TracingXRayDaemon})
	if err == nil || !strings.Contains(err.Error(), "allowXRayEndOfSupport") {
		t.Errorf("the program ran with xray-daemon after its end of support: %v", err)
	}
	if n := len(m.Resources()); n != 0 {
		t.Errorf("%d resources declared before the refusal", n)
	}
}

// The notice that Run prints (ctx.Log.Warn) whenever xray-daemon is chosen names the dates,
// the days left and what to do; adot prints none.
func TestXRayDaemonNoticeNamesTheEndOfSupport(t *testing.T) {
	daemon := Config{TracingMode: TracingXRayDaemon}
	before := tracingNotice(daemon, time.Date(2026, 12, 3, 12, 51, 0, 0, time.UTC))
	for _, want := range []string{`meshtrace:tracingMode = "xray-daemon"`, "maintenance since 2026-02-25",
		"end of support on 2027-02-25, in 84 days", "meshtrace:allowXRayEndOfSupport", `Switch to "adot"`} {
		if !strings.Contains(before, want) {
			t.Errorf("notice before the date lacks %q: %s", want, before)
		}
	}
	if last := tracingNotice(daemon, lastSupportedSecond); !strings.Contains(last, "in 1 day;") {
		t.Errorf("notice on the last day: %s", last)
	}
	daemon.AllowXRayEndOfSupport = true
	after := tracingNotice(daemon, endOfSupport)
	for _, want := range []string{"reached end of support on 2027-02-25", "acknowledged by meshtrace:allowXRayEndOfSupport", `Switch to "adot"`} {
		if !strings.Contains(after, want) {
			t.Errorf("notice after the date lacks %q: %s", want, after)
		}
	}
	for _, at := range []time.Time{lastSupportedSecond, endOfSupport} {
		if n := tracingNotice(Config{TracingMode: TracingADOT}, at); n != "" {
			t.Errorf("adot on %s prints a notice: %s", at, n)
		}
	}
}
