package stacks

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/apps/contract"
	"github.com/meshtrace/meshtrace/components/naming"
	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/pulumitest"
)

// Resource type tokens the tests look at.
const (
	tRDS          = "aws:rds/instance:Instance"
	tSG           = "aws:ec2/securityGroup:SecurityGroup"
	tIngress      = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	tEgress       = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	tVpc          = "awsx:ec2:Vpc"
	tCluster      = "aws:ecs/cluster:Cluster"
	tTaskDef      = "aws:ecs/taskDefinition:TaskDefinition"
	tECSService   = "aws:ecs/service:Service"
	tRole         = "aws:iam/role:Role"
	tRolePolicy   = "aws:iam/rolePolicy:RolePolicy"
	tMesh         = "aws:appmesh/mesh:Mesh"
	tVirtualNode  = "aws:appmesh/virtualNode:VirtualNode"
	tVirtualSvc   = "aws:appmesh/virtualService:VirtualService"
	tRoute        = "aws:appmesh/route:Route"
	tLB           = "aws:lb/loadBalancer:LoadBalancer"
	tTargetGroup  = "aws:lb/targetGroup:TargetGroup"
	tLogGroup     = "aws:cloudwatch/logGroup:LogGroup"
	tSamplingRule = "aws:xray/samplingRule:SamplingRule"
	tXRayGroup    = "aws:xray/group:Group"
)

// system is one stack in one mode combination, run under mocks.
type system struct {
	stack  string
	prefix string // <project>-<stack>, the prefix of the stack's physical names
	modes  Modes
	m      *pulumitest.Mocks
}

// eachSystem runs fn for both stacks in all four mode combinations.
func eachSystem(t *testing.T, fn func(t *testing.T, s system)) {
	for _, stack := range []string{"dev", "prod"} {
		for _, modes := range AllModes() {
			t.Run(stack+"/"+modes.String(), func(t *testing.T) {
				prefix := naming.ForStack(Project, stack)
				fn(t, system{stack: stack, prefix: prefix, modes: modes, m: runStack(t, stack, modes.Overrides())})
			})
		}
	}
}

func (s system) get(t *testing.T, token, name string) map[string]any {
	t.Helper()
	r, ok := s.m.Find(token, name)
	if !ok {
		t.Fatalf("no %s named %s", token, name)
	}
	return r.Plain()
}

func (s system) containers(t *testing.T, service string) map[string]taskspec.ContainerDefinition {
	t.Helper()
	raw := s.get(t, tTaskDef, service)["containerDefinitions"].(string)
	var defs []taskspec.ContainerDefinition
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&defs); err != nil {
		t.Fatalf("%s container definitions: %v", service, err)
	}
	out := map[string]taskspec.ContainerDefinition{}
	for _, d := range defs {
		out[d.Name] = d
	}
	return out
}

// policies returns the parsed inline policies of a role, by the role's logical name.
func (s system) policy(t *testing.T, role string) taskspec.PolicyDocument {
	t.Helper()
	var doc taskspec.PolicyDocument
	if err := json.Unmarshal([]byte(s.get(t, tRolePolicy, role)["policy"].(string)), &doc); err != nil {
		t.Fatalf("policy %s: %v", role, err)
	}
	if doc.Version != taskspec.PolicyVersion || len(doc.Statement) == 0 {
		t.Fatalf("policy %s: bad document %+v", role, doc)
	}
	return doc
}

func env(c taskspec.ContainerDefinition) map[string]string {
	out := map[string]string{}
	for _, kv := range c.Environment {
		out[kv.Name] = kv.Value
	}
	return out
}

func str(v any) string { return fmt.Sprint(v) }

