package network

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/taskspec"
)

// FlowLogsArgs turns on VPC flow logs to CloudWatch Logs.
type FlowLogsArgs struct {
	// RetentionDays of the flow log group. Required (a CloudWatch retention value).
	RetentionDays int
}

// declareFlowLogs records every flow of the VPC (accepted and rejected) in a log group of its
// own, through a role only the VPC Flow Logs service of this account may assume.
func declareFlowLogs(ctx *pulumi.Context, name string, vpcId pulumi.StringInput, args FlowLogsArgs, tags pulumi.StringMap, parent pulumi.Resource) error {
	opts := []pulumi.ResourceOption{pulumi.Parent(parent)}
	caller, err := aws.GetCallerIdentity(ctx, nil, pulumi.Parent(parent))
	if err != nil {
		return err
	}
	group, err := cloudwatch.NewLogGroup(ctx, name+"-flow-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/vpc/" + name + "/flow-logs"),
		RetentionInDays: pulumi.Int(args.RetentionDays),
		Tags:            tags,
	}, opts...)
	if err != nil {
		return err
	}
	trust := taskspec.Policy(taskspec.Statement{
		Effect:    "Allow",
		Principal: map[string]string{"Service": "vpc-flow-logs.amazonaws.com"},
		Action:    []string{"sts:AssumeRole"},
		Condition: map[string]map[string]string{"StringEquals": {"aws:SourceAccount": caller.AccountId}},
	})
	role, err := iam.NewRole(ctx, name+"-flow-logs", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(trust.JSON()),
		Description:      pulumi.String("VPC flow logs of " + name + " to their log group"),
		Tags:             tags,
	}, opts...)
	if err != nil {
		return err
	}
	policy, err := iam.NewRolePolicy(ctx, name+"-flow-logs", &iam.RolePolicyArgs{Role: role.ID(), Policy: group.Arn.ApplyT(flowLogsPolicy).(pulumi.StringOutput)}, opts...)
	if err != nil {
		return err
	}
	_, err = ec2.NewFlowLog(ctx, name, &ec2.FlowLogArgs{
		VpcId:                  vpcId,
		TrafficType:            pulumi.String("ALL"),
		LogDestinationType:     pulumi.String("cloud-watch-logs"),
		LogDestination:         group.Arn,
		IamRoleArn:             role.Arn,
		MaxAggregationInterval: pulumi.Int(60), // a minute, not the default ten: incidents are short
		Tags:                   tags,
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{policy}))...) // CreateFlowLogs checks the role can deliver
	return err
}

// flowLogsPolicy is what the VPC Flow Logs service does with its role, on the flow log's group
// only: the actions of "IAM role for publishing flow logs to CloudWatch Logs" (VPC user guide),
// find the group and create it if it is missing (logs:DescribeLogGroups,
// logs:CreateLogGroup), then its streams and events.
func flowLogsPolicy(groupArn string) string {
	return taskspec.Policy(
		taskspec.Allow("FindOrCreateTheGroup", []string{"logs:CreateLogGroup", "logs:DescribeLogGroups"}, groupArn, groupArn+":*"),
		taskspec.Allow("WriteFlowLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}, groupArn+":*"),
	).JSON()
}
