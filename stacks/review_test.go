package stacks

import (
	"encoding/json"
	"slices"
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