func TestDatabaseIsPrivateEncryptedAndRDSKeepsThePassword(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		m := runStack(t, stack, nil)
		db := only(t, m, tRDS).Plain()
		for key, want := range map[string]any{
			"engine": "postgres", "publiclyAccessible": false, "storageEncrypted": true,
			"manageMasterUserPassword": true, "dbName": "DataWarehouseX", "engineVersion": "16",
		} {
			if db[key] != want {
				t.Errorf("%s: rds %s = %v, want %v", stack, key, db[key], want)
			}
		}
		for _, forbidden := range []string{"password", "passwordWo"} {
			if _, ok := db[forbidden]; ok {
				t.Errorf("%s: rds has a %s input", stack, forbidden)
			}
		}
		if db["backupRetentionPeriod"].(float64) < 1 {
			t.Errorf("%s: backups not retained", stack)
		}
		prod := stack == "prod"
		if db["multiAz"] != prod || db["deletionProtection"] != prod || db["skipFinalSnapshot"] == prod {
			t.Errorf("%s: multiAz=%v deletionProtection=%v skipFinalSnapshot=%v", stack, db["multiAz"], db["deletionProtection"], db["skipFinalSnapshot"])
		}
		if _, hasFinal := db["finalSnapshotIdentifier"]; hasFinal != prod {
			t.Errorf("%s: finalSnapshotIdentifier present=%v", stack, hasFinal)
		}
	}
}

func TestDatabaseAdmitsOnlyItsClientGroupOn5432(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		dbSG := s.prefix + "-db-id"
		clients := s.prefix + "-db-clients-id"
		var rules int
		for _, r := range s.m.ByType(tIngress) {
			in := r.Plain()
			if in["securityGroupId"] != dbSG {
				continue
			}
			rules++
			if in["referencedSecurityGroupId"] != clients || in["fromPort"] != 5432.0 || in["toPort"] != 5432.0 {
				t.Errorf("db ingress %s: %v", r.Name, in)
			}
			if _, cidr := in["cidrIpv4"]; cidr {
				t.Errorf("db ingress %s opens a CIDR", r.Name)
			}
		}
		if rules != 1 {
			t.Errorf("%s: %d ingress rules on the db group, want 1", dbSG, rules)
		}
		// Only products carries the client group.
		for _, svc := range []string{ProductsName, PaymentsName} {
			groups := s.get(t, tECSService, svc)["networkConfiguration"].(map[string]any)["securityGroups"].([]any)
			has := slices.Contains(groups, any(clients))
			if has != (svc == ProductsName) {
				t.Errorf("%s carries the database client group: %v", svc, has)
			}
		}
	})
}

func TestNetworkHasPublicAndPrivateSubnetsInTwoAZs(t *testing.T) {
	for stack, nat := range map[string]string{"dev": "Single", "prod": "OnePerAz"} {
		vpc := only(t, runStack(t, stack, nil), tVpc).Plain()
		if vpc["numberOfAvailabilityZones"] != 2.0 {
			t.Errorf("%s: AZs = %v", stack, vpc["numberOfAvailabilityZones"])
		}
		var types []string
		for _, spec := range vpc["subnetSpecs"].([]any) {
			types = append(types, str(spec.(map[string]any)["type"]))
		}
		slices.Sort(types)
		if !slices.Equal(types, []string{"Private", "Public"}) {
			t.Errorf("%s: subnet types %v", stack, types)
		}
		if got := vpc["natGateways"].(map[string]any)["strategy"]; got != nat {
			t.Errorf("%s: NAT strategy %v, want %s", stack, got, nat)
		}
	}
}

func TestClusterHasContainerInsightsAndNamespace(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		c := only(t, s.m, tCluster).Plain()
		settings := c["settings"].([]any)
		if len(settings) != 1 || settings[0].(map[string]any)["name"] != "containerInsights" || settings[0].(map[string]any)["value"] != "enabled" {
			t.Errorf("settings %v", settings)
		}
		// Set in every mode (App Mesh's services do not enable Service Connect), so that
		// the composition has no mode switch.
		if _, hasDefaults := c["serviceConnectDefaults"]; !hasDefaults {
			t.Errorf("no serviceConnectDefaults in %s", s.modes.Mesh)
		}
		ns := only(t, s.m, "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace").Plain()
		if ns["name"] != "meshtrace.local" {
			t.Errorf("namespace %v", ns["name"])
		}
	})
}

