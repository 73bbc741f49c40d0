package stacks

import (
	"testing"

	"github.com/meshtrace/meshtrace/apps/contract"
)

// Every target group's health check is the one the apps are tested against
// (apps/e2e/health_test.go simulates it while the database is down): the liveness path with
// the contract's matcher, interval, timeout and thresholds. A check on the database (/readyz)
// would make ECS replace every products task during a database outage.
func TestLoadBalancerHealthCheckIsTheContracts(t *testing.T) {
	want := map[string]any{
		"path":               contract.LoadBalancerHealthCheckPath,
		"matcher":            contract.LoadBalancerHealthCheckMatcher,
		"interval":           contract.LoadBalancerHealthCheckInterval.Seconds(),
		"timeout":            contract.LoadBalancerHealthCheckTimeout.Seconds(),
		"healthyThreshold":   float64(contract.LoadBalancerHealthyThreshold),
		"unhealthyThreshold": float64(contract.LoadBalancerUnhealthyThreshold),
	}
	if contract.LoadBalancerHealthCheckPath != contract.LivenessPath {
		t.Fatalf("the load balancer probes %s, not the liveness path %s", contract.LoadBalancerHealthCheckPath, contract.LivenessPath)
	}
	eachSystem(t, func(t *testing.T, s system) {
		groups := s.m.ByType(tTargetGroup)
		if len(groups) == 0 {
			t.Fatal("no target group")
		}
		for _, r := range groups {
			hc, _ := r.Plain()["healthCheck"].(map[string]any)
			for key, value := range want {
				if hc[key] != value {
					t.Errorf("target group %s: healthCheck.%s = %v, want %v", r.Name, key, hc[key], value)
				}
			}
		}
	})
}
