package stacks

import (
	"errors"
	"strings"
	"testing"
)

// withCertificate adds an HTTPS certificate, which a prod stack needs (or allowPlainHttp).
func withCertificate(raw map[string]string) map[string]string {
	out := map[string]string{"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f"}
	for k, v := range raw {
		out[k] = v
	}
	return out
}

func TestConfigDefaultsPerEnvironment(t *testing.T) {
	dev, err := Parse("dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := Parse("prod", withCertificate(nil))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what      string
		dev, prod any
		wantDev   any
		wantProd  any
	}{
		{"environment", dev.Environment, prod.Environment, "dev", "prod"},
		{"meshMode", dev.MeshMode, prod.MeshMode, MeshServiceConnect, MeshServiceConnect},
		{"tracingMode", dev.TracingMode, prod.TracingMode, TracingADOT, TracingADOT},
		{"allowXRayEndOfSupport", dev.AllowXRayEndOfSupport, prod.AllowXRayEndOfSupport, false, false},
		{"natGateways", dev.NatGateways, prod.NatGateways, "single", "onePerAz"},
		{"dbMultiAz", dev.Database.MultiAZ, prod.Database.MultiAZ, false, true},
		{"dbDeletionProtection", dev.Database.DeletionProtection, prod.Database.DeletionProtection, false, true},
		{"desiredCount", dev.Products.DesiredCount, prod.Products.DesiredCount, 1, 2},
		{"desiredCount payments", dev.Payments.DesiredCount, prod.Payments.DesiredCount, 1, 2},
		{"dbName", dev.Database.Name, prod.Database.Name, "DataWarehouseX", "DataWarehouseX"},
		{"logRetentionDays", dev.LogRetentionDays, prod.LogRetentionDays, 7, 90},
		{"samplingFixedRate", dev.SamplingFixedRate, prod.SamplingFixedRate, 0.05, 0.05},
		{"samplingReservoir", dev.SamplingReservoir, prod.SamplingReservoir, 1, 1},
		{"vpcFlowLogs", dev.Hardening.FlowLogs, prod.Hardening.FlowLogs, false, true},
		{"vpcEndpoints", dev.Hardening.VpcEndpoints, prod.Hardening.VpcEndpoints, false, true},
	}
	for _, c := range checks {
		if c.dev != c.wantDev || c.prod != c.wantProd {
			t.Errorf("%s: dev=%v prod=%v, want dev=%v prod=%v", c.what, c.dev, c.prod, c.wantDev, c.wantProd)
		}
	}
}

func TestConfigEnvironmentFollowsStackNameUnlessSet(t *testing.T) {
	for stack, want := range map[string]string{"prod": "prod", "prod-eu": "prod", "dev": "dev", "alice": "dev"} {
		c, err := Parse(stack, withCertificate(nil))
		if err != nil || c.Environment != want {
			t.Errorf("stack %s: environment %q (%v), want %q", stack, c.Environment, err, want)
		}
	}
	c, err := Parse("staging", withCertificate(map[string]string{"environment": "prod"}))
	if err != nil || !c.Database.MultiAZ {
		t.Errorf("environment=prod on stack staging should take prod defaults, got MultiAZ=%v (%v)", c.Database.MultiAZ, err)
	}
}

func TestConfigAcceptsGoodValues(t *testing.T) {
	good := map[string]string{
		"meshMode":              "appmesh",
		"tracingMode":           "xray-daemon",
		"vpcCidr":               "172.20.0.0/20",
		"natGateways":           "onePerAz",
		"namespace":             "internal.example",
		"logRetentionDays":      "365",
		"dbInstanceClass":       "db.r6g.xlarge",
		"dbEngineVersion":       "16.4",
		"dbAllocatedStorageGb":  "50",
		"dbMultiAz":             "true",
		"dbBackupRetentionDays": "35",
		"dbDeletionProtection":  "true",
		"dbName":                "warehouse_1",
		"dbUsername":            "app_user",
		"taskCpu":               "1024",
		"taskMemory":            "3072",
		"desiredCount":          "3",
		"productsMaxCount":      "4",
		"paymentsMaxCount":      "3",
		"productsImage":         "123456789012.dkr.ecr.eu-west-1.amazonaws.com/products:1.2.3",
		"paymentsImage":         "ghcr.io/acme/payments@sha256:" + strings.Repeat("a", 64),
		"samplingFixedRate":     "1",
		"samplingReservoir":     "0",
		"vpcEndpoints":          "true",
		// appmesh is accepted with the acknowledgement, and xray-daemon after 2027-02-25.
		"allowDiscontinuedAppMesh": "true",
		"allowXRayEndOfSupport":    "true",
	}
	c, err := Parse("dev", good)
	if err != nil {
		t.Fatal(err)
	}
	if c.MeshMode != MeshAppMesh || c.TracingMode != TracingXRayDaemon || c.Products.Cpu != 1024 || c.Payments.Memory != 3072 ||
		c.Products.Image == "" || c.Payments.Image == "" || c.Database.EngineVersion != "16.4" || c.VpcCidr != "172.20.0.0/20" ||
		!c.Hardening.VpcEndpoints || !c.AllowXRayEndOfSupport {
		t.Errorf("values not applied: %+v", c)
	}
}