func TestServicesRunPrivatelyWithRollbackAndSize(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		count := map[string]float64{"dev": 1, "prod": 2}[s.stack]
		for _, name := range []string{ProductsName, PaymentsName} {
			svc := s.get(t, tECSService, name)
			netcfg := svc["networkConfiguration"].(map[string]any)
			if netcfg["assignPublicIp"] != false || !slices.Equal(netcfg["subnets"].([]any), []any{"subnet-private-a", "subnet-private-b"}) {
				t.Errorf("%s network %v", name, netcfg)
			}
			cb := svc["deploymentCircuitBreaker"].(map[string]any)
			if cb["enable"] != true || cb["rollback"] != true {
				t.Errorf("%s circuit breaker %v", name, cb)
			}
			if svc["desiredCount"] != count || svc["launchType"] != "FARGATE" {
				t.Errorf("%s desiredCount %v launchType %v", name, svc["desiredCount"], svc["launchType"])
			}
			td := s.get(t, tTaskDef, name)
			if td["networkMode"] != "awsvpc" || !slices.Equal(td["requiresCompatibilities"].([]any), []any{"FARGATE"}) {
				t.Errorf("%s task definition %v %v", name, td["networkMode"], td["requiresCompatibilities"])
			}
			logs := s.get(t, tLogGroup, name)
			if logs["retentionInDays"] != map[string]float64{"dev": 7, "prod": 90}[s.stack] {
				t.Errorf("%s log retention %v", name, logs["retentionInDays"])
			}
		}
	})
}

func TestTaskContainersPerMode(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		appMesh := s.modes.Mesh == MeshAppMesh
		for _, name := range []string{ProductsName, PaymentsName} {
			cs := s.containers(t, name)
			app, tracer := cs["app"], cs["xray"]
			if tracer.Name == "" {
				t.Fatalf("%s: no tracing sidecar", name)
			}
			if want := map[string]string{TracingXRayDaemon: "xray", TracingADOT: "otel"}[s.modes.Tracing]; env(app)["TRACING"] != want {
				t.Errorf("%s: TRACING=%q, want %q in %s", name, env(app)["TRACING"], want, s.modes.Tracing)
			}
			if env(app)["AWS_XRAY_DAEMON_ADDRESS"] != "127.0.0.1:2000" {
				t.Errorf("%s: app daemon address %q", name, env(app)["AWS_XRAY_DAEMON_ADDRESS"])
			}
			if !slices.ContainsFunc(tracer.PortMappings, func(p taskspec.PortMapping) bool { return p.ContainerPort == 2000 && p.Protocol == "udp" }) {
				t.Errorf("%s: tracing sidecar lacks 2000/udp: %+v", name, tracer.PortMappings)
			}
			if !strings.Contains(tracer.Image, ":") || strings.HasSuffix(tracer.Image, ":latest") {
				t.Errorf("%s: tracing image not pinned: %s", name, tracer.Image)
			}
			wantUser := map[bool]string{true: "1337", false: ""}[appMesh]
			if tracer.User != wantUser {
				t.Errorf("%s: tracing sidecar user %q, want %q", name, tracer.User, wantUser)
			}
			if s.modes.Tracing == TracingADOT {
				cfg := env(tracer)["AOT_CONFIG_CONTENT"]
				if !strings.Contains(tracer.Image, "aws-otel-collector") || !strings.Contains(cfg, "awsxray:") || !strings.Contains(cfg, "otlp:") {
					t.Errorf("%s: ADOT sidecar %s config %q", name, tracer.Image, cfg)
				}
			} else if !strings.Contains(tracer.Image, "aws-xray-daemon") {
				t.Errorf("%s: daemon image %s", name, tracer.Image)
			}

			wantDeps := []taskspec.ContainerDependency{{ContainerName: "xray", Condition: "START"}}
			if appMesh {
				wantDeps = append([]taskspec.ContainerDependency{{ContainerName: "envoy", Condition: "HEALTHY"}}, wantDeps...)
			}
			if name == ProductsName { // the migrations have run
				wantDeps = append(wantDeps, taskspec.ContainerDependency{ContainerName: "migrate", Condition: "SUCCESS"})
			}
			if !slices.Equal(app.DependsOn, wantDeps) {
				t.Errorf("%s: app dependsOn %+v, want %+v", name, app.DependsOn, wantDeps)
			}
			envoy, hasEnvoy := cs["envoy"]
			if hasEnvoy != appMesh {
				t.Fatalf("%s: envoy present=%v in %s", name, hasEnvoy, s.modes.Mesh)
			}
			if appMesh {
				e := env(envoy)
				wantArn := "arn:aws:appmesh:us-east-1:123456789012:mesh/" + s.prefix + "/virtualNode/" + name
				if envoy.User != "1337" || e["APPMESH_RESOURCE_ARN"] != wantArn || e["ENABLE_ENVOY_XRAY_TRACING"] != "1" {
					t.Errorf("%s: envoy user %q env %v", name, envoy.User, e)
				}
				if envoy.HealthCheck == nil || !strings.Contains(strings.Join(envoy.HealthCheck.Command, " "), "9901") {
					t.Errorf("%s: envoy health check %+v", name, envoy.HealthCheck)
				}
			}
			for _, c := range cs {
				if c.LogConfiguration == nil || c.LogConfiguration.LogDriver != "awslogs" {
					t.Errorf("%s/%s: no awslogs configuration", name, c.Name)
				}
			}
			if len(app.PortMappings) != 1 || app.PortMappings[0].ContainerPort != 8080 || app.PortMappings[0].Name != "http" {
				t.Errorf("%s: app ports %+v", name, app.PortMappings)
			}
		}
	})
}

