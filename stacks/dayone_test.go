package stacks

import (
	"slices"
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/pulumitest"
)

// Properties of the declared graph that only a real AWS account would otherwise reveal:
// ordering, waiting, keep-alive timeouts and the database's identity (issue 16).

const (
	tSCIdleDefault = 300 // ECS Service Connect's and App Mesh's own idle timeout, for the messages
)

var appIdleSeconds = contract.AppIdleTimeout.Seconds()

// childrenOf returns the resources of type token whose parent is the component named name.
func childrenOf(m *pulumitest.Mocks, parentType, parentName, token string) []pulumitest.Resource {
	var out []pulumitest.Resource
	for _, r := range m.ByType(token) {
		if strings.HasSuffix(r.Parent, "::"+parentType+"::"+parentName) {
			out = append(out, r)
		}
	}
	return out
}

func TestEachServiceStartsOnlyAfterItsPoliciesAndSecurityGroupRules(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		for _, name := range []string{ProductsName, PaymentsName} {
			svc, _ := s.m.Find(tECSService, name)
			var want []pulumitest.Resource
			want = append(want, childrenOf(s.m, "meshtrace:services:Service", name, tRolePolicy)...)
			want = append(want, childrenOf(s.m, "meshtrace:services:Service", name, tEgress)...)
			want = append(want, childrenOf(s.m, "meshtrace:services:Service", name, tIngress)...)
			if len(want) < 3 { // two policies and at least the HTTPS egress rule
				t.Fatalf("%s: found only %d policies and rules", name, len(want))
			}
			for _, r := range want {
				if !slices.Contains(svc.Dependencies, r.URN) {
					t.Errorf("%s: the ECS service does not wait for %s %s", name, r.Type, r.Name)
				}
			}
		}
	})
}

func TestUpWaitsForEachServiceToBecomeSteady(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		for _, name := range []string{ProductsName, PaymentsName} {
			if v := s.get(t, tECSService, name)["waitForSteadyState"]; v != true {
				t.Errorf("%s: waitForSteadyState = %v", name, v)
			}
		}
	})
}

// Every proxy in front of an app closes idle connections before the app does.
func TestProxiesCloseIdleConnectionsBeforeTheApps(t *testing.T) {
	if contract.ProxyIdleTimeout >= contract.AppIdleTimeout {
		t.Fatalf("contract: proxy idle %s is not below the app's %s", contract.ProxyIdleTimeout, contract.AppIdleTimeout)
	}
	below := func(t *testing.T, what string, seconds any) {
		t.Helper()
		f, ok := seconds.(float64)
		if !ok || f <= 0 || f >= appIdleSeconds {
			t.Errorf("%s idle timeout = %v s, want 1..%v s (below the app's; ECS and App Mesh default to %d s)", what, seconds, appIdleSeconds-1, tSCIdleDefault)
		}
	}
	eachSystem(t, func(t *testing.T, s system) {
		below(t, "load balancer", s.get(t, tLB, ProductsName)["idleTimeout"])
		switch s.modes.Mesh {
		case MeshServiceConnect:
			sc := s.get(t, tECSService, PaymentsName)["serviceConnectConfiguration"].(map[string]any)
			below(t, "service connect", sc["services"].([]any)[0].(map[string]any)["timeout"].(map[string]any)["idleTimeoutSeconds"])
		case MeshAppMesh:
			for _, name := range []string{ProductsName, PaymentsName} {
				route := s.get(t, tRoute, name)["spec"].(map[string]any)["httpRoute"].(map[string]any)
				idle := route["timeout"].(map[string]any)["idle"].(map[string]any)
				if idle["unit"] != "s" {
					t.Errorf("%s route idle unit %v", name, idle["unit"])
				}
				below(t, name+" route", idle["value"])
				listener := s.get(t, tVirtualNode, name)["spec"].(map[string]any)["listeners"].([]any)[0].(map[string]any)
				lidle := listener["timeout"].(map[string]any)["http"].(map[string]any)["idle"].(map[string]any)
				if lidle["unit"] != "s" {
					t.Errorf("%s listener idle unit %v", name, lidle["unit"])
				}
				below(t, name+" listener", lidle["value"])
			}
		}
	})
}

func TestProductsJoinsServiceConnectAsAClientOnly(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		m := runStack(t, stack, nil)
		products, _ := m.Find(tECSService, ProductsName)
		sc := products.Plain()["serviceConnectConfiguration"].(map[string]any)
		if sc["enabled"] != true || sc["services"] != nil {
			t.Errorf("%s: products should be a Service Connect client only: %v", stack, sc)
		}
		payments, _ := m.Find(tECSService, PaymentsName)
		if services := payments.Plain()["serviceConnectConfiguration"].(map[string]any)["services"]; services == nil {
			t.Errorf("%s: payments serves nothing through Service Connect", stack)
		}
	}
}

// A fixed identifier needs deleteBeforeReplace (else a replacement fails with
// DBInstanceAlreadyExists); the final snapshot's name must be stable across runs (no
// perpetual diff) and differ between instances (else DBSnapshotAlreadyExists).
func TestDatabaseCanBeReplacedAndDestroyedAgain(t *testing.T) {
	snapshot := func(t *testing.T, overrides map[string]string) string {
		db := only(t, runStack(t, "prod", overrides), tRDS)
		if _, fixed := db.Plain()["identifier"]; fixed && !db.DeleteBeforeReplace {
			t.Errorf("the instance has a fixed identifier and no deleteBeforeReplace")
		}
		id, _ := db.Plain()["finalSnapshotIdentifier"].(string)
		if id == "" {
			t.Fatal("prod instance without a final snapshot identifier")
		}
		return id
	}
	first, second := snapshot(t, nil), snapshot(t, nil)
	if first != second {
		t.Errorf("final snapshot identifier differs between two runs: %s, %s", first, second)
	}
	// A change that replaces the instance gives the new one a new snapshot name.
	replaced := snapshot(t, map[string]string{Namespace + ":dbName": "Warehouse2"})
	if replaced == first {
		t.Errorf("a replacing instance reuses the final snapshot identifier %s", first)
	}
	// So does another stack's instance.
	other := only(t, runStackAs(t, "prod-eu", "prod", nil), tRDS)
	if other.Plain()["finalSnapshotIdentifier"] == first {
		t.Errorf("two instances share the final snapshot identifier %s", first)
	}
}

func TestProdDatabaseIsProtectedAndDevIsNot(t *testing.T) {
	for stack, want := range map[string]bool{"dev": false, "prod": true} {
		if got := only(t, runStack(t, stack, nil), tRDS).Protect; got != want {
			t.Errorf("%s: rds protect = %v, want %v", stack, got, want)
		}
	}
}
