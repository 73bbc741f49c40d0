package services

import (
	"encoding/json"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumix"

	"github.com/meshtrace/meshtrace/components/taskspec"
)

// ecrPullActions read image layers from one repository.
var ecrPullActions = []string{"ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"}

type roleInputs struct {
	part        pulumix.Output[taskspec.Part]
	logGroupArn pulumi.StringOutput
	containers  pulumi.StringOutput // the task's container definitions (JSON): the images to pull
	account     string              // the account and region the roles' tasks run in
	region      string
}

type roles struct {
	taskArn, executionArn       pulumi.StringOutput
	taskPolicy, executionPolicy pulumi.StringOutput // what each role needs
	// policies are the inline policies created: a task must not start before they exist.
	policies []pulumi.Resource
}

// declareRoles declares the task role (what the app and its sidecars may do) and the
// execution role (what ECS may do to start the task: pull the image, write logs,
// read the service's own secrets), each with an inline policy of least privilege;
// a role brought by the caller is used as it is.
func declareRoles(ctx *pulumi.Context, name string, a ServiceArgs, in roleInputs, opts ...pulumi.ResourceOption) (*roles, error) {
	r := &roles{taskPolicy: taskPolicy(a, in.part), executionPolicy: executionPolicy(a, in)}
	trust := pulumi.String(taskspec.AssumeRoleByECSTasksOf(in.account, in.region).JSON()).ToStringOutput()
	var err error
	r.taskArn, err = roleWithPolicy(ctx, name+"-task", a.TaskRoleArn, "Task role of "+name+": what its containers may call", trust, r.taskPolicy, a.Tags, r, opts...)
	if err != nil {
		return nil, err
	}
	r.executionArn, err = roleWithPolicy(ctx, name+"-execution", a.ExecutionRoleArn, "Execution role of "+name+": what ECS may do to start its tasks", trust, r.executionPolicy, a.Tags, r, opts...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// roleWithPolicy returns the ARN of the role brought by the caller, or declares a role for
// ECS tasks with policy inline.
func roleWithPolicy(ctx *pulumi.Context, name string, brought pulumi.StringInput, description string, trust, policy pulumi.StringOutput,
	tags pulumi.StringMap, r *roles, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	if brought != nil {
		return brought.ToStringOutput(), nil
	}
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		AssumeRolePolicy: trust,
		Description:      pulumi.String(description),
		Tags:             tags,
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	inline, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{Role: role.ID(), Policy: policy}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	r.policies = append(r.policies, inline)
	return role.Arn, nil
}

// taskPolicy is what the parts, the app's statements and its grants need.
func taskPolicy(a ServiceArgs, part pulumix.Output[taskspec.Part]) pulumi.StringOutput {
	grants := pulumi.Array{}
	for _, g := range a.TaskRoleGrants {
		grants = append(grants, g.Resources.ToStringArrayOutput())
	}
	return pulumi.All(part, grants).ApplyT(func(v []any) string {
		statements := v[0].(taskspec.Part).TaskRoleStatements
		for i, resources := range v[1].([]any) {
			g := a.TaskRoleGrants[i]
			statements = append(statements, taskspec.Allow(g.Sid, g.Actions, resources.([]string)...))
		}
		return taskPolicyDocument(statements).JSON()
	}).(pulumi.StringOutput)
}

// executionPolicy lets ECS pull the image, write the logs and read the secrets of every
// container in the task: the app, the init container and the sidecars.
func executionPolicy(a ServiceArgs, in roleInputs) pulumi.StringOutput {
	secrets := a.Secrets
	if a.Init != nil {
		secrets = append(append([]SecretEnv{}, secrets...), a.Init.Secrets...)
	}
	secretArns := pulumi.StringArray{}
	for _, s := range secrets {
		secretArns = append(secretArns, s.SecretArn)
	}
	cached := pulumi.String("").ToStringOutput()
	if a.CachedImageRepositories != nil {
		cached = a.CachedImageRepositories.ToStringOutput()
	}
	return pulumi.All(in.logGroupArn, in.containers, secretArns, cached).ApplyT(func(v []any) (string, error) {
		var containers []taskspec.ContainerDefinition
		if err := json.Unmarshal([]byte(v[1].(string)), &containers); err != nil {
			return "", err
		}
		var images []string
		for _, c := range containers {
			images = append(images, c.Image)
		}
		return executionPolicyDocument(v[0].(string), images, v[2].([]string), v[3].(string)).JSON(), nil
	}).(pulumi.StringOutput)
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

// cacheImportActions let the first pull of an image through a pull-through cache create its
// repository and import the image from upstream.
var cacheImportActions = []string{"ecr:BatchImportUpstreamImage", "ecr:CreateRepository"}

// executionPolicyDocument lets ECS pull the task's images, write to its log group and read its
// secrets, nothing more.
func executionPolicyDocument(logGroupArn string, images, secretArns []string, cachedRepositories string) taskspec.PolicyDocument {
	statements := []taskspec.Statement{
		taskspec.Allow("WriteLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, logGroupArn+":*"),
	}
	statements = append(statements, imagePullStatements(images, cachedRepositories)...)
	if len(secretArns) > 0 {
		statements = append(statements, taskspec.Allow("ReadOwnSecrets", []string{"secretsmanager:GetSecretValue"}, secretArns...))
	}
	return taskspec.Policy(statements...)
}

// imagePullStatements is the one rule for images: ECS may pull every image of every container
// of the task (the app, the init container, the sidecars) from the private ECR repository it
// names (ecrRepositoryArn), the pull-through cache's included; an image elsewhere (a public
// registry) needs no permission. With a pull-through cache, the first pull of an image may
// also create its repository and import it from upstream.
func imagePullStatements(images []string, cachedRepositories string) []taskspec.Statement {
	var repositories []string
	for _, image := range images {
		if arn := ecrRepositoryArn(image); arn != "" && !slices.Contains(repositories, arn) {
			repositories = append(repositories, arn)
		}
	}
	slices.Sort(repositories)
	var statements []taskspec.Statement
	if len(repositories) > 0 || cachedRepositories != "" {
		// GetAuthorizationToken has no resource-level permissions: AWS requires "*".
		statements = append(statements, taskspec.Allow("EcrLogin", []string{"ecr:GetAuthorizationToken"}, "*"))
	}
	if len(repositories) > 0 {
		statements = append(statements, taskspec.Allow("PullImages", ecrPullActions, repositories...))
	}
	if cachedRepositories != "" {
		statements = append(statements, taskspec.Allow("ImportThroughCache", cacheImportActions, cachedRepositories))
	}
	return statements
}
