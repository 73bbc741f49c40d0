package taskspec

import "encoding/json"

// PolicyDocument is an IAM policy or trust document.
type PolicyDocument struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one IAM policy statement. Resource is omitted in trust policies,
// Principal in identity policies.
type Statement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal,omitempty"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource,omitempty"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// PolicyVersion is the current IAM policy language version.
const PolicyVersion = "2012-10-17"

// Allow is an Allow statement for actions on resources.
func Allow(sid string, actions []string, resources ...string) Statement {
	return Statement{Sid: sid, Effect: "Allow", Action: actions, Resource: resources}
}

// Policy wraps statements into a document.
func Policy(statements ...Statement) PolicyDocument {
	return PolicyDocument{Version: PolicyVersion, Statement: statements}
}

// JSON renders the document. Marshalling these plain structs cannot fail.
func (d PolicyDocument) JSON() string {
	b, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// AssumeRoleBy is the trust policy that lets an AWS service principal assume a role.
func AssumeRoleBy(service string) PolicyDocument {
	return Policy(Statement{
		Effect:    "Allow",
		Principal: map[string]string{"Service": service},
		Action:    []string{"sts:AssumeRole"},
	})
}

// AssumeRoleByECSTasksOf is the trust policy of a task or execution role: ECS may assume it
// only for tasks of this account and region (aws:SourceAccount, and aws:SourceArn like the
// account's ECS ARNs), which AWS recommends against the confused deputy.
func AssumeRoleByECSTasksOf(account, region string) PolicyDocument {
	return Policy(Statement{
		Effect:    "Allow",
		Principal: map[string]string{"Service": "ecs-tasks.amazonaws.com"},
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string]string{
			"StringEquals": {"aws:SourceAccount": account},
			"ArnLike":      {"aws:SourceArn": "arn:aws:ecs:" + region + ":" + account + ":*"},
		},
	})
}
