package enginecheck

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/pkg/v3/resource/deploy/deploytest"
	"github.com/pulumi/pulumi/pkg/v3/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// Plugin versions: the SDK versions in go.mod, which the Go SDKs put on every registration
// (the engine loads exactly that version). awsx registers its children with the same aws
// version here (the real awsx brings the aws version it was built with: one more default
// provider, nothing else); docker-build's is the harness's choice.
const (
	AwsVersion         = "6.83.4"
	AwsxVersion        = "2.22.0"
	DockerBuildVersion = "0.0.3"
)

// awsxProvider is the fake pulumi-awsx. awsx:ec2:Vpc and awsx:ecr:Image are remote
// components: the Go SDK sends them to the provider's Construct, which registers the
// component and its children with the engine, as awsx 2.x does (awsx/ec2/vpc.ts and
// awsx/ecr/image.ts: the same children, names, parents and inputs; resource-reference
// outputs such as `vpc` and `subnets` are left out, the program reads only the ids).
// children records every URN a Construct registered (they are awsx's, not the program's).
func (c *Cloud) awsxProvider(children *sync.Map) *deploytest.Provider {
	return &deploytest.Provider{
		ConstructF: func(_ context.Context, req plugin.ConstructRequest, mon *deploytest.ResourceMonitor) (plugin.ConstructResponse, error) {
			reg := func(t tokens.Type, name string, custom bool, opts deploytest.ResourceOptions) (*deploytest.RegisterResourceResponse, error) {
				if custom {
					opts.Version = AwsVersion
					if strings.HasPrefix(string(t), "docker-build:") {
						opts.Version = DockerBuildVersion
					}
				}
				res, err := mon.RegisterResource(t, name, custom, opts)
				if err != nil {
					return nil, fmt.Errorf("fake awsx: register %s %s: %w", t, name, err)
				}
				if res.URN != "" && custom {
					children.Store(res.URN, true)
				}
				return res, nil
			}
			comp, err := reg(req.Type, req.Name, false, deploytest.ResourceOptions{
				Parent: req.Parent, Protect: req.Options.Protect, Dependencies: req.Options.Dependencies,
				Providers: req.Options.Providers, RetainOnDelete: req.Options.RetainOnDelete,
			})
			if err != nil {
				return plugin.ConstructResponse{}, err
			}
			var outs resource.PropertyMap
			switch req.Type {
			case "awsx:ec2:Vpc":
				outs, err = constructVpc(req, comp.URN, reg)
			case "awsx:ecr:Image":
				outs, err = c.constructImage(req, comp.URN, reg)
			default:
				err = fmt.Errorf("fake awsx: no component %s", req.Type)
			}
			if err != nil {
				return plugin.ConstructResponse{}, err
			}
			if err := mon.RegisterResourceOutputs(comp.URN, outs); err != nil {
				return plugin.ConstructResponse{}, err
			}
			return plugin.ConstructResponse{URN: comp.URN, Outputs: resource.FromResourcePropertyMap(outs)}, nil
		},
	}
}

type registerFunc func(t tokens.Type, name string, custom bool, opts deploytest.ResourceOptions) (*deploytest.RegisterResourceResponse, error)

// plainValue unwraps the output and secret wrappers of a Construct input.
func plainValue(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsOutput():
			o := v.OutputValue()
			if !o.Known {
				return resource.MakeComputed(resource.NewStringProperty(""))
			}
			v = o.Element
			if o.Secret {
				return resource.MakeSecret(plainValue(v))
			}
		case v.IsSecret():
			return resource.MakeSecret(plainValue(v.SecretValue().Element))
		default:
			return v
		}
	}
}

func inputString(in resource.PropertyMap, key string) (string, bool) {
	v := plainValue(in[resource.PropertyKey(key)])
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue(), true
	}
	return "", false
}

func inputNumber(in resource.PropertyMap, key string, def int) int {
	v := plainValue(in[resource.PropertyKey(key)])
	if v.IsNumber() {
		return int(v.NumberValue())
	}
	return def
}

