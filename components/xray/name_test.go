package xray

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/pulumitest"
)

// One system's tracing, declared once per service under the service's own component name
// (as the component package does), names the rules after the system, not the components.
func TestNamePrefixesTheRulesWhateverTheComponentIsCalled(t *testing.T) {
	m, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		for _, svc := range []string{"stock", "orders"} {
			tr, err := NewTracing(ctx, svc+"-tracing", &TracingArgs{Name: "shop"})
			if err != nil {
				return err
			}
			if _, err := tr.Attach(ctx, taskspec.Attachment{ServiceName: svc}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range []string{"shop-stock", "shop-orders"} {
		r, ok := m.Find("aws:xray/samplingRule:SamplingRule", rule)
		if !ok || r.Plain()["ruleName"] != rule {
			t.Errorf("no sampling rule %s", rule)
		}
	}
}
