package stacks

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/pulumitest"
)

// Properties of the hardened edge, network, identity and supply chain (issue 11).

// Every role ECS tasks assume is bound to this account's ECS tasks in this region.
func TestTaskRolesTrustOnlyThisAccountsECSTasks(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		roles := s.m.ByType(tRole)
		if len(roles) == 0 {
			t.Fatal("no roles")
		}
		for _, r := range roles {
			var doc taskspec.PolicyDocument
			if err := json.Unmarshal([]byte(r.Plain()["assumeRolePolicy"].(string)), &doc); err != nil {
				t.Fatalf("%s: %v", r.Name, err)
			}
			for _, st := range doc.Statement {
				if st.Principal["Service"] != "ecs-tasks.amazonaws.com" {
					continue
				}
				if st.Condition["StringEquals"]["aws:SourceAccount"] != pulumitest.Account ||
					st.Condition["ArnLike"]["aws:SourceArn"] != "arn:aws:ecs:"+pulumitest.Region+":"+pulumitest.Account+":*" {
					t.Errorf("%s: trust without the confused-deputy conditions: %+v", r.Name, st.Condition)
				}
			}
		}
	})
}

const (
	tListener     = "aws:lb/listener:Listener"
	tWebAcl       = "aws:wafv2/webAcl:WebAcl"
	tWebAclAssoc  = "aws:wafv2/webAclAssociation:WebAclAssociation"
	tBucket       = "aws:s3/bucketV2:BucketV2"
	tBucketPolicy = "aws:s3/bucketPolicy:BucketPolicy"
	tCertificate  = "aws:acm/certificate:Certificate"
	tRecord       = "aws:route53/record:Record"
)

const testCertificate = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d"

// With a certificate the load balancer serves HTTPS with a TLS 1.3 policy on 443 and port 80
// only redirects; without one (dev, or prod with allowPlainHttp) port 80 forwards.
func TestHTTPSAtTheEdge(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		plain := runStack(t, stack, nil)
		listeners := plain.ByType(tListener)
		if len(listeners) != 1 || listeners[0].Plain()["port"] != 80.0 || action(listeners[0])["type"] != "forward" {
			t.Errorf("%s plain: listeners %+v", stack, listeners)
		}
		secure := runStack(t, stack, map[string]string{Namespace + ":certificateArn": testCertificate, Namespace + ":allowPlainHttp": "false"})
		https, ok := secure.Find(tListener, ProductsName+"-https")
		if !ok {
			t.Fatalf("%s: no HTTPS listener", stack)
		}
		in := https.Plain()
		if in["port"] != 443.0 || in["protocol"] != "HTTPS" || in["sslPolicy"] != "ELBSecurityPolicy-TLS13-1-2-2021-06" || in["certificateArn"] != testCertificate || action(https)["type"] != "forward" {
			t.Errorf("%s: HTTPS listener %v", stack, in)
		}
		http, _ := secure.Find(tListener, ProductsName)
		redirect, _ := action(http)["redirect"].(map[string]any)
		if action(http)["type"] != "redirect" || redirect["protocol"] != "HTTPS" || redirect["port"] != "443" || redirect["statusCode"] != "HTTP_301" {
			t.Errorf("%s: port 80 does not redirect: %v", stack, http.Plain())
		}
		if _, ok := secure.Find(tIngress, ProductsName+"-alb-https-in"); !ok {
			t.Errorf("%s: the load balancer does not admit 443", stack)
		}
	}
}

func action(r pulumitest.Resource) map[string]any {
	actions, _ := r.Plain()["defaultActions"].([]any)
	if len(actions) != 1 {
		return map[string]any{}
	}
	return actions[0].(map[string]any)
}

// A domain and zone give a DNS-validated certificate and an alias record to the load balancer.
func TestADomainGetsAValidatedCertificateAndAnAlias(t *testing.T) {
	m := runStack(t, "dev", map[string]string{Namespace + ":domainName": "shop.example.com", Namespace + ":hostedZoneId": "Z0123456789ABC"})
	cert := only(t, m, tCertificate).Plain()
	if cert["domainName"] != "shop.example.com" || cert["validationMethod"] != "DNS" {
		t.Errorf("certificate %v", cert)
	}
	alias, ok := m.Find(tRecord, "meshtrace-dev-alias")
	if !ok {
		t.Fatal("no alias record")
	}
	aliases := alias.Plain()["aliases"].([]any)
	if alias.Plain()["zoneId"] != "Z0123456789ABC" || alias.Plain()["type"] != "A" || len(aliases) != 1 ||
		aliases[0].(map[string]any)["name"] != ProductsName+"-1234567890."+pulumitest.Region+".elb.amazonaws.com" {
		t.Errorf("alias %v", alias.Plain())
	}
	https, _ := m.Find(tListener, ProductsName+"-https")
	if https.Plain()["certificateArn"] != "arn:aws:acm:us-east-1:123456789012:certificate/meshtrace-dev" {
		t.Errorf("the listener does not use the validated certificate: %v", https.Plain()["certificateArn"])
	}
}