func TestAppMeshProxyConfigurationRoutesTrafficThroughEnvoy(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		for _, name := range []string{ProductsName, PaymentsName} {
			td := s.get(t, tTaskDef, name)
			pc, has := td["proxyConfiguration"].(map[string]any)
			if has != (s.modes.Mesh == MeshAppMesh) {
				t.Fatalf("%s: proxyConfiguration present=%v in %s", name, has, s.modes.Mesh)
			}
			if !has {
				continue
			}
			props := pc["properties"].(map[string]any)
			want := map[string]any{
				"AppPorts": "8080", "IgnoredUID": "1337", "ProxyIngressPort": "15000", "ProxyEgressPort": "15001",
				"EgressIgnoredIPs": "169.254.170.2,169.254.169.254",
			}
			for k, v := range want {
				if props[k] != v {
					t.Errorf("%s: %s = %v, want %v", name, k, props[k], v)
				}
			}
			if pc["type"] != "APPMESH" || pc["containerName"] != "envoy" {
				t.Errorf("%s: proxy %v", name, pc)
			}
			// products reaches PostgreSQL outside the mesh; payments reaches nothing outside.
			wantIgnored := map[string]any{ProductsName: "5432", PaymentsName: nil}[name]
			if props["EgressIgnoredPorts"] != wantIgnored {
				t.Errorf("%s: EgressIgnoredPorts %v, want %v", name, props["EgressIgnoredPorts"], wantIgnored)
			}
		}
	})
}

func TestProductsCallsPaymentsThroughTheMesh(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		products := env(s.containers(t, ProductsName)["app"])
		switch s.modes.Mesh {
		case MeshServiceConnect:
			if products["PAYMENT_ENDPOINT"] != "http://payments:8080" {
				t.Errorf("PAYMENT_ENDPOINT %q", products["PAYMENT_ENDPOINT"])
			}
			// products is reached through its load balancer only: a client of the mesh.
			if sc := s.get(t, tECSService, ProductsName)["serviceConnectConfiguration"].(map[string]any); sc["enabled"] != true || sc["services"] != nil {
				t.Errorf("products should join Service Connect as a client only: %v", sc)
			}
			for _, name := range []string{PaymentsName} {
				sc := s.get(t, tECSService, name)["serviceConnectConfiguration"].(map[string]any)
				svc := sc["services"].([]any)[0].(map[string]any)
				alias := svc["clientAlias"].([]any)[0].(map[string]any)
				if sc["enabled"] != true || svc["portName"] != "http" || svc["discoveryName"] != name || alias["dnsName"] != name || alias["port"] != 8080.0 {
					t.Errorf("%s service connect %v", name, sc)
				}
				if svc["timeout"].(map[string]any)["perRequestTimeoutSeconds"] != 15.0 {
					t.Errorf("%s timeout %v", name, svc["timeout"])
				}
			}
			if len(s.m.ByType(tMesh)) != 0 {
				t.Error("an App Mesh mesh in serviceconnect mode")
			}
		case MeshAppMesh:
			if products["PAYMENT_ENDPOINT"] != "http://payments.meshtrace.local:8080" {
				t.Errorf("PAYMENT_ENDPOINT %q", products["PAYMENT_ENDPOINT"])
			}
			mesh := only(t, s.m, tMesh).Plain()
			if mesh["spec"].(map[string]any)["egressFilter"].(map[string]any)["type"] != "DROP_ALL" {
				t.Errorf("mesh egress %v", mesh["spec"])
			}
			backends := s.get(t, tVirtualNode, ProductsName)["spec"].(map[string]any)["backends"].([]any)
			if len(backends) != 1 || backends[0].(map[string]any)["virtualService"].(map[string]any)["virtualServiceName"] != "payments.meshtrace.local" {
				t.Errorf("products backends %v", backends)
			}
			if _, has := s.get(t, tVirtualNode, PaymentsName)["spec"].(map[string]any)["backends"]; has {
				t.Error("payments has backends")
			}
			if s.get(t, tVirtualSvc, PaymentsName)["name"] != "payments.meshtrace.local" {
				t.Error("payments virtual service name")
			}
			route := s.get(t, tRoute, PaymentsName)["spec"].(map[string]any)["httpRoute"].(map[string]any)
			retry := route["retryPolicy"].(map[string]any)
			if retry["maxRetries"] != 2.0 || route["timeout"].(map[string]any)["perRequest"].(map[string]any)["value"] != 15.0 {
				t.Errorf("route %v", route)
			}
			for _, name := range []string{ProductsName, PaymentsName} {
				if _, has := s.get(t, tECSService, name)["serviceRegistries"]; !has {
					t.Errorf("%s not registered in Cloud Map", name)
				}
			}
		}
	})
}

