package edge

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/taskspec"
)

// DefaultLogExpiryDays is how long access logs are kept: a quarter, enough to look back at an
// incident or a bill, short enough not to pile up.
const DefaultLogExpiryDays = 90

// elbLogAccounts are the Elastic Load Balancing accounts that write access logs in the
// Regions that opened before August 2022 (ELB user guide, "Enable access logs for your
// Application Load Balancer", step 2; the same table is in cfn-lint and the Terraform AWS
// provider's aws_elb_service_account). Regions opened since then accept only the log delivery
// service principal, which the policy always allows too (docs/security.md#access-logs).
var elbLogAccounts = map[string]string{
	"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980", "us-west-2": "797873946194",
	"af-south-1": "098369216593", "ap-east-1": "754344448648", "ap-south-1": "718504428378", "ap-northeast-1": "582318560864",
	"ap-northeast-2": "600734575887", "ap-northeast-3": "383597477331", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
	"ca-central-1": "985666609251", "eu-central-1": "054676820928", "eu-west-1": "156460612806", "eu-west-2": "652711504416",
	"eu-south-1": "635631232127", "eu-west-3": "009996457667", "eu-north-1": "897822967062", "me-south-1": "076674570225",
	"sa-east-1": "507241528517",
}

// logDeliveryService is the service principal that writes access logs in every Region that
// supports it (all Regions opened since August 2022, and more and more of the older ones).
const logDeliveryService = "logdelivery.elasticloadbalancing.amazonaws.com"

// LogObjects is the one place that says where a load balancer writes its access logs: with
// access-log prefix prefix, ELB puts every object (and the test object it writes when logging
// is turned on) under <bucket>/<prefix>/AWSLogs/<account>/ (ELB user guide, "Access log
// files"). The bucket policy allows exactly this; the load balancer's accessLogs.prefix must
// be the same prefix (LogBucket.Prefix).
func LogObjects(bucketArn, prefix, account string) string {
	return fmt.Sprintf("%s/%s/AWSLogs/%s/*", bucketArn, prefix, account)
}

// LogBucketArgs configures a LogBucket.
type LogBucketArgs struct {
	// Prefix is the key prefix the load balancer writes under (its accessLogs.prefix; the
	// policy allows only LogObjects under it). Required: no "/" at either end, no "AWSLogs".
	Prefix string
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

	// BucketName resolves once the bucket is fully set up (its policy, public access block,
	// ownership, encryption and lifecycle): a load balancer given it depends on all of them, so
	// ELB's test object is written only once the policy allows it.
	BucketName pulumi.StringOutput `pulumi:"bucketName"`
	BucketArn  pulumi.StringOutput `pulumi:"bucketArn"`
	// Prefix is LogBucketArgs.Prefix: give it to the load balancer as its accessLogs.prefix.
	Prefix string
}