// prod (as its stack file declares it): access logs to a protected, encrypted, private bucket
// that ELB may write to; deletion protection; a web ACL on the load balancer. dev: none of it.
func TestLoadBalancerHygieneAndFirewallInProd(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		prod := s.stack == "prod"
		lbIn := s.get(t, tLB, ProductsName)
		if lbIn["enableDeletionProtection"] != prod || lbIn["dropInvalidHeaderFields"] != true {
			t.Errorf("load balancer deletion protection %v, drop invalid headers %v", lbIn["enableDeletionProtection"], lbIn["dropInvalidHeaderFields"])
		}
		buckets := s.m.ByType(tBucket)
		if !prod {
			if len(buckets) != 0 || len(s.m.ByType(tWebAcl)) != 0 || lbIn["accessLogs"] != nil {
				t.Errorf("dev has buckets %d, web ACLs %d, access logs %v", len(buckets), len(s.m.ByType(tWebAcl)), lbIn["accessLogs"])
			}
			return
		}
		if len(buckets) != 1 || !buckets[0].Protect {
			t.Fatalf("want one protected log bucket, got %+v", buckets)
		}
		logs := lbIn["accessLogs"].(map[string]any)
		if logs["enabled"] != true || logs["bucket"] != buckets[0].Name {
			t.Errorf("access logs %v", logs)
		}
		for _, token := range []string{"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
			"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"} {
			if len(s.m.ByType(token)) != 1 {
				t.Errorf("no %s", token)
			}
		}
		pab := only(t, s.m, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").Plain()
		for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
			if pab[k] != true {
				t.Errorf("public access block %s = %v", k, pab[k])
			}
		}
		var policy taskspec.PolicyDocument
		if err := json.Unmarshal([]byte(only(t, s.m, tBucketPolicy).Plain()["policy"].(string)), &policy); err != nil {
			t.Fatal(err)
		}
		var delivery, tlsOnly bool
		for _, st := range policy.Statement {
			if st.Effect == "Allow" && st.Principal["AWS"] == "arn:aws:iam::127311923021:root" && st.Resource[0] == "arn:aws:s3:::"+buckets[0].Name+"/"+ProductsName+"/AWSLogs/"+pulumitest.Account+"/*" {
				delivery = true
			}
			if st.Effect == "Deny" && st.Condition["Bool"]["aws:SecureTransport"] == "false" {
				tlsOnly = true
			}
		}
		if !delivery || !tlsOnly {
			t.Errorf("bucket policy: ELB delivery %v, TLS only %v: %+v", delivery, tlsOnly, policy)
		}
		acl := only(t, s.m, tWebAcl).Plain()
		var names []string
		for _, r := range acl["rules"].([]any) {
			names = append(names, r.(map[string]any)["name"].(string))
		}
		if acl["scope"] != "REGIONAL" || strings.Join(names, ",") != "AWSManagedRulesCommonRuleSet,AWSManagedRulesKnownBadInputsRuleSet,RateLimitPerClientIP" {
			t.Errorf("web ACL %v rules %v", acl["scope"], names)
		}
		rate := acl["rules"].([]any)[2].(map[string]any)["statement"].(map[string]any)["rateBasedStatement"].(map[string]any)
		if rate["limit"] != 1000.0 || rate["aggregateKeyType"] != "IP" {
			t.Errorf("rate rule %v", rate)
		}
		assoc := only(t, s.m, tWebAclAssoc).Plain()
		if assoc["resourceArn"] != "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/products/0123456789abcdef" {
			t.Errorf("web ACL associated with %v", assoc["resourceArn"])
		}
	})
}

