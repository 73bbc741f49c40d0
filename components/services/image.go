package services

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	awsxecr "github.com/pulumi/pulumi-awsx/sdk/v2/go/awsx/ecr"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// declareImage returns the image URI the task runs. With Build, it declares the repository
// and builds and pushes the image during `pulumi up`.
func declareImage(ctx *pulumi.Context, name string, a ServiceArgs, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	if a.Build == nil {
		return a.Image.ToStringOutput(), nil
	}
	// Relative to the project, as the build itself resolves it (Pulumi runs programs there).
	tag, err := sourceTag(filepath.Join(ctx.RootDirectory(), a.Build.Context), a.Build.Sources)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("service %s: %w", name, err)
	}
	repo, err := ecr.NewRepository(ctx, name, &ecr.RepositoryArgs{
		ImageScanningConfiguration: ecr.RepositoryImageScanningConfigurationArgs{ScanOnPush: pulumi.Bool(true)},
		// A tag names one build for good: each build is tagged with its sources' digest, and
		// the task definition references the pushed image by its digest.
		ImageTagMutability: pulumi.String("IMMUTABLE"),
		// The images are rebuilt from source, so `pulumi destroy` may delete them.
		ForceDelete: pulumi.Bool(true),
		EncryptionConfigurations: ecr.RepositoryEncryptionConfigurationArray{
			ecr.RepositoryEncryptionConfigurationArgs{EncryptionType: pulumi.String("AES256")},
		},
		Tags: a.Tags,
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	if _, err := ecr.NewLifecyclePolicy(ctx, name, &ecr.LifecyclePolicyArgs{
		Repository: repo.Name,
		Policy:     pulumi.String(keepLastImagesPolicy(KeepImages)),
	}, opts...); err != nil {
		return pulumi.StringOutput{}, err
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
		ImageTag:      pulumi.String(tag),
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	return img.ImageUri, nil
}

// KeepImages is how many images a service's repository keeps: enough to roll back several
// deploys, few enough that old, unscanned images do not linger.
const KeepImages = 20

// keepLastImagesPolicy is an ECR lifecycle policy that expires all but the newest n images.
func keepLastImagesPolicy(n int) string {
	policy := map[string]any{"rules": []any{map[string]any{
		"rulePriority": 1,
		"description":  fmt.Sprintf("keep the last %d images", n),
		"selection":    map[string]any{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": n},
		"action":       map[string]any{"type": "expire"},
	}}}
	b, _ := json.Marshal(policy) // plain maps: cannot fail
	return string(b)
}

// sourceTag is the image tag of a build: "src-" and the first 16 hex digits of the SHA-256
// of the build's sources (paths relative to the context, files or directories; default the
// whole context but .git). The same sources give the same tag, in every preview; any change
// gives a new one, which an IMMUTABLE repository requires.
func sourceTag(context string, sources []string) (string, error) {
	if len(sources) == 0 {
		sources = []string{"."}
	}
	h := sha256.New()
	for _, src := range sources {
		root := filepath.Join(context, src)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == ".git" {
					return filepath.SkipDir
				}
				return nil
			}
			rel, err := filepath.Rel(context, p)
			if err != nil {
				return err
			}
			content, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(content))
			h.Write(content)
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("hashing the image sources: %w", err)
		}
	}
	return "src-" + hex.EncodeToString(h.Sum(nil))[:16], nil
}