func TestPoliciesAreScopedToWhatEachRoleNeeds(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		secretArn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-" + s.prefix + "-db-AbCdEf"
		for _, name := range []string{ProductsName, PaymentsName} {
			for _, role := range []string{name + "-task", name + "-execution"} {
				for _, st := range s.policy(t, role).Statement {
					if st.Effect != "Allow" {
						t.Errorf("%s: unexpected %s statement %+v", role, st.Effect, st)
					}
					for _, a := range st.Action {
						if strings.Contains(a, "*") {
							t.Errorf("%s: wildcard action %s", role, a)
						}
					}
					if slices.Contains(st.Resource, "*") && !starAllowed(st.Action) {
						t.Errorf("%s: resource * for %v", role, st.Action)
					}
				}
			}
			task := s.policy(t, name+"-task")
			if !hasStatement(task, "xray:PutTraceSegments", "*") {
				t.Errorf("%s task role cannot send segments", name)
			}
			nodeArn := "arn:aws:appmesh:us-east-1:123456789012:mesh/" + s.prefix + "/virtualNode/" + name
			if hasStatement(task, "appmesh:StreamAggregatedResources", nodeArn) != (s.modes.Mesh == MeshAppMesh) {
				t.Errorf("%s: appmesh permission on the node ARN in %s mode", name, s.modes.Mesh)
			}
			exec := s.policy(t, name+"-execution")
			if hasStatement(exec, "secretsmanager:GetSecretValue", secretArn) != (name == ProductsName) {
				t.Errorf("%s: database secret readable by execution role: %v", name, !(name == ProductsName))
			}
			repo := "arn:aws:ecr:us-east-1:123456789012:repository/" + name
			if !hasStatement(exec, "ecr:BatchGetImage", repo) || !hasStatement(exec, "logs:PutLogEvents", "arn:aws:logs:us-east-1:123456789012:log-group:/meshtrace/"+DefaultEnvironment(s.stack)+"/"+name+":*") {
				t.Errorf("%s: execution role cannot pull or log: %+v", name, exec)
			}
		}
		for _, r := range s.m.ByType(tRole) {
			var trust taskspec.PolicyDocument
			if err := json.Unmarshal([]byte(r.Plain()["assumeRolePolicy"].(string)), &trust); err != nil {
				t.Fatal(err)
			}
			// Task and execution roles are for ECS tasks; the flow-log role (prod) for VPC Flow Logs.
			want := "ecs-tasks.amazonaws.com"
			if r.Name == s.prefix+"-flow-logs" {
				want = "vpc-flow-logs.amazonaws.com"
			}
			if len(trust.Statement) != 1 || trust.Statement[0].Principal["Service"] != want || trust.Statement[0].Condition["StringEquals"]["aws:SourceAccount"] != "123456789012" {
				t.Errorf("role %s trust %+v", r.Name, trust)
			}
		}
	})
}