// The sidecar images can be replaced (a digest-pinned copy in your own registry), per mode.
func TestSidecarImagesCanBeReplaced(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("c", 64)
	images := map[string]string{
		"envoyImage":      "123456789012.dkr.ecr.us-east-1.amazonaws.com/envoy" + digest,
		"xrayDaemonImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xray" + digest,
		"adotImage":       "123456789012.dkr.ecr.us-east-1.amazonaws.com/adot" + digest,
	}
	eachSystem(t, func(t *testing.T, s system) {
		overrides := s.modes.Overrides()
		for k, v := range images {
			overrides[Namespace+":"+k] = v
		}
		m := system{stack: s.stack, prefix: s.prefix, modes: s.modes, m: runStack(t, s.stack, overrides)}
		cs := m.containers(t, PaymentsName)
		want := map[string]string{TracingXRayDaemon: images["xrayDaemonImage"], TracingADOT: images["adotImage"]}[s.modes.Tracing]
		if cs["xray"].Image != want {
			t.Errorf("tracing sidecar %s, want %s", cs["xray"].Image, want)
		}
		if envoy, ok := cs["envoy"]; ok && envoy.Image != images["envoyImage"] {
			t.Errorf("envoy %s", envoy.Image)
		}
	})
}

// prod records the VPC's traffic in a log group of its own, through a role only VPC Flow Logs
// may assume; dev does not.
func TestFlowLogsInProd(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		logs := s.m.ByType("aws:ec2/flowLog:FlowLog")
		if s.stack == "dev" {
			if len(logs) != 0 {
				t.Errorf("dev has %d flow logs", len(logs))
			}
			return
		}
		if len(logs) != 1 {
			t.Fatalf("%d flow logs", len(logs))
		}
		in := logs[0].Plain()
		if in["vpcId"] != "vpc-"+s.prefix || in["trafficType"] != "ALL" || in["logDestinationType"] != "cloud-watch-logs" ||
			in["logDestination"] != "arn:aws:logs:us-east-1:123456789012:log-group:/vpc/"+s.prefix+"/flow-logs" ||
			in["iamRoleArn"] != "arn:aws:iam::123456789012:role/"+s.prefix+"-flow-logs" {
			t.Errorf("flow log %v", in)
		}
		group, _ := s.m.Find(tLogGroup, s.prefix+"-flow-logs")
		if group.Plain()["retentionInDays"] != 90.0 {
			t.Errorf("flow log retention %v", group.Plain()["retentionInDays"])
		}
		if !hasStatement(s.policy(t, s.prefix+"-flow-logs"), "logs:PutLogEvents", "arn:aws:logs:us-east-1:123456789012:log-group:/vpc/"+s.prefix+"/flow-logs:*") {
			t.Error("the flow-log role cannot write its group")
		}
	})
}

const (
	tVpcEndpoint = "aws:ec2/vpcEndpoint:VpcEndpoint"
	tCacheRule   = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
)

