package enginecheck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/pkg/v3/resource/deploy/deploytest"
	"github.com/pulumi/pulumi/pkg/v3/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Fake account the fake cloud puts into ARNs.
const Account = "123456789012"

// Cloud is the fake AWS behind the fake providers: it hands out ids and remembers what
// exists, so a test can see what a deployment created and deleted. Only the cloud is fake;
// planning, diffing, state, protection and secrets are the engine's.
type Cloud struct {
	mu      sync.Mutex
	next    int
	live    map[string]string // id -> type token
	created int
	deleted int
	// token is the ECR authorization token the fake hands out (stable: see awsx.go).
	token string
}

// NewCloud returns an empty fake cloud.
func NewCloud() *Cloud {
	return &Cloud{live: map[string]string{}, token: "fake-ecr-token-" + shortHash("ecr", 16)}
}

// Live is how many resources exist in the fake cloud.
func (c *Cloud) Live() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.live)
}

func (c *Cloud) newID(prefix string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	return fmt.Sprintf("%s%017x", prefix, c.next)
}

func (c *Cloud) add(id, typ string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live[id] = typ
	c.created++
}

// liveOfType is the ids of the live resources of a type, sorted.
func (c *Cloud) liveOfType(typ string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for id, t := range c.live {
		if t == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func (c *Cloud) remove(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.live[id]; !ok {
		return fmt.Errorf("fake cloud: no resource %s to delete", id)
	}
	delete(c.live, id)
	c.deleted++
	return nil
}

// shortHash is a stable hex string of n characters derived from parts.
func shortHash(part string, n int, more ...string) string {
	h := sha256.New()
	h.Write([]byte(part))
	for _, m := range more {
		h.Write([]byte{0})
		h.Write([]byte(m))
	}
	return hex.EncodeToString(h.Sum(nil))[:n]
}

// autoname lists the property a provider fills with "<logical name>-<7 random hex>" when the
// program leaves it unset (pulumi-aws auto-naming), with AWS's length limit and case rule.
var autoname = map[string]struct {
	key   resource.PropertyKey
	max   int
	lower bool
}{
	"aws:ec2/securityGroup:SecurityGroup":                          {"name", 255, false},
	"aws:iam/role:Role":                                            {"name", 64, false},
	"aws:iam/rolePolicy:RolePolicy":                                {"name", 128, false},
	"aws:ecr/repository:Repository":                                {"name", 256, true},
	"aws:cloudwatch/logGroup:LogGroup":                             {"name", 512, false},
	"aws:ecs/cluster:Cluster":                                      {"name", 255, false},
	"aws:ecs/service:Service":                                      {"name", 255, false},
	"aws:lb/loadBalancer:LoadBalancer":                             {"name", 32, false},
	"aws:lb/targetGroup:TargetGroup":                               {"name", 32, false},
	"aws:rds/subnetGroup:SubnetGroup":                              {"name", 255, true},
	"aws:rds/parameterGroup:ParameterGroup":                        {"name", 255, true},
	"aws:s3/bucket:Bucket":                                         {"bucket", 63, true},
	"aws:s3/bucketV2:BucketV2":                                     {"bucket", 63, true},
	"aws:rds/instance:Instance":                                    {"identifier", 63, true},
	"aws:servicediscovery/service:Service":                         {"name", 127, false},
	"aws:appmesh/mesh:Mesh":                                        {"name", 255, false},
	"aws:appmesh/virtualNode:VirtualNode":                          {"name", 255, false},
	"aws:appmesh/virtualRouter:VirtualRouter":                      {"name", 255, false},
	"aws:appmesh/virtualService:VirtualService":                    {"name", 255, false},
	"aws:appmesh/route:Route":                                      {"name", 255, false},
	"aws:xray/group:Group":                                         {"groupName", 32, false},
	"aws:xray/samplingRule:SamplingRule":                           {"ruleName", 32, false},
	"aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": {"name", 1024, false},
}

// check is Check for every fake provider: inputs as given, plus the auto-name. Like the
// real bridge it keeps the old name when there is one (the engine calls Check again without
// olds when it decides to replace, which yields a new name, as for real).
func check(req plugin.CheckRequest) (plugin.CheckResponse, error) {
	news := resource.ToResourcePropertyMap(req.NewInputs)
	olds := resource.ToResourcePropertyMap(req.OldInputs)
	an, ok := autoname[string(req.URN.Type())]
	if ok {
		if v, set := news[an.key]; !set || v.IsNull() {
			if old, had := olds[an.key]; had && old.IsString() && old.StringValue() != "" {
				news[an.key] = old
			} else {
				base := req.URN.Name()
				if an.lower {
					base = strings.ToLower(base)
				}
				suffix := "-" + shortHash(string(req.URN), 7, string(req.RandomSeed))
				if len(base)+len(suffix) > an.max {
					base = base[:an.max-len(suffix)]
				}
				news[an.key] = resource.NewStringProperty(base + suffix)
			}
		}
	}
	return plugin.CheckResponse{Properties: resource.FromResourcePropertyMap(news)}, nil
}

// diff is Diff for every fake provider: the old inputs against the new ones, a replacement
// where a changed property forces one (replace.go), an unknown new value counting as changed.
func diff(req plugin.DiffRequest) (plugin.DiffResult, error) {
	olds, news := resource.ToResourcePropertyMap(req.OldInputs), resource.ToResourcePropertyMap(req.NewInputs)
	var changed, replace []resource.PropertyKey
	detailed := map[string]plugin.PropertyDiff{}
	keys := map[resource.PropertyKey]bool{}
	for k := range olds {
		keys[k] = true
	}
	for k := range news {
		keys[k] = true
	}
	for k := range keys {
		o, hadOld := olds[k]
		n, hasNew := news[k]
		if hadOld && hasNew && !n.ContainsUnknowns() && o.DeepEquals(n) {
			continue
		}
		if !hadOld && hasNew && n.IsNull() || hadOld && !hasNew && o.IsNull() {
			continue
		}
		changed = append(changed, k)
		kind := plugin.DiffUpdate
		switch {
		case !hadOld:
			kind = plugin.DiffAdd
		case !hasNew:
			kind = plugin.DiffDelete
		}
		if replaces(string(req.URN.Type()), k) {
			replace = append(replace, k)
			kind = map[plugin.DiffKind]plugin.DiffKind{
				plugin.DiffUpdate: plugin.DiffUpdateReplace, plugin.DiffAdd: plugin.DiffAddReplace, plugin.DiffDelete: plugin.DiffDeleteReplace,
			}[kind]
		}
		detailed[string(k)] = plugin.PropertyDiff{Kind: kind, InputDiff: true}
	}
	if len(changed) == 0 {
		return plugin.DiffResult{Changes: plugin.DiffNone}, nil
	}
	sortKeys(changed)
	sortKeys(replace)
	return plugin.DiffResult{Changes: plugin.DiffSome, ChangedKeys: changed, ReplaceKeys: replace, DetailedDiff: detailed}, nil
}

func sortKeys(ks []resource.PropertyKey) {
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
}

// markSensitive returns outputs with the schema's sensitive properties made secret, as the
// real providers return them.
func markSensitive(outs resource.PropertyMap) resource.PropertyMap {
	for k, v := range outs {
		if sensitive[k] && !v.IsSecret() && !v.IsNull() {
			outs[k] = resource.MakeSecret(v)
		}
	}
	return outs
}

// awsProvider is the fake pulumi-aws: Check auto-names, Diff replaces on forceNew, Create
// and Update echo the inputs and add what AWS computes (ids, ARNs, endpoints, the RDS
// managed secret), Delete removes from the fake cloud, and the invokes the program and
// awsx make are answered.
func (c *Cloud) awsProvider() *deploytest.Provider {
	var mu sync.Mutex
	region := "us-east-1"
	getRegion := func() string {
		mu.Lock()
		defer mu.Unlock()
		return region
	}
	return &deploytest.Provider{
		ConfigureF: func(_ context.Context, req plugin.ConfigureRequest) (plugin.ConfigureResponse, error) {
			if v, ok := resource.ToResourcePropertyMap(req.Inputs)["region"]; ok && v.IsString() {
				mu.Lock()
				region = v.StringValue()
				mu.Unlock()
			}
			return plugin.ConfigureResponse{}, nil
		},
		CheckF: func(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) { return check(req) },
		DiffF:  func(_ context.Context, req plugin.DiffRequest) (plugin.DiffResult, error) { return diff(req) },
		CreateF: func(_ context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
			typ := string(req.URN.Type())
			in := resource.ToResourcePropertyMap(req.Properties)
			if req.Preview {
				// What a real provider knows before creating: the inputs; the rest is unknown.
				return plugin.CreateResponse{Properties: resource.FromResourcePropertyMap(markSensitive(in)), Status: resource.StatusOK}, nil
			}
			id := c.awsID(typ, in)
			outs := awsOutputs(typ, id, getRegion(), in)
			c.add(id, typ)
			return plugin.CreateResponse{ID: resource.ID(id), Properties: resource.FromResourcePropertyMap(outs), Status: resource.StatusOK}, nil
		},
		UpdateF: func(_ context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
			typ := string(req.URN.Type())
			outs := awsOutputs(typ, string(req.ID), getRegion(), resource.ToResourcePropertyMap(req.NewInputs))
			return plugin.UpdateResponse{Properties: resource.FromResourcePropertyMap(outs), Status: resource.StatusOK}, nil
		},
		DeleteF: func(_ context.Context, req plugin.DeleteRequest) (plugin.DeleteResponse, error) {
			return plugin.DeleteResponse{Status: resource.StatusOK}, c.remove(string(req.ID))
		},
		InvokeF: func(_ context.Context, req plugin.InvokeRequest) (plugin.InvokeResponse, error) {
			r := getRegion()
			var out map[string]any
			switch req.Tok {
			case "aws:index/getRegion:getRegion":
				out = map[string]any{"name": r, "id": r, "region": r, "description": r, "endpoint": "ec2." + r + ".amazonaws.com"}
			case "aws:index/getCallerIdentity:getCallerIdentity":
				out = map[string]any{"accountId": Account, "arn": "arn:aws:iam::" + Account + ":user/engine-check", "userId": "AIDAENGINECHECK", "id": Account}
			case "aws:index/getPartition:getPartition":
				out = map[string]any{"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws", "reverseDnsPrefix": "com.amazonaws"}
			case "aws:index/getAvailabilityZones:getAvailabilityZones":
				out = map[string]any{"names": []any{r + "a", r + "b", r + "c"}, "zoneIds": []any{"use1-az1", "use1-az2", "use1-az4"}, "id": r}
			case "aws:ec2/getRouteTables:getRouteTables":
				// The route tables that exist (a stack has one VPC: awsx's, one table per subnet).
				ids := []any{}
				for _, id := range c.liveOfType("aws:ec2/routeTable:RouteTable") {
					ids = append(ids, id)
				}
				out = map[string]any{"ids": ids, "id": r}
				if v, ok := resource.ToResourcePropertyMap(req.Args)["vpcId"]; ok && v.IsString() {
					out["vpcId"] = v.StringValue()
				}
			default:
				return plugin.InvokeResponse{}, fmt.Errorf("fake aws: no invoke %s", req.Tok)
			}
			return plugin.InvokeResponse{Properties: resource.FromResourcePropertyMap(resource.NewPropertyMapFromMap(out))}, nil
		},
	}
}

// awsID is the id AWS gives a new resource of this type.
func (c *Cloud) awsID(typ string, in resource.PropertyMap) string {
	str := func(k string) string {
		if v, ok := in[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	prefix := map[string]string{
		"aws:ec2/vpc:Vpc": "vpc-", "aws:ec2/subnet:Subnet": "subnet-", "aws:ec2/routeTable:RouteTable": "rtb-",
		"aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc-", "aws:ec2/route:Route": "r-rtb-",
		"aws:ec2/internetGateway:InternetGateway": "igw-", "aws:ec2/eip:Eip": "eipalloc-", "aws:ec2/natGateway:NatGateway": "nat-",
		"aws:ec2/securityGroup:SecurityGroup": "sg-", "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
		"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
		"aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace": "ns-", "aws:servicediscovery/service:Service": "srv-",
		"aws:iam/rolePolicy:RolePolicy": "",
	}
	if p, ok := prefix[typ]; ok && p != "" {
		return c.newID(p)
	}
	if typ == "aws:ecs/taskDefinition:TaskDefinition" {
		c.mu.Lock()
		c.next++
		n := c.next
		c.mu.Unlock()
		return fmt.Sprintf("%s:%d", str("family"), n)
	}
	// Resources AWS identifies by name: one id per live name, as AWS would refuse a duplicate.
	for _, k := range []string{"name", "identifier", "family", "groupName", "ruleName", "bucket"} {
		if s := str(k); s != "" {
			if typ == "aws:iam/rolePolicy:RolePolicy" {
				return str("role") + ":" + s
			}
			return s + "#" + c.newID("")
		}
	}
	return c.newID(strings.ReplaceAll(typ, "/", "-") + "-")
}

// awsOutputs is what AWS returns for a resource: its inputs with the schema's secrets marked,
// plus the attributes it computes, shaped like the real ones.
func awsOutputs(typ, id, region string, in resource.PropertyMap) resource.PropertyMap {
	outs := markSensitive(in.Copy())
	str := func(k string) string {
		if v, ok := in[resource.PropertyKey(k)]; ok && v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	arn := func(service, rest string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, Account, rest)
	}
	set := func(k string, v any) { outs[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	if tags, ok := in["tags"]; ok {
		outs["tagsAll"] = tags
	}
	// The part of an ARN or DNS name AWS makes unique: stable for the resource id.
	uniq := shortHash(id, 16)
	switch typ {
	case "aws:ec2/vpc:Vpc":
		set("arn", arn("ec2", "vpc/"+id))
		set("defaultSecurityGroupId", "sg-default-"+uniq[:8])
		set("mainRouteTableId", "rtb-main-"+uniq[:8])
	case "aws:ec2/subnet:Subnet":
		set("arn", arn("ec2", "subnet/"+id))
	case "aws:ec2/eip:Eip":
		set("allocationId", id)
		set("publicIp", fmt.Sprintf("198.51.100.%d", 1+int(uniq[0])%200))
	case "aws:ec2/securityGroup:SecurityGroup":
		set("arn", arn("ec2", "security-group/"+id))
	case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
		set("arn", arn("ec2", "security-group-rule/"+id))
		set("securityGroupRuleId", id)
	case "aws:ecr/repository:Repository":
		set("arn", arn("ecr", "repository/"+str("name")))
		set("repositoryUrl", fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", Account, region, str("name")))
		set("registryId", Account)
	case "aws:rds/instance:Instance":
		ident := str("identifier")
		host := ident + "." + uniq[:12] + "." + region + ".rds.amazonaws.com"
		set("arn", arn("rds", "db:"+ident))
		set("address", host)
		set("endpoint", host+":5432")
		set("resourceId", "db-"+strings.ToUpper(uniq))
		if v, ok := in["port"]; !ok || v.IsNull() {
			set("port", 5432)
		}
		if v, ok := in["manageMasterUserPassword"]; ok && v.IsBool() && v.BoolValue() {
			set("masterUserSecrets", []any{map[string]any{
				"secretArn":    arn("secretsmanager", "secret:rds!db-"+uniq[:8]+"-"+uniq[8:14]),
				"secretStatus": "active",
				"kmsKeyId":     arn("kms", "key/aws-secretsmanager"),
			}})
		}
	case "aws:rds/subnetGroup:SubnetGroup":
		set("arn", arn("rds", "subgrp:"+str("name")))
	case "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2":
		set("arn", "arn:aws:s3:::"+str("bucket"))
		set("bucketDomainName", str("bucket")+".s3.amazonaws.com")
		set("bucketRegionalDomainName", str("bucket")+".s3."+region+".amazonaws.com")
		set("hostedZoneId", "Z3AQBSTGFYJSTF")
		set("region", region)
	case "aws:rds/parameterGroup:ParameterGroup":
		set("arn", arn("rds", "pg:"+str("name")))
	case "aws:iam/role:Role":
		set("arn", fmt.Sprintf("arn:aws:iam::%s:role/%s", Account, str("name")))
		set("uniqueId", "AROA"+strings.ToUpper(uniq))
	case "aws:cloudwatch/logGroup:LogGroup":
		set("arn", arn("logs", "log-group:"+str("name")))
	case "aws:ecs/cluster:Cluster":
		set("arn", arn("ecs", "cluster/"+str("name")))
	case "aws:ecs/taskDefinition:TaskDefinition":
		// The id is family:revision; every registration is a new revision.
		_, rev, _ := strings.Cut(id, ":")
		set("arn", arn("ecs", "task-definition/"+id))
		set("arnWithoutRevision", arn("ecs", "task-definition/"+str("family")))
		set("revision", rev)
	case "aws:ecs/service:Service":
		set("arn", arn("ecs", "service/"+str("name")))
	case "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace":
		set("arn", arn("servicediscovery", "namespace/"+id))
		set("hostedZone", "Z"+strings.ToUpper(uniq))
	case "aws:servicediscovery/service:Service":
		set("arn", arn("servicediscovery", "service/"+id))
	case "aws:appmesh/mesh:Mesh":
		set("arn", arn("appmesh", "mesh/"+str("name")))
		set("meshOwner", Account)
		set("resourceOwner", Account)
	case "aws:appmesh/virtualNode:VirtualNode":
		set("arn", arn("appmesh", "mesh/"+str("meshName")+"/virtualNode/"+str("name")))
	case "aws:appmesh/virtualRouter:VirtualRouter":
		set("arn", arn("appmesh", "mesh/"+str("meshName")+"/virtualRouter/"+str("name")))
	case "aws:appmesh/virtualService:VirtualService":
		set("arn", arn("appmesh", "mesh/"+str("meshName")+"/virtualService/"+str("name")))
	case "aws:appmesh/route:Route":
		set("arn", arn("appmesh", "mesh/"+str("meshName")+"/virtualRouter/"+str("virtualRouterName")+"/route/"+str("name")))
	case "aws:lb/loadBalancer:LoadBalancer":
		name := str("name")
		set("arn", arn("elasticloadbalancing", "loadbalancer/app/"+name+"/"+uniq))
		set("arnSuffix", "app/"+name+"/"+uniq)
		set("dnsName", fmt.Sprintf("%s-%d.%s.elb.amazonaws.com", name, 1000000000+int(uniq[1])*7919, region))
		set("zoneId", "Z35SXDOTRQ7X7K")
	case "aws:lb/targetGroup:TargetGroup":
		name := str("name")
		set("arn", arn("elasticloadbalancing", "targetgroup/"+name+"/"+uniq))
		set("arnSuffix", "targetgroup/"+name+"/"+uniq)
	case "aws:lb/listener:Listener":
		set("arn", arn("elasticloadbalancing", "listener/app/"+uniq[:8]+"/"+uniq))
	case "aws:xray/group:Group":
		set("arn", arn("xray", "group/"+str("groupName")+"/"+strings.ToUpper(uniq)))
	case "aws:xray/samplingRule:SamplingRule":
		set("arn", arn("xray", "sampling-rule/"+str("ruleName")))
	case "aws:ec2/vpcEndpoint:VpcEndpoint":
		set("arn", arn("ec2", "vpc-endpoint/"+id))
		if str("vpcEndpointType") == "Gateway" {
			set("prefixListId", "pl-"+shortHash(str("serviceName"), 8)) // the service's prefix list, one per region
		}
	case "aws:ecr/pullThroughCacheRule:PullThroughCacheRule":
		set("registryId", Account)
	}
	if _, ok := outs["arn"]; !ok {
		// Nearly every AWS resource has an ARN; one shaped from the type serves the types above don't name.
		mod := strings.SplitN(strings.TrimPrefix(typ, "aws:"), "/", 2)[0]
		set("arn", arn(mod, id))
	}
	return outs
}

// dockerBuildProvider is the fake docker-build provider awsx's Image builds with: it
// "pushes" by computing a digest from the build inputs (not from the build context's files:
// see docs/verification.md).
func (c *Cloud) dockerBuildProvider() *deploytest.Provider {
	return &deploytest.Provider{
		CheckF: func(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) { return check(req) },
		DiffF:  func(_ context.Context, req plugin.DiffRequest) (plugin.DiffResult, error) { return diff(req) },
		CreateF: func(_ context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
			outs := resource.ToResourcePropertyMap(req.Properties)
			if req.Preview {
				return plugin.CreateResponse{Properties: resource.FromResourcePropertyMap(outs), Status: resource.StatusOK}, nil
			}
			id := c.newID("sha256:")
			c.add(id, string(req.URN.Type()))
			addImageOutputs(outs)
			return plugin.CreateResponse{ID: resource.ID(id), Properties: resource.FromResourcePropertyMap(outs), Status: resource.StatusOK}, nil
		},
		UpdateF: func(_ context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
			outs := resource.ToResourcePropertyMap(req.NewInputs)
			addImageOutputs(outs)
			return plugin.UpdateResponse{Properties: resource.FromResourcePropertyMap(outs), Status: resource.StatusOK}, nil
		},
		DeleteF: func(_ context.Context, req plugin.DeleteRequest) (plugin.DeleteResponse, error) {
			return plugin.DeleteResponse{Status: resource.StatusOK}, c.remove(string(req.ID))
		},
	}
}

// addImageOutputs sets digest and ref from the build inputs (registry credentials left out).
func addImageOutputs(outs resource.PropertyMap) {
	sig := map[string]any{}
	for k, v := range outs {
		if k != "registries" {
			sig[string(k)] = v.Mappable()
		}
	}
	b, _ := json.Marshal(sig)
	digest := "sha256:" + shortHash(string(b), 64)
	outs["digest"] = resource.NewStringProperty(digest)
	if tags, ok := outs["tags"]; ok && tags.IsArray() && len(tags.ArrayValue()) > 0 && tags.ArrayValue()[0].IsString() {
		outs["ref"] = resource.NewStringProperty(tags.ArrayValue()[0].StringValue() + "@" + digest)
	}
}