// Every rule: a bad value is rejected with a message naming the key and what it accepts.
func TestConfigRejectsBadValues(t *testing.T) {
	cases := []struct {
		key, value string
		wantInMsg  string
	}{
		{"environment", "staging", "dev | prod"},
		{"meshMode", "istio", "serviceconnect | appmesh"},
		{"meshMode", "", "serviceconnect | appmesh"},
		{"tracingMode", "jaeger", "adot | xray-daemon"},
		{"allowXRayEndOfSupport", "maybe", "true | false"},
		{"vpcCidr", "10.0.0.0", "IPv4 CIDR"},
		{"vpcCidr", "10.0.0.300/16", "does not parse"},
		{"vpcCidr", "10.0.0.0/26", "outside /16 to /24"},
		{"vpcCidr", "10.0.0.0/8", "outside /16 to /24"},
		{"vpcCidr", "10.0.1.0/16", "host bits"},
		{"vpcCidr", "fd00::/48", "IPv4"},
		{"natGateways", "none", "single | onePerAz"},
		{"vpcEndpoints", "yes", "true | false"},
		{"namespace", "local", "DNS name"},
		{"namespace", "Mesh.Local", "DNS name"},
		{"logRetentionDays", "10", "CloudWatch retention"},
		{"logRetentionDays", "0", "CloudWatch retention"},
		{"logRetentionDays", "seven", "not an integer"},
		{"dbInstanceClass", "t4g.micro", "RDS instance class"},
		{"dbInstanceClass", "db.t4g", "RDS instance class"},
		{"dbEngineVersion", "sixteen", "major or major.minor"},
		{"dbEngineVersion", "9.6", "not supported"},
		{"dbEngineVersion", "16.4.1", "major or major.minor"},
		{"dbAllocatedStorageGb", "5", "20 to 65536"},
		{"dbMultiAz", "yes", "true | false"},
		{"dbBackupRetentionDays", "0", "1 to 35"},
		{"dbBackupRetentionDays", "36", "1 to 35"},
		{"dbDeletionProtection", "maybe", "true | false"},
		{"dbName", "1warehouse", "letter"},
		{"dbName", "data-warehouse", "letter"},
		{"dbUsername", "rdsadmin", "reserved"},
		{"taskCpu", "300", "Fargate CPU"},
		{"taskMemory", "100", "MiB"},
		{"desiredCount", "0", "1 to 100"},
		{"desiredCount", "-2", "1 to 100"},
		{"productsImage", "products latest", "image URI"},
		{"paymentsImage", "payments", "image URI"},
		{"samplingFixedRate", "1.5", "0 to 1"},
		{"samplingFixedRate", "-0.1", "0 to 1"},
		{"samplingFixedRate", "NaN", "0 to 1"},
		{"samplingFixedRate", "+Inf", "0 to 1"},
		{"allowDiscontinuedAppMesh", "yes please", "true | false"},
		{"samplingReservoir", "-1", "0 to 100000"},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			_, err := Parse("dev", map[string]string{c.key: c.value})
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("accepted %s=%q", c.key, c.value)
			}
			msg := err.Error()
			if !strings.Contains(msg, "meshtrace:"+c.key) || !strings.Contains(msg, c.wantInMsg) {
				t.Errorf("message does not name the key and %q:\n%s", c.wantInMsg, msg)
			}
		})
	}
}

func TestConfigRejectsMemoryFargateDoesNotPairWithCpu(t *testing.T) {
	for _, pair := range [][2]string{{"256", "4096"}, {"512", "512"}, {"1024", "1024"}, {"4096", "4096"}} {
		_, err := Parse("dev", map[string]string{"taskCpu": pair[0], "taskMemory": pair[1]})
		if err == nil || !strings.Contains(err.Error(), "not a Fargate size for meshtrace:taskCpu = "+pair[0]) {
			t.Errorf("cpu %s memory %s: got %v", pair[0], pair[1], err)
		}
	}
	if _, err := Parse("dev", map[string]string{"taskCpu": "2048", "taskMemory": "16384"}); err != nil {
		t.Errorf("2048/16384 is a Fargate pair: %v", err)
	}
}

