package naming

import (
	"strings"
	"testing"
)

func TestCheckPrefix(t *testing.T) {
	for _, ok := range []string{"meshtrace-dev", "meshtrace-prod-eu", "a", "team7-inventory-staging2"} {
		if err := CheckPrefix(ok); err != nil {
			t.Errorf("CheckPrefix(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "Meshtrace-dev", "meshtrace.dev", "meshtrace_dev", "meshtrace--dev", "meshtrace-", "7meshtrace", strings.Repeat("a", MaxPrefixLength+1)} {
		if err := CheckPrefix(bad); err == nil {
			t.Errorf("CheckPrefix(%q) = nil, want an error", bad)
		}
	}
}

func TestFitKeepsShortNamesAndShortensLongOnesDistinctly(t *testing.T) {
	if got := Fit("meshtrace-prod-products", 32); got != "meshtrace-prod-products" {
		t.Errorf("a name within the limit changed: %q", got)
	}
	a := Fit("meshtrace-prod-eu-west-1-products", 32)
	b := Fit("meshtrace-prod-eu-west-2-products", 32)
	if len(a) > 32 || len(b) > 32 || len(a) < 30 {
		t.Errorf("shortened names %q (%d), %q (%d), want 30 to 32 characters", a, len(a), b, len(b))
	}
	if a == b {
		t.Errorf("two long names shortened to the same %q", a)
	}
	if a != Fit("meshtrace-prod-eu-west-1-products", 32) {
		t.Error("Fit is not deterministic")
	}
	if !strings.HasPrefix(a, "meshtrace-prod-eu-west") {
		t.Errorf("shortened name %q lost its readable start", a)
	}
	if err := CheckPrefix(Fit(strings.Repeat("ab-", 20)+"x", 30)); err != nil {
		t.Errorf("a shortened valid name is no longer valid: %v", err)
	}
}
