package services

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/mesh"
	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/pulumitest"
)

func TestArgsRejectMissingAndConflictingInputs(t *testing.T) {
	base := func() ServiceArgs {
		return ServiceArgs{
			ClusterArn: pulumi.String("c"), VpcId: pulumi.String("v"), SubnetIds: pulumi.StringArray{},
			Image: pulumi.String("nginx:1"), Mesh: &mesh.ServiceConnect{},
		}
	}
	cases := map[string]func(a *ServiceArgs){
		"ClusterArn, VpcId and SubnetIds":  func(a *ServiceArgs) { a.ClusterArn = nil },
		"exactly one of Image and Build":   func(a *ServiceArgs) { a.Build = &ImageBuild{Context: "."} },
		"exactly one of Image and Build ":  func(a *ServiceArgs) { a.Image = nil },
		"Build.Context":                    func(a *ServiceArgs) { a.Image = nil; a.Build = &ImageBuild{} },
		"Mesh is required":                 func(a *ServiceArgs) { a.Mesh = nil },
		"Public needs PublicSubnetIds":     func(a *ServiceArgs) { a.Public = true },
		"not a TCP port":                   func(a *ServiceArgs) { a.Port = 70000 },
		"must not be negative":             func(a *ServiceArgs) { a.DesiredCount = -1 },
		"MinCount (3) <= DesiredCount (2)": func(a *ServiceArgs) { a.MinCount, a.DesiredCount = 3, 2 },
		"DesiredCount (5) <= MaxCount (4)": func(a *ServiceArgs) { a.DesiredCount, a.MaxCount = 5, 4 },
		"ScaleInCooldown (60 s) must be longer": func(a *ServiceArgs) {
			a.Scaling = &Scaling{ScaleOutCooldown: 60, ScaleInCooldown: 60}
		},
		"CPUPercent must be in (0, 100]": func(a *ServiceArgs) { a.Scaling = &Scaling{CPUPercent: 150} },
		"both in Environment and in Secrets": func(a *ServiceArgs) {
			a.Environment = map[string]pulumi.StringInput{"TOKEN": pulumi.String("x")}
			a.Secrets = []SecretEnv{{Name: "TOKEN", SecretArn: pulumi.String("arn")}}
		},
	}
	for want, mutate := range cases {
		a := base()
		mutate(&a)
		if _, err := a.withDefaults("svc", "team-dev"); err == nil || !strings.Contains(err.Error(), strings.TrimSpace(want)) {
			t.Errorf("%s: got %v", want, err)
		}
	}
	a := base()
	d, err := a.withDefaults("svc", "team-dev")
	if err != nil || d.Port != 8080 || d.HealthCheckPath != "/healthz" || d.Cpu != 256 || d.Memory != 512 || d.DesiredCount != 1 || d.LogGroupName != "/ecs/team-dev/svc" || d.Family != "team-dev-svc" || d.DiscoveryName != "svc" {
		t.Errorf("defaults %+v %v", d, err)
	}
	if d.MinCount != 1 || d.MaxCount != 2 || d.Scaling.CPUPercent != DefaultCPUPercent || d.Scaling.ScaleInCooldown <= d.Scaling.ScaleOutCooldown || d.AlarmThresholds == nil {
		t.Errorf("scaling defaults: min %d max %d scaling %+v", d.MinCount, d.MaxCount, d.Scaling)
	}
}

