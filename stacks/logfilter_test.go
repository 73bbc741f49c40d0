package stacks

import (
	"testing"

	"github.com/meshtrace/meshtrace/apps/contract"
)

// The stack counts database authentication failures with exactly the filter pattern the
// products tests evaluate on the lines products writes from every place that meets one (an API
// route and /readyz: apps/products/rotation_test.go), so no such line escapes the alarm.
func TestDatabaseAuthFailureFilterIsTheContracts(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		filters := s.m.ByType("aws:cloudwatch/logMetricFilter:LogMetricFilter")
		found := false
		for _, r := range filters {
			mt, _ := r.Plain()["metricTransformation"].(map[string]any)
			if mt["name"] != "DatabaseAuthFailures" {
				continue
			}
			found = true
			if got := r.Plain()["pattern"]; got != contract.DatabaseAuthFailedLogFilter {
				t.Errorf("metric filter %s: pattern %v, want %s", r.Name, got, contract.DatabaseAuthFailedLogFilter)
			}
		}
		if !found {
			t.Errorf("no metric filter counts DatabaseAuthFailures among %d filters", len(filters))
		}
	})
}
