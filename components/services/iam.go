package services

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/taskspec"
)

// ecsTasksPrincipal is the service principal that assumes task and execution roles.
const ecsTasksPrincipal = "ecs-tasks.amazonaws.com"

// ecrPullActions read image layers from one repository.
var ecrPullActions = []string{"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"}

type roleInputs struct {
	part          pulumi.Output       // resolves to taskspec.Part
	logGroupArn   pulumi.StringOutput //
	repositoryArn pulumi.StringOutput // "" when the image needs no ECR permissions
}

type roles struct {
	task      *iam.Role
	execution *iam.Role
	// policies are the roles' inline policies: a task must not start before they exist.
	policies []pulumi.Resource
}

// declareRoles declares the task role (what the app and its sidecars may do) and the
// execution role (what ECS may do to start the task: pull the image, write logs,
// read the service's own secrets), each with an inline policy of least privilege.
func declareRoles(ctx *pulumi.Context, name string, a ServiceArgs, in roleInputs, opts ...pulumi.ResourceOption) (*roles, error) {
	trust := pulumi.String(taskspec.AssumeRoleBy(ecsTasksPrincipal).JSON())

	task, err := iam.NewRole(ctx, name+"-task", &iam.RoleArgs{
		AssumeRolePolicy: trust,
		Description:      pulumi.String("Task role of " + name + ": what its containers may call"),
		Tags:             a.Tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	grants := pulumi.Array{}
	for _, g := range a.TaskRoleGrants {
		grants = append(grants, g.Resources.ToStringArrayOutput())
	}
	taskPolicy := pulumi.All(in.part, grants).ApplyT(func(v []any) string {
		statements := v[0].(taskspec.Part).TaskRoleStatements
		for i, resources := range v[1].([]any) {
			g := a.TaskRoleGrants[i]
			statements = append(statements, taskspec.Allow(g.Sid, g.Actions, resources.([]string)...))
		}
		return taskPolicyDocument(statements).JSON()
	}).(pulumi.StringOutput)
	taskRolePolicy, err := iam.NewRolePolicy(ctx, name+"-task", &iam.RolePolicyArgs{
		Role:   task.ID(),
		Policy: taskPolicy,
	}, opts...)
	if err != nil {
		return nil, err
	}

	execution, err := iam.NewRole(ctx, name+"-execution", &iam.RoleArgs{
		AssumeRolePolicy: trust,
		Description:      pulumi.String("Execution role of " + name + ": what ECS may do to start its tasks"),
		Tags:             a.Tags,
	}, opts...)
	if err != nil {
		return nil, err
	}
	// ECS reads the secrets of every container in the task, the init container's too.
	secrets := a.Secrets
	if a.Init != nil {
		secrets = append(append([]SecretEnv{}, secrets...), a.Init.Secrets...)
	}
	secretArns := pulumi.StringArray{}
	for _, s := range secrets {
		secretArns = append(secretArns, s.SecretArn)
	}
	execPolicy := pulumi.All(in.logGroupArn, in.repositoryArn, secretArns).ApplyT(func(v []any) string {
		return executionPolicyDocument(v[0].(string), v[1].(string), v[2].([]string)).JSON()
	}).(pulumi.StringOutput)
	executionRolePolicy, err := iam.NewRolePolicy(ctx, name+"-execution", &iam.RolePolicyArgs{
		Role:   execution.ID(),
		Policy: execPolicy,
	}, opts...)
	if err != nil {
		return nil, err
	}
	return &roles{task: task, execution: execution, policies: []pulumi.Resource{taskRolePolicy, executionRolePolicy}}, nil
}

// taskPolicyDocument holds the statements the parts and the app asked for. An empty
// list still yields a valid document that allows nothing of note.
func taskPolicyDocument(statements []taskspec.Statement) taskspec.PolicyDocument {
	if len(statements) == 0 {
		// IAM rejects a policy without statements; deny everything instead.
		statements = []taskspec.Statement{{Sid: "NothingNeeded", Effect: "Deny", Action: []string{"*"}, Resource: []string{"*"}}}
	}
	return taskspec.Policy(statements...)
}

// executionPolicyDocument lets ECS pull from the service's repository, write to its
// log group and read its secrets, nothing more.
func executionPolicyDocument(logGroupArn, repositoryArn string, secretArns []string) taskspec.PolicyDocument {
	statements := []taskspec.Statement{
		taskspec.Allow("WriteLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, logGroupArn+":*"),
	}
	if repositoryArn != "" {
		statements = append(statements,
			// GetAuthorizationToken has no resource-level permissions: AWS requires "*".
			taskspec.Allow("EcrLogin", []string{"ecr:GetAuthorizationToken"}, "*"),
			taskspec.Allow("PullImage", ecrPullActions, repositoryArn),
		)
	}
	if len(secretArns) > 0 {
		statements = append(statements, taskspec.Allow("ReadOwnSecrets", []string{"secretsmanager:GetSecretValue"}, secretArns...))
	}
	return taskspec.Policy(statements...)
}