// starAllowed lists the actions AWS only grants on "*".
func starAllowed(actions []string) bool {
	for _, a := range actions {
		if !strings.HasPrefix(a, "xray:") && a != "ecr:GetAuthorizationToken" {
			return false
		}
	}
	return true
}

func hasStatement(doc taskspec.PolicyDocument, action, resource string) bool {
	for _, st := range doc.Statement {
		if st.Effect == "Allow" && slices.Contains(st.Action, action) && slices.Contains(st.Resource, resource) {
			return true
		}
	}
	return false
}

func TestOnlyTheLoadBalancerIsOpenToTheInternet(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		open := 0
		for _, r := range s.m.ByType(tIngress) {
			in := r.Plain()
			if in["cidrIpv4"] == "0.0.0.0/0" {
				open++
				if in["securityGroupId"] != "products-alb-id" || in["fromPort"] != 80.0 {
					t.Errorf("%s opens %v", r.Name, in)
				}
			}
		}
		if open != 1 {
			t.Errorf("%d ingress rules open to 0.0.0.0/0, want 1", open)
		}
		// payments admits products only, on its port.
		var toPayments []map[string]any
		for _, r := range s.m.ByType(tIngress) {
			if in := r.Plain(); in["securityGroupId"] == "payments-id" {
				toPayments = append(toPayments, in)
			}
		}
		if len(toPayments) != 1 || toPayments[0]["referencedSecurityGroupId"] != "products-id" || toPayments[0]["fromPort"] != 8080.0 {
			t.Errorf("payments ingress %v", toPayments)
		}
		if len(s.m.ByType(tLB)) != 1 {
			t.Errorf("%d load balancers, want 1 (products)", len(s.m.ByType(tLB)))
		}
		tg := s.get(t, tTargetGroup, ProductsName)
		if tg["targetType"] != "ip" || tg["healthCheck"].(map[string]any)["path"] != contract.LivenessPath {
			t.Errorf("target group %v", tg)
		}
	})
}

func TestNothingSecretInPlainText(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		for _, r := range s.m.Resources() {
			if paths := r.SecretPaths(); len(paths) > 0 {
				t.Errorf("%s %s carries secret inputs %v: a secret reached the program", r.Type, r.Name, paths)
			}
			b, _ := json.Marshal(r.Plain())
			lower := strings.ToLower(string(b))
			for _, leak := range []string{"\"password\":", "db_password\",\"value", "masterpassword"} {
				if strings.Contains(lower, leak) {
					t.Errorf("%s %s inputs contain %s", r.Type, r.Name, leak)
				}
			}
		}
		migrate := s.containers(t, ProductsName)["migrate"]
		if len(migrate.Secrets) != 1 || migrate.Secrets[0].Name != "DB_PASSWORD" || !strings.HasSuffix(migrate.Secrets[0].ValueFrom, ":password::") {
			t.Errorf("DB_PASSWORD not injected into migrate from the secret: %+v", migrate.Secrets)
		}
	})
}

func TestTracingHasGroupAndSamplingRules(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		if group := s.get(t, tXRayGroup, s.prefix); group["filterExpression"] != `service("payments") OR service("products")` {
			t.Errorf("group filter %v", group["filterExpression"])
		}
		// The trace-fault alarm's numerator: X-Ray counts traces per group only.
		if group := s.get(t, tXRayGroup, s.prefix+"-faults"); group["filterExpression"] != `service("payments") { fault = true } OR service("products") { fault = true }` {
			t.Errorf("fault group filter %v", group["filterExpression"])
		}
		rules := s.m.ByType(tSamplingRule)
		if len(rules) != 2 {
			t.Fatalf("%d sampling rules", len(rules))
		}
		for _, r := range rules {
			in := r.Plain()
			if in["fixedRate"] != 0.05 || in["reservoirSize"] != 1.0 || len(str(in["ruleName"])) > 32 {
				t.Errorf("rule %v", in)
			}
		}
	})
}

func TestEveryResourceBelongsToAComponent(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		for _, r := range s.m.Resources() {
			if r.Custom && r.Parent == "" {
				t.Errorf("%s %s has no parent component", r.Type, r.Name)
			}
			if !r.Custom && !strings.HasPrefix(r.Type, "meshtrace:") && !strings.HasPrefix(r.Type, "awsx:") {
				t.Errorf("unexpected component %s", r.Type)
			}
		}
	})
}