func TestAssembleContainersMergesPartsAndRefusesConflicts(t *testing.T) {
	app := appSpec{Image: "img:1", Port: 8080, Environment: map[string]string{"A": "1"}, LogGroup: "/g", Region: "eu-west-1", Readonly: true}
	sidecar := taskspec.ContainerDefinition{Name: "side", Image: "side:1"}
	part := taskspec.Part{
		Sidecars:       []taskspec.ContainerDefinition{sidecar},
		AppEnvironment: []taskspec.KeyValuePair{{Name: "B", Value: "2"}},
		AppDependsOn:   []taskspec.ContainerDependency{{ContainerName: "side", Condition: "START"}},
	}
	cs, err := assembleContainers(app, part)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name != AppContainerName || len(cs[0].Environment) != 2 || cs[1].LogConfiguration.Options["awslogs-stream-prefix"] != "side" {
		t.Errorf("containers %+v", cs)
	}
	if *cs[0].ReadonlyRootFilesystem != true {
		t.Error("app root filesystem writable")
	}

	clash := part
	clash.AppEnvironment = []taskspec.KeyValuePair{{Name: "A", Value: "other"}}
	if _, err := assembleContainers(app, clash); err == nil || !strings.Contains(err.Error(), "environment variable A") {
		t.Errorf("env clash: %v", err)
	}
	dangling := part
	dangling.AppDependsOn = []taskspec.ContainerDependency{{ContainerName: "ghost", Condition: "START"}}
	if _, err := assembleContainers(app, dangling); err == nil || !strings.Contains(err.Error(), "ghost") {
		t.Errorf("dangling dependency: %v", err)
	}
	twice := part
	twice.Sidecars = []taskspec.ContainerDefinition{{Name: AppContainerName, Image: "x"}}
	twice.AppDependsOn = nil
	if _, err := assembleContainers(app, twice); err == nil || !strings.Contains(err.Error(), "two containers") {
		t.Errorf("duplicate name: %v", err)
	}
}

func TestEcrRepositoryArnOnlyForPrivateECR(t *testing.T) {
	cases := map[string]string{
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/orders:1.0":                          "arn:aws:ecr:eu-west-1:123456789012:repository/team/orders",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@sha256:" + strings.Repeat("a", 64): "arn:aws:ecr:us-east-1:123456789012:repository/orders",
		"public.ecr.aws/nginx/nginx:1.27":                                                       "",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/envoy":                             "arn:aws:ecr:us-east-1:123456789012:repository/mirror/envoy",
		"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/orders:2":                             "arn:aws-cn:ecr:cn-north-1:123456789012:repository/orders",
		"ghcr.io/acme/orders:2":                                                                 "",
	}
	for image, want := range cases {
		if got := ecrRepositoryArn(image); got != want {
			t.Errorf("%s: %q, want %q", image, got, want)
		}
	}
}

