package edge

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DomainArgs configures a Domain.
type DomainArgs struct {
	// DomainName is the public name of the service, e.g. shop.example.com. Required.
	DomainName string
	// HostedZoneId is the Route 53 zone that holds DomainName. Required.
	HostedZoneId string
	// Tags are added to every resource.
	Tags pulumi.StringMap
}

// Domain is a DNS name with an ACM certificate, validated through DNS.
type Domain struct {
	pulumi.ResourceState

	// CertificateArn resolves once ACM has validated the certificate.
	CertificateArn pulumi.StringOutput `pulumi:"certificateArn"`

	args DomainArgs
}

// NewDomain requests the certificate, publishes its validation record and waits for ACM to
// issue it.
func NewDomain(ctx *pulumi.Context, name string, args *DomainArgs, opts ...pulumi.ResourceOption) (*Domain, error) {
	if args.DomainName == "" || args.HostedZoneId == "" {
		return nil, fmt.Errorf("domain %s: DomainName and HostedZoneId are required", name)
	}
	d := &Domain{args: *args}
	if err := ctx.RegisterComponentResource("meshtrace:edge:Domain", name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)
	cert, err := acm.NewCertificate(ctx, name, &acm.CertificateArgs{
		DomainName:       pulumi.String(args.DomainName),
		ValidationMethod: pulumi.String("DNS"),
		Tags:             args.Tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	option := cert.DomainValidationOptions.Index(pulumi.Int(0))
	record, err := route53.NewRecord(ctx, name+"-validation", &route53.RecordArgs{
		ZoneId:         pulumi.String(args.HostedZoneId),
		Name:           option.ResourceRecordName().Elem(),
		Type:           option.ResourceRecordType().Elem(),
		Records:        pulumi.StringArray{option.ResourceRecordValue().Elem()},
		Ttl:            pulumi.Int(60),
		AllowOverwrite: pulumi.Bool(true), // a re-run or a second stack publishes the same record
	}, parent)
	if err != nil {
		return nil, err
	}
	validation, err := acm.NewCertificateValidation(ctx, name, &acm.CertificateValidationArgs{
		CertificateArn:        cert.Arn,
		ValidationRecordFqdns: pulumi.StringArray{record.Fqdn},
	}, parent)
	if err != nil {
		return nil, err
	}
	d.CertificateArn = validation.CertificateArn
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{"certificateArn": d.CertificateArn})
}

// PointAt declares the domain's alias record to a load balancer (its DNS name and zone id).
func (d *Domain) PointAt(ctx *pulumi.Context, name string, dnsName, zoneId pulumi.StringInput) error {
	_, err := route53.NewRecord(ctx, name+"-alias", &route53.RecordArgs{
		ZoneId: pulumi.String(d.args.HostedZoneId),
		Name:   pulumi.String(d.args.DomainName),
		Type:   pulumi.String("A"),
		Aliases: route53.RecordAliasArray{route53.RecordAliasArgs{
			Name: dnsName, ZoneId: zoneId, EvaluateTargetHealth: pulumi.Bool(true),
		}},
	}, pulumi.Parent(d))
	return err
}
