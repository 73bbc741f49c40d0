package stacks

import (
	"encoding/json"
	"testing"

	"github.com/meshtrace/meshtrace/components/taskspec"
	"github.com/meshtrace/meshtrace/internal/pulumitest"
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