func TestPoliciesAreMinimal(t *testing.T) {
	doc := executionPolicyDocument("arn:lg", []string{"public.ecr.aws/nginx/nginx:1.27"}, nil, "")
	if len(doc.Statement) != 1 || doc.Statement[0].Resource[0] != "arn:lg:*" {
		t.Errorf("public image, no secrets: %+v", doc)
	}
	cached := "123456789012.dkr.ecr.us-east-1.amazonaws.com/cache/xray/aws-xray-daemon:3.3.13"
	doc = executionPolicyDocument("arn:lg", []string{cached}, nil, "arn:aws:ecr:us-east-1:123456789012:repository/cache/*")
	b, _ := json.Marshal(doc)
	for _, want := range []string{`"Resource":["arn:aws:ecr:us-east-1:123456789012:repository/cache/*"]`, "ecr:GetAuthorizationToken", "ecr:BatchImportUpstreamImage",
		"ecr:CreateRepository", `"ecr:BatchGetImage"],"Resource":["arn:aws:ecr:us-east-1:123456789012:repository/cache/xray/aws-xray-daemon"]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("pull-through cache: missing %s in %s", want, b)
		}
	}
	// Two containers of one repository, one of another: each repository once.
	doc = executionPolicyDocument("arn:lg", []string{"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/envoy"}, []string{"arn:s1"}, "")
	b, _ = json.Marshal(doc)
	for _, want := range []string{`"Resource":["arn:aws:ecr:us-east-1:123456789012:repository/app","arn:aws:ecr:us-east-1:123456789012:repository/mirror/envoy"]`,
		`"Resource":["arn:s1"]`, "ecr:GetAuthorizationToken"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("missing %s in %s", want, b)
		}
	}
	if d := taskPolicyDocument(nil); d.Statement[0].Effect != "Deny" {
		t.Errorf("empty task policy should deny: %+v", d)
	}
}

func TestServiceFromImageURIDeclaresNoRepositoryAndNoLoadBalancer(t *testing.T) {
	m, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		sc, err := mesh.NewServiceConnect(ctx, "mesh", &mesh.ServiceConnectArgs{NamespaceArn: pulumi.String("arn:ns")})
		if err != nil {
			return err
		}
		_, err = NewService(ctx, "worker", &ServiceArgs{
			ClusterArn: pulumi.String("arn:cluster"), VpcId: pulumi.String("vpc-1"), SubnetIds: pulumi.ToStringArray([]string{"s-1"}),
			Image: pulumi.String("public.ecr.aws/acme/worker:3"), Mesh: sc,
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{"aws:ecr/repository:Repository", "awsx:ecr:Image", "aws:lb/loadBalancer:LoadBalancer"} {
		if len(m.ByType(token)) != 0 {
			t.Errorf("declared %s", token)
		}
	}
	exec, _ := m.Find("aws:iam/rolePolicy:RolePolicy", "worker-execution")
	if strings.Contains(exec.Plain()["policy"].(string), "ecr:") {
		t.Errorf("public image but ECR permissions: %s", exec.Plain()["policy"])
	}
	for _, r := range m.Resources() {
		if r.Custom && !strings.Contains(r.Parent, "meshtrace:services:Service::worker") {
			t.Errorf("%s %s not parented to the service", r.Type, r.Name)
		}
	}
}

// A team may bring its own roles (nothing created, the ARNs used as they are, the policies
// they need exported) and an image that writes to its root filesystem.
func TestBringYourOwnRolesAndAWritableRootFilesystem(t *testing.T) {
	var required []string
	m, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		sc, err := mesh.NewServiceConnect(ctx, "mesh", &mesh.ServiceConnectArgs{NamespaceArn: pulumi.String("arn:ns")})
		if err != nil {
			return err
		}
		svc, err := NewService(ctx, "svc", &ServiceArgs{
			ClusterArn: pulumi.String("c"), VpcId: pulumi.String("v"), SubnetIds: pulumi.StringArray{},
			Image: pulumi.String("nginx:1"), Mesh: sc,
			TaskRoleArn:            pulumi.String("arn:aws:iam::123456789012:role/theirs-task"),
			ExecutionRoleArn:       pulumi.String("arn:aws:iam::123456789012:role/theirs-execution"),
			ReadonlyRootFilesystem: pulumi.BoolRef(false),
		})
		if err != nil {
			return err
		}
		// Exported, so that the run waits for it.
		ctx.Export("required", pulumi.All(svc.RequiredTaskRolePolicy, svc.RequiredExecutionRolePolicy).ApplyT(func(v []any) error {
			required = []string{v[0].(string), v[1].(string)}
			return nil
		}))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.ByType("aws:iam/role:Role")) + len(m.ByType("aws:iam/rolePolicy:RolePolicy")); n != 0 {
		t.Errorf("%d roles or policies created for roles brought by the caller", n)
	}
	td, _ := m.Find("aws:ecs/taskDefinition:TaskDefinition", "svc")
	in := td.Plain()
	if in["taskRoleArn"] != "arn:aws:iam::123456789012:role/theirs-task" || in["executionRoleArn"] != "arn:aws:iam::123456789012:role/theirs-execution" {
		t.Errorf("task definition roles %v %v", in["taskRoleArn"], in["executionRoleArn"])
	}
	if !strings.Contains(in["containerDefinitions"].(string), `"readonlyRootFilesystem":false`) {
		t.Errorf("root filesystem not writable: %s", in["containerDefinitions"])
	}
	if len(required) != 2 || !strings.Contains(required[1], "logs:PutLogEvents") {
		t.Errorf("required policies %v", required)
	}
}

// A public service exports its load balancer, listener, target group and security group, so
// a team can attach its own listeners and rules.
func TestAPublicServiceExportsItsLoadBalancerHandles(t *testing.T) {
	var got map[string]string
	_, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		sc, err := mesh.NewServiceConnect(ctx, "mesh", &mesh.ServiceConnectArgs{NamespaceArn: pulumi.String("arn:ns")})
		if err != nil {
			return err
		}
		svc, err := NewService(ctx, "web", &ServiceArgs{
			ClusterArn: pulumi.String("c"), VpcId: pulumi.String("v"), SubnetIds: pulumi.StringArray{},
			Image: pulumi.String("nginx:1"), Mesh: sc, Public: true, PublicSubnetIds: pulumi.StringArray{pulumi.String("p")},
		})
		if err != nil {
			return err
		}
		pulumi.All(svc.LoadBalancerArn, svc.LoadBalancerDnsName, svc.LoadBalancerSecurityGroupId, svc.ListenerArn,
			svc.TargetGroupArn, svc.TargetGroupArnSuffix, svc.LoadBalancerArnSuffix).ApplyT(func(v []any) error {
			got = map[string]string{"lb": v[0].(string), "dns": v[1].(string), "sg": v[2].(string), "listener": v[3].(string),
				"tg": v[4].(string), "tgSuffix": v[5].(string), "lbSuffix": v[6].(string)}
			return nil
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"lb": ":loadbalancer/app/web/", "dns": ".elb.amazonaws.com", "sg": "web-alb-id",
		"listener": ":listener/app/web/", "tg": ":targetgroup/web/", "tgSuffix": "targetgroup/web/", "lbSuffix": "app/web/"} {
		if !strings.Contains(got[key], want) {
			t.Errorf("%s = %q, want it to contain %q", key, got[key], want)
		}
	}
}

// A build's tag is its sources' digest: the same sources give the same tag (no perpetual
// diff), any change a new one (an IMMUTABLE repository refuses a reused tag).
func TestTheImageTagIsTheSourcesDigest(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("app/main.go", "package main")
	write("notes.txt", "not a source")
	first, err := sourceTag(root, []string{"app"})
	if err != nil || !strings.HasPrefix(first, "src-") || len(first) != len("src-")+16 {
		t.Fatalf("tag %q %v", first, err)
	}
	write("notes.txt", "changed, but not a source")
	if again, _ := sourceTag(root, []string{"app"}); again != first {
		t.Errorf("tag changed without a source change: %s -> %s", first, again)
	}
	write("app/main.go", "package main // changed")
	if changed, _ := sourceTag(root, []string{"app"}); changed == first {
		t.Errorf("tag %s kept after a source change", first)
	}
	if _, err := sourceTag(root, []string{"missing"}); err == nil {
		t.Error("a missing source was accepted")
	}
}

// With AwsEgress the tasks' 443 goes to the endpoints' group and S3's prefix list, not to
// 0.0.0.0/0; the service waits for both rules.
func TestAwsEgressReplacesHTTPSToAnywhere(t *testing.T) {
	m, err := pulumitest.Run("test", nil, func(ctx *pulumi.Context) error {
		sc, err := mesh.NewServiceConnect(ctx, "mesh", &mesh.ServiceConnectArgs{NamespaceArn: pulumi.String("arn:ns")})
		if err != nil {
			return err
		}
		_, err = NewService(ctx, "worker", &ServiceArgs{
			ClusterArn: pulumi.String("arn:cluster"), VpcId: pulumi.String("vpc-1"), SubnetIds: pulumi.ToStringArray([]string{"s-1"}),
			Image: pulumi.String("public.ecr.aws/acme/worker:3"), Mesh: sc,
			AwsEgress: &AwsEgress{SecurityGroupId: pulumi.String("sg-endpoints"), PrefixListId: pulumi.String("pl-s3")},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	const egress = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	to := map[string]string{}
	for _, r := range m.ByType(egress) {
		in := r.Plain()
		if in["cidrIpv4"] != nil {
			t.Errorf("%s: egress to %v", r.Name, in["cidrIpv4"])
		}
		if in["fromPort"] == 443.0 {
			to[r.Name] = fmt.Sprint(in["referencedSecurityGroupId"], in["prefixListId"])
		}
	}
	if to["worker-https-out"] != "sg-endpoints<nil>" || to["worker-s3-out"] != "<nil>pl-s3" {
		t.Errorf("443 egress %v", to)
	}
	svc, _ := m.Find("aws:ecs/service:Service", "worker")
	for _, name := range []string{"worker-https-out", "worker-s3-out"} {
		r, _ := m.Find(egress, name)
		if !slices.Contains(svc.Dependencies, r.URN) {
			t.Errorf("the service does not wait for %s", name)
		}
	}
}
