package network

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/internal/pulumitest"
)

func run(args NetworkArgs) (*pulumitest.Mocks, error) {
	return pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		_, err := NewNetwork(ctx, "net", &args)
		return err
	})
}

func TestSubnetMasksSplitTheRangePerAZ(t *testing.T) {
	m, err := run(NetworkArgs{CidrBlock: "10.1.0.0/20", NatGateways: NatSingle})
	if err != nil {
		t.Fatal(err)
	}
	vpc, _ := m.Find("awsx:ec2:Vpc", "net")
	in := vpc.Plain()
	if in["availabilityZoneCidrMask"] != 22.0 || in["cidrBlock"] != "10.1.0.0/20" {
		t.Errorf("vpc %v", in)
	}
	masks := map[string]float64{}
	for _, s := range in["subnetSpecs"].([]any) {
		spec := s.(map[string]any)
		masks[spec["type"].(string)] = spec["cidrMask"].(float64)
	}
	if masks["Private"] != 23 || masks["Public"] != 24 {
		t.Errorf("masks %v", masks)
	}
	if in["natGateways"].(map[string]any)["strategy"] != "Single" {
		t.Errorf("nat %v", in["natGateways"])
	}
}

func TestNetworkRejectsBadArgs(t *testing.T) {
	for want, args := range map[string]NetworkArgs{
		"CidrBlock":         {CidrBlock: "10.0.0.0/26"},
		"NatGateways":       {NatGateways: "none"},
		"AvailabilityZones": {AvailabilityZones: 1},
	} {
		if _, err := run(args); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}