// constructVpc lays out the VPC as awsx's Vpc does with subnetStrategy Auto: per AZ a block
// of availabilityZoneCidrMask, the private subnet at its start and the public one after it;
// an internet gateway; per subnet a route table, an association and a default route (public:
// the internet gateway; private: the NAT gateway of its AZ, or the only one for Single), and
// an EIP and NAT gateway in the public subnets the strategy asks for.
func constructVpc(req plugin.ConstructRequest, comp resource.URN, reg registerFunc) (resource.PropertyMap, error) {
	in := resource.ToResourcePropertyMap(req.Inputs)
	name := req.Name
	cidr, _ := inputString(in, "cidrBlock")
	if cidr == "" {
		cidr = "10.0.0.0/16"
	}
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, fmt.Errorf("fake awsx: cidrBlock %q: %w", cidr, err)
	}
	azCount := inputNumber(in, "numberOfAvailabilityZones", 3)
	region := "us-east-1"
	for k, v := range req.Info.Config {
		if k.Namespace() == "aws" && k.Name() == "region" {
			region = v
		}
	}
	azMask := inputNumber(in, "availabilityZoneCidrMask", prefix.Bits()+2)
	strategy := "OnePerAz"
	if ng := plainValue(in["natGateways"]); ng.IsObject() {
		if s, ok := inputString(ng.ObjectValue(), "strategy"); ok {
			strategy = s
		}
	}
	type spec struct {
		typ, name string
		mask      int
	}
	var specs []spec
	if ss := plainValue(in["subnetSpecs"]); ss.IsArray() {
		for _, e := range ss.ArrayValue() {
			o := plainValue(e).ObjectValue()
			typ, _ := inputString(o, "type")
			n, ok := inputString(o, "name")
			if !ok {
				n = strings.ToLower(typ)
			}
			specs = append(specs, spec{typ, n, inputNumber(o, "cidrMask", azMask+1)})
		}
	}
	// Public subnets first, so that the NAT gateways exist before the private routes.
	order := map[string]int{"Public": 0, "Private": 1, "Isolated": 2}
	sort.SliceStable(specs, func(i, j int) bool { return order[specs[i].typ] < order[specs[j].typ] })

	tags := resource.PropertyMap{}
	if t := plainValue(in["tags"]); t.IsObject() {
		tags = t.ObjectValue().Copy()
	}
	withTags := func(extra map[string]string, base resource.PropertyMap) resource.PropertyValue {
		m := base.Copy()
		for k, v := range extra {
			m[resource.PropertyKey(k)] = resource.NewStringProperty(v)
		}
		return resource.NewObjectProperty(m)
	}
	shared := withTags(map[string]string{"Name": name}, tags).ObjectValue()
	// Keys sorted so the order of registration does not depend on map order.
	vpcInputs := resource.PropertyMap{"cidrBlock": resource.NewStringProperty(cidr), "tags": resource.NewObjectProperty(shared)}
	for _, k := range []resource.PropertyKey{"enableDnsHostnames", "enableDnsSupport", "instanceTenancy"} {
		if v, ok := in[k]; ok {
			vpcInputs[k] = plainValue(v)
		}
	}
	vpc, err := reg("aws:ec2/vpc:Vpc", name, true, deploytest.ResourceOptions{Parent: comp, Inputs: vpcInputs})
	if err != nil {
		return nil, err
	}
	vpcID := resource.NewStringProperty(string(vpc.ID))
	if vpc.ID == "" {
		vpcID = resource.MakeComputed(resource.NewStringProperty(""))
	}
	idOf := func(r *deploytest.RegisterResourceResponse) resource.PropertyValue {
		if r.ID == "" {
			return resource.MakeComputed(resource.NewStringProperty(""))
		}
		return resource.NewStringProperty(string(r.ID))
	}
	igw, err := reg("aws:ec2/internetGateway:InternetGateway", name, true, deploytest.ResourceOptions{
		Parent: vpc.URN, Dependencies: []resource.URN{vpc.URN},
		Inputs: resource.PropertyMap{"vpcId": vpcID, "tags": resource.NewObjectProperty(shared)},
	})
	if err != nil {
		return nil, err
	}

	var public, private []resource.PropertyValue
	var nats []*deploytest.RegisterResourceResponse
	azBlock := uint32(1) << (32 - azMask)
	base := prefix.Masked().Addr().As4()
	baseInt := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	for i := 0; i < azCount; i++ {
		az := fmt.Sprintf("%s%c", region, 'a'+i)
		next := baseInt + uint32(i)*azBlock
		// Addresses: private first in the AZ block, public after it (the Auto allocator).
		alloc := map[string]string{}
		for _, t := range []string{"Private", "Public", "Isolated"} {
			for _, s := range specs {
				if s.typ != t {
					continue
				}
				a := netip.AddrFrom4([4]byte{byte(next >> 24), byte(next >> 16), byte(next >> 8), byte(next)})
				alloc[s.name] = netip.PrefixFrom(a, s.mask).String()
				next += uint32(1) << (32 - s.mask)
			}
		}
		for _, s := range specs {
			subnetName := fmt.Sprintf("%s-%s-%d", name, s.name, i+1)
			isPublic := s.typ == "Public"
			subnet, err := reg("aws:ec2/subnet:Subnet", subnetName, true, deploytest.ResourceOptions{
				Parent: vpc.URN, Dependencies: []resource.URN{vpc.URN},
				Inputs: resource.PropertyMap{
					"vpcId": vpcID, "availabilityZone": resource.NewStringProperty(az),
					"mapPublicIpOnLaunch": resource.NewBoolProperty(isPublic),
					"cidrBlock":           resource.NewStringProperty(alloc[s.name]),
					"tags":                withTags(map[string]string{"Name": subnetName, "SubnetType": s.typ}, shared),
				},
			})
			if err != nil {
				return nil, err
			}
			switch s.typ {
			case "Public":
				public = append(public, idOf(subnet))
			case "Private":
				private = append(private, idOf(subnet))
			}
			rt, err := reg("aws:ec2/routeTable:RouteTable", subnetName, true, deploytest.ResourceOptions{
				Parent: subnet.URN, Dependencies: []resource.URN{subnet.URN},
				Inputs: resource.PropertyMap{"vpcId": vpcID, "tags": withTags(map[string]string{"Name": subnetName, "SubnetType": s.typ}, shared)},
			})
			if err != nil {
				return nil, err
			}
			if _, err := reg("aws:ec2/routeTableAssociation:RouteTableAssociation", subnetName, true, deploytest.ResourceOptions{
				Parent: rt.URN, Dependencies: []resource.URN{rt.URN},
				Inputs: resource.PropertyMap{"routeTableId": idOf(rt), "subnetId": idOf(subnet)},
			}); err != nil {
				return nil, err
			}
			if isPublic && (strategy == "OnePerAz" || strategy == "Single" && len(nats) == 0) {
				natName := fmt.Sprintf("%s-%d", name, i+1)
				eip, err := reg("aws:ec2/eip:Eip", natName, true, deploytest.ResourceOptions{
					Parent: subnet.URN, Dependencies: []resource.URN{subnet.URN},
					Inputs: resource.PropertyMap{"tags": withTags(map[string]string{"Name": natName}, tags)},
				})
				if err != nil {
					return nil, err
				}
				allocation := eip.Outputs["allocationId"]
				if allocation.IsNull() {
					allocation = resource.MakeComputed(resource.NewStringProperty(""))
				}
				nat, err := reg("aws:ec2/natGateway:NatGateway", natName, true, deploytest.ResourceOptions{
					Parent: subnet.URN, Dependencies: []resource.URN{subnet.URN},
					Inputs: resource.PropertyMap{"subnetId": idOf(subnet), "allocationId": allocation,
						"tags": withTags(map[string]string{"Name": natName}, tags)},
				})
				if err != nil {
					return nil, err
				}
				nats = append(nats, nat)
			}
			route := resource.PropertyMap{"routeTableId": idOf(rt), "destinationCidrBlock": resource.NewStringProperty("0.0.0.0/0")}
			switch {
			case isPublic:
				route["gatewayId"] = idOf(igw)
			case s.typ == "Private" && strategy != "None":
				nat := nats[0]
				if strategy != "Single" {
					nat = nats[i]
				}
				route["natGatewayId"] = idOf(nat)
			default:
				continue
			}
			if _, err := reg("aws:ec2/route:Route", subnetName, true, deploytest.ResourceOptions{
				Parent: rt.URN, Dependencies: []resource.URN{rt.URN}, Inputs: route,
			}); err != nil {
				return nil, err
			}
		}
	}
	return resource.PropertyMap{
		"vpcId":             vpcID,
		"publicSubnetIds":   resource.NewArrayProperty(public),
		"privateSubnetIds":  resource.NewArrayProperty(private),
		"isolatedSubnetIds": resource.NewArrayProperty([]resource.PropertyValue{}),
	}, nil
}

