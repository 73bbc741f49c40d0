package services

import (
	"path"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	awsxecr "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx/ecr"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// declareImage returns the image URI the task runs and the ARN of the private ECR
// repository it comes from ("" when it needs no ECR permissions). With Build, it
// declares the repository and builds and pushes the image during `pulumi up`.
func declareImage(ctx *pulumi.Context, name string, a ServiceArgs, opts ...pulumi.ResourceOption) (pulumi.StringOutput, pulumi.StringOutput, error) {
	if a.Build == nil {
		image := a.Image.ToStringOutput()
		return image, image.ApplyT(ecrRepositoryArn).(pulumi.StringOutput), nil
	}
	repo, err := ecr.NewRepository(ctx, name, &ecr.RepositoryArgs{
		ImageScanningConfiguration: ecr.RepositoryImageScanningConfigurationArgs{ScanOnPush: pulumi.Bool(true)},
		// awsx pushes a moving tag and the task pins the digest.
		ImageTagMutability: pulumi.String("MUTABLE"),
		// The images are rebuilt from source, so `pulumi destroy` may delete them.
		ForceDelete: pulumi.Bool(true),
		EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{
			ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("AES256")},
		},
		Tags: a.Tags,
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, err
	}
	dockerfile := a.Build.Dockerfile
	if dockerfile == "" {
		dockerfile = path.Join(a.Build.Context, "Dockerfile")
	}
	platform := a.Build.Platform
	if platform == "" {
		platform = "linux/amd64"
	}
	img, err := awsxecr.NewImage(ctx, name, &awsxecr.ImageArgs{
		RepositoryUrl: repo.RepositoryUrl,
		Context:       pulumi.String(a.Build.Context),
		Dockerfile:    pulumi.String(dockerfile),
		Platform:      pulumi.String(platform),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, err
	}
	return img.ImageUri, repo.Arn, nil
}