// prod (vpcEndpoints on by default) reaches AWS through VPC endpoints: interface endpoints for
// what ECS and the tasks call (App Mesh's Envoy management in appmesh mode) and an S3 gateway
// endpoint; the services' 443 egress goes to the endpoints' group and S3's prefix list, never
// 0.0.0.0/0; the sidecar images come through a pull-through cache of public.ecr.aws that the
// execution roles may pull from and import into. dev: none of it, 443 to 0.0.0.0/0 via NAT.
func TestVpcEndpointsInProd(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		on := s.stack == "prod"
		endpoints := map[string]map[string]any{}
		for _, e := range s.m.ByType(tVpcEndpoint) {
			in := e.Plain()
			endpoints[strings.TrimPrefix(in["serviceName"].(string), "com.amazonaws.us-east-1.")] = in
		}
		// Not ecs-agent, ecs-telemetry or sts: nothing on Fargate here calls them (endpoints.go).
		want := []string{"ecr.api", "ecr.dkr", "logs", "secretsmanager", "xray", "ecs", "s3"}
		if s.modes.Mesh == MeshAppMesh {
			want = append(want, "appmesh-envoy-management")
		}
		if !on {
			want = nil
		}
		if len(endpoints) != len(want) {
			t.Errorf("endpoints %v, want %v", keysOf(endpoints), want)
		}
		for _, svc := range want {
			if _, ok := endpoints[svc]; !ok {
				t.Errorf("no %s endpoint", svc)
			}
		}
		if on && (endpoints["s3"]["vpcEndpointType"] != "Gateway" || endpoints["ecr.dkr"]["privateDnsEnabled"] != true ||
			endpoints["ecr.dkr"]["securityGroupIds"].([]any)[0] != s.prefix+"-endpoints-id") {
			t.Errorf("s3 %v, ecr.dkr %v", endpoints["s3"], endpoints["ecr.dkr"])
		}

		const cachePrefix = "123456789012.dkr.ecr.us-east-1.amazonaws.com/"
		repos := "arn:aws:ecr:us-east-1:123456789012:repository/" + s.prefix + "-ecr-public/*"
		if rules := s.m.ByType(tCacheRule); on != (len(rules) == 1) || on && rules[0].Plain()["upstreamRegistryUrl"] != "public.ecr.aws" {
			t.Errorf("pull-through cache rules %+v", rules)
		}
		for _, name := range []string{ProductsName, PaymentsName} {
			var https []map[string]any
			for _, r := range childrenOf(s.m, "meshtrace:services:Service", name, tEgress) {
				in := r.Plain()
				if on && in["cidrIpv4"] == "0.0.0.0/0" {
					t.Errorf("%s: %s egress to 0.0.0.0/0 with VPC endpoints", name, r.Name)
				}
				if in["fromPort"] == 443.0 {
					https = append(https, in)
				}
			}
			switch {
			case on && (len(https) != 2 || https[0]["referencedSecurityGroupId"] != s.prefix+"-endpoints-id" || https[1]["prefixListId"] != pulumitest.S3PrefixListId):
				t.Errorf("%s: 443 egress %v", name, https)
			case !on && (len(https) != 1 || https[0]["cidrIpv4"] != "0.0.0.0/0"):
				t.Errorf("%s: 443 egress %v", name, https)
			}
			sidecars := 0
			for cname, c := range s.containers(t, name) {
				if cname == "app" || cname == "migrate" {
					continue // the stack's own images, in its own repositories
				}
				sidecars++
				if through := strings.HasPrefix(c.Image, cachePrefix+s.prefix+"-ecr-public/"); through != on || !on && !strings.HasPrefix(c.Image, "public.ecr.aws/") {
					t.Errorf("%s: sidecar %s image %s (endpoints %v)", name, cname, c.Image, on)
				}
			}
			if sidecars == 0 {
				t.Errorf("%s: no sidecars", name)
			}
			exec := s.policy(t, name+"-execution")
			// (Pulling each cached image: TestEveryImageIsPullableByItsTasksExecutionRole.)
			for _, action := range []string{"ecr:BatchImportUpstreamImage", "ecr:CreateRepository"} {
				if hasStatement(exec, action, repos) != on {
					t.Errorf("%s: execution role %s on the cache: %v", name, action, !on)
				}
			}
		}
	})
}

func keysOf(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// With vpcEndpoints a sidecar image override from public.ecr.aws also comes through the cache;
// one from another registry is used as it is.
func TestSidecarOverridesFromPublicECRGoThroughTheCache(t *testing.T) {
	digest := "@sha256:" + strings.Repeat("d", 64)
	m := runStack(t, "prod", map[string]string{
		Namespace + ":tracingMode":           TracingXRayDaemon,
		Namespace + ":allowXRayEndOfSupport": "true", // (the test outlives 2027-02-25)
		Namespace + ":xrayDaemonImage":       "public.ecr.aws/xray/aws-xray-daemon" + digest,
		Namespace + ":adotImage":             "123456789012.dkr.ecr.us-east-1.amazonaws.com/adot" + digest,
	})
	s := system{stack: "prod", prefix: "meshtrace-prod", m: m}
	if got := s.containers(t, PaymentsName)["xray"].Image; got != "123456789012.dkr.ecr.us-east-1.amazonaws.com/meshtrace-prod-ecr-public/xray/aws-xray-daemon"+digest {
		t.Errorf("xray daemon %s", got)
	}
	adot := runStack(t, "prod", map[string]string{Namespace + ":tracingMode": TracingADOT, Namespace + ":adotImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/adot" + digest})
	s.m = adot
	if got := s.containers(t, PaymentsName)["xray"].Image; got != "123456789012.dkr.ecr.us-east-1.amazonaws.com/adot"+digest {
		t.Errorf("adot %s", got)
	}
}

// products is the edge: its callers may not decide its sampling; payments follows its caller.
func TestProductsIsTheTracingEdge(t *testing.T) {
	eachSystem(t, func(t *testing.T, s system) {
		products, payments := env(s.containers(t, ProductsName)["app"]), env(s.containers(t, PaymentsName)["app"])
		if products["TRACING_EDGE"] != "true" || products["TRACING_EDGE_FORCED_PER_SECOND"] != "1" || payments["TRACING_EDGE"] != "" {
			t.Errorf("products edge %q/%q, payments edge %q", products["TRACING_EDGE"], products["TRACING_EDGE_FORCED_PER_SECOND"], payments["TRACING_EDGE"])
		}
	})
}