// constructImage builds and pushes as awsx's Image does: one docker-build Image named after a
// hash of the build inputs and the stack, tagged <repositoryUrl>:<that name>, pushed with the
// registry's credentials (a secret), and imageUri = <repositoryUrl>@<digest>.
func (c *Cloud) constructImage(req plugin.ConstructRequest, comp resource.URN, reg registerFunc) (resource.PropertyMap, error) {
	in := resource.ToResourcePropertyMap(req.Inputs)
	context, ok := inputString(in, "context")
	if !ok {
		context = "."
	}
	dockerfile, _ := inputString(in, "dockerfile")
	platform, _ := inputString(in, "platform")
	sig := context
	if dockerfile != "" {
		sig += ";dockerfile=" + dockerfile
	}
	sig += req.Info.Stack
	sum := sha1.Sum([]byte(sig))
	imageName := hex.EncodeToString(sum[:]) + "-container"

	repoURL, known := inputString(in, "repositoryUrl")
	str := func(s string) resource.PropertyValue {
		if !known {
			return resource.MakeComputed(resource.NewStringProperty(""))
		}
		return resource.NewStringProperty(s)
	}
	canonical := str(repoURL + ":" + imageName)
	platforms := []resource.PropertyValue{}
	if platform != "" {
		platforms = append(platforms, resource.NewStringProperty(platform))
	}
	inputs := resource.PropertyMap{
		"tags":       resource.NewArrayProperty([]resource.PropertyValue{canonical}),
		"cacheFrom":  resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{"registry": resource.NewObjectProperty(resource.PropertyMap{"ref": canonical})})}),
		"cacheTo":    resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{"inline": resource.NewObjectProperty(resource.PropertyMap{})})}),
		"context":    resource.NewObjectProperty(resource.PropertyMap{"location": resource.NewStringProperty(context)}),
		"dockerfile": resource.NewObjectProperty(resource.PropertyMap{"location": resource.NewStringProperty(dockerfile)}),
		"platforms":  resource.NewArrayProperty(platforms),
		"push":       resource.NewBoolProperty(true),
		// awsx gets these from aws.ecr.getCredentials and wraps the password in a secret.
		"registries": resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{
			"address":  str(strings.SplitN(repoURL, "/", 2)[0]),
			"username": resource.NewStringProperty("AWS"),
			"password": resource.MakeSecret(resource.NewStringProperty(c.token)),
		})}),
	}
	img, err := reg("docker-build:index:Image", imageName, true, deploytest.ResourceOptions{Parent: comp, Inputs: inputs})
	if err != nil {
		return nil, err
	}
	uri := resource.MakeComputed(resource.NewStringProperty(""))
	if d := img.Outputs["digest"]; d.IsString() && known {
		uri = resource.NewStringProperty(repoURL + "@" + d.StringValue())
	}
	return resource.PropertyMap{"imageUri": uri}, nil
}
