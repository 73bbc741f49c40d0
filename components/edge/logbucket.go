package edge

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/taskspec"
)

// DefaultLogExpiryDays is how long access logs are kept: a quarter, enough to look back at an
// incident or a bill, short enough not to pile up.
const DefaultLogExpiryDays = 90

// elbLogAccounts are the Elastic Load Balancing accounts that write access logs in the
// Regions that opened before August 2022 (ELB user guide, "Enable access logs"); newer
// Regions use the log delivery service principal, which the policy allows too.
var elbLogAccounts = map[string]string{
	"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980", "us-west-2": "797873946194",
	"eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-west-3": "009996457667", "eu-central-1": "054676820928",
	"eu-north-1": "897822967062", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266", "ap-northeast-1": "582318560864",
}

// LogBucketArgs configures a LogBucket.
type LogBucketArgs struct {
	// ExpireAfterDays deletes logs this old. Default DefaultLogExpiryDays.
	ExpireAfterDays int
	// Protect declares the bucket with Pulumi's protect (it holds the only record of who
	// called the service). Default false.
	Protect bool
	// Tags are added to every resource.
	Tags pulumi.StringMap
}

// LogBucket is an S3 bucket that load balancers of this account write access logs to.
type LogBucket struct {
	pulumi.ResourceState

	BucketName pulumi.StringOutput `pulumi:"bucketName"`
	BucketArn  pulumi.StringOutput `pulumi:"bucketArn"`
}

// NewLogBucket declares the bucket: encrypted with S3-managed keys (the only kind ELB can
// write with), public access blocked, objects owned by the bucket owner, logs expired, TLS
// required, and a policy that lets ELB log delivery put this account's logs.
func NewLogBucket(ctx *pulumi.Context, name string, args *LogBucketArgs, opts ...pulumi.ResourceOption) (*LogBucket, error) {
	a := *args
	if a.ExpireAfterDays == 0 {
		a.ExpireAfterDays = DefaultLogExpiryDays
	}
	b := &LogBucket{}
	if err := ctx.RegisterComponentResource("meshtrace:edge:LogBucket", name, b, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(b)
	region, err := aws.GetRegion(ctx, nil, parent)
	if err != nil {
		return nil, err
	}
	caller, err := aws.GetCallerIdentity(ctx, nil, parent)
	if err != nil {
		return nil, err
	}
	bucket, err := s3.NewBucketV2(ctx, name, &s3.BucketV2Args{Tags: a.Tags}, parent, pulumi.Protect(a.Protect))
	if err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name, &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm: pulumi.String("AES256"),
			},
		}},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketPublicAccessBlock(ctx, name, &s3.BucketPublicAccessBlockArgs{
		Bucket: bucket.ID(), BlockPublicAcls: pulumi.Bool(true), BlockPublicPolicy: pulumi.Bool(true),
		IgnorePublicAcls: pulumi.Bool(true), RestrictPublicBuckets: pulumi.Bool(true),
	}, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name, &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule:   s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, parent); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name, &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{s3.BucketLifecycleConfigurationV2RuleArgs{
			Id: pulumi.String("expire-logs"), Status: pulumi.String("Enabled"),
			Filter:     s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			Expiration: s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(a.ExpireAfterDays)},
		}},
	}, parent); err != nil {
		return nil, err
	}
	policy := bucket.Arn.ApplyT(func(arn string) string {
		return logDeliveryPolicy(arn, caller.AccountId, region.Name).JSON()
	}).(pulumi.StringOutput)
	if _, err := s3.NewBucketPolicy(ctx, name, &s3.BucketPolicyArgs{Bucket: bucket.ID(), Policy: policy}, parent); err != nil {
		return nil, err
	}
	b.BucketName = bucket.Bucket
	b.BucketArn = bucket.Arn
	return b, ctx.RegisterResourceOutputs(b, pulumi.Map{"bucketName": b.BucketName, "bucketArn": b.BucketArn})
}

// logDeliveryPolicy lets ELB put this account's logs under AWSLogs/<account>/ and refuses
// any request without TLS.
func logDeliveryPolicy(bucketArn, account, region string) taskspec.PolicyDocument {
	logs := fmt.Sprintf("%s/AWSLogs/%s/*", bucketArn, account)
	statements := []taskspec.Statement{{
		Sid: "LogDeliveryService", Effect: "Allow", Action: []string{"s3:PutObject"}, Resource: []string{logs},
		Principal: map[string]string{"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
	}}
	if elb, ok := elbLogAccounts[region]; ok {
		statements = append(statements, taskspec.Statement{
			Sid: "LogDeliveryAccount", Effect: "Allow", Action: []string{"s3:PutObject"}, Resource: []string{logs},
			Principal: map[string]string{"AWS": "arn:aws:iam::" + elb + ":root"},
		})
	}
	statements = append(statements, taskspec.Statement{
		Sid: "TLSOnly", Effect: "Deny", Action: []string{"s3:*"}, Resource: []string{bucketArn, bucketArn + "/*"},
		Principal: map[string]string{"AWS": "*"},
		Condition: map[string]map[string]string{"Bool": {"aws:SecureTransport": "false"}},
	})
	return taskspec.Policy(statements...)
}
