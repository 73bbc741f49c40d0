package database

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/internal/pulumitest"
)

func TestDatabaseStandaloneDefaultsAndAllowedGroups(t *testing.T) {
	m, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		_, err := NewDatabase(ctx, "db", &DatabaseArgs{
			VpcId: pulumi.String("vpc-1"), SubnetIds: pulumi.ToStringArray([]string{"a", "b"}), InstanceClass: "db.t4g.micro",
			AllowedSecurityGroupIds: []pulumi.StringInput{pulumi.String("sg-bastion")},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db, _ := m.Find("aws:rds/instance:Instance", "db")
	in := db.Plain()
	if in["dbName"] != "DataWarehouseX" || in["engineVersion"] != "16" || in["username"] != "meshtrace" || in["skipFinalSnapshot"] != true || in["storageEncrypted"] != true {
		t.Errorf("defaults %v", in)
	}
	allowed := map[any]bool{}
	for _, r := range m.ByType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		allowed[r.Plain()["referencedSecurityGroupId"]] = true
	}
	if len(allowed) != 2 || !allowed["sg-bastion"] || !allowed["db-clients-id"] {
		t.Errorf("allowed %v", allowed)
	}
	if len(m.ByType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")) != 1 {
		t.Error("the client group should only reach the database")
	}
}

func TestDatabaseRequiresPlacement(t *testing.T) {
	_, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		_, err := NewDatabase(ctx, "db", &DatabaseArgs{InstanceClass: "db.t4g.micro"})
		return err
	})
	if err == nil {
		t.Error("accepted a database without VpcId and SubnetIds")
	}
}
