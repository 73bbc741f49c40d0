package stacks

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/meshtrace/meshtrace/components/database"
)

// EdgeConfig is how the public endpoint is served.
type EdgeConfig struct {
	CertificateArn string // HTTPS with this ACM certificate; or
	DomainName     string // with HostedZoneId: a certificate for this name is created and validated
	HostedZoneId   string
	AllowPlainHttp bool // a prod stack without a certificate serves plain HTTP only when this says so
	AccessLogs     bool // load balancer access logs to a bucket of the stack; dev false, prod true
	Waf            bool // a WAF web ACL on the load balancer; dev false, prod true
	WafRateLimit   int  // requests per client IP per 5 minutes before the WAF blocks it
}

// HTTPS reports whether the endpoint is served over HTTPS.
func (e EdgeConfig) HTTPS() bool { return e.CertificateArn != "" || e.DomainName != "" }

// HardeningConfig is the network and supply-chain hardening.
type HardeningConfig struct {
	FlowLogs bool // VPC flow logs; dev false, prod true
	// VpcEndpoints: the tasks reach AWS through VPC endpoints, and the sidecar images through
	// an ECR pull-through cache of public.ecr.aws, not through NAT; dev false, prod true.
	VpcEndpoints bool
	// Sidecar images; empty: the components' pinned defaults.
	EnvoyImage, XRayDaemonImage, CollectorImage string
}

var (
	certificateArnPattern = regexp.MustCompile(`^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$`)
	hostedZonePattern     = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)
)

// Minimums of a prod stack, each with its reason in the refusal.
const (
	prodMinBackupRetentionDays = database.DefaultBackupRetentionDays
	prodMinDesiredCount        = 2 // one task per AZ: a deploy or an AZ outage keeps serving
)

// edgeProblems are the rules between the edge keys, in every environment.
func edgeProblems(c Config) []string {
	var problems []string
	if c.Edge.CertificateArn != "" && c.Edge.DomainName != "" {
		problems = append(problems, fmt.Sprintf("%s:certificateArn and %s:domainName are both set: set one (domainName creates its own certificate)", Namespace, Namespace))
	}
	if (c.Edge.DomainName == "") != (c.Edge.HostedZoneId == "") {
		problems = append(problems, fmt.Sprintf("%s:domainName and %s:hostedZoneId go together: the certificate is validated and the alias record created in that zone", Namespace, Namespace))
	}
	return problems
}

// prodGuardrails refuses dev-grade settings in a prod stack, naming the key and the rule.
func prodGuardrails(c Config) []string {
	var problems []string
	refuse := func(key, rule string) {
		problems = append(problems, fmt.Sprintf("%s:%s: %s in a prod stack", Namespace, key, rule))
	}
	if !c.Database.DeletionProtection {
		refuse("dbDeletionProtection", "must be true (the database holds the data)")
	}
	if !c.Database.MultiAZ {
		refuse("dbMultiAz", "must be true (a standby in another AZ takes over in a minute or two)")
	}
	if c.Database.BackupRetentionDays < prodMinBackupRetentionDays {
		refuse("dbBackupRetentionDays", fmt.Sprintf("must be at least %d (got %d)", prodMinBackupRetentionDays, c.Database.BackupRetentionDays))
	}
	if c.Products.DesiredCount < prodMinDesiredCount {
		refuse("desiredCount", fmt.Sprintf("must be at least %d (got %d): one task per AZ", prodMinDesiredCount, c.Products.DesiredCount))
	}
	if p, err := netip.ParsePrefix(c.VpcCidr); err == nil && !p.Addr().IsPrivate() {
		refuse("vpcCidr", fmt.Sprintf("must be private address space (RFC 1918), not %s", c.VpcCidr))
	}
	if !c.Edge.HTTPS() && !c.Edge.AllowPlainHttp {
		refuse("certificateArn", "or domainName must be set (HTTPS), or allowPlainHttp: true must say plain HTTP is meant")
	}
	for key, image := range map[string]string{
		"productsImage": c.Products.Image, "paymentsImage": c.Payments.Image,
		"envoyImage": c.Hardening.EnvoyImage, "xrayDaemonImage": c.Hardening.XRayDaemonImage, "adotImage": c.Hardening.CollectorImage,
	} {
		if image != "" && !strings.Contains(image, "@sha256:") {
			refuse(key, fmt.Sprintf("must be pinned by digest (@sha256:...), not %s: a tag can move", image))
		}
	}
	return problems
}
