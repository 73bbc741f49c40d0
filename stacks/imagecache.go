package stacks

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/network"
)

// imageCache addresses the sidecar images through the network's ECR pull-through cache of
// public.ecr.aws: with VPC endpoints and no 443 egress to the internet, Fargate pulls them
// through it (the task's own network interface pulls them, through the ECR and S3 endpoints).
type imageCache struct {
	registry string // <account>.dkr.ecr.<region>.amazonaws.com
	prefix   string // the cache's repository prefix
}

// newImageCache is the cache of the stack's account and region under prefix.
func newImageCache(ctx *pulumi.Context, prefix string) (*imageCache, error) {
	caller, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &imageCache{registry: fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", caller.AccountId, regionOf(ctx)), prefix: prefix}, nil
}

// address is image as pulled through the cache when it comes from public.ecr.aws
// (<registry>/<prefix>/<path>); any other image is returned as it is.
func (c *imageCache) address(image string) string {
	if c == nil {
		return image
	}
	path, ok := strings.CutPrefix(image, network.PublicECR+"/")
	if !ok {
		return image
	}
	return c.registry + "/" + c.prefix + "/" + path
}
