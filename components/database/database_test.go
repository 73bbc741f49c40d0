package database

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/pulumitest"
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

// RDS reports no master secret when the instance does not manage its password: the
// program must say so, not panic on an empty list.
func TestMissingMasterSecretIsAnErrorNotAPanic(t *testing.T) {
	for _, secrets := range [][]rds.InstanceMasterUserSecret{nil, {}, {{SecretArn: nil}}} {
		if _, err := masterSecretArn(secrets); err == nil || !strings.Contains(err.Error(), "manageMasterUserPassword") {
			t.Errorf("%v: %v", secrets, err)
		}
	}
	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-x"
	if got, err := masterSecretArn([]rds.InstanceMasterUserSecret{{SecretArn: &arn}}); err != nil || got != arn {
		t.Errorf("got %q %v", got, err)
	}
}

func TestParameterGroupFamilyAndFinalSnapshotIdentifier(t *testing.T) {
	for version, want := range map[string]string{"16": "postgres16", "16.4": "postgres16", "17.1": "postgres17"} {
		if got := ParameterGroupFamily(version); got != want {
			t.Errorf("%s: %s, want %s", version, got, want)
		}
	}
	g := instanceGeneration{Engine: "postgres", DbName: "DataWarehouseX", Username: "meshtrace", StorageEncrypted: true}
	a, b := FinalSnapshotIdentifier("db", g), FinalSnapshotIdentifier("db", g)
	other := g
	other.DbName = "Other"
	if a != b || a == FinalSnapshotIdentifier("db2", g) || a == FinalSnapshotIdentifier("db", other) {
		t.Errorf("snapshot names: %s %s", a, b)
	}
	// RDS: 1-255 letters, digits or hyphens, starting with a letter, no double or final hyphen.
	if !regexp.MustCompile(`^[a-z][a-z0-9-]{0,254}$`).MatchString(a) || strings.Contains(a, "--") || strings.HasSuffix(a, "-") {
		t.Errorf("%s is not a valid snapshot identifier", a)
	}
}