// NewLogBucket declares the bucket: encrypted with S3-managed keys (the only kind ELB can
// write with), public access blocked, objects owned by the bucket owner, logs expired, TLS
// required, and a policy that lets ELB log delivery put this account's logs.
func NewLogBucket(ctx *pulumi.Context, name string, args *LogBucketArgs, opts ...pulumi.ResourceOption) (*LogBucket, error) {
	a := *args
	if a.ExpireAfterDays == 0 {
		a.ExpireAfterDays = DefaultLogExpiryDays
	}
	// ELB refuses a prefix with AWSLogs in it (it adds that part itself).
	if a.Prefix == "" || strings.HasPrefix(a.Prefix, "/") || strings.HasSuffix(a.Prefix, "/") || strings.Contains(a.Prefix, "AWSLogs") {
		return nil, fmt.Errorf("log bucket %s: Prefix %q must be set, without a leading or trailing / and without AWSLogs", name, a.Prefix)
	}
	b := &LogBucket{Prefix: a.Prefix}
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
	// S3 answers OperationAborted to concurrent configuration calls on one bucket: each setting
	// waits for the one before it. The policy comes after the public access block (which
	// judges it) and the ownership controls.
	chain := &bucketChain{parent: parent}
	ownership, err := s3.NewBucketOwnershipControls(ctx, name, &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule:   s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, chain.next()...)
	if err != nil {
		return nil, err
	}
	chain.add(ownership, ownership.Bucket)
	publicAccess, err := s3.NewBucketPublicAccessBlock(ctx, name, &s3.BucketPublicAccessBlockArgs{
		Bucket: bucket.ID(), BlockPublicAcls: pulumi.Bool(true), BlockPublicPolicy: pulumi.Bool(true),
		IgnorePublicAcls: pulumi.Bool(true), RestrictPublicBuckets: pulumi.Bool(true),
	}, chain.next()...)
	if err != nil {
		return nil, err
	}
	chain.add(publicAccess, publicAccess.Bucket)
	encryption, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name, &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
				SseAlgorithm: pulumi.String("AES256"),
			},
		}},
	}, chain.next()...)
	if err != nil {
		return nil, err
	}
	chain.add(encryption, encryption.Bucket)
	lifecycle, err := s3.NewBucketLifecycleConfigurationV2(ctx, name, &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketLifecycleConfigurationV2RuleArray{s3.BucketLifecycleConfigurationV2RuleArgs{
			Id: pulumi.String("expire-logs"), Status: pulumi.String("Enabled"),
			Filter:     s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
			Expiration: s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(a.ExpireAfterDays)},
		}},
	}, chain.next()...)
	if err != nil {
		return nil, err
	}
	chain.add(lifecycle, lifecycle.Bucket)
	policyJSON := bucket.Arn.ApplyT(func(arn string) string {
		return logDeliveryPolicy(arn, a.Prefix, caller.AccountId, region.Name).JSON()
	}).(pulumi.StringOutput)
	policy, err := s3.NewBucketPolicy(ctx, name, &s3.BucketPolicyArgs{Bucket: bucket.ID(), Policy: policyJSON}, chain.next()...)
	if err != nil {
		return nil, err
	}
	chain.add(policy, policy.Bucket)
	// The name, once every setting is applied: an output of each of them.
	settled := []any{bucket.Bucket}
	for _, o := range chain.buckets {
		settled = append(settled, o)
	}
	b.BucketName = pulumi.All(settled...).ApplyT(func(v []any) string { return v[0].(string) }).(pulumi.StringOutput)
	b.BucketArn = bucket.Arn
	return b, ctx.RegisterResourceOutputs(b, pulumi.Map{"bucketName": b.BucketName, "bucketArn": b.BucketArn})
}

// bucketChain declares the bucket's settings one after another.
type bucketChain struct {
	parent  pulumi.ResourceOption
	last    pulumi.Resource
	buckets []pulumi.StringOutput // each setting's bucket output
}

// next is the options of the next setting: after the last one.
func (c *bucketChain) next() []pulumi.ResourceOption {
	if c.last == nil {
		return []pulumi.ResourceOption{c.parent}
	}
	return []pulumi.ResourceOption{c.parent, pulumi.DependsOn([]pulumi.Resource{c.last})}
}

func (c *bucketChain) add(r pulumi.Resource, bucket pulumi.StringOutput) {
	c.last = r
	c.buckets = append(c.buckets, bucket)
}

// logDeliveryPolicy lets ELB put this account's logs under LogObjects(prefix) and refuses any
// request without TLS.
func logDeliveryPolicy(bucketArn, prefix, account, region string) taskspec.PolicyDocument {
	logs := LogObjects(bucketArn, prefix, account)
	statements := []taskspec.Statement{{
		Sid: "LogDeliveryService", Effect: "Allow", Action: []string{"s3:PutObject"}, Resource: []string{logs},
		Principal: map[string]string{"Service": logDeliveryService},
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
