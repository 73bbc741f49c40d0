package stacks

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/pulumitest"
)

// Properties an AWS review of the declared graphs asks for before a first deploy (issue 19).

// reaches reports whether resource from depends on resource to, directly or through others.
func reaches(m *pulumitest.Mocks, from, to string) bool {
	deps := map[string][]string{}
	for _, r := range m.Resources() {
		deps[r.URN] = r.Dependencies
	}
	seen := map[string]bool{}
	stack := []string{from}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range deps[u] {
			if d == to {
				return true
			}
			if !seen[d] {
				seen[d] = true
				stack = append(stack, d)
			}
		}
	}
	return false
}

// onBucket returns the resources that configure the bucket with this id (their bucket input).
func onBucket(m *pulumitest.Mocks, id string) []pulumitest.Resource {
	var out []pulumitest.Resource
	for _, r := range m.Resources() {
		if r.Type != tBucket && r.Plain()["bucket"] == id {
			out = append(out, r)
		}
	}
	return out
}

// ELB writes access logs (and, when logging is turned on, a test object) under
// <bucket>/<accessLogs.prefix>/AWSLogs/<account>/: the bucket policy allows exactly that, to ELB
// only, and the load balancer is declared after the policy and every other setting of the
// bucket, which S3 applies one after another.
func TestTheAccessLogBucketAcceptsWhatTheLoadBalancerWrites(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		lb, _ := s.m.Find(tLB, ProductsName)
		logs, _ := lb.Plain()["accessLogs"].(map[string]any)
		if logs == nil {
			if s.stack == "prod" {
				t.Fatal("prod has no access logs")
			}
			return
		}
		name, prefix := str(logs["bucket"]), str(logs["prefix"])
		var bucket pulumitest.Resource
		for _, b := range s.m.ByType(tBucket) {
			if pulumitest.Outputs(b)["bucket"] == name {
				bucket = b
			}
		}
		if bucket.URN == "" || prefix == "" || logs["enabled"] != true {
			t.Fatalf("access logs %v: no such bucket, or no prefix", logs)
		}
		want := "arn:aws:s3:::" + name + "/" + prefix + "/AWSLogs/" + pulumitest.Account + "/*"
		id := bucket.Name + "-id" // the mocks' id
		var policy taskspec.PolicyDocument
		for _, r := range onBucket(s.m, id) {
			if r.Type == tBucketPolicy {
				if err := json.Unmarshal([]byte(r.Plain()["policy"].(string)), &policy); err != nil {
					t.Fatal(err)
				}
			}
		}
		principals := map[string]bool{}
		for _, st := range policy.Statement {
			if st.Effect != "Allow" {
				continue
			}
			if !slices.Equal(st.Action, []string{"s3:PutObject"}) || !slices.Equal(st.Resource, []string{want}) {
				t.Errorf("bucket policy allows %v on %v, want s3:PutObject on %s only", st.Action, st.Resource, want)
			}
			for k, v := range st.Principal {
				principals[k+"="+v] = true
			}
		}
		// us-east-1 (the mocks' Region) opened before August 2022: its ELB account, and the
		// log delivery service that newer Regions use.
		for _, p := range []string{"Service=logdelivery.elasticloadbalancing.amazonaws.com", "AWS=arn:aws:iam::127311923021:root"} {
			if !principals[p] {
				t.Errorf("bucket policy does not allow %s (allows %v)", p, principals)
			}
		}
		settings := onBucket(s.m, id)
		if len(settings) != 5 {
			t.Errorf("%d settings on the bucket, want policy, public access block, ownership, encryption, lifecycle", len(settings))
		}
		for i, a := range settings {
			if !slices.Contains(lb.Dependencies, a.URN) {
				t.Errorf("the load balancer does not depend on %s", a.Type)
			}
			for _, b := range settings[i+1:] {
				if !reaches(s.m, a.URN, b.URN) && !reaches(s.m, b.URN, a.URN) {
					t.Errorf("%s and %s are applied to the bucket concurrently", a.Type, b.Type)
				}
			}
		}
	})
}