func TestConfigRejectsUnknownKeysAndReportsAllProblems(t *testing.T) {
	_, err := Parse("dev", map[string]string{"meshmode": "appmesh", "desiredCount": "0", "tracingMode": "zipkin"})
	if err == nil {
		t.Fatal("accepted a misspelt key")
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	if !strings.Contains(err.Error(), "meshtrace:meshmode is not a meshtrace key") {
		t.Errorf("unknown key not named: %v", err)
	}
}

// A bad value fails the program before any resource is declared.
func TestBadConfigDeclaresNothing(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		mocks, err := runStackErr(stack, map[string]string{"meshtrace:meshMode": "linkerd"})
		if err == nil || !strings.Contains(err.Error(), "meshtrace:meshMode") {
			t.Fatalf("%s: want a config error naming meshtrace:meshMode, got %v", stack, err)
		}
		if n := len(mocks.Resources()); n != 0 {
			t.Errorf("%s: %d resources declared despite bad config", stack, n)
		}
	}
}

// The checked-in stack files hold only known keys with valid values.
func TestStackFilesAreValid(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		if _, err := runStackErr(stack, nil); err != nil {
			t.Errorf("Pulumi.%s.yaml: %v", stack, err)
		}
	}
}

// App Mesh cannot deploy since its discontinuation: the mode is refused before anything is
// declared unless the config acknowledges it, and the message says why and what to do.
func TestAppMeshIsRefusedWithoutTheAcknowledgement(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		_, err := Parse(stack, map[string]string{"meshMode": "appmesh"})
		if err == nil {
			t.Fatalf("%s: appmesh accepted without meshtrace:allowDiscontinuedAppMesh", stack)
		}
		for _, want := range []string{"meshtrace:meshMode", "discontinued on 2026-09-30", "half a stack", "meshtrace:allowDiscontinuedAppMesh: true", `"serviceconnect"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: message lacks %q: %v", stack, want, err)
			}
		}
		if _, err := Parse(stack, map[string]string{"meshMode": "appmesh", "allowDiscontinuedAppMesh": "false"}); err == nil {
			t.Errorf("%s: appmesh accepted with allowDiscontinuedAppMesh false", stack)
		}
		c, err := Parse(stack, withCertificate(map[string]string{"meshMode": "appmesh", "allowDiscontinuedAppMesh": "true"}))
		if err != nil || c.MeshMode != MeshAppMesh {
			t.Errorf("%s: appmesh with the acknowledgement: %v", stack, err)
		}
	}
	// Under the mocks, too: the program declares nothing.
	m, err := runStackErr("dev", map[string]string{Namespace + ":meshMode": MeshAppMesh})
	if err == nil || !strings.Contains(err.Error(), "discontinued") {
		t.Errorf("the program ran with appmesh and no acknowledgement: %v", err)
	}
	if n := len(m.Resources()); n != 0 {
		t.Errorf("%d resources declared before the refusal", n)
	}
}

// products' pools, at the height of a rolling deployment, must fit the instance's
// max_connections; the refusal names the keys.
func TestConfigRefusesPoolsTheDatabaseCannotHold(t *testing.T) {
	if n, ok := MaxConnections("db.t4g.micro"); !ok || n < 50 || n > 112 {
		t.Errorf("db.t4g.micro max_connections %d %v", n, ok)
	}
	if m, _ := MaxConnections("db.m7g.large"); m < 700 || m > 860 {
		t.Errorf("db.m7g.large max_connections %d", m)
	}
	if r, _ := MaxConnections("db.r6g.large"); r <= 0 {
		t.Errorf("db.r6g.large unknown")
	}
	// Autoscaling may reach maxCount: that is what must fit, whatever desiredCount is.
	_, err := Parse("dev", map[string]string{"productsMaxCount": "20", "dbMaxConnsPerTask": "10"})
	if err == nil {
		t.Fatal("20 tasks x 10 connections accepted on db.t4g.micro")
	}
	for _, want := range []string{"meshtrace:dbMaxConnsPerTask = 10", "meshtrace:productsMaxCount = 20", "meshtrace:dbInstanceClass = db.t4g.micro", "440 connections"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if _, err := Parse("dev", map[string]string{"productsMaxCount": "20", "dbMaxConnsPerTask": "10", "dbInstanceClass": "db.m7g.large"}); err != nil {
		t.Errorf("a larger class should hold them: %v", err)
	}
	_, err = Parse("dev", map[string]string{"dbInstanceClass": "db.z9q.large"})
	if err == nil || !strings.Contains(err.Error(), "max_connections is unknown") {
		t.Errorf("unknown class: %v", err)
	}
	for _, bad := range []string{"0", "101", "ten"} {
		if _, err := Parse("dev", map[string]string{"dbMaxConnsPerTask": bad}); err == nil || !strings.Contains(err.Error(), "meshtrace:dbMaxConnsPerTask") {
			t.Errorf("dbMaxConnsPerTask=%s: %v", bad, err)
		}
	}
}

// A prod stack refuses dev-grade settings; each refusal names its key and rule, and the same
// values pass in dev.
func TestProdRefusesDevGradeSettings(t *testing.T) {
	cases := []struct{ key, value, want string }{
		{"dbDeletionProtection", "false", "meshtrace:dbDeletionProtection: must be true"},
		{"dbMultiAz", "false", "meshtrace:dbMultiAz: must be true"},
		{"dbBackupRetentionDays", "3", "meshtrace:dbBackupRetentionDays: must be at least 7"},
		{"desiredCount", "1", "meshtrace:desiredCount: must be at least 2"},
		{"vpcCidr", "100.64.0.0/16", "meshtrace:vpcCidr: must be private address space"},
		{"productsImage", "123456789012.dkr.ecr.us-east-1.amazonaws.com/products:1.2.3", "meshtrace:productsImage: must be pinned by digest"},
		{"paymentsImage", "ghcr.io/acme/payments:latest", "meshtrace:paymentsImage: must be pinned by digest"},
		{"envoyImage", "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.12.1-prod", "meshtrace:envoyImage: must be pinned by digest"},
		{"xrayDaemonImage", "public.ecr.aws/xray/aws-xray-daemon:3.3.13", "meshtrace:xrayDaemonImage: must be pinned by digest"},
		{"adotImage", "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3", "meshtrace:adotImage: must be pinned by digest"},
	}
	for _, c := range cases {
		_, err := Parse("prod", withCertificate(map[string]string{c.key: c.value}))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "in a prod stack") {
			t.Errorf("prod %s=%s: %v", c.key, c.value, err)
		}
		if _, err := Parse("dev", map[string]string{c.key: c.value}); err != nil && c.key != "vpcCidr" {
			t.Errorf("dev %s=%s refused: %v", c.key, c.value, err)
		}
	}
	digest := "@sha256:" + strings.Repeat("b", 64)
	if _, err := Parse("prod", withCertificate(map[string]string{"productsImage": "ghcr.io/acme/products" + digest, "adotImage": "ghcr.io/acme/adot" + digest})); err != nil {
		t.Errorf("digests refused: %v", err)
	}
	// A tag and its digest, as pinning tools write them: the digest pins it.
	if _, err := Parse("prod", withCertificate(map[string]string{"xrayDaemonImage": "public.ecr.aws/xray/aws-xray-daemon:3.3.14" + digest})); err != nil {
		t.Errorf("tag@digest refused: %v", err)
	}
	for _, bad := range []string{"public.ecr.aws/xray/aws-xray-daemon", "public.ecr.aws/xray/aws-xray-daemon@sha256:abc", "public.ecr.aws/xray/aws-xray-daemon" + digest + ":3.3"} {
		if _, err := Parse("dev", map[string]string{"xrayDaemonImage": bad}); err == nil || !strings.Contains(err.Error(), "xrayDaemonImage") {
			t.Errorf("image %s: %v, want refused", bad, err)
		}
	}
	// Plain HTTP in prod only when the config says so.
	_, err := Parse("prod", nil)
	if err == nil || !strings.Contains(err.Error(), "meshtrace:certificateArn: or domainName must be set") || !strings.Contains(err.Error(), "allowPlainHttp") {
		t.Errorf("prod without HTTPS: %v", err)
	}
	for _, ok := range []map[string]string{{"allowPlainHttp": "true"}, {"domainName": "shop.example.com", "hostedZoneId": "Z0123456789ABC"}} {
		if _, err := Parse("prod", ok); err != nil {
			t.Errorf("%v refused: %v", ok, err)
		}
	}
}

func TestEdgeKeysGoTogether(t *testing.T) {
	cases := []struct {
		raw  map[string]string
		want string
	}{
		{map[string]string{"domainName": "shop.example.com"}, "go together"},
		{map[string]string{"hostedZoneId": "Z0123456789ABC"}, "go together"},
		{map[string]string{"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x", "domainName": "a.example.com", "hostedZoneId": "Z1"}, "both set"},
		{map[string]string{"certificateArn": "arn:aws:iam::123456789012:server-certificate/x"}, "ACM certificate ARN"},
		{map[string]string{"hostedZoneId": "zone-1", "domainName": "shop.example.com"}, "hosted zone id"},
		{map[string]string{"wafRateLimit": "10"}, "100 to 2000000000"},
	}
	for _, c := range cases {
		if _, err := Parse("dev", c.raw); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.raw, err, c.want)
		}
	}
}
