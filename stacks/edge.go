package stacks

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/meshtrace/meshtrace/components/edge"
	"github.com/meshtrace/meshtrace/components/services"
)

// publicEdge is what stands in front of products: HTTPS, access logs, the firewall, the name.
type publicEdge struct {
	cfg    EdgeConfig
	domain *edge.Domain // nil without meshtrace:domainName
}

// declareEdge declares what products' load balancer needs before it exists (the certificate,
// the log bucket) and sets it on args.
func declareEdge(ctx *pulumi.Context, prefix string, cfg Config, args *services.ServiceArgs, tags pulumi.StringMap) (*publicEdge, error) {
	e := &publicEdge{cfg: cfg.Edge}
	prod := cfg.Environment == "prod"
	args.LoadBalancerDeletionProtection = prod
	switch {
	case cfg.Edge.CertificateArn != "":
		args.CertificateArn = pulumi.String(cfg.Edge.CertificateArn)
	case cfg.Edge.DomainName != "":
		domain, err := edge.NewDomain(ctx, prefix, &edge.DomainArgs{DomainName: cfg.Edge.DomainName, HostedZoneId: cfg.Edge.HostedZoneId, Tags: tags})
		if err != nil {
			return nil, err
		}
		e.domain = domain
		args.CertificateArn = domain.CertificateArn
	}
	if cfg.Edge.AccessLogs {
		// The logs of products' load balancer, under its name.
		bucket, err := edge.NewLogBucket(ctx, prefix+"-alb-logs", &edge.LogBucketArgs{Prefix: ProductsName, Protect: prod, Tags: tags})
		if err != nil {
			return nil, err
		}
		args.AccessLogsBucket, args.AccessLogsPrefix = bucket.BucketName, bucket.Prefix
	}
	return e, nil
}

// finish declares what needs products' load balancer (the firewall, the alias record) and
// exports how the endpoint is served.
func (e *publicEdge) finish(ctx *pulumi.Context, prefix string, products *services.Service, tags pulumi.StringMap) error {
	if e.cfg.Waf {
		if _, err := edge.NewFirewall(ctx, prefix, &edge.FirewallArgs{LoadBalancerArn: products.LoadBalancerArn, RateLimit: e.cfg.WafRateLimit, Tags: tags}); err != nil {
			return err
		}
	}
	url := products.URL
	if e.domain != nil {
		if err := e.domain.PointAt(ctx, prefix, products.LoadBalancerDnsName, products.LoadBalancerZoneId); err != nil {
			return err
		}
		url = pulumi.Sprintf("https://%s", e.cfg.DomainName)
	}
	ctx.Export("url", url)
	ctx.Export("endpointIsPlainHttp", pulumi.Bool(!e.cfg.HTTPS()))
	if !e.cfg.HTTPS() {
		ctx.Export("endpointWarning", pulumi.String("plain HTTP: set meshtrace:certificateArn or meshtrace:domainName to serve HTTPS"))
	}
	return nil
}