// privateRepository is the ECR repository ARN of a private ECR image URI
// (<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag][@digest]), or "" for an image
// elsewhere. Written apart from the component's own parser, on purpose.
func privateRepository(image string) string {
	host, rest, _ := strings.Cut(image, "/")
	labels := strings.Split(host, ".")
	if len(labels) != 6 || labels[1] != "dkr" || labels[2] != "ecr" || strings.Join(labels[4:], ".") != "amazonaws.com" {
		return ""
	}
	rest, _, _ = strings.Cut(rest, "@")
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		rest = rest[:i]
	}
	return "arn:aws:ecr:" + labels[3] + ":" + labels[0] + ":repository/" + rest
}

// allows reports whether an Allow statement of doc grants action on resource, with IAM's
// wildcard: * matches any run of characters, / included.
func allows(doc taskspec.PolicyDocument, action, resource string) bool {
	for _, st := range doc.Statement {
		if st.Effect != "Allow" || !slices.Contains(st.Action, action) {
			continue
		}
		for _, pattern := range st.Resource {
			re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
			if regexp.MustCompile(re).MatchString(resource) {
				return true
			}
		}
	}
	return false
}

// executionPolicyOf returns the inline policy of a task definition's execution role.
func executionPolicyOf(t *testing.T, m *pulumitest.Mocks, taskDef pulumitest.Resource) taskspec.PolicyDocument {
	t.Helper()
	arn := taskDef.Plain()["executionRoleArn"]
	for _, role := range m.ByType(tRole) {
		if pulumitest.Outputs(role)["arn"] != arn {
			continue
		}
		for _, p := range m.ByType(tRolePolicy) {
			if p.Plain()["role"] == role.Name+"-id" {
				var doc taskspec.PolicyDocument
				if err := json.Unmarshal([]byte(p.Plain()["policy"].(string)), &doc); err != nil {
					t.Fatal(err)
				}
				return doc
			}
		}
	}
	t.Fatalf("%s: no policy for execution role %v", taskDef.Name, arn)
	return taskspec.PolicyDocument{}
}

// privateSidecars are sidecar overrides in private ECR repositories of their own (a
// digest-pinned copy, as docs/security.md recommends).
var privateSidecars = map[string]string{
	"xrayDaemonImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/xray-daemon@sha256:" + strings.Repeat("1", 64),
	"envoyImage":      "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/envoy@sha256:" + strings.Repeat("2", 64),
	"adotImage":       "123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/adot@sha256:" + strings.Repeat("3", 64),
}

// Every image of every container of every task definition (the app, its migrate step, the
// X-Ray daemon or ADOT collector, Envoy) can be pulled by that task's execution role: from its
// private ECR repository, the pull-through cache's included. Once as the stack files declare
// it, once with every sidecar image overridden by a copy in a private repository.
func TestEveryImageIsPullableByItsTasksExecutionRole(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		overridden := s.modes.Overrides()
		for k, v := range privateSidecars {
			overridden[Namespace+":"+k] = v
		}
		for variant, m := range map[string]*pulumitest.Mocks{"stack file": s.m, "private sidecars": runStack(t, s.stack, overridden)} {
			private := 0
			for _, td := range m.ByType(tTaskDef) {
				exec := executionPolicyOf(t, m, td)
				var containers []taskspec.ContainerDefinition
				if err := json.Unmarshal([]byte(td.Plain()["containerDefinitions"].(string)), &containers); err != nil {
					t.Fatal(err)
				}
				for _, c := range containers {
					repo := privateRepository(c.Image)
					if repo == "" {
						continue // a public registry: nothing to allow
					}
					private++
					for _, action := range []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"} {
						if !allows(exec, action, repo) {
							t.Errorf("%s: %s/%s: the execution role may not %s on %s (image %s)", variant, td.Name, c.Name, action, repo, c.Image)
						}
					}
					if !allows(exec, "ecr:GetAuthorizationToken", "*") {
						t.Errorf("%s: %s: the execution role may not log in to ECR", variant, td.Name)
					}
				}
			}
			if private == 0 {
				t.Errorf("%s: no container with a private ECR image", variant)
			}
		}
	})
}

// Every ECS service starts after every VPC endpoint of the stack (the network's and App Mesh's
// Envoy management endpoint): its tasks' egress goes only to the endpoints, whose private DNS
// names are in place only once they are available.
func TestEachServiceStartsAfterTheVpcEndpoints(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		endpoints := s.m.ByType(tVpcEndpoint)
		if (len(endpoints) > 0) != (s.stack == "prod") {
			t.Fatalf("%d VPC endpoints in %s", len(endpoints), s.stack)
		}
		for _, name := range []string{ProductsName, PaymentsName} {
			svc, _ := s.m.Find(tECSService, name)
			for _, e := range endpoints {
				if !slices.Contains(svc.Dependencies, e.URN) {
					t.Errorf("%s starts without waiting for the %v endpoint", name, e.Plain()["serviceName"])
				}
			}
		}
	})
}

