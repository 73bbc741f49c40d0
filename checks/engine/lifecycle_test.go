package enginecheck

import (
	"sort"
	"strings"
	"testing"

	pkgresource "github.com/pulumi/pulumi/pkg/v3/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/meshtrace/meshtrace/pulumitest"
	"github.com/meshtrace/meshtrace/stacks"
)

// The stacks with a Pulumi.<stack>.yaml at the repository root.
var stackNames = []string{"dev", "prod"}

// stackConfig is the config of the real Pulumi.<stack>.yaml with the modes and extra
// overrides ("meshtrace:key" -> value).
func stackConfig(t *testing.T, stack string, modes stacks.Modes, extra map[string]string) map[string]string {
	t.Helper()
	overrides := modes.Overrides() // with App Mesh's acknowledgement (meshtrace:allowDiscontinuedAppMesh)
	for k, v := range extra {
		overrides[k] = v
	}
	cfg, err := pulumitest.StackConfigWith(stack, overrides)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestLifecycle deploys every stack in every mesh/tracing mode from empty state under the
// real engine, then asks the engine the questions a pull request asks.
func TestLifecycle(t *testing.T) {
	for _, stack := range stackNames {
		for _, modes := range stacks.AllModes() {
			t.Run(stack+"/"+modes.String(), func(t *testing.T) { lifecycle(t, stack, modes) })
		}
	}
}

func lifecycle(t *testing.T, stackName string, modes stacks.Modes) {
	cfg := stackConfig(t, stackName, modes, nil)
	s := NewStack(t, stackName, stacks.Run)
	up := s.Up(cfg)
	if up.Err != nil {
		t.Fatalf("up from empty state failed: %v\n%s", up.Err, strings.Join(up.Diags, "\n"))
	}
	for _, c := range up.Changes() {
		if c.Op != "create" {
			t.Errorf("up from empty state: %s %s, want only creates", c.Op, c.URN)
		}
	}

	if stackName == "prod" {
		// ec2.getRouteTables runs once awsx's VPC id is known: on a first up its route tables
		// exist by then, and the S3 gateway endpoint is on all of them (one per subnet).
		t.Run("the S3 gateway endpoint is on the VPC's route tables", func(t *testing.T) {
			s3 := s.Find("aws:ec2/vpcEndpoint:VpcEndpoint", "meshtrace-prod-s3")
			if s3 == nil {
				t.Fatal("no S3 gateway endpoint")
			}
			tables := s3.Outputs["routeTableIds"]
			if want := len(s.Cloud.liveOfType("aws:ec2/routeTable:RouteTable")); !tables.IsArray() || len(tables.ArrayValue()) != want || want != 4 {
				t.Errorf("S3 endpoint route tables %v, want the %d of the VPC", tables, want)
			}
		})
	}

	t.Run("up creates the mocks graph", func(t *testing.T) {
		s.T = t
		root, err := pulumitest.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		mocks, err := pulumitest.RunAt(root, stackName, cfg, stacks.Run)
		if err != nil {
			t.Fatalf("under mocks: %v", err)
		}
		want := map[string]bool{}
		for _, r := range mocks.Resources() {
			want[r.URN] = true
		}
		got := map[string]bool{}
		for _, urn := range s.ProgramURNs() {
			got[urn] = true
		}
		for _, urn := range sortedKeys(want) {
			if !got[urn] {
				t.Errorf("declared under mocks, not in the engine's state: %s", urn)
			}
		}
		for _, urn := range sortedKeys(got) {
			if !want[urn] {
				t.Errorf("in the engine's state, not declared under mocks: %s", urn)
			}
		}
		awsx := 0
		for _, r := range s.Resources() {
			if s.IsAwsxChild(r.URN) {
				awsx++
			}
		}
		if awsx == 0 {
			t.Errorf("the awsx components registered no children")
		}
		t.Logf("%d resources the program declared (same URNs as under mocks), %d inside the awsx components, %d in state with the stack and providers",
			len(got), awsx, len(s.Resources()))
	})

	t.Run("second preview is a no-op", func(t *testing.T) {
		s.T = t
		res := s.Preview(cfg)
		if res.Err != nil {
			t.Fatalf("preview failed: %v\n%s", res.Err, strings.Join(res.Diags, "\n"))
		}
		if changes := res.Changes(); len(changes) > 0 {
			t.Errorf("a preview right after up, with nothing changed, plans %d changes (a perpetual diff):\n%s"+
				"(If the property is one AWS fills in, a name or an attribute of a type new to the program, the fake may not know it yet: see autoname and awsOutputs in cloud.go.)",
				len(changes), res.Plan())
		}
		// (Events show secrets masked: compare with secrets masked on both sides.)
		if old := maskSecrets(s.stackOutputs()); res.StackOutputs != nil && !old.DeepEquals(maskSecrets(res.StackOutputs)) {
			t.Errorf("the stack outputs change with nothing changed:\nbefore: %v\nafter:  %v", old.Mappable(), res.StackOutputs.Mappable())
		}
	})

	t.Run("secrets stay secret in state", func(t *testing.T) {
		s.T = t
		secrets := s.SecretValues()
		if len(secrets) == 0 {
			t.Fatal("no secret in state to look for (the ECR credentials of the image builds should be)")
		}
		checkpoint, err := s.Checkpoint()
		if err != nil {
			t.Fatal(err)
		}
		for _, leak := range PlaintextLeaks(checkpoint, secrets) {
			t.Errorf("the checkpoint holds in plain text the secret of %s", leak.Where)
		}
		for _, leak := range s.OutputLeaks(secrets) {
			t.Errorf("stack outputs: %s", leak)
		}
		t.Logf("%d secret values looked for in a %d-byte checkpoint", len(secrets), len(checkpoint))
	})

	t.Run("tracingMode change plans only what it must", func(t *testing.T) {
		s.T = t
		other := modes
		other.Tracing = map[string]string{stacks.TracingXRayDaemon: stacks.TracingADOT, stacks.TracingADOT: stacks.TracingXRayDaemon}[modes.Tracing]
		otherCfg := stackConfig(t, stackName, other, nil)
		res := s.Preview(otherCfg)
		t.Logf("plan for tracingMode %s -> %s:\n%s", modes.Tracing, other.Tracing, res.Plan())
		if res.Err != nil {
			t.Fatalf("preview failed: %v\n%s", res.Err, strings.Join(res.Diags, "\n"))
		}
		assertOnlyTracingChanges(t, res.Changes())
		switchAndBack(t, s, res, otherCfg, cfg)
	})

	t.Run("meshMode change leaves the database and the VPC alone", func(t *testing.T) {
		s.T = t
		other := modes
		other.Mesh = map[string]string{stacks.MeshServiceConnect: stacks.MeshAppMesh, stacks.MeshAppMesh: stacks.MeshServiceConnect}[modes.Mesh]
		otherCfg := stackConfig(t, stackName, other, nil)
		res := s.Preview(otherCfg)
		t.Logf("plan for meshMode %s -> %s:\n%s", modes.Mesh, other.Mesh, res.Plan())
		if res.Err != nil {
			t.Fatalf("preview failed: %v\n%s", res.Err, strings.Join(res.Diags, "\n"))
		}
		assertUntouched(t, res.Changes(), "meshtrace:network:Network", "meshtrace:database:Database")
		switchAndBack(t, s, res, otherCfg, cfg)
	})

	if stackName == "prod" {
		t.Run("production data is protected", func(t *testing.T) { protectedData(t, s, cfg) })
	} else {
		t.Run("destroy leaves nothing", func(t *testing.T) {
			s.T = t
			res := s.Destroy(cfg)
			if res.Err != nil {
				t.Fatalf("destroy failed: %v\n%s", res.Err, strings.Join(res.Diags, "\n"))
			}
			if n := len(s.Resources()); n != 0 {
				t.Errorf("after destroy the state holds %d resources", n)
			}
			if n := s.Cloud.Live(); n != 0 {
				t.Errorf("after destroy %d resources still exist in the fake cloud", n)
			}
		})
	}
}

// switchAndBack applies a config change whose preview was planned: the update does no step
// the preview did not plan, the state it leaves previews as a no-op, and switching back
// leaves the fake cloud with as many resources as before (nothing orphaned).
func switchAndBack(t *testing.T, s *Stack, planned Result, otherCfg, cfg map[string]string) {
	t.Helper()
	live := s.Cloud.Live()
	plan := map[resource.URN]Step{}
	for _, c := range planned.Changes() {
		plan[c.URN] = c
	}
	applied := s.Up(otherCfg)
	if applied.Err != nil {
		t.Fatalf("up with the change failed: %v\n%s", applied.Err, strings.Join(applied.Diags, "\n"))
	}
	for _, c := range applied.Changes() {
		p, ok := plan[c.URN]
		switch {
		case !ok:
			t.Errorf("up did %s %s, which the preview did not plan", c.Op, c.URN)
		case c.Op == "replace" && p.Op != "replace":
			// (A preview may plan an update that turns out the same; a replacement it did not plan is a surprise.)
			t.Errorf("up replaced %s, which the preview planned as %s", c.URN, p.Op)
		}
	}
	if after := s.Preview(otherCfg); after.Err != nil || len(after.Changes()) > 0 {
		t.Errorf("after applying the change, a preview is not a no-op (err %v):\n%s", after.Err, after.Plan())
	}
	back := s.Up(cfg)
	if back.Err != nil {
		t.Fatalf("switching back failed: %v\n%s", back.Err, strings.Join(back.Diags, "\n"))
	}
	if now := s.Cloud.Live(); now != live {
		t.Errorf("after switching and back the fake cloud holds %d resources, %d before", now, live)
	}
}

// protectedData: in prod a config change that would replace the database, and destroy,
// are refused by the engine with a message that says how to proceed; the instance stays.
func protectedData(t *testing.T, s *Stack, cfg map[string]string) {
	s.T = t
	for _, r := range s.Resources() {
		if holdsData[string(r.Type)] && !r.Protect {
			t.Errorf("%s holds data and is not protected in prod", r.URN)
		}
	}
	db := only(t, s, "aws:rds/instance:Instance")
	if !db.Protect {
		// Go on: the engine's answers below show what that means.
		t.Errorf("prod database %s is not protected: a replacement or destroy would delete it", db.URN)
	}
	t.Logf("prod database %s: protect=%v retainOnDelete=%v", db.URN.Name(), db.Protect, db.RetainOnDelete)
	id := db.ID

	// dbName is fixed at creation (ForceNew): changing it asks for a new instance.
	changed := map[string]string{}
	for k, v := range cfg {
		changed[k] = v
	}
	changed[stacks.Namespace+":dbName"] = "OtherWarehouse"

	preview := s.Preview(changed)
	t.Logf("preview of meshtrace:dbName -> OtherWarehouse:\n%s%s", preview.Plan(), strings.Join(preview.Diags, "\n"))
	assertRefused(t, "preview of a database replacement", preview, "unable to replace", db.URN)

	up := s.Up(changed)
	assertRefused(t, "up with a database replacement", up, "unable to replace", db.URN)
	if now := only(t, s, "aws:rds/instance:Instance"); now.ID != id {
		t.Errorf("the database was replaced: id %s -> %s", id, now.ID)
	}

	destroy := s.Destroy(cfg)
	t.Logf("destroy: %s", strings.Join(destroy.Diags, "\n"))
	assertRefused(t, "destroy", destroy, "cannot be deleted", db.URN)
	if now := only(t, s, "aws:rds/instance:Instance"); now.ID != id {
		t.Errorf("destroy deleted the database: id %s -> %s", id, now.ID)
	}
	var left []string
	for _, r := range s.Resources() {
		left = append(left, string(r.Type)+" "+r.URN.Name())
	}
	t.Logf("after the refused destroy, %d resources exist in the fake cloud; the state holds:\n  %s", s.Cloud.Live(), strings.Join(left, "\n  "))
	for _, r := range s.Resources() {
		if r.Type == "aws:rds/instance:Instance" && r.ID == id {
			return
		}
	}
	t.Errorf("the database %s left the state", id)
}

// holdsData lists the resource types whose deletion loses data: in prod each must be protected.
var holdsData = map[string]bool{
	"aws:rds/instance:Instance":     true,
	"aws:rds/cluster:Cluster":       true,
	"aws:s3/bucket:Bucket":          true,
	"aws:s3/bucketV2:BucketV2":      true,
	"aws:dynamodb/table:Table":      true,
	"aws:efs/fileSystem:FileSystem": true,
}

// assertRefused checks that an operation failed on a protected resource, saying so and how
// to proceed (the engine's message names the `protect` flag).
func assertRefused(t *testing.T, what string, res Result, verb string, urn resource.URN) {
	t.Helper()
	if res.Err == nil {
		t.Errorf("%s succeeded; want it refused for the protected %s", what, urn)
		return
	}
	msg := strings.Join(res.Diags, "\n") + "\n" + res.Err.Error()
	protected := strings.Contains(msg, "marked for protection") || strings.Contains(msg, "because it is protected")
	if !strings.Contains(msg, verb) || !strings.Contains(msg, string(urn)) || !protected || !strings.Contains(msg, "remove the `protect` flag") {
		t.Errorf("%s failed, but not with the engine's protection message for %s (%q, protected, and how to unprotect):\n%s", what, urn, verb, msg)
	}
}

// assertUntouched fails for every change under a component of one of these types.
func assertUntouched(t *testing.T, changes []Step, componentTypes ...string) {
	t.Helper()
	for _, c := range changes {
		for _, ct := range componentTypes {
			if under(c.URN, ct) {
				t.Errorf("%s %s (under %s)", c.Op, c.URN, ct)
			}
		}
	}
}

// assertOnlyTracingChanges fails unless a tracing change touches the tasks (their sidecars),
// the services that run them, and nothing but those, the roles' policies and the tracing
// component's own resources: not the network, not the database.
func assertOnlyTracingChanges(t *testing.T, changes []Step) {
	t.Helper()
	assertUntouched(t, changes, "meshtrace:network:Network", "meshtrace:database:Database")
	assertChanges(t, changes, "aws:ecs/taskDefinition:TaskDefinition", "aws:ecs/service:Service")
	for _, c := range changes {
		switch {
		case c.Type == "aws:ecs/taskDefinition:TaskDefinition", c.Type == "aws:ecs/service:Service",
			c.Type == "aws:iam/rolePolicy:RolePolicy", under(c.URN, "meshtrace:xray:Tracing"):
		default:
			t.Errorf("%s %s: not something tracing is made of", c.Op, c.URN)
		}
	}
}

// under reports whether urn is a component of this type or a resource inside one.
func under(urn resource.URN, componentType string) bool {
	qt := string(urn.QualifiedType())
	return qt == componentType || strings.HasPrefix(qt, componentType+"$")
}

// assertChanges fails unless every one of these resource types has a change.
func assertChanges(t *testing.T, changes []Step, types ...string) {
	t.Helper()
	for _, typ := range types {
		n := 0
		for _, c := range changes {
			if c.Type == typ {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no %s changes", typ)
		}
	}
}

func only(t *testing.T, s *Stack, typ string) *pkgresource.State {
	t.Helper()
	var found []*pkgresource.State
	for _, r := range s.Resources() {
		if string(r.Type) == typ && !r.Delete {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s in state, have %d", typ, len(found))
	}
	return found[0]
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// maskSecrets replaces every secret value by the same placeholder.
func maskSecrets(m resource.PropertyMap) resource.PropertyMap {
	var mask func(v resource.PropertyValue) resource.PropertyValue
	mask = func(v resource.PropertyValue) resource.PropertyValue {
		switch {
		case v.IsSecret():
			return resource.NewStringProperty("[secret]")
		case v.IsObject():
			return resource.NewObjectProperty(maskSecrets(v.ObjectValue()))
		case v.IsArray():
			var out []resource.PropertyValue
			for _, e := range v.ArrayValue() {
				out = append(out, mask(e))
			}
			return resource.NewArrayProperty(out)
		}
		return v
	}
	out := resource.PropertyMap{}
	for k, v := range m {
		out[k] = mask(v)
	}
	return out
}
