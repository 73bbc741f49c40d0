package platform

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/services"
	"github.com/meshtrace/meshtrace/pulumitest"
)

// The Go SDK exports a reference by its pulumi tags and Import reads it by its json tags:
// they must name each field alike, or a field would be exported under one name and read as
// empty under another.
func TestEachReferenceIsExportedAndReadUnderOneName(t *testing.T) {
	for _, ref := range []any{NetworkRef{}, ClusterRef{}, MeshRef{}, TracingRef{}, services.ServiceRef{}} {
		typ := reflect.TypeOf(ref)
		for i := range typ.NumField() {
			f := typ.Field(i)
			if js, pu := f.Tag.Get("json"), f.Tag.Get("pulumi"); js == "" || js != pu {
				t.Errorf("%s.%s: json %q, pulumi %q", typ.Name(), f.Name, js, pu)
			}
		}
	}
}

// docs/reuse.md names every output and every field of the references.
func TestTheReuseDocNamesEveryField(t *testing.T) {
	root, err := pulumitest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "reuse.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{NetworkOutput, ClusterOutput, MeshOutput, TracingOutput, ServicesOutput}
	for _, ref := range []any{NetworkRef{}, ClusterRef{}, MeshRef{}, TracingRef{}, services.ServiceRef{}} {
		typ := reflect.TypeOf(ref)
		for i := range typ.NumField() {
			names = append(names, typ.Field(i).Tag.Get("json"))
		}
	}
	for _, n := range names {
		if !strings.Contains(string(doc), "`"+n+"`") {
			t.Errorf("docs/reuse.md does not name `%s`", n)
		}
	}
}

// outputs are a platform stack's references as the engine hands them to a StackReference.
func outputs() map[string]any {
	return map[string]any{
		NetworkOutput: map[string]any{"vpcId": "vpc-1", "privateSubnetIds": []any{"subnet-1"}, "publicSubnetIds": []any{"subnet-2"}},
		ClusterOutput: map[string]any{"arn": "arn:aws:ecs:us-east-1:123456789012:cluster/c", "name": "c", "namespaceArn": "arn:ns", "namespaceId": "ns-1", "namespaceName": "corp.local"},
		MeshOutput:    map[string]any{"mode": "serviceconnect", "namespaceArn": "arn:ns"},
		TracingOutput: map[string]any{"mode": "adot", "groupName": "g", "samplingFixedRate": 0.1, "samplingReservoir": 2.0},
		ServicesOutput: map[string]any{
			"payments": map[string]any{"endpoint": "http://payments:9000", "port": 9000.0, "securityGroupId": "sg-payments", "discoveryName": "payments"},
			"products": map[string]any{"endpoint": "", "port": 8080.0, "securityGroupId": "sg-products", "discoveryName": "products"},
		},
	}
}

func importAndCall(outs map[string]any, backend string) (*pulumitest.Mocks, error) {
	m := pulumitest.NewMocks("test").WithStackOutputs("org/platform/dev", outs)
	return m, pulumitest.RunWith(m, "", nil, func(ctx *pulumi.Context) error {
		stack, err := pulumi.NewStackReference(ctx, "platform", &pulumi.StackReferenceArgs{Name: pulumi.String("org/platform/dev")})
		if err != nil {
			return err
		}
		p, err := Import(ctx, "platform", stack)
		if err != nil {
			return err
		}
		b, err := p.Backend(ctx, backend)
		if err != nil {
			return err
		}
		args := p.ServiceArgs()
		args.Image, args.Backends = pulumi.String("orders:1"), []*services.Service{b}
		_, err = services.NewService(ctx, "orders", args)
		return err
	})
}

func TestImportedSettingsReachTheService(t *testing.T) {
	m, err := importAndCall(outputs(), "payments")
	if err != nil {
		t.Fatal(err)
	}
	admit, _ := m.Find("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "orders-to-payments-in")
	if admit.Plain()["securityGroupId"] != "sg-payments" || admit.Plain()["fromPort"] != 9000.0 {
		t.Errorf("payments admits orders by %v", admit.Plain())
	}
	rules := m.ByType("aws:xray/samplingRule:SamplingRule")
	if len(rules) != 1 || rules[0].Plain()["serviceName"] != "orders" {
		t.Fatalf("want orders' sampling rule, got %v", rules)
	}
	if rule := rules[0]; rule.Plain()["fixedRate"] != 0.1 || rule.Plain()["reservoirSize"] != 2.0 {
		t.Errorf("the platform's sampling does not reach orders' rule: %v", rule.Plain())
	}
	svc, _ := m.Find("aws:ecs/service:Service", "orders")
	sc, _ := svc.Plain()["serviceConnectConfiguration"].(map[string]any)
	if sc["namespace"] != "arn:ns" {
		t.Errorf("orders joins Service Connect by %v", sc)
	}
}

// What a program cannot use fails the import or the call, naming what is missing.
func TestImportRefusesWhatItCannotUse(t *testing.T) {
	noServices := outputs()
	delete(noServices, ServicesOutput)
	appMeshWithoutName := outputs()
	appMeshWithoutName[MeshOutput] = map[string]any{"mode": "appmesh"}
	for _, c := range []struct {
		outs    map[string]any
		backend string
		want    string
	}{
		{noServices, "payments", `the stack exports no "services"`},
		{outputs(), "stock", `no service "stock"`},
		{outputs(), "products", "products serves no mesh endpoint"},
		{appMeshWithoutName, "payments", "names no mesh"},
	} {
		if _, err := importAndCall(c.outs, c.backend); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want %q, got %v", c.want, err)
		}
	}
}
