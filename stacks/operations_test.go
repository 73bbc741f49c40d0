package stacks

import (
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/components/alarms"
)

// Each new key's defaults per environment, applied (the prod stack's other guardrails aside).
func TestOperationsConfigDefaultsPerEnvironment(t *testing.T) {
	want := map[string][2]string{
		"productsMinCount": {"1", "2"}, "productsMaxCount": {"2", "6"}, "paymentsMinCount": {"1", "2"}, "paymentsMaxCount": {"2", "6"},
		"scalingCpuPercent": {"60", "60"}, "scalingRequestsPerTarget": {"1000", "1000"}, "alarmEmail": {"", ""},
		"alarm5xxPercent": {"2", "2"}, "alarmLatencyP99Ms": {"1000", "1000"}, "alarmDbCpuPercent": {"80", "80"},
		"alarmDbFreeStoragePercent": {"10", "10"}, "alarmDbConnectionsPercent": {"80", "80"},
		"alarmDbFreeableMemoryPercent": {"10", "10"}, "alarmTraceFaultPercent": {"5", "5"},
	}
	if len(operationsKeys) != len(want) {
		t.Errorf("%d operations keys, %d checked here", len(operationsKeys), len(want))
	}
	for _, k := range operationsKeys {
		if w, ok := want[k.name]; !ok || k.dev != w[0] || k.prod != w[1] {
			t.Errorf("%s: defaults dev %q prod %q, want %v", k.name, k.dev, k.prod, w)
		}
		var c Config
		if err := k.apply(&c, k.prod); err != nil {
			t.Errorf("%s: prod default %q refused: %v", k.name, k.prod, err)
		}
	}
	dev, err := Parse("dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	if dev.Products.MinCount != 1 || dev.Payments.MaxCount != 2 || dev.Operations.Thresholds != alarms.Defaults || dev.Operations.ScalingCPUPercent != 60 {
		t.Errorf("dev defaults not applied: %+v %+v", dev.Products, dev.Operations)
	}
}

func TestOperationsConfigAcceptsGoodValues(t *testing.T) {
	c, err := Parse("dev", map[string]string{
		"productsMinCount": "3", "productsMaxCount": "6", "paymentsMinCount": "2", "paymentsMaxCount": "4", "desiredCount": "3",
		"scalingCpuPercent": "45", "scalingRequestsPerTarget": "250.5", "alarmEmail": "oncall@example.com",
		"alarm5xxPercent": "0.5", "alarmLatencyP99Ms": "300", "alarmDbCpuPercent": "95", "alarmDbFreeStoragePercent": "20",
		"alarmDbConnectionsPercent": "70", "alarmDbFreeableMemoryPercent": "5", "alarmTraceFaultPercent": "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	o := c.Operations
	if c.Products.MinCount != 3 || c.Products.MaxCount != 6 || c.Payments.MaxCount != 4 || o.ScalingCPUPercent != 45 || o.ScalingRequestsPerTarget != 250.5 ||
		o.AlarmEmail != "oncall@example.com" || o.Thresholds != (alarms.Thresholds{HTTP5xxPercent: 0.5, LatencyP99Ms: 300, DBCPUPercent: 95, DBFreeStoragePercent: 20,
		DBConnectionsPercent: 70, DBFreeableMemoryPercent: 5, TraceFaultPercent: 1}) {
		t.Errorf("values not applied: %+v %+v", c.Products, o)
	}
}

func TestOperationsConfigRejectsBadValues(t *testing.T) {
	for _, c := range []struct{ key, value, want string }{
		{"productsMinCount", "0", "1 to 100"},
		{"productsMaxCount", "101", "1 to 100"},
		{"paymentsMinCount", "two", "not an integer"},
		{"paymentsMaxCount", "-1", "1 to 100"},
		{"scalingCpuPercent", "95", "from 10 to 90"},
		{"scalingCpuPercent", "NaN", "from 10 to 90"},
		{"scalingRequestsPerTarget", "5", "from 10 to 100000"},
		{"alarmEmail", "not an address", "e-mail"},
		{"alarmEmail", "Ops <ops@example.com>", "bare e-mail"},
		{"alarm5xxPercent", "0", "from 0.1 to 50"},
		{"alarmLatencyP99Ms", "5", "10 to 60000"},
		{"alarmDbCpuPercent", "101", "from 10 to 100"},
		{"alarmDbFreeStoragePercent", "0", "from 1 to 90"},
		{"alarmDbConnectionsPercent", "5", "from 10 to 100"},
		{"alarmDbFreeableMemoryPercent", "95", "from 1 to 90"},
		{"alarmTraceFaultPercent", "+Inf", "from 0.1 to 100"},
	} {
		_, err := Parse("dev", map[string]string{c.key: c.value})
		if err == nil || !strings.Contains(err.Error(), "meshtrace:"+c.key) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%q: %v", c.key, c.value, err)
		}
	}
}

// desiredCount must lie within each service's minCount..maxCount, and the message names the keys.
func TestOperationsConfigRefusesADesiredCountOutsideTheBounds(t *testing.T) {
	for _, raw := range []map[string]string{
		{"desiredCount": "3"},                              // dev max is 2
		{"productsMinCount": "2"},                          // dev desired is 1
		{"paymentsMinCount": "2", "paymentsMaxCount": "1"}, // min above max
	} {
		_, err := Parse("dev", raw)
		if err == nil || !strings.Contains(err.Error(), "want minCount <= desiredCount <= maxCount") || !strings.Contains(err.Error(), "MaxCount = ") {
			t.Errorf("%v: %v", raw, err)
		}
	}
}