// The flow log is created after its role's policy (CreateFlowLogs checks that the role can
// deliver), and the policy allows what VPC Flow Logs does: find and create its log group,
// then write streams and events.
func TestTheFlowLogStartsAfterItsRolePolicy(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		logs := s.m.ByType("aws:ec2/flowLog:FlowLog")
		if (len(logs) == 1) != (s.stack == "prod") {
			t.Fatalf("%d flow logs in %s", len(logs), s.stack)
		}
		for _, fl := range logs {
			role := fl.Plain()["iamRoleArn"]
			group := str(fl.Plain()["logDestination"])
			var policies int
			for _, r := range s.m.ByType(tRole) {
				if pulumitest.Outputs(r)["arn"] != role {
					continue
				}
				for _, p := range s.m.ByType(tRolePolicy) {
					if p.Plain()["role"] != r.Name+"-id" {
						continue
					}
					policies++
					if !slices.Contains(fl.Dependencies, p.URN) {
						t.Errorf("the flow log does not wait for its role's policy %s", p.Name)
					}
					var doc taskspec.PolicyDocument
					if err := json.Unmarshal([]byte(p.Plain()["policy"].(string)), &doc); err != nil {
						t.Fatal(err)
					}
					for _, action := range []string{"logs:CreateLogGroup", "logs:DescribeLogGroups"} {
						if !allows(doc, action, group) {
							t.Errorf("the flow-log role may not %s on %s", action, group)
						}
					}
					for _, action := range []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"} {
						if !allows(doc, action, group+":log-stream:eni-0123-all") {
							t.Errorf("the flow-log role may not %s in %s", action, group)
						}
					}
				}
			}
			if policies != 1 {
				t.Errorf("flow-log role %v has %d policies", role, policies)
			}
		}
	})
}

// A later `up` that moves dbEngineVersion from 16 to 17 is an update RDS accepts: the instance
// allows a major upgrade and applies it (and class or storage changes) at once, and its
// parameter group is one of the new family, auto-named and created before the old one goes
// (a family change replaces the group; a fixed name or delete-before-replace would fail or
// leave the instance without its group). The identity inputs that would replace the
// instance stay the same.
func TestAMajorEngineUpgradeIsAnUpdate(t *testing.T) {
	const tParams = "aws:rds/parameterGroup:ParameterGroup"
	for _, stack := range []string{"dev", "prod"} {
		before := runStack(t, stack, nil)
		after := runStack(t, stack, map[string]string{Namespace + ":dbEngineVersion": "17"})
		old, db := only(t, before, tRDS), only(t, after, tRDS)
		in := db.Plain()
		if in["engineVersion"] != "17" || in["allowMajorVersionUpgrade"] != true || in["applyImmediately"] != true {
			t.Errorf("%s: engineVersion %v, allowMajorVersionUpgrade %v, applyImmediately %v", stack, in["engineVersion"], in["allowMajorVersionUpgrade"], in["applyImmediately"])
		}
		for _, key := range []string{"identifier", "dbName", "username", "engine", "storageEncrypted", "finalSnapshotIdentifier"} {
			if str(old.Plain()[key]) != str(in[key]) {
				t.Errorf("%s: %s changes from %v to %v: a replacement, not an upgrade", stack, key, old.Plain()[key], in[key])
			}
		}
		group := only(t, after, tParams)
		g := group.Plain()
		if g["family"] != "postgres17" || only(t, before, tParams).Plain()["family"] != "postgres16" {
			t.Errorf("%s: parameter group family %v after the upgrade", stack, g["family"])
		}
		if _, fixed := g["name"]; fixed || g["namePrefix"] != nil || group.DeleteBeforeReplace {
			t.Errorf("%s: the parameter group has a fixed name or is deleted before its replacement: %v", stack, g)
		}
		if in["parameterGroupName"] != pulumitest.Outputs(group)["name"] || !slices.Contains(db.Dependencies, group.URN) {
			t.Errorf("%s: the instance uses parameter group %v, not the new family's", stack, in["parameterGroupName"])
		}
	}
}
